"""ElastiCache Redis of one region (guide section 4): a Multi-AZ replication group with TLS and role-based access
control, where every service authenticates with IAM as its own user.

No static credential exists, so none can leak into Terraform state, the JSON or a repository: the guide's
AUTH token is replaced by ElastiCache RBAC (Redis OSS 7.0+):

* a user group holding the ``default`` user every group must contain, switched **off** (``off -@all``:
  unauthenticated connections get nothing), and one user per service, ``globalpay-<env>-<service>``, with
  authentication mode ``iam`` (user id = user name, as IAM authentication requires) and an access string
  limited to that service's keys and channels (``<service>:*``) and the commands it needs
  (``constructs_lib/access.py``: its configured rules, then no dangerous command, FUNCTION, SCAN or RANDOMKEY,
  then the few commands every client calls, INFO included);
* the replication group requires TLS (IAM authentication only works over TLS) and uses that user group;
* each service's IRSA role may ``elasticache:Connect`` to exactly this replication group as exactly its own
  user (``constructs_lib/identity.py``). A service signs a short-lived token (SigV4, valid 15 minutes) with
  its role and sends it as the password of its user; connections live up to 12 hours (docs/data-tier.md,
  "Redis: IAM authentication").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from constructs import Construct

from constructs_lib import versions
from constructs_lib.access import DEFAULT_USER_ACCESS_STRING, ServiceIdentity
from constructs_lib.common import protected
from constructs_lib.config import CacheConfig
from constructs_lib.database import DataStorePlacement, DataStoreSecurityGroup
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: The ``default`` user: no password and no authentication mode block. ``authentication_mode = {type =
#: "no-password-required"}`` (the CreateUser input value) is read back as ``no-password`` (the API's
#: ``Authentication.Type`` output value) and hashicorp/aws does not suppress the difference (6.x
#: ``internal/service/elasticache/user.go``: ``resourceUserRead`` sets ``authentication_mode[0].type`` from the
#: API, ``type`` has no DiffSuppressFunc), so every plan would show an in-place change. ``no_password_required``
#: is never read back (the argument keeps its configured value) and ``authentication_mode`` is Optional +
#: Computed, so leaving it out takes whatever the API reports: no change on the next plan.
DEFAULT_USER_AUTHENTICATION = {"no_password_required": True}


@dataclass(frozen=True)
class CacheProps(DataStorePlacement):
    """Inputs of a region's Redis: its placement, the cache settings and the services (one user each; default
    none: only the disabled ``default`` user)."""

    config: CacheConfig
    services: Sequence[ServiceIdentity] = field(default_factory=tuple)


@dataclass
class CacheOutputs:
    replication_group_id: str
    primary_endpoint: str
    port: int
    #: The IAM-authenticated ElastiCache user of each service (user id = user name).
    users: dict[str, str]
    security_group_id: str


def replication_group_id(naming: Naming) -> str:
    """``globalpay-<env>-redis``: what the services' IAM policies name."""
    return naming.name("redis")


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
        # RBAC: the required "default" user, switched off, and one IAM-authenticated user per service. User ids
        # are unique per account and region, hence the environment in them.
        self.default_user = aws.elasticache_user.ElasticacheUser(
            self,
            "default-user",
            user_id=naming.name("redis-default"),
            user_name="default",
            engine=c.engine,  # users and user groups belong to one engine: the replication group's
            access_string=DEFAULT_USER_ACCESS_STRING,
            **DEFAULT_USER_AUTHENTICATION,
        )
        self.service_users = {
            svc.service: aws.elasticache_user.ElasticacheUser(
                self,
                f"user-{svc.service}",
                user_id=svc.redis_user,
                user_name=svc.redis_user,
                engine=c.engine,
                access_string=svc.redis_access_string,
                authentication_mode={"type": "iam"},
            )
            for svc in props.services
        }
        self.user_group = aws.elasticache_user_group.ElasticacheUserGroup(
            self,
            "user-group",
            user_group_id=naming.name("redis-users"),
            engine=c.engine,
            user_ids=[self.default_user.user_id, *(u.user_id for u in self.service_users.values())],
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
            users={svc.service: svc.redis_user for svc in props.services},
            security_group_id=self.security_group.id,
        )
