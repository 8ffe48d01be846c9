"""Audit evidence that no one can delete or rewrite (PCI DSS 10.2, 10.3.3, 10.5.1), and the log groups AWS
services would otherwise create outside Terraform.

**Write-once log archive** (:class:`LogArchive`). Each delivery service decides where its logs can land, so each
log bucket is either locked itself or replicated, within minutes, into a locked archive:

============================  ========================================================================================
delivery service              where it writes, and why
============================  ========================================================================================
S3 server access logging      an unlocked bucket, replicated into the archive: S3 cannot deliver server access logs
                              to a bucket with Object Lock at all (S3 User Guide, "Object Lock considerations":
                              "S3 buckets with Object Lock can't be used as destination buckets for server access
                              logs"; "Troubleshoot server access logging": Object Lock blocks the delivery).
ALB access logs               the same regional access-log bucket (ELB delivers only to SSE-S3 buckets in the load
                              balancer's region), replicated. The ELB guide names no Object Lock support, and a
                              bucket with a default retention refuses any PUT without a ``Content-MD5`` or
                              ``x-amz-checksum-*`` header (S3 User Guide, "Uploading objects to an Object Lock
                              enabled bucket"), which no ELB document promises to send: the bucket it shares with
                              server access logs could not be locked anyway.
CloudFront logging v2         the KMS-encrypted CDN log bucket (CloudWatch Logs vended delivery to S3), replicated:
                              neither the CloudFront nor the CloudWatch Logs guide documents delivery into a bucket
                              with a default retention, for the same checksum reason; replication makes the lock
                              independent of the writer.
CloudTrail, AWS Config        directly into a locked bucket (``SecureBucketProps.object_lock``; the detection stacks).
============================  ========================================================================================

Replication copies every new object version (S3 Replication Time Control: 99.99 % within 15 minutes, with
replication metrics and a failure alarm) into a bucket whose S3 Object Lock default retention locks it
(``audit_logs.object_lock_mode`` / ``object_lock_days``: COMPLIANCE for 365 days in prod). Object Lock applies to
a replica like to any other new version (S3 User Guide, "Using Object Lock with S3 Replication": the
destination needs Object Lock, the source does not; the role needs ``s3:GetObjectRetention`` and
``s3:GetObjectLegalHold`` on the source). Delete markers are not replicated: a log deleted where it was delivered
stays in the archive. Lifecycle rules keep noncurrent versions at least as long as the lock, in the archive
and where the logs land.

**Container Insights log groups** (:class:`ContainerInsightsLogGroups`): the amazon-cloudwatch-observability
add-on writes to ``/aws/containerinsights/<cluster>/{application,dataplane,host,performance}`` and creates the
groups itself, unencrypted and never expiring, when they do not exist. They are created here first, with our
key and the platform's retention, and the add-on waits for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, policy_document, protected
from constructs_lib.config import AuditLogConfig
from constructs_lib.observability import AlarmSpec, metric_alarm
from constructs_lib.providers import aws
from constructs_lib.storage import ObjectLockRetention, SecureBucket, SecureBucketProps, log_lifecycle

#: S3 Replication Time Control: the only threshold S3 offers (minutes).
REPLICATION_MINUTES = 15

#: The log groups Container Insights (the amazon-cloudwatch-observability add-on) writes to, per cluster
#: (CloudWatch User Guide, "Container Insights: Amazon EKS and Kubernetes logs").
CONTAINER_INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance")


def log_retention(audit_logs: AuditLogConfig) -> ObjectLockRetention:
    """The Object Lock of every log archive of the environment (``audit_logs``)."""
    return ObjectLockRetention(mode=audit_logs.object_lock_mode, days=audit_logs.object_lock_days)


@dataclass(frozen=True)
class ArchivedLogs:
    """A log bucket whose objects the archive receives by replication."""

    #: Construct id suffix of its replication (``replicate-<id>``): stable, part of the Terraform addresses.
    id: str
    bucket: SecureBucket
    #: The source's KMS key; empty for an SSE-S3 bucket (S3 server access logs and ALB logs only deliver there).
    kms_key_arn: str = ""


@dataclass(frozen=True)
class LogArchiveProps:
    """Props of :class:`LogArchive`."""

    #: ``Naming.log_archive_bucket()`` and its siblings.
    bucket_name: str
    #: The lock of every object version (``audit_logs``).
    retention: ObjectLockRetention
    region: str
    account: AccountContext
    #: IAM role of the replication (account-wide name: include the region), e.g. ``globalpay-prod-log-archive-us-east-1``.
    role_name: str
    #: Log buckets replicated into the archive (same region).
    sources: Sequence[ArchivedLogs] = ()
    #: Default encryption of the archive: the KMS key replicas of SSE-KMS sources are written with; empty: SSE-S3,
    #: for an archive whose sources are SSE-S3 (a replica keeps its source's SSE-S3 encryption).
    kms_key_arn: str = ""
    #: Topic of the replication failure alarms and their name prefix; empty: no alarms (the bootstrap stack).
    alarm_topic_arn: str = ""
    alarm_name_prefix: str = ""
    #: AWS provider of the region; default the stack's.
    provider: Any = None


class LogArchive(Construct):
    """``bucket``: the locked archive; ``role``: the replication role; ``replicate-<source>``: one replication
    configuration per log bucket, with its failure alarm."""

    def __init__(self, scope: Construct, id: str, props: LogArchiveProps) -> None:
        super().__init__(scope, id)
        on = {"provider": props.provider} if props.provider is not None else {}
        partition = props.account.partition
        self.bucket = SecureBucket(self, "bucket", SecureBucketProps(
            bucket_name=props.bucket_name,
            kms_key_arn=props.kms_key_arn,
            lifecycle_rules=log_lifecycle("expire-archived-logs", keep_days=props.retention.days,
                                          transitions=((90, "GLACIER_IR"),)),
            object_lock=props.retention,
            provider=props.provider,
            # A deletion attempt (refused by the lock) or an unexpected write pages through the -security stack's
            # evidence rule (regions/security.py evidence_buckets; PCI DSS 10.3.4).
            eventbridge_notifications=True,
        ))
        archive_arn = f"arn:{partition}:s3:::{props.bucket_name}"
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=props.role_name,
            description=f"S3 replication of log buckets into the write-once archive {props.bucket_name}",
            assume_role_policy=assume_role_policy("s3.amazonaws.com", source_account=props.account.account_id),
        )
        self.permissions = aws.iam_role_policy.IamRolePolicy(
            self,
            "policy",
            role=self.role.name,
            name="replicate-into-archive",
            policy=policy_document(self._statements(props, archive_arn)),
        )
        self.alarm_names: list[str] = []
        for source in props.sources:
            self._replicate(props, source, archive_arn, on)

    @staticmethod
    def _statements(props: LogArchiveProps, archive_arn: str) -> list[dict[str, Any]]:
        sources = [s.bucket.arn for s in props.sources]
        statements: list[dict[str, Any]] = [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": sources,
            },
            {
                # GetObjectRetention and GetObjectLegalHold: required to replicate into an Object Lock bucket.
                "Sid": "ReadSourceVersions",
                "Effect": "Allow",
                "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                           "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
                "Resource": [f"{arn}/*" for arn in sources],
            },
            {
                # No s3:ReplicateDelete: delete markers stay where the logs were delivered.
                "Sid": "WriteReplicas",
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": f"{archive_arn}/*",
            },
        ]
        via = {"kms:ViaService": f"s3.{props.region}.amazonaws.com"}
        for source in props.sources:
            if source.kms_key_arn:
                statements.append({
                    "Sid": f"DecryptSource{''.join(p.capitalize() for p in source.id.split('-'))}",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": source.kms_key_arn,
                    # With an S3 Bucket Key the encryption context is the bucket ARN, not the object's.
                    "Condition": {"StringEquals": via, "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [source.bucket.arn, f"{source.bucket.arn}/*"]}},
                })
        if props.kms_key_arn and any(s.kms_key_arn for s in props.sources):
            statements.append({
                "Sid": "EncryptReplicas",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": props.kms_key_arn,
                "Condition": {"StringEquals": via,
                              "StringLike": {"kms:EncryptionContext:aws:s3:arn": [archive_arn, f"{archive_arn}/*"]}},
            })
        return statements

    def _replicate(self, props: LogArchiveProps, source: ArchivedLogs, archive_arn: str, on: dict[str, Any]) -> None:
        if source.kms_key_arn and not props.kms_key_arn:
            raise ValueError(f"{props.bucket_name}: {source.id} is SSE-KMS; its replicas need the archive's kms_key_arn")
        rule_id = "archive-write-once"
        destination: dict[str, Any] = {
            "bucket": archive_arn,
            "storage_class": "STANDARD",
            "replication_time": {"status": "Enabled", "time": {"minutes": REPLICATION_MINUTES}},
            "metrics": {"status": "Enabled", "event_threshold": {"minutes": REPLICATION_MINUTES}},
        }
        rule: dict[str, Any] = {
            "id": rule_id,
            "status": "Enabled",
            "priority": 1,
            "filter": {"prefix": ""},
            "delete_marker_replication": {"status": "Disabled"},
            "destination": destination,
        }
        if source.kms_key_arn:
            rule["source_selection_criteria"] = {"sse_kms_encrypted_objects": {"status": "Enabled"}}
            destination["encryption_configuration"] = {"replica_kms_key_id": props.kms_key_arn}
        aws.s3_bucket_replication_configuration.S3BucketReplicationConfigurationA(
            self,
            f"replicate-{source.id}",
            **on,
            bucket=source.bucket.bucket.id,
            role=self.role.arn,
            rule=[rule],
            # Both buckets versioned and the archive locked before the first object is replicated.
            # S3 replicates with the role's permissions from the first object (aws_rules AWS002).
            depends_on=[source.bucket.versioning, self.bucket.versioning, self.bucket.object_lock, self.permissions],
        )
        if props.alarm_topic_arn:
            spec = AlarmSpec(
                name=f"{props.alarm_name_prefix}-{source.id}-failed",
                description=f"Log objects of {source.id} failed to replicate into the write-once archive {props.bucket_name}",
                namespace="AWS/S3", metric="OperationsFailedReplication",
                dimensions={"SourceBucket": source.bucket.name, "DestinationBucket": props.bucket_name, "RuleId": rule_id},
                statistic="Sum", threshold=0, period=300, treat_missing_data="notBreaching",
            )
            metric_alarm(self, f"replicate-{source.id}-failed", spec, props.alarm_topic_arn)
            self.alarm_names.append(spec.name)


class ContainerInsightsLogGroups(Construct):
    """The Container Insights log groups of one cluster, KMS-encrypted and kept ``retention_days`` (protected).

    ``dependency_addresses``: the log groups' Terraform addresses, for the ``depends_on`` of the
    amazon-cloudwatch-observability add-on created elsewhere.
    """

    def __init__(self, scope: Construct, id: str, *, cluster_name: str, kms_key_arn: str, retention_days: int) -> None:
        super().__init__(scope, id)
        self.log_groups = [
            aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                kind,
                name=f"/aws/containerinsights/{cluster_name}/{kind}",
                retention_in_days=retention_days,
                kms_key_id=kms_key_arn,
                lifecycle=protected(),  # audit trail (PCI DSS 10.5): never destroyed by a plan
            )
            for kind in CONTAINER_INSIGHTS_LOG_GROUPS
        ]
        self.names: list[str] = [f"/aws/containerinsights/{cluster_name}/{kind}" for kind in CONTAINER_INSIGHTS_LOG_GROUPS]
        self.dependency_addresses: list[str] = [f"aws_cloudwatch_log_group.{g.friendly_unique_id}" for g in self.log_groups]
