"""RDS, ElastiCache, MSK, Secrets Manager and ECR of a region (issue 3: data tier).

What each region gets (docs/data-tier.md has the reasoning):

* every region: Redis and MSK at the environment's size (each region runs the full service set and must
  carry all traffic after a failover), the secrets its pods read, registry scanning;
* the database regions (``database.origin_region`` and its DR region): PostgreSQL (see
  ``constructs_lib.database.database_topology``); the tertiary region has none and reaches the writer
  through the transit gateway;
* ``registry.home_region``: the ECR repositories and their replication; the other regions a repository
  creation template for the replicas.

Every placement is decided by region name and configuration, never by a role alone, so a failover
(``primary_region``/``secondary_region`` swapped) keeps each stateful resource's Terraform address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs import Construct

from constructs_lib.cache import CacheOutputs, CacheProps, RedisCache
from constructs_lib.database import (
    DatabaseOutputs,
    DatabaseProps,
    PostgresDatabase,
    credentials_secret_value,
    database_regions,
    database_topology,
)
from constructs_lib.network import subnet_cidr
from constructs_lib.registry import (
    ContainerRegistry,
    RegistryOutputs,
    RegistryProps,
    RegistryReplicaSettings,
    RegistryScanning,
    ReplicaSettingsProps,
)
from constructs_lib.secrets import OperatorSecrets, OperatorSecretsProps, Secret, SecretProps, ephemeral_password
from constructs_lib.streaming import KafkaCluster, KafkaOutputs, KafkaProps
from constructs_lib.validation import RDS_INSTANCE_MEMORY_GIB

if TYPE_CHECKING:
    from regions.core import RegionCoreStack

#: RDS refuses these in a master password ('/', '"', '@', space); quotes and backslash are excluded too so
#: the value survives shells and connection strings.
RDS_PASSWORD_EXCLUDED = "/\"@ '\\`"


@dataclass
class SecretArns:
    """ARNs of the region's secrets (the workloads' external-secrets read them by name)."""

    database_credentials: str
    redis_auth_token: str
    jwt_keys: str
    api_keys: str
    kafka_scram: dict[str, str] = field(default_factory=dict)


@dataclass
class DataTier:
    """What later layers (alarms, workloads, DR) need from a region's data tier."""

    database: DatabaseOutputs | None
    cache: CacheOutputs
    kafka: KafkaOutputs
    secrets: SecretArns
    registry: RegistryOutputs | None
    database_security_group_id: str = ""


def peer_private_subnets(stack: RegionCoreStack) -> tuple[tuple[str, str], ...]:
    """``(label, cidr)`` of every other region's private (EKS) subnets.

    Pods of every region use the one PostgreSQL writer (docs/data-tier.md), reaching it over the transit
    gateway mesh; a security group cannot reference another region's node group, so the database admits
    exactly those subnets (nodes and pods live there with the VPC CNI), nothing wider.
    """
    return tuple(
        (f"{r.name}-private-{i}", subnet_cidr(r.vpc_cidr, octet, r.subnet_prefix))
        for r in stack.config.regions if r.name != stack.region
        for i, octet in enumerate(r.private_subnet_octets)
    )


