"""ElastiCache Redis of one region (guide section 4): a Multi-AZ replication group with AUTH and TLS.

The AUTH token: ``aws_elasticache_replication_group.auth_token`` has no write-only variant in the AWS
provider (6.25), and Terraform refuses an ephemeral value in an ordinary argument. The least bad option that
keeps the guide's contract (applications read ``globalpay/<env>/redis/auth-token``):

1. an ephemeral Secrets Manager password, restricted to the characters ElastiCache accepts, is written
   write-only into the secret (never in JSON, plan or state by that path);
2. the replication group reads it back with the ``aws_secretsmanager_secret_version`` data source.

The token therefore sits in the region's Terraform state (KMS-encrypted S3 object, access-restricted), the
same exposure as the ``random_password`` resource the issue suggested, but never in the repository or the
synthesized JSON, and the random provider is not needed. docs/data-tier.md explains the alternative (RBAC
users with IAM authentication: no static secret at all, at the price of IAM-token support in every client).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn
from constructs import Construct

from constructs_lib import versions
from constructs_lib.common import protected
from constructs_lib.config import CacheConfig
from constructs_lib.database import DataStorePlacement, DataStoreSecurityGroup, json_expression
from constructs_lib.providers import aws
from constructs_lib.secrets import EphemeralPassword, Secret, SecretProps


@dataclass(frozen=True)
class CacheProps(DataStorePlacement):
    """Inputs of a region's Redis: its placement, the cache settings and the apply-time AUTH token."""

    config: CacheConfig
    auth_token: EphemeralPassword


@dataclass
class CacheOutputs:
    replication_group_id: str
    primary_endpoint: str
    port: int
    auth_token_secret_arn: str
    security_group_id: str


class RedisCache(Construct):
    def __init__(self, scope: Construct, id: str, props: CacheProps) -> None:
        super().__init__(scope, id)
        c, naming = props.config, props.naming
        group_id = naming.name("redis")
        self.subnet_group = aws.elasticache_subnet_group.ElasticacheSubnetGroup(
            self,
            "subnet-group",
            name=naming.name("cache-subnet-group"),
            description="Subnet group for GlobalPay Redis (private subnets)",
            subnet_ids=list(props.subnet_ids),
        )
        self.security_group = DataStoreSecurityGroup(
            self,
            "security-group",
            name=naming.name("redis"),
            description="Redis from the EKS worker nodes only",
            vpc_id=props.vpc_id,
            client_security_group_id=props.client_security_group_id,
            ports=[(c.port, "Redis (TLS)")],
        )
        self.auth_token_secret = Secret(self, "auth-token", SecretProps(
            name=naming.path("redis", "auth-token"),
            description="Redis AUTH token {auth_token}, generated at apply time",
            kms_key_arn=props.secrets_key_arn,
            recovery_window_days=props.recovery_window_days,
            value_wo=json_expression({"auth_token": props.auth_token.ref}),
            value_version=c.auth_token_version,
        ))
        stored = aws.data_aws_secretsmanager_secret_version.DataAwsSecretsmanagerSecretVersion(
            self,
            "auth-token-read",
            secret_id=self.auth_token_secret.secret.id,
            depends_on=[self.auth_token_secret.version],
        )
        logs = {
            kind: aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"{kind}-log-group",
                name=f"/aws/elasticache/{group_id}/{kind}",
                kms_key_id=props.data_key_arn,
                retention_in_days=props.log_retention_days,
            )
            for kind in ("slow-log", "engine-log")
        }
        self.replication_group = aws.elasticache_replication_group.ElasticacheReplicationGroup(
            self,
            "replication-group",
            replication_group_id=group_id,
            description=f"GlobalPay {naming.env} Redis cluster",
            engine=c.engine,
            engine_version=c.engine_version,
            # the family follows from engine and version (versions.CACHE_ENGINE_FAMILIES): never configured twice
            parameter_group_name=f"default.{versions.CACHE_ENGINE_FAMILIES[(c.engine, c.engine_version)]}",
            node_type=c.node_type,
            num_cache_clusters=c.num_cache_clusters,
            port=c.port,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            subnet_group_name=self.subnet_group.name,
            security_group_ids=[self.security_group.id],
            at_rest_encryption_enabled="true",
            kms_key_id=props.data_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=Fn.lookup(Fn.jsondecode(stored.secret_string), "auth_token"),
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=c.snapshot_retention_days,
            snapshot_window=c.snapshot_window,
            maintenance_window=c.maintenance_window,
            final_snapshot_identifier=f"{group_id}-final",
            auto_minor_version_upgrade="true",
            log_delivery_configuration=[
                {
                    "destination": logs[kind].name,
                    "destination_type": "cloudwatch-logs",
                    "log_format": "json",
                    "log_type": kind,
                }
                for kind in ("slow-log", "engine-log")
            ],
            tags={"Name": group_id},
            lifecycle=protected(),
        )
        self.outputs = CacheOutputs(
            replication_group_id=group_id,
            primary_endpoint=self.replication_group.primary_endpoint_address,
            port=c.port,
            auth_token_secret_arn=self.auth_token_secret.arn,
            security_group_id=self.security_group.id,
        )
