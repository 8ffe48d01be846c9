"""``globalpay-<env>-bootstrap``: the Terraform state bucket and its key, kept in local state.

Applied once per environment, before any other workspace (README, "Deploy order"). Its own state file is
small and holds no secret; commit-free storage of it is the operator's (docs/runbooks/deploy.md).
"""

from __future__ import annotations

from constructs import Construct

from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.encryption import ManagedKey
from constructs_lib.naming import Naming
from constructs_lib.storage import LifecycleRule, SecureBucket, SecureBucketProps, log_delivery_statement
from regions.base import GlobalPayStack


class BootstrapStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        naming_env = config.name
        super().__init__(scope, Naming(naming_env).stack("bootstrap"), config=config, region=config.state.region, backend="local")
        account = AccountContext(self, "account")
        self.state_key = ManagedKey(
            self,
            "state-key",
            alias=config.state_key_alias,
            description=f"GlobalPay {naming_env} Terraform state encryption key",
            region=config.state.region,
            account=account,
            via_services=("s3",),
        )
        self.access_logs = SecureBucket(
            self,
            "state-access-logs",
            SecureBucketProps(
                bucket_name=f"{config.state_bucket}-access-logs",
                kms_key_arn="",  # S3 server access logging cannot deliver to SSE-KMS buckets
                lifecycle_rules=(LifecycleRule(id="expire-access-logs", expiration_days=400, noncurrent_version_expiration_days=30),),
                policy_statements=(log_delivery_statement(f"{config.state_bucket}-access-logs", [config.state_bucket], account.account_id),),
            ),
        )
        self.state_bucket = SecureBucket(
            self,
            "state-bucket",
            SecureBucketProps(
                bucket_name=config.state_bucket,
                kms_key_arn=self.state_key.arn,
                # State history is kept a year; current state never expires.
                lifecycle_rules=(LifecycleRule(id="expire-old-state-versions", noncurrent_version_expiration_days=365),),
                access_log_bucket=self.access_logs.name,
                access_log_prefix="state-bucket/",
            ),
        )

