"""Disaster recovery (guide: "Disaster Recovery"): EBS snapshots, the data buckets and their replication.

* **EBS snapshots**: a Data Lifecycle Manager policy takes a daily snapshot of every volume the EBS CSI driver
  created for this cluster (target tag ``kubernetes.io/cluster/<cluster>=owned``, which the driver adds when
  its ``k8sTagClusterId`` is set) and keeps 14. It runs as its own IAM role with the AWS managed
  ``AWSDataLifecycleManagerServiceRole`` policy, instead of the guide's default role addressed by a literal
  account id.
* **Data buckets**: ``globalpay-<env>-data-<region>`` in every region (SecureBucket: versioned, KMS, TLS-only,
  public access blocked, the guide's lifecycle), with server access logs in the region's access-log bucket.
* **Replication**: the primary region's data bucket replicates to the secondary's, encrypted there with the
  destination region's data key. It lives in the source region's ``-edge`` stack, applied after every core
  stack, so both buckets exist; the destination is named (bucket name and key alias ARN are computable from
  config) and the stack declares its dependency on the destination's core stack. A failover (primary <->
  secondary in config) only moves the replication configuration.
  Replication Time Control is on with its metrics: S3 then publishes ``ReplicationLatency`` and
  ``OperationsPendingReplication`` and commits to 99.99 % of objects within 15 minutes. That is S3's SLA; the
  guide's 1-minute RPO is what RDS asynchronous replication typically achieves (its ReplicaLag alarm is at
  60 s), not a promise S3 makes (docs/edge.md, "Deviations").
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, policy_document
from constructs_lib.observability import AlarmSpec, metric_alarm
from constructs_lib.providers import aws

#: AWS managed policy for DLM's snapshot role (service-role path).
DLM_MANAGED_POLICY = "service-role/AWSDataLifecycleManagerServiceRole"
#: S3 Replication Time Control: the only threshold S3 offers (minutes).
S3_RTC_MINUTES = 15


@dataclass(frozen=True)
class EbsSnapshotPolicyProps:
    """Props of :class:`EbsSnapshotPolicy`."""

    #: IAM role name (global namespace: include the region), e.g. ``globalpay-prod-dlm-us-east-1``.
    role_name: str
    #: The EKS cluster whose CSI volumes are snapshotted.
    cluster_name: str
    account: AccountContext
    #: Snapshots kept per volume (default 14: two weeks of dailies).
    retain_count: int = 14
    #: Daily start time, UTC (default 05:00: after the RDS 03:00-04:00 and Redis 03:00-05:00 windows).
    time_utc: str = "05:00"


class EbsSnapshotPolicy(Construct):
    """Daily EBS snapshots of the cluster's persistent volumes (guide: "EBS Snapshots")."""

    def __init__(self, scope: Construct, id: str, props: EbsSnapshotPolicyProps) -> None:
        super().__init__(scope, id)
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=props.role_name,
            description="Data Lifecycle Manager: daily snapshots of the EKS cluster's persistent volumes",
            # No aws:SourceAccount condition: DLM does not document that it sets the key when it assumes the
            # role, and a condition on a missing key denies (the policy would go to ERROR and take no
            # snapshot). iam:PassRole, which only principals of this account hold, already binds the role.
            assume_role_policy=assume_role_policy("dlm.amazonaws.com"),
        )
        managed = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "managed-policy",
            role=self.role.name,
            policy_arn=f"arn:{props.account.partition}:iam::aws:policy/{DLM_MANAGED_POLICY}",
        )
        self.target_tags = {f"kubernetes.io/cluster/{props.cluster_name}": "owned"}
        self.policy = aws.dlm_lifecycle_policy.DlmLifecyclePolicy(
            self,
            "policy",
            description=f"Daily EBS snapshots for EKS volumes of {props.cluster_name}",
            execution_role_arn=self.role.arn,
            state="ENABLED",
            depends_on=[managed],  # DLM acts with the role's permissions (aws_rules AWS002)
            policy_details={
                "policy_type": "EBS_SNAPSHOT_MANAGEMENT",
                "resource_types": ["VOLUME"],
                "target_tags": self.target_tags,
                "schedule": [{
                    "name": f"daily-keep-{props.retain_count}",
                    "create_rule": {"interval": 24, "interval_unit": "HOURS", "times": [props.time_utc]},
                    "retain_rule": {"count": props.retain_count},
                    "copy_tags": True,
                    "tags_to_add": {"SnapshotCreator": "dlm"},
                }],
            },
        )


def data_key_alias_arn(partition: str, region: str, account_id: str, alias: str) -> str:
    """``arn:aws:kms:<region>:<account>:alias/globalpay-<env>-data``: another region's key, by name."""
    return f"arn:{partition}:kms:{region}:{account_id}:{alias}"


@dataclass(frozen=True)
class BucketReplicationProps:
    """Props of :class:`BucketReplication` (source in this stack, destination named)."""

    #: The source bucket (versioned, in the same region as this construct's provider).
    source_bucket_name: str
    source_bucket_arn: str
    source_region: str
    #: The data key encrypting the source bucket (the role decrypts with it, through S3 only).
    source_kms_key_arn: str
    destination_bucket_name: str
    destination_region: str
    #: Alias of the destination region's data key, e.g. ``alias/globalpay-prod-data``.
    destination_kms_alias: str
    account: AccountContext
    #: IAM role name (global namespace), e.g. ``globalpay-prod-s3-replication-us-east-1``.
    role_name: str
    #: Resources the replication configuration waits for (the versioning of buckets in the same stack).
    depends_on: tuple = ()
    #: SNS topic of the failure and latency alarms, and their name prefix (``globalpay-prod-data-replication``:
    #: ``...-failed``, ``...-latency``). Empty topic: no alarms (a stack without an alarm topic).
    alarm_topic_arn: str = ""
    alarm_name_prefix: str = ""


