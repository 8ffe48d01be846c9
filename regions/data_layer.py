"""A region's data tier: RDS, ElastiCache, MSK, Secrets Manager and ECR.

What each region gets (docs/data-tier.md has the reasoning):

* every region: Redis and MSK at the environment's size (each region runs the full service set and must
  carry all traffic after a failover), their own secrets, registry scanning;
* the database regions (``database.origin_region`` and its DR region): PostgreSQL (see
  ``constructs_lib.database.database_topology``); the tertiary region has none and reaches the writer
  through the transit gateway;
* the origin region: the secrets the pods of *every* region read (database credentials, JWT and API keys),
  replicated by Secrets Manager into every other region, each replica encrypted with that region's secrets
  key: rotation reaches every region and a failover needs no copy;
* ``registry.home_region``: the ECR repositories and their replication; the other regions a repository
  creation template for the replicas.

Every placement is decided by region name and configuration, never by a role alone, so a failover
(``primary_region``/``secondary_region`` swapped) keeps each stateful resource's Terraform address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import TerraformStack
from constructs import Construct

from constructs_lib.access import ServiceIdentity
from constructs_lib.cache import CacheOutputs, CacheProps, RedisCache
from constructs_lib.common import AccountContext
from constructs_lib.config import CacheConfig, DatabaseConfig, KafkaConfig, RegistryConfig
from constructs_lib.database import (
    DatabaseOutputs,
    DatabaseProps,
    InstanceSpec,
    PostgresDatabase,
    credentials_secret_value,
)
from constructs_lib.encryption import KeyPair
from constructs_lib.naming import Naming
from constructs_lib.registry import (
    ContainerRegistry,
    RegistryOutputs,
    RegistryProps,
    RegistryReplicaSettings,
    RegistryScanning,
    ReplicaSettingsProps,
)
from constructs_lib.role_manager import RoleManager, RoleManagerProps
from constructs_lib.secrets import OperatorSecrets, OperatorSecretsProps, Secret, SecretProps, ephemeral_password
from constructs_lib.streaming import KafkaCluster, KafkaOutputs, KafkaProps
from constructs_lib.validation import RDS_INSTANCE_MEMORY_GIB

#: RDS refuses these in a master password ('/', '"', '@', space); quotes and backslash are excluded too so
#: the value survives shells and connection strings.
RDS_PASSWORD_EXCLUDED = "/\"@ '\\`"


@dataclass(frozen=True)
class DataProps:
    """What a region's data tier is built from."""

    naming: Naming
    account: AccountContext
    region: str
    database: DatabaseConfig
    cache: CacheConfig
    kafka: KafkaConfig
    registry: RegistryConfig
    vpc_id: str
    private_subnet_ids: Sequence[str]
    database_subnet_ids: Sequence[str]
    #: The worker nodes' security group: the only client of RDS, Redis and MSK in this VPC.
    client_security_group_id: str
    keys: KeyPair
    secrets_recovery_window_days: int
    log_retention_days: int
    #: The RDS instances of this region (``database_topology``); default none (no database here).
    database_instances: tuple[InstanceSpec, ...] = ()
    #: ``(label, cidr)`` of the other regions' private subnets, admitted to the database on 5432.
    peer_client_sources: tuple[tuple[str, str], ...] = ()
    #: Why this region's database admits no client (``database_fence``); default "" (it admits them).
    database_fence: str = ""
    #: This region is ``database.origin_region``: it creates the writer and the shared secrets.
    origin: bool = False
    #: Shared secrets' replicas: region -> that region's secrets key ARN (only read where ``origin``).
    secret_replicas: Mapping[str, str] = field(default_factory=dict)
    #: Where ECR replicates images (only read in ``registry.home_region``).
    registry_replica_regions: tuple[str, ...] = ()
    #: The region's VPC CIDR (the role manager reaches the VPC endpoints there).
    vpc_cidr: str = ""
    #: The services: one Redis user each (default none).
    services: tuple[ServiceIdentity, ...] = ()
    #: This region holds the database writer: its role manager runs (default False).
    database_writer: bool = False
    #: The services' PostgreSQL roles and grants (``constructs_lib.access.database_plan``).
    database_plan: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SharedSecrets:
    """Secrets Manager names of the secrets every region's pods read (a replica in each region)."""

    database_credentials: str
    jwt_keys: str
    api_keys: str
    #: Properties of the credentials' JSON value: what an ExternalSecret may ask for.
    database_credentials_properties: tuple[str, ...] = ("username", "password", "engine", "host", "port", "dbname")


@dataclass
class DataTier:
    """What later layers and stacks (alarms, workloads, DR) need from a region's data tier."""

    database: DatabaseOutputs | None
    cache: CacheOutputs
    kafka: KafkaOutputs
    registry: RegistryOutputs | None
    shared_secrets: SharedSecrets
    #: Replica regions of the shared secrets (origin region only; empty elsewhere).
    secret_replica_regions: tuple[str, ...] = ()
    database_security_group_id: str = ""


def shared_secret_names(naming: Naming) -> SharedSecrets:
    """The guide's secret names: ``globalpay/<env>/database/credentials``, ``.../jwt/keys``, ``.../api/keys``."""
    return SharedSecrets(
        database_credentials=naming.path("database", "credentials"),
        jwt_keys=naming.path("jwt", "keys"),
        api_keys=naming.path("api", "keys"),
    )


