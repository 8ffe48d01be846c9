"""S3 buckets that are private, versioned, KMS-encrypted and TLS-only by construction.

Used for the Terraform state bucket, the data buckets, the access-log buckets, the write-once log archives and
the static assets bucket; a bucket that must differ (e.g. a log bucket that cannot log to itself) says so
through props, not by building its own copy.

Write-once (``SecureBucketProps.object_lock``): S3 Object Lock with a default retention, so every object version
written to the bucket is locked for that many days. It is switched on through
``aws_s3_bucket_object_lock_configuration`` with ``object_lock_enabled = "Enabled"`` (PutObjectLockConfiguration),
never through ``aws_s3_bucket.object_lock_enabled``: in the AWS provider that argument is ``ForceNew``
(internal/service/s3/bucket.go, 6.x: ``Optional, Computed, ForceNew``), so turning it on for a bucket that
exists would plan to destroy and re-create the bucket with its data, while S3 accepts
PutObjectLockConfiguration on any bucket whose versioning is enabled (S3 User Guide, "Configuring S3 Object
Lock", "Enable Object Lock on an existing S3 bucket"; no AWS Support ticket since 2023). Being ``Computed``,
``object_lock_enabled`` then reads back ``true`` from AWS without a diff. Once enabled, Object Lock cannot be
switched off and versioning cannot be suspended; in COMPLIANCE mode nobody, the root user included, can delete
a locked version before its date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from constructs_lib.common import policy_document, protected
from constructs_lib.providers import aws
from constructs_lib.validation import OBJECT_LOCK_MAX_DAYS, OBJECT_LOCK_MODES


@dataclass(frozen=True)
class LifecycleRule:
    """A lifecycle rule: storage-class transitions for current objects and expiry of old versions."""

    id: str
    transitions: Sequence[tuple[int, str]] = ()  # (days, storage class)
    noncurrent_version_expiration_days: int = 0
    expiration_days: int = 0
    abort_incomplete_multipart_days: int = 7


#: Days a log (S3 server access logs, ALB and CDN access logs) is kept: PCI DSS 10.5.1's year, plus the
#: month in which the last one is reviewed.
LOG_RETENTION_DAYS = 400


def log_lifecycle(rule_id: str, *, keep_days: int = LOG_RETENTION_DAYS,
                  transitions: Sequence[tuple[int, str]] = ()) -> tuple[LifecycleRule, ...]:
    """A log bucket's lifecycle: a log expires after ``keep_days`` (at least ``LOG_RETENTION_DAYS``), and so does a
    noncurrent version, counted from the day it became noncurrent: an overwritten or deleted log stays
    recoverable at least as long as a current one (PCI DSS 10.3.3, 10.5.1)."""
    days = max(keep_days, LOG_RETENTION_DAYS)
    return (LifecycleRule(id=rule_id, transitions=tuple(transitions), expiration_days=days,
                          noncurrent_version_expiration_days=days),)


#: Access logs (S3 server access logs, ALB access logs), in the buckets they are delivered to.
ACCESS_LOG_LIFECYCLE = log_lifecycle("expire-access-logs")

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
    """S3 Object Lock default retention: every object version written to the bucket is locked ``days`` days in
    ``mode`` (``COMPLIANCE``: nobody can delete it or shorten the lock; ``GOVERNANCE``: principals granted
    ``s3:BypassGovernanceRetention`` can)."""

    mode: str
    days: int

    def __post_init__(self) -> None:
        if self.mode not in OBJECT_LOCK_MODES:
            raise ValueError(f"S3 Object Lock mode is one of {', '.join(OBJECT_LOCK_MODES)}, not {self.mode!r}")
        if not 1 <= self.days <= OBJECT_LOCK_MAX_DAYS:
            raise ValueError(f"S3 Object Lock default retention is 1-{OBJECT_LOCK_MAX_DAYS} days, not {self.days}")


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
    #: Write-once: S3 Object Lock default retention of every new object version (default None: not locked).
    #: S3 server access logging cannot deliver into such a bucket; its lifecycle must keep noncurrent versions
    #: at least as long as the lock.
    object_lock: ObjectLockRetention | None = None
    #: AWS provider of the bucket's region; default: the stack's default provider.
    provider: Any = None
    #: Send the bucket's object events to EventBridge (a consumer exists: GuardDuty Malware Protection scans new
    #: objects, the security stack alerts on deleted evidence). Default: False.
    eventbridge_notifications: bool = False


class SecureBucket(Construct):
    def __init__(self, scope: Construct, id: str, props: SecureBucketProps) -> None:
        super().__init__(scope, id)
        _check_lock(props)
        on = {"provider": props.provider} if props.provider is not None else {}
        self.bucket = aws.s3_bucket.S3Bucket(
            self,
            "bucket",
            **on,
            bucket=props.bucket_name,
            force_destroy=False,
            lifecycle=protected() if props.prevent_destroy else None,
        )
        self.name: str = self.bucket.bucket
        self.arn: str = self.bucket.arn
        bucket_id = self.bucket.id
        self.versioning = aws.s3_bucket_versioning.S3BucketVersioningA(
            self, "versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}, **on
        )
        #: The Object Lock configuration (None for an unlocked bucket). Protected: destroying it would remove the
        #: default retention, so later log versions would no longer be locked.
        self.object_lock = None
        if props.object_lock is not None:
            self.object_lock = aws.s3_bucket_object_lock_configuration.S3BucketObjectLockConfigurationA(
                self,
                "object-lock",
                **on,
                bucket=bucket_id,
                object_lock_enabled="Enabled",
                rule={"default_retention": {"mode": props.object_lock.mode, "days": props.object_lock.days}},
                # S3 refuses PutObjectLockConfiguration on a bucket whose versioning is not enabled yet.
                depends_on=[self.versioning],
                lifecycle=protected(),
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


def _check_lock(props: SecureBucketProps) -> None:
    """A locked bucket cannot receive S3 server access logs, and no lifecycle rule may expire a noncurrent version
    before its lock would have ended (it would be refused while locked, and it says the wrong retention)."""
    lock = props.object_lock
    if lock is None:
        return
    for rule in props.lifecycle_rules:
        if 0 < rule.noncurrent_version_expiration_days < lock.days:
            raise ValueError(f"{props.bucket_name}: lifecycle rule {rule.id!r} expires noncurrent versions after "
                             f"{rule.noncurrent_version_expiration_days} days, before their {lock.days}-day Object Lock")


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
