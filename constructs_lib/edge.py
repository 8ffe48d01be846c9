"""Edge protection: the AWS WAF web ACL (guide security section 3) and Shield Advanced (section 4).

One construct, two scopes: ``REGIONAL`` in each region's core stack (attached to the api-gateway ALB by the
ingress annotation ``alb.ingress.kubernetes.io/wafv2-acl-arn``) and ``CLOUDFRONT`` in the global stack
(us-east-1, attached to the static-assets distribution). Both carry the same rule set:

1. the guide's rate-based rule (requests per IP per 5 minutes, block);
2. AWSManagedRulesCommonRuleSet (the guide's), plus the groups a payments API needs:
   KnownBadInputs (Log4Shell and other exploit payloads), SQLi (the API fronts PostgreSQL) and the Amazon IP
   reputation list (botnets, scanners).

Every rule and the ACL publish CloudWatch metrics and keep sampled requests. WAF logs go to a CloudWatch Logs
group whose name starts with ``aws-waf-logs-`` (WAF refuses any other name), KMS-encrypted with our key, kept
as long as every other audit log (PCI DSS 10.5.1), with the Authorization header redacted: a bearer token in
a log is a credential in a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext, log_group_delivery_policy, protected
from constructs_lib.providers import aws

#: AWS managed rule groups, in evaluation order after the rate rule. The names are WAF's own.
MANAGED_RULE_GROUPS: tuple[str, ...] = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)

#: The CLOUDFRONT-scope ACL adds the anonymous IP list (Tor exits, VPNs, hosting providers): the checkout
#: widget's assets are loaded by shoppers' browsers, and card-testing bots hide behind exactly these sources.
#: Not on the API: merchants' servers call it from hosting providers.
CDN_MANAGED_RULE_GROUPS: tuple[str, ...] = (*MANAGED_RULE_GROUPS, "AWSManagedRulesAnonymousIpList")

#: Evaluation window of the rate-based rule (seconds): the guide's "2000 requests per IP per 5 minutes".
RATE_WINDOW_SECONDS = 300

#: WAF only delivers to CloudWatch Logs groups whose name has this prefix.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"


@dataclass(frozen=True)
class WebAclProps:
    """Props of a :class:`WebAcl`."""

    #: Web ACL name, e.g. ``globalpay-prod-waf`` (the guide's name).
    name: str
    #: ``REGIONAL`` (ALB) or ``CLOUDFRONT`` (must then be created by a us-east-1 provider).
    scope: str
    #: Requests per IP per 5-minute window before the rate rule blocks (guide: 2000).
    rate_limit_per_ip: int
    #: Region of the log group (for the log delivery resource policy's ARNs).
    region: str
    account: AccountContext
    #: KMS key encrypting the WAF log group; the key policy must admit ``logs.<region>.amazonaws.com``.
    log_kms_key_arn: str
    #: Log group name; must start with ``aws-waf-logs-``.
    log_group_name: str
    #: Log retention in days (default 365: PCI DSS 10.5.1).
    log_retention_days: int = 365
    #: Metric name prefix of the ACL and its rules (default: the ACL name without dashes).
    metric_prefix: str = ""
    #: Managed rule groups after the rate rule (default: MANAGED_RULE_GROUPS).
    managed_rule_groups: Sequence[str] = field(default_factory=lambda: MANAGED_RULE_GROUPS)
    #: Provider for a construct in a stack with several (the global stack's us-east-1 one is the default).
    provider: Any = None


def _visibility(metric_name: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric_name, "sampled_requests_enabled": True}


def waf_rules(rate_limit_per_ip: int, managed_rule_groups: Sequence[str], metric_prefix: str) -> list[dict[str, Any]]:
    """The rule blocks: rate limit first (cheapest, stops floods before the managed groups bill per request)."""
    rules: list[dict[str, Any]] = [{
        "name": "RateLimitRule",
        "priority": 1,
        "action": {"block": {}},
        # The guide's limit is per 5 minutes: WAF's default window, spelled out so the plan says so.
        "statement": {"rate_based_statement": [{
            "limit": rate_limit_per_ip, "aggregate_key_type": "IP", "evaluation_window_sec": RATE_WINDOW_SECONDS,
        }]},
        "visibility_config": _visibility(f"{metric_prefix}RateLimitRule"),
    }]
    for priority, group in enumerate(managed_rule_groups, start=2):
        rules.append({
            "name": group,
            "priority": priority,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": [{"vendor_name": "AWS", "name": group}]},
            "visibility_config": _visibility(f"{metric_prefix}{group}"),
        })
    return rules


class WebAcl(Construct):
    """A WAFv2 web ACL with the GlobalPay rule set and KMS-encrypted, redacted logging."""

    def __init__(self, scope: Construct, id: str, props: WebAclProps) -> None:
        super().__init__(scope, id)
        if props.scope not in ("REGIONAL", "CLOUDFRONT"):
            raise ValueError(f"WAF scope is REGIONAL or CLOUDFRONT, not {props.scope!r}")
        if not props.log_group_name.startswith(WAF_LOG_GROUP_PREFIX):
            raise ValueError(f"WAF log groups must be named {WAF_LOG_GROUP_PREFIX}*, got {props.log_group_name!r}")
        prefix = props.metric_prefix or props.name.replace("-", "")
        provider = {"provider": props.provider} if props.provider is not None else {}
        self.acl = aws.wafv2_web_acl.Wafv2WebAcl(
            self,
            "acl",
            name=props.name,
            description=f"GlobalPay {props.scope.lower()} edge rules: rate limit per IP and AWS managed rule groups",
            scope=props.scope,
            default_action={"allow": {}},
            rule=waf_rules(props.rate_limit_per_ip, props.managed_rule_groups, prefix),
            visibility_config=_visibility(prefix),
            **provider,
        )
        self.arn: str = self.acl.arn
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=props.log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.log_kms_key_arn,
            lifecycle=protected(),  # audit evidence (PCI DSS 10): never destroyed by a plan
            **provider,
        )
        # WAF writes through the log delivery service. Declaring its resource policy ourselves (instead of
        # letting WAF add one at first delivery) keeps it reviewed, scoped to this account, and in state.
        policy = aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "log-delivery-policy",
            policy_name=f"{props.name}-log-delivery",
            policy_document=log_group_delivery_policy("WafLogDelivery", self.log_group.arn, props.account, props.region),
            **provider,
        )
        self.logging = aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[self.log_group.arn],
            # Bearer tokens and API keys travel in this header; a log must never hold a credential.
            redacted_fields=[{"single_header": {"name": "authorization"}}],
            depends_on=[policy],
            **provider,
        )


class ShieldAdvancedProtection(Construct):
    """Shield Advanced protection of one resource (a region's ingress ALB, the CloudFront distribution).

    Needs the account's Shield Advanced subscription (global stack; ``depends_on`` it when it is in the same
    stack). Shield's API exists only in us-east-1; the AWS provider sends these calls there whatever the stack's
    region, so the protection can live with the region it protects. ``health_check_arn``: a Route 53 health
    check of the resource's health, associated for Shield's health-based detection (faster, more accurate
    detection and mitigation of application-layer events; Shield Advanced Developer Guide, "Health-based
    detection using health checks"); default none.
    """

    def __init__(self, scope: Construct, id: str, *, name: str, resource_arn: str, health_check_arn: str = "",
                 depends_on: Sequence[Any] = ()) -> None:
        super().__init__(scope, id)
        self.protection = aws.shield_protection.ShieldProtection(
            self, "protection", name=name, resource_arn=resource_arn, depends_on=list(depends_on) or None,
        )
        self.id: str = self.protection.id
        if health_check_arn:
            aws.shield_protection_health_check_association.ShieldProtectionHealthCheckAssociation(
                self, "health-check", shield_protection_id=self.protection.id, health_check_arn=health_check_arn,
            )