class DataLayer(Construct):
    """``data/``: ``data/database``, ``data/cache``, ``data/kafka``, the secrets and the registry."""

    def __init__(self, scope: Construct, id: str, props: DataProps) -> None:
        super().__init__(scope, id)
        stack = TerraformStack.of(self)
        naming, keys = props.naming, props.keys
        recovery = props.secrets_recovery_window_days
        names = shared_secret_names(naming)

        # -- PostgreSQL ------------------------------------------------------------------------------------
        database = None
        master_password = None
        if props.database_instances:
            if props.origin:
                master_password = ephemeral_password(stack, "database_master_password", length=40,
                                                     exclude_characters=RDS_PASSWORD_EXCLUDED)
            database = PostgresDatabase(self, "database", DatabaseProps(
                config=props.database,
                naming=naming,
                account=props.account,
                region=props.region,
                vpc_id=props.vpc_id,
                subnet_ids=props.database_subnet_ids,
                client_security_group_id=props.client_security_group_id,
                data_key_arn=keys.data_key_arn,
                log_retention_days=props.log_retention_days,
                instances=props.database_instances,
                instance_memory_gib=dict(RDS_INSTANCE_MEMORY_GIB),
                master_password=master_password,
                aurora_origin=props.origin,
                peer_client_sources=props.peer_client_sources,
                fence_note=props.database_fence,
            ))

        # -- Shared secrets (origin only), replicated to every other region ---------------------------------
        replicas = dict(props.secret_replicas) if props.origin else {}
        credentials = None
        if props.origin:
            if master_password is None or database is None:
                raise ValueError(f"{props.region}: the origin region builds the writer whose password the credentials hold")
            credentials = Secret(self, "database-credentials", SecretProps(
                name=names.database_credentials,
                description="PostgreSQL master credentials {username, password, engine, host, port, dbname}: "
                        "break-glass and the role manager only",
                kms_key_arn=keys.secrets_key_arn,
                recovery_window_days=recovery,
                value_wo=credentials_secret_value(props.database, master_password, database.outputs.writer_fqn),
                value_version=props.database.password_version,
                replica_kms_key_arns=replicas,
                break_glass=True,
            ))
            OperatorSecrets(self, "operator-secrets", OperatorSecretsProps(
                jwt_keys_name=names.jwt_keys,
                api_keys_name=names.api_keys,
                kms_key_arn=keys.secrets_key_arn,
                recovery_window_days=recovery,
                replica_kms_key_arns=replicas,
            ))

        # -- Redis and Kafka: private subnets, the nodes as only client, the region's keys -------------------
        placement = dict(
            naming=naming,
            vpc_id=props.vpc_id,
            subnet_ids=props.private_subnet_ids,
            client_security_group_id=props.client_security_group_id,
            data_key_arn=keys.data_key_arn,
            secrets_key_arn=keys.secrets_key_arn,
            recovery_window_days=recovery,
            log_retention_days=props.log_retention_days,
        )
        cache = RedisCache(self, "cache", CacheProps(config=props.cache, services=props.services, **placement))
        kafka = KafkaCluster(self, "kafka", KafkaProps(config=props.kafka, **placement))

        # -- The services' PostgreSQL roles: a role manager in every database region, run in the writer's ----
        if database is not None:
            writer = database.outputs
            RoleManager(self, "role-manager", RoleManagerProps(
                naming=naming,
                account=props.account,
                region=props.region,
                vpc_id=props.vpc_id,
                vpc_cidr=props.vpc_cidr,
                subnet_ids=props.database_subnet_ids,
                database_security_group_id=writer.security_group_id,
                port=writer.port,
                data_key_arn=keys.data_key_arn,
                secrets_key_arn=keys.secrets_key_arn,
                log_retention_days=props.log_retention_days,
                master_secret_name=names.database_credentials,
                # Never against a fenced writer (a failback's fence-dr step: nothing accepts writes until the switchback).
                invoke=props.database_writer and not props.database_fence,
                database_reachable=not props.database_fence,
                plan=props.database_plan,
                writer_address=writer.writer_address,
                database_name=props.database.database_name,
                invoke_after=[database.writer_resource, *([credentials.version] if credentials and credentials.version else [])],
            ))

        # -- ECR -------------------------------------------------------------------------------------------
        registry = None
        RegistryScanning(self, "registry-scanning", scan_type=props.registry.scan_type)
        if props.region == props.registry.home_region:
            registry = ContainerRegistry(self, "registry", RegistryProps(
                config=props.registry,
                naming=naming,
                account=props.account,
                data_key_arn=keys.data_key_arn,
                replica_regions=list(props.registry_replica_regions),
            ))
        else:
            RegistryReplicaSettings(self, "registry-replica-settings", ReplicaSettingsProps(
                config=props.registry,
                naming=naming,
                account=props.account,
                region=props.region,
                data_key_arn=keys.data_key_arn,
            ))

        self.outputs = DataTier(
            database=database.outputs if database else None,
            cache=cache.outputs,
            kafka=kafka.outputs,
            registry=registry.outputs if registry else None,
            shared_secrets=names,
            secret_replica_regions=tuple(sorted(replicas)),
            database_security_group_id=database.outputs.security_group_id if database else "",
        )