class BucketReplication(Construct):
    """Cross-region replication of every object version, delete markers included, with RTC and metrics."""

    def __init__(self, scope: Construct, id: str, props: BucketReplicationProps) -> None:
        super().__init__(scope, id)
        account, partition = props.account, props.account.partition
        dest_arn = f"arn:{partition}:s3:::{props.destination_bucket_name}"
        self.rule_id = f"replicate-to-{props.destination_region}"
        self.replica_key_arn = data_key_alias_arn(partition, props.destination_region, account.account_id, props.destination_kms_alias)
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=props.role_name,
            description=f"S3 replication of {props.source_bucket_name} to {props.destination_bucket_name}",
            assume_role_policy=assume_role_policy("s3.amazonaws.com", source_account=account.account_id),
        )
        permissions = aws.iam_role_policy.IamRolePolicy(
            self,
            "policy",
            role=self.role.name,
            name="replicate-data-bucket",
            policy=policy_document([
                {
                    "Sid": "ReadSourceConfiguration",
                    "Effect": "Allow",
                    "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    "Resource": props.source_bucket_arn,
                },
                {
                    "Sid": "ReadSourceVersions",
                    "Effect": "Allow",
                    "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                    "Resource": f"{props.source_bucket_arn}/*",
                },
                {
                    "Sid": "WriteReplicas",
                    "Effect": "Allow",
                    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    "Resource": f"{dest_arn}/*",
                },
                {
                    "Sid": "DecryptSourceThroughS3",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": props.source_kms_key_arn,
                    "Condition": {
                        "StringEquals": {"kms:ViaService": f"s3.{props.source_region}.amazonaws.com"},
                        # With an S3 Bucket Key (SecureBucket enables it) the encryption context is the bucket
                        # ARN, not the object ARN: both forms, or replication of every object fails on KMS.
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [props.source_bucket_arn, f"{props.source_bucket_arn}/*"]},
                    },
                },
                {
                    # An alias ARN cannot be a policy Resource; the destination key is matched by its alias.
                    "Sid": "EncryptReplicasWithDestinationDataKey",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                    "Resource": f"arn:{partition}:kms:{props.destination_region}:{account.account_id}:key/*",
                    "Condition": {
                        "StringEquals": {"kms:ViaService": f"s3.{props.destination_region}.amazonaws.com"},
                        "ForAnyValue:StringEquals": {"kms:ResourceAliases": props.destination_kms_alias},
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [dest_arn, f"{dest_arn}/*"]},
                    },
                },
            ]),
        )
        self.configuration = aws.s3_bucket_replication_configuration.S3BucketReplicationConfigurationA(
            self,
            "configuration",
            bucket=props.source_bucket_name,
            role=self.role.arn,
            rule=[{
                "id": self.rule_id,
                "status": "Enabled",
                "priority": 1,
                "filter": {"prefix": ""},
                "delete_marker_replication": {"status": "Enabled"},
                "source_selection_criteria": {
                    "sse_kms_encrypted_objects": {"status": "Enabled"},
                    "replica_modifications": {"status": "Enabled"},
                },
                "destination": {
                    "bucket": dest_arn,
                    "storage_class": "STANDARD",
                    "encryption_configuration": {"replica_kms_key_id": self.replica_key_arn},
                    "replication_time": {"status": "Enabled", "time": {"minutes": S3_RTC_MINUTES}},
                    "metrics": {"status": "Enabled", "event_threshold": {"minutes": S3_RTC_MINUTES}},
                },
            }],
            # S3 replicates with the role's permissions from the first object (aws_rules AWS002).
            depends_on=[*props.depends_on, permissions],
        )
        # S3 replication metrics (enabled above, per rule): a failed object, or a lag beyond the RTC promise.
        self.alarm_names: list[str] = []
        if props.alarm_topic_arn:
            source, destination = props.source_bucket_name, props.destination_region
            dims = {"SourceBucket": source, "DestinationBucket": props.destination_bucket_name, "RuleId": self.rule_id}
            for cid, spec in {
                "replication-failed": AlarmSpec(
                    name=f"{props.alarm_name_prefix}-failed",
                    description=f"Objects of {source} failed to replicate to {destination}",
                    namespace="AWS/S3", metric="OperationsFailedReplication", dimensions=dims,
                    statistic="Sum", threshold=0, period=300, treat_missing_data="notBreaching",
                ),
                "replication-latency": AlarmSpec(
                    name=f"{props.alarm_name_prefix}-latency",
                    description=f"Replication to {destination} is slower than S3 RTC's {S3_RTC_MINUTES} minutes",
                    namespace="AWS/S3", metric="ReplicationLatency", dimensions=dims,
                    statistic="Maximum", threshold=S3_RTC_MINUTES * 60, period=300, evaluation_periods=2,
                    treat_missing_data="notBreaching",
                ),
            }.items():
                metric_alarm(self, cid, spec, props.alarm_topic_arn)
                self.alarm_names.append(spec.name)
