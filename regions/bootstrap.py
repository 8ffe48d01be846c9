"""``globalpay-<env>-bootstrap``: the Terraform state bucket, its key, and their copy in a second region.

Applied once per environment, before any other workspace (every stack depends on it). Its own state file is
small, holds no secret and stays local (backed up into the bucket it creates: docs/runbooks/deploy.md).

The state bucket (``state.region``) replicates every object version, with S3 Replication Time Control and
replication metrics, into a bucket in ``state.replica_region`` encrypted with a key of that region (same alias
name), so the platform's state survives an outage of ``state.region``: ``state.use_replica`` points every
workspace at the copy (docs/runbooks/failover.md, "When us-east-1 itself is unreachable").
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.audit import ArchivedLogs, LogArchive, LogArchiveProps, log_retention
from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.encryption import ManagedKey
from constructs_lib.naming import Naming
from constructs_lib.resilience import BucketReplication, BucketReplicationProps
from constructs_lib.storage import (
    LifecycleRule,
    SecureBucket,
    SecureBucketProps,
    log_delivery_statement,
    log_lifecycle,
)
from regions.base import GlobalPayStack

#: State history is kept a year; current state never expires.
STATE_LIFECYCLE = (LifecycleRule(id="expire-old-state-versions", noncurrent_version_expiration_days=365),)


class BootstrapStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        naming = Naming(config.name, account_id=config.aws_account_id)
        super().__init__(scope, naming.stack("bootstrap"), config=config, region=config.state.region, backend="local")
        account = AccountContext(self, "account")
        self.state_key, self.access_logs, self.state_bucket = self._state_bucket(
            "", config.state_bucket, config.state_access_log_bucket, config.state.region, account, provider=None)
        self.log_archive = self._log_archive("", self.access_logs, config.state.region, account, provider=None)

        # The copy in state.replica_region: its own key (same alias name), its own access logs.
        replica_region = config.state.replica_region
        self.replica_provider = self.aws_provider(replica_region, alias="state_replica")
        self.replica_key, self.replica_access_logs, self.replica_bucket = self._state_bucket(
            "replica-", config.state_replica_bucket, config.state_replica_log_bucket, replica_region, account,
            provider=self.replica_provider)
        self.replica_log_archive = self._log_archive("replica-", self.replica_access_logs, replica_region, account,
                                                     provider=self.replica_provider)
        self.replication = BucketReplication(self, "state-replication", BucketReplicationProps(
            source_bucket_name=self.state_bucket.name,
            source_bucket_arn=self.state_bucket.arn,
            source_region=config.state.region,
            source_kms_key_arn=self.state_key.arn,
            destination_bucket_name=config.state_replica_bucket,
            destination_region=replica_region,
            destination_kms_alias=config.state_key_alias,
            account=account,
            role_name=naming.name("state-replication"),
            # S3 refuses a replication rule unless both buckets are versioned.
            depends_on=(self.state_bucket.versioning, self.replica_bucket.versioning),
        ))

    def _state_bucket(self, prefix: str, bucket_name: str, log_bucket_name: str, region: str, account: AccountContext, *,
                      provider):
        """A state bucket of ``region``: its KMS key, its access-log bucket (SSE-S3: S3 log delivery cannot
        write SSE-KMS), and the versioned, KMS-encrypted bucket itself."""
        config = self.config
        key = ManagedKey(
            self,
            f"{prefix}state-key",
            alias=config.state_key_alias,
            description=f"GlobalPay {config.name} Terraform state encryption key ({region})",
            region=region,
            account=account,
            via_services=("s3",),
            provider=provider,
        )
        access_logs = SecureBucket(self, f"{prefix}state-access-logs", SecureBucketProps(
            bucket_name=log_bucket_name,
            kms_key_arn="",  # S3 server access logging cannot deliver to SSE-KMS buckets
            lifecycle_rules=log_lifecycle("expire-access-logs", keep_days=config.audit_logs.object_lock_days),
            policy_statements=(log_delivery_statement(log_bucket_name, [bucket_name], account.account_id),),
            eventbridge_notifications=True,  # deleted evidence pages (the region's -security stack, PCI DSS 10.3.4)
            provider=provider,
        ))
        bucket = SecureBucket(self, f"{prefix}state-bucket", SecureBucketProps(
            bucket_name=bucket_name,
            kms_key_arn=key.arn,
            lifecycle_rules=STATE_LIFECYCLE,
            access_log_bucket=access_logs.name,
            access_log_prefix="state-bucket/",
            eventbridge_notifications=True,  # a deleted state version pages (the region's -security stack)
            provider=provider,
        ))
        return key, access_logs, bucket

    def _log_archive(self, prefix: str, access_logs: SecureBucket, region: str, account: AccountContext, *,
                     provider) -> LogArchive:
        """The write-once archive of a state bucket's access logs (S3 cannot deliver them into a locked bucket:
        they replicate into it). No alarm topic exists this early: the replication metrics are in CloudWatch."""
        naming = Naming(self.config.name, region, self.config.aws_account_id)
        return LogArchive(self, f"{prefix}state-log-archive", LogArchiveProps(
            bucket_name=naming.state_log_archive_bucket(region),
            retention=log_retention(self.config.audit_logs),
            region=region,
            account=account,
            role_name=naming.regional("state-log-archive"),
            sources=(ArchivedLogs("state-access-logs", access_logs),),
            provider=provider,
        ))