def add_data_tier(stack: RegionCoreStack) -> DataTier:
    config, naming, keys, network = stack.config, stack.naming, stack.keys, stack.network
    region = stack.region
    scope = Construct(stack, "data")
    recovery = config.secrets.recovery_window_days
    log_retention = config.observability.log_retention_days
    spec = config.region(region)

    # -- PostgreSQL ------------------------------------------------------------------------------------
    database = None
    master_password = None
    if region in database_regions(config):
        creates_writer = region == config.database.origin_region
        if creates_writer:
            master_password = ephemeral_password(stack, "database_master_password", length=40,
                                                 exclude_characters=RDS_PASSWORD_EXCLUDED)
        database = PostgresDatabase(scope, "database", DatabaseProps(
            config=config.database,
            naming=naming,
            account=stack.account,
            region=region,
            vpc_id=network.vpc_id,
            subnet_ids=network.database_subnet_ids,
            client_security_group_id=stack.node_security_group.id,
            data_key_arn=keys.data_key_arn,
            log_retention_days=log_retention,
            instances=database_topology(config, region, stack.account.account_id, spec.azs, stack.account.partition),
            instance_memory_gib=dict(RDS_INSTANCE_MEMORY_GIB),
            master_password=master_password,
            aurora_origin=creates_writer,
            peer_client_sources=peer_private_subnets(stack),
        ))

    # -- Secrets ---------------------------------------------------------------------------------------
    # The credentials secret exists in every region (pods everywhere read it locally). Terraform writes it
    # where it creates the writer; elsewhere an operator copies it (docs/data-tier.md).
    credentials_value = ""
    if master_password is not None and database is not None:
        credentials_value = credentials_secret_value(config.database, master_password, database.outputs.writer_fqn)
    credentials = Secret(scope, "database-credentials", SecretProps(
        name=naming.path("database", "credentials"),
        description="PostgreSQL master credentials {username, password, engine, host, port, dbname}",
        kms_key_arn=keys.secrets_key_arn,
        recovery_window_days=recovery,
        value_wo=credentials_value,
        value_version=config.database.password_version,
    ))
    operator = OperatorSecrets(scope, "operator-secrets", OperatorSecretsProps(
        jwt_keys_name=naming.path("jwt", "keys"),
        api_keys_name=naming.path("api", "keys"),
        kms_key_arn=keys.secrets_key_arn,
        recovery_window_days=recovery,
    ))

    # -- Redis -----------------------------------------------------------------------------------------
    # Redis and Kafka share their placement: private subnets, the nodes as only client, the region's keys.
    placement = dict(
        naming=naming,
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        client_security_group_id=stack.node_security_group.id,
        data_key_arn=keys.data_key_arn,
        secrets_key_arn=keys.secrets_key_arn,
        recovery_window_days=recovery,
        log_retention_days=log_retention,
    )
    cache = RedisCache(scope, "cache", CacheProps(
        config=config.cache,
        **placement,
        auth_token=ephemeral_password(stack, "redis_auth_token", length=config.cache.auth_token_length,
                                      allowed_punctuation=config.cache.auth_token_special_characters),
    ))

    # -- Kafka -----------------------------------------------------------------------------------------
    kafka = KafkaCluster(scope, "kafka", KafkaProps(
        config=config.kafka,
        **placement,
        scram_passwords={
            user: ephemeral_password(stack, f"msk_scram_{user.replace('-', '_')}", length=32, allowed_punctuation="")
            for user in config.kafka.scram_users
        },
        acls_enforced=config.kafka.acls_enforced,
    ))

    # -- ECR -------------------------------------------------------------------------------------------
    registry = None
    RegistryScanning(scope, "registry-scanning", scan_type=config.registry.scan_type)
    if region == config.registry.home_region:
        registry = ContainerRegistry(scope, "registry", RegistryProps(
            config=config.registry,
            naming=naming,
            account=stack.account,
            data_key_arn=keys.data_key_arn,
            replica_regions=[r for r in config.region_names if r != region],
        ))
    else:
        RegistryReplicaSettings(scope, "registry-replica-settings", ReplicaSettingsProps(
            config=config.registry,
            naming=naming,
            account=stack.account,
            region=region,
            data_key_arn=keys.data_key_arn,
        ))

    return DataTier(
        database=database.outputs if database else None,
        cache=cache.outputs,
        kafka=kafka.outputs,
        secrets=SecretArns(
            database_credentials=credentials.arn,
            redis_auth_token=cache.outputs.auth_token_secret_arn,
            jwt_keys=operator.jwt_keys.arn,
            api_keys=operator.api_keys.arn,
            kafka_scram=kafka.outputs.scram_secret_arns,
        ),
        registry=registry.outputs if registry else None,
        database_security_group_id=database.outputs.security_group_id if database else "",
    )
