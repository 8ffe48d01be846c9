"""S3 buckets that are private, versioned, KMS-encrypted and TLS-only by construction.

Used for the Terraform state bucket, the data buckets, the access-log buckets and the static assets
bucket; a bucket that must differ (e.g. a log bucket that cannot log to itself) says so through props, not
by building its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.common import policy_document, protected
from constructs_lib.providers import aws


@dataclass(frozen=True)
class LifecycleRule:
    """A lifecycle rule: storage-class transitions for current objects and expiry of old versions."""

    id: str
    transitions: Sequence[tuple[int, str]] = ()  # (days, storage class)
    noncurrent_version_expiration_days: int = 0
    expiration_days: int = 0
    abort_incomplete_multipart_days: int = 7


#: Access logs (S3 server access logs, ALB access logs): kept 400 days, more than PCI DSS 10.5.1's year.
ACCESS_LOG_LIFECYCLE = (
    LifecycleRule(id="expire-access-logs", expiration_days=400, noncurrent_version_expiration_days=30),
)

#: The guide's cost section: infrequent access after 30 days, Glacier Instant Retrieval after 90,
#: old versions kept one year (PCI DSS 10.5.1), incomplete uploads cleaned after a week.
DEFAULT_LIFECYCLE = (
    LifecycleRule(
        id="tiering-and-version-expiry",
        transitions=((30, "STANDARD_IA"), (90, "GLACIER_IR")),
        noncurrent_version_expiration_days=365,
    ),
)


@dataclass(frozen=True)
class ObjectLockRetention:
    """S3 Object Lock default retention: ``mode`` COMPLIANCE or GOVERNANCE, for ``days``."""

    mode: str
    days: int


@dataclass(frozen=True)
class SecureBucketProps:
    bucket_name: str
    #: Default encryption key. Empty only for a server-access-log bucket: S3 log delivery cannot write to
    #: SSE-KMS buckets, so those use SSE-S3 (AES-256).
    kms_key_arn: str
    #: Extra statements for the bucket policy (TLS-only is always there).
    policy_statements: Sequence[Mapping[str, Any]] = ()
    #: Lifecycle rules; default: DEFAULT_LIFECYCLE.
    lifecycle_rules: Sequence[LifecycleRule] = field(default_factory=lambda: DEFAULT_LIFECYCLE)
    #: Bucket receiving server access logs, with a prefix; empty for a log bucket itself.
    access_log_bucket: str = ""
    access_log_prefix: str = ""
    #: Terraform refuses to destroy the bucket (default: True; every bucket here holds data or evidence).
    prevent_destroy: bool = True
    #: AWS provider of the bucket's region; default: the stack's default provider.
    provider: Any = None
    #: Send the bucket's object events to EventBridge (a consumer exists: GuardDuty Malware Protection scans new
    #: objects, the security stack alerts on deleted evidence). Default: False.
    eventbridge_notifications: bool = False
    #: Write-once: S3 Object Lock with this default retention on every new object version (only on a new
    #: bucket). Default: None (no lock).
    object_lock: ObjectLockRetention | None = None


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, id)
        on = {"provider": props.provider} if props.provider is not None else {}
        self.bucket = aws.s3_bucket.S3Bucket(
            self,
            "bucket",
            **on,
            bucket=props.bucket_name,
            force_destroy=False,
            object_lock_enabled=True if props.object_lock else None,
            lifecycle=protected() if props.prevent_destroy else None,
        )
        self.name: str = self.bucket.bucket
        self.arn: str = self.bucket.arn
        bucket_id = self.bucket.id
        self.versioning = aws.s3_bucket_versioning.S3BucketVersioningA(
            self, "versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}, **on
        )
        aws.s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            **on,
            bucket=bucket_id,
            rule=[{
                "apply_server_side_encryption_by_default": (
                    {"sse_algorithm": "aws:kms", "kms_master_key_id": props.kms_key_arn}
                    if props.kms_key_arn
                    else {"sse_algorithm": "AES256"}
                ),
                "bucket_key_enabled": bool(props.kms_key_arn),
            }],
        )
        if props.object_lock:
            aws.s3_bucket_object_lock_configuration.S3BucketObjectLockConfigurationA(
                self,
                "object-lock",
                **on,
                bucket=bucket_id,
                rule={"default_retention": {"mode": props.object_lock.mode, "days": props.object_lock.days}},
                depends_on=[self.versioning],
            )
        self.public_access_block = aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            **on,
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self, "ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"}, **on
        )
        statements = [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.arn, f"{self.arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            *props.policy_statements,
        ]
        #: The bucket policy: depend on it where a service must be admitted before it writes (log delivery).
        self.policy = aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "policy",
            **on,
            bucket=bucket_id,
            policy=policy_document(statements),
            depends_on=[self.public_access_block],
        )
        if props.lifecycle_rules:
            aws.s3_bucket_lifecycle_configuration.S3BucketLifecycleConfiguration(
                self,
                "lifecycle",
                **on,
                bucket=bucket_id,
                rule=[_lifecycle_rule(r) for r in props.lifecycle_rules],
                depends_on=[self.versioning],
            )
        if props.eventbridge_notifications:
            aws.s3_bucket_notification.S3BucketNotification(self, "notifications", **on, bucket=bucket_id, eventbridge=True)
        if props.access_log_bucket:
            aws.s3_bucket_logging.S3BucketLoggingA(
                self,
                "access-logging",
                **on,
                bucket=bucket_id,
                target_bucket=props.access_log_bucket,
                target_prefix=props.access_log_prefix or f"{props.bucket_name}/",
            )


def _lifecycle_rule(rule: LifecycleRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": rule.id,
        "status": "Enabled",
        "filter": [{"prefix": ""}],
        "abort_incomplete_multipart_upload": [{"days_after_initiation": rule.abort_incomplete_multipart_days}],
    }
    if rule.transitions:
        out["transition"] = [{"days": days, "storage_class": cls} for days, cls in rule.transitions]
    if rule.noncurrent_version_expiration_days:
        out["noncurrent_version_expiration"] = [{"noncurrent_days": rule.noncurrent_version_expiration_days}]
    if rule.expiration_days:
        out["expiration"] = [{"days": rule.expiration_days}]
    return out


def log_delivery_statement(log_bucket: str, source_buckets: Sequence[str], account_id: str) -> dict[str, Any]:
    """Bucket-policy statement letting S3 server access logging write into ``log_bucket``.

    The logging service principal may only write objects, only for the named source buckets of this
    account (confused-deputy conditions). Use it in the ``policy_statements`` of a log bucket.
    """
    return {
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{log_bucket}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in source_buckets]},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    }


#: Elastic Load Balancing's log-delivery account per region, for regions opened before August 2022 (ELB user
#: guide, "Enable access logs for your Application Load Balancer", step "Attach a policy to your S3 bucket");
#: newer regions only know the service principal below.
ELB_LOG_DELIVERY_ACCOUNTS = {
    # The platform's regions (regions/); add a region's account here together with its network data.
    "us-east-1": "127311923021",
    "eu-west-1": "156460612806",
    "ap-southeast-2": "783225319266",
}
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


def elb_log_delivery_statements(log_bucket: str, prefix: str, region: str, account_id: str) -> list[dict[str, Any]]:
    """Bucket-policy statements letting the region's load balancers write access logs under
    ``<prefix>/AWSLogs/<account>/``: the regional ELB account where the region has one, and the log-delivery
    service principal (scoped to this account). ELB log delivery needs an SSE-S3 bucket in the same region."""
    resource = f"arn:aws:s3:::{log_bucket}/{prefix}/AWSLogs/{account_id}/*"
    statements: list[dict[str, Any]] = []
    if region in ELB_LOG_DELIVERY_ACCOUNTS:
        statements.append({
            "Sid": "ElbAccessLogsRegionalAccount",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ELB_LOG_DELIVERY_ACCOUNTS[region]}:root"},
            "Action": "s3:PutObject",
            "Resource": resource,
        })
    statements.append({
        "Sid": "ElbAccessLogsDeliveryService",
        "Effect": "Allow",
        "Principal": {"Service": ELB_LOG_DELIVERY_SERVICE},
        "Action": "s3:PutObject",
        "Resource": resource,
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    })
    return statements
