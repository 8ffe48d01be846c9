"""ElastiCache Redis of one region (guide section 4): a Multi-AZ replication group with TLS and role-based access
control, where the services authenticate with IAM.

No static credential exists, so none can leak into Terraform state, the JSON or a repository: the guide's
AUTH token is replaced by ElastiCache RBAC (Redis OSS 7.0+):

* a user group holding exactly two users: the ``default`` user every group must contain, switched **off**
  (``off -@all``: unauthenticated connections get nothing), and the services' user ``globalpay-<env>-app``
  with authentication mode ``iam`` (user id = user name, as IAM authentication requires);
* the replication group requires TLS (IAM authentication only works over TLS) and uses that user group;
* the services' IRSA role (``globalpay-sa``) may ``elasticache:Connect`` to exactly this replication group as
  exactly this user (``irsa.cache_connect_statement``). A service signs a short-lived token (SigV4, valid 15
  minutes) with its role and sends it as the password of that user; connections live up to 12 hours
  (docs/data-tier.md, "Redis: IAM authentication").
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from constructs_lib import versions
from constructs_lib.common import protected
from constructs_lib.config import CacheConfig
from constructs_lib.database import DataStorePlacement, DataStoreSecurityGroup
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: What the services may do: every key and command except the dangerous ones (FLUSHALL, CONFIG, DEBUG, KEYS,
#: ...). One user for the service set, as they share one IAM role (``globalpay-sa``).
APP_ACCESS_STRING = "on ~* &* +@all -@dangerous"
#: The ``default`` user every user group must contain, disabled.
DEFAULT_USER_ACCESS_STRING = "off -@all"


@dataclass(frozen=True)
class CacheProps(DataStorePlacement):
    """Inputs of a region's Redis: its placement and the cache settings."""

    config: CacheConfig


@dataclass
class CacheOutputs:
    replication_group_id: str
    primary_endpoint: str
    port: int
    #: The IAM-authenticated ElastiCache user of the services (user id = user name).
    app_user: str
    security_group_id: str


def replication_group_id(naming: Naming) -> str:
    """``globalpay-<env>-redis``: what the services' IAM policy names before the data tier exists."""
    return naming.name("redis")


def app_user_name(naming: Naming) -> str:
    """``globalpay-<env>-app``: lower case, as IAM authentication requires user id = user name."""
    return naming.name("app")


class RedisCache(Construct):
    def __init__(self, scope: Construct, id: str, props: CacheProps) -> None:
        super().__init__(scope, id)
        c, naming = props.config, props.naming
        group_id = replication_group_id(naming)
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
        # RBAC: the required "default" user, switched off, and the services' IAM-authenticated user. User ids
        # are unique per account and region, hence the environment in them.
        self.default_user = aws.elasticache_user.ElasticacheUser(
            self,
            "default-user",
            user_id=naming.name("redis-default"),
            user_name="default",
            engine=c.engine,  # users and user groups belong to one engine: the replication group's
            access_string=DEFAULT_USER_ACCESS_STRING,
            authentication_mode={"type": "no-password-required"},
        )
        self.app_user = aws.elasticache_user.ElasticacheUser(
            self,
            "app-user",
            user_id=app_user_name(naming),
            user_name=app_user_name(naming),
            engine=c.engine,
            access_string=APP_ACCESS_STRING,
            authentication_mode={"type": "iam"},
        )
        self.user_group = aws.elasticache_user_group.ElasticacheUserGroup(
            self,
            "user-group",
            user_group_id=naming.name("redis-users"),
            engine=c.engine,
            user_ids=[self.default_user.user_id, self.app_user.user_id],
        )
        logs = {
            kind: aws.cloudwatch_log_group.CloudwatchLogGroup(
                self,
                f"{kind}-log-group",
                name=f"/aws/elasticache/{group_id}/{kind}",
                kms_key_id=props.data_key_arn,
                retention_in_days=props.log_retention_days,
                lifecycle=protected(),
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
            user_group_ids=[self.user_group.user_group_id],
            snapshot_retention_limit=c.snapshot_retention_days,
            snapshot_window=c.snapshot_window,
            maintenance_window=c.maintenance_window,
            final_snapshot_identifier=f"{group_id}-final",
            apply_immediately=c.apply_immediately,
            # engine_version pins the minor; ElastiCache patches it (CacheConfig.auto_minor_version_upgrade says why
            # this differs from RDS, where engine_version pins the patch release and upgrades are ours).
            auto_minor_version_upgrade="true" if c.auto_minor_version_upgrade else "false",
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
            app_user=app_user_name(naming),
            security_group_id=self.security_group.id,
        )
