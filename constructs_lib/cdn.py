"""CloudFront in front of the static-assets bucket (guide: core services "CDN: Amazon CloudFront").

Its duty: the merchant dashboard and checkout widget's JavaScript, CSS and images, served from edge caches
instead of the API's ALBs, which only serve the API. What makes it PCI-reviewable:

* the bucket stays private: CloudFront reads it through an origin access control (SigV4), the bucket policy
  admits only CloudFront distributions of this account (``AWS:SourceArn``; the exact distribution ARN would
  make the bucket depend on the distribution that depends on the bucket), objects are SSE-KMS with our key,
  whose policy lets CloudFront decrypt for this account only;
* viewers: HTTPS only (HTTP redirected), TLS 1.2 minimum (``TLSv1.2_2021``) with an ACM certificate from
  us-east-1, SNI; our security-headers response policy (HSTS two years with preload, nosniff, frame DENY,
  strict referrer, and the Content-Security-Policy of ``edge.content_security_policy``: only authorized scripts
  run on the payment pages, PCI DSS 6.4.3; violations are reported to ``edge.csp_report_uri`` through
  ``report-uri`` and the Reporting API's ``Reporting-Endpoints`` header, the change and tamper detection signal
  of PCI DSS 11.6.1);
* the CLOUDFRONT-scope WAF web ACL (us-east-1) with the same rules as the regional ACLs;
* access logs through CloudFront standard logging v2 (CloudWatch Logs vended delivery) into a private,
  KMS-encrypted log bucket: v2 needs no bucket ACLs, which our buckets disable (BucketOwnerEnforced).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext
from constructs_lib.providers import aws
from constructs_lib.storage import SecureBucket

#: AWS managed cache policy "CachingOptimized".
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
#: HSTS max-age: two years, the preload list's requirement is at least one.
HSTS_MAX_AGE_SECONDS = 63072000
ORIGIN_ID = "static-assets"
#: ISO 3166-1 alpha-2 codes of comprehensively sanctioned jurisdictions (Cuba, Iran, North Korea, Syria).
SANCTIONED_COUNTRIES = ("CU", "IR", "KP", "SY")


@dataclass(frozen=True)
class StaticAssetsCdnProps:
    """Props of :class:`StaticAssetsCdn` (all in us-east-1)."""

    #: Prefix of the distribution's names, e.g. ``globalpay-prod``.
    prefix: str
    origin: SecureBucket
    #: Bucket receiving the access logs (KMS-encrypted; its policy admits delivery.logs.amazonaws.com).
    log_bucket_arn: str
    #: CLOUDFRONT-scope web ACL ARN.
    web_acl_arn: str
    #: Hostname served (``static.globalpay.com``) and its us-east-1 ACM certificate.
    hostname: str
    certificate_arn: str
    account: AccountContext
    #: Default ``PriceClass_All``.
    price_class: str = "PriceClass_All"
    #: The log bucket's policy (admits delivery.logs.amazonaws.com): the delivery is created after it.
    log_bucket_policy: Any = None
    #: Content-Security-Policy header value (with its ``report-to`` group) and where reports go; default empty: no
    #: CSP header (the configuration always sets one: ``EdgeConfig.csp_header``).
    content_security_policy: str = ""
    csp_report_group: str = ""
    csp_report_endpoint: str = ""


class StaticAssetsCdn(Construct):
    def __init__(self, scope: Construct, id: str, props: StaticAssetsCdnProps) -> None:
        super().__init__(scope, id)
        oac = aws.cloudfront_origin_access_control.CloudfrontOriginAccessControl(
            self,
            "origin-access-control",
            name=f"{props.prefix}-static-assets",
            description="CloudFront signs every request to the private static-assets bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
        )
        security_headers: dict[str, Any] = {
            "strict_transport_security": {
                "access_control_max_age_sec": HSTS_MAX_AGE_SECONDS,
                "include_subdomains": True,
                "preload": True,
                "override": True,
            },
            "content_type_options": {"override": True},
            "frame_options": {"frame_option": "DENY", "override": True},
            "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
        }
        reporting: dict[str, Any] = {}
        if props.content_security_policy:
            security_headers["content_security_policy"] = {
                "content_security_policy": props.content_security_policy, "override": True,
            }
            if props.csp_report_group:
                # The Reporting API endpoint the policy's report-to names (report-uri serves older browsers).
                reporting["custom_headers_config"] = {"items": [{
                    "header": "Reporting-Endpoints",
                    "value": f'{props.csp_report_group}="{props.csp_report_endpoint}"',
                    "override": True,
                }]}
        headers = aws.cloudfront_response_headers_policy.CloudfrontResponseHeadersPolicy(
            self,
            "security-headers",
            name=f"{props.prefix}-static-security-headers",
            comment="HSTS, CSP with reporting, nosniff, frame DENY, strict referrer for the checkout and dashboard assets",
            security_headers_config=security_headers,
            **reporting,
        )
        self.distribution = aws.cloudfront_distribution.CloudfrontDistribution(
            self,
            "distribution",
            enabled=True,
            comment=f"{props.prefix} static assets",
            aliases=[props.hostname],
            default_root_object="index.html",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=props.price_class,
            web_acl_id=props.web_acl_arn,
            origin=[{
                "origin_id": ORIGIN_ID,
                "domain_name": props.origin.bucket.bucket_regional_domain_name,
                "origin_access_control_id": oac.id,
            }],
            default_cache_behavior={
                "target_origin_id": ORIGIN_ID,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": MANAGED_CACHING_OPTIMIZED,
                "response_headers_policy_id": headers.id,
            },
            # Countries under comprehensive sanctions (OFAC/EU): GlobalPay may not serve them at all.
            restrictions={"geo_restriction": {"restriction_type": "blacklist", "locations": list(SANCTIONED_COUNTRIES)}},
            viewer_certificate={
                "acm_certificate_arn": props.certificate_arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
        )
        self.arn: str = self.distribution.arn
        self.distribution_id: str = self.distribution.id
        self.domain_name: str = self.distribution.domain_name
        self.hosted_zone_id: str = self.distribution.hosted_zone_id

        # Standard logging v2: the distribution is a delivery source, the log bucket a destination.
        source = aws.cloudwatch_log_delivery_source.CloudwatchLogDeliverySource(
            self, "log-source", name=f"{props.prefix}-cdn-access-logs", log_type="ACCESS_LOGS", resource_arn=self.distribution.arn
        )
        destination = aws.cloudwatch_log_delivery_destination.CloudwatchLogDeliveryDestination(
            self,
            "log-destination",
            name=f"{props.prefix}-cdn-log-bucket",
            output_format="json",
            delivery_destination_configuration=[{"destination_resource_arn": props.log_bucket_arn}],
        )
        aws.cloudwatch_log_delivery.CloudwatchLogDelivery(
            self,
            "log-delivery",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            s3_delivery_configuration=[{"enable_hive_compatible_path": False, "suffix_path": "cloudfront/{DistributionId}/{yyyy}/{MM}/{dd}"}],
            depends_on=[props.log_bucket_policy] if props.log_bucket_policy is not None else None,
        )


def origin_read_statement(bucket_arn: str, distribution_arn_pattern: str) -> dict:
    """Bucket-policy statement: CloudFront may read objects only on behalf of our distribution(s)."""
    return {
        "Sid": "CloudFrontOriginAccessControl",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"ArnLike": {"AWS:SourceArn": distribution_arn_pattern}},
    }


def log_delivery_statements(bucket_arn: str, account_id: str, delivery_source_arn_pattern: str) -> list[dict]:
    """Bucket-policy statements for CloudWatch Logs vended delivery (CloudFront standard logging v2)."""
    return [{
        "Sid": "VendedLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account_id, "s3:x-amz-acl": "bucket-owner-full-control"},
            "ArnLike": {"aws:SourceArn": delivery_source_arn_pattern},
        },
    }]
