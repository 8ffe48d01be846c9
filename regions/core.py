"""``globalpay-<env>-<region>``: one region's AWS footprint: network, cluster, data tier, operations.

Built from the region's keys (the ``-keys`` stack's outputs) in three layers, each a construct with typed
props and outputs: compute (EKS), data (RDS, Redis, MSK, secrets, ECR), operations (WAF, alarms, X-Ray,
backups, buckets, payment events). ``CoreOutputs`` is what the later stacks of the region read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.access import database_plan, identities
from constructs_lib.audit import log_retention
from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.database import database_fence, database_regions, database_topology, writer_region
from constructs_lib.egress import needs_internet
from constructs_lib.encryption import KeyPair
from constructs_lib.identity import KafkaTarget, ServiceIdentities, ServiceIdentitiesProps
from constructs_lib.irsa import OidcIssuer
from constructs_lib.naming import Naming
from constructs_lib.network import Network, NetworkProps, subnet_cidr
from constructs_lib.observability import DatabaseTarget
from constructs_lib.providers import aws
from constructs_lib.streaming import RETIRED_SCRAM_SECRETS
from regions.base import GlobalPayStack
from regions.compute_layer import Compute, ComputeLayer, ComputeProps
from regions.data_layer import DataLayer, DataProps, DataTier
from regions.operations_layer import Operations, OperationsLayer, OperationsProps

#: Private ASNs of the regional transit gateways, by position in the configuration (stable across failover).
TRANSIT_GATEWAY_BASE_ASN = 64512


#: Stateful resources whose address changed when the compute and operations layers became constructs (their
#: construct path gained ``compute/`` or ``operations/``; the hash in a logical id is of the path below the
#: stack, so the addresses are the same in every region and environment): new address -> the address before.
#: A workspace applied before that change moves its state (a ``moved`` block) instead of planning to destroy
#: a cluster, a bucket, a log, a topic or a queue. Remove the entries once every workspace has been applied
#: with them (docs/safe-change.md, "Renaming a construct safely"). Written as one stack-level ``moved`` list
#: rather than ``move_from_id`` on each resource: looking the nine resources up through jsii costs ~50 MB of
#: synth memory (docs/benchmark.md).
LAYER_RENAMES: dict[str, str] = {
    "aws_eks_cluster.compute_eks_cluster_CE4CEC23": "aws_eks_cluster.eks_cluster_55B0C966",
    "aws_cloudwatch_log_group.compute_eks_log-group_79CF62DC": "aws_cloudwatch_log_group.eks_log-group_29AF1558",
    "aws_s3_bucket.operations_access-log-bucket_234544BD": "aws_s3_bucket.access-log-bucket_B377A41D",
    "aws_sns_topic.operations_alarm-topic_C02225F3": "aws_sns_topic.alarm-topic_D89A1C02",
    "aws_s3_bucket.operations_data-bucket_3D8DD6AD": "aws_s3_bucket.data-bucket_D46037D5",
    "aws_sqs_queue.operations_payment-events_dlq_F7CD6F2A": "aws_sqs_queue.payment-events_dlq_97FE93DB",
    "aws_sqs_queue.operations_payment-events_queue_28B8EEA2": "aws_sqs_queue.payment-events_queue_3EDD9151",
    "aws_sns_topic.operations_payment-events_topic_D48AFC4E": "aws_sns_topic.payment-events_topic_D9D7915F",
    "aws_cloudwatch_log_group.operations_waf_log-group_2A4C69AF": "aws_cloudwatch_log_group.waf_log-group_B08BEF30",
}


def core_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region)


@dataclass(frozen=True)
class NetworkOutputs:
    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: list[str]
    transit_gateway_id: str
    transit_gateway_route_table_id: str


@dataclass(frozen=True)
class CoreOutputs:
    """What the region's later stacks (add-ons, apps, edge) and the global stack read from its core stack."""

    region: str
    stack_name: str
    cluster_name: str
    keys: KeyPair
    network: NetworkOutputs
    compute: Compute
    data: DataTier
    operations: Operations
    #: IAM role ARN and name of each service (``identity/<service>``).
    service_role_arns: dict[str, str]
    service_role_names: dict[str, str]


def tertiary_regions(config: EnvironmentConfig) -> tuple[str, ...]:
    """Regions that are neither primary nor secondary: their data bucket's copy lives in the origin region."""
    return tuple(r for r in config.region_names if r not in (config.primary_region, config.secondary_region))


def replication_destination(config: EnvironmentConfig, region: str) -> tuple[str, str] | None:
    """``(region, bucket)`` the data bucket of ``region`` replicates into: primary and secondary into each
    other's data bucket (both directions, so either side's writes survive the other's loss), any other region
    into its copy bucket in the origin region."""
    naming = Naming(config.name, account_id=config.aws_account_id)
    primary, secondary = config.primary_region, config.secondary_region
    if region == primary and secondary in config.region_names:
        return secondary, naming.data_bucket(secondary)
    if region == secondary and primary in config.region_names:
        return primary, naming.data_bucket(primary)
    origin = config.database.origin_region
    if region != origin and origin in config.region_names:
        return origin, naming.data_copy_bucket(region)
    return None


def peer_private_subnets(config: EnvironmentConfig, region: str) -> tuple[tuple[str, str], ...]:
    """``(label, cidr)`` of every other region's private (EKS) subnets.

    Pods of every region use the one PostgreSQL writer (docs/data-tier.md), reaching it over the transit
    gateway mesh; a security group cannot reference another region's node group, so the database admits
    exactly those subnets (nodes and pods live there with the VPC CNI), nothing wider.
    """
    return tuple(
        (f"{r.name}-private-{i}", subnet_cidr(r.vpc_cidr, octet, r.subnet_prefix))
        for r in config.regions if r.name != region
        for i, octet in enumerate(r.private_subnet_octets)
    )


def database_targets(data: DataTier) -> tuple[DatabaseTarget, ...]:
    """The RDS instances the data layer built (Aurora members are watched through their cluster's metrics)."""
    database = data.database
    if database is None or database.cluster_identifier:
        return ()
    replicas = set(database.replica_identifiers)
    return tuple(sorted((DatabaseTarget(i, i in replicas) for i in database.instance_identifiers), key=lambda d: d.identifier))


class RegionCoreStack(GlobalPayStack):
    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        region: str,
        *,
        keys: KeyPair,
        secret_replica_keys: Mapping[str, str],
        backend: str,
    ) -> None:
        """``keys``: this region's (``-keys`` stack); ``secret_replica_keys``: the other regions' secrets keys,
        where the origin region replicates the shared secrets to."""
        super().__init__(scope, core_stack_name(config, region), config=config, region=region, backend=backend)
        spec = config.region(region)
        naming = self.naming
        self.role = config.role_of(region)
        self.account = AccountContext(self, "account")
        self.cluster_name = naming.name("cluster")
        peers = tuple(r.vpc_cidr for r in config.regions if r.name != region)
        self.network = Network(self, "network", NetworkProps(
            region=spec,
            naming=naming,
            account=self.account,
            log_kms_key_arn=keys.data_key_arn,
            cluster_name=self.cluster_name,
            single_nat_gateway=config.single_nat_gateway,
            flow_log_retention_days=config.observability.log_retention_days,
            transit_gateway_asn=TRANSIT_GATEWAY_BASE_ASN + config.region_names.index(region),
            peer_cidrs=peers,
            allowed_domains=config.egress.allowed_domains,
            network_firewall=config.egress.network_firewall,
            organization_id=config.egress.organization_id if config.egress.endpoint_policy_scope == "organization" else "",
        ))
        # The security group of the EKS worker nodes. Created here, before the layers, because the data tier
        # admits it (RDS, Redis, MSK) and the compute layer attaches it to the nodes' launch template.
        self.node_security_group = aws.security_group.SecurityGroup(
            self,
            "node-security-group",
            name=naming.name("eks-nodes"),
            description="EKS worker nodes of the payment-processing node group",
            vpc_id=self.network.vpc_id,
            tags={"Name": naming.name("eks-nodes"), f"kubernetes.io/cluster/{self.cluster_name}": "owned"},
        )

        compute = ComputeLayer(self, "compute", ComputeProps(
            naming=naming,
            account=self.account,
            region=region,
            cluster=config.cluster,
            kubernetes_version=config.kubernetes_version(region),
            cluster_name=self.cluster_name,
            vpc_id=self.network.vpc_id,
            vpc_cidr=self.network.vpc_cidr,
            private_subnet_ids=self.network.private_subnet_ids,
            node_security_group_id=self.node_security_group.id,
            keys=keys,
            platform_vpc_cidrs=tuple(r.vpc_cidr for r in config.regions),
            peer_vpc_cidrs=peers,
            node_labels={"environment": config.environment_label, "workload": "payment-processing"},
            s3_prefix_list_id=self.network.s3_prefix_list_id,
            internet_https_egress=needs_internet(config.egress.allowed_domains),
        ))
        services = identities(naming, config.workloads.services)
        origin = region == config.database.origin_region
        data = DataLayer(self, "data", DataProps(
            naming=naming,
            account=self.account,
            region=region,
            database=config.database,
            cache=config.cache,
            kafka=config.kafka,
            registry=config.registry,
            vpc_id=self.network.vpc_id,
            private_subnet_ids=self.network.private_subnet_ids,
            database_subnet_ids=self.network.database_subnet_ids,
            client_security_group_id=self.node_security_group.id,
            keys=keys,
            secrets_recovery_window_days=config.secrets.recovery_window_days,
            log_retention_days=config.observability.log_retention_days,
            database_instances=database_topology(config, region, self.account.account_id, spec.azs, self.account.partition)
            if region in database_regions(config) else (),
            peer_client_sources=peer_private_subnets(config, region),
            database_fence=database_fence(config, region),
            origin=origin,
            secret_replicas=dict(secret_replica_keys) if origin else {},
            registry_replica_regions=tuple(r for r in config.region_names if r != region),
            vpc_cidr=self.network.vpc_cidr,
            services=services,
            database_writer=region == writer_region(config),
            database_plan=database_plan(config),
        ))
        operations = OperationsLayer(self, "operations", OperationsProps(
            naming=naming,
            account=self.account,
            region=region,
            edge=config.edge,
            observability=config.observability,
            keys=keys,
            cluster_name=self.cluster_name,
            log_retention=log_retention(config.audit_logs),
            databases=database_targets(data.outputs),
            db_max_connections=config.database.max_connections,
            db_allocated_storage_gb=config.database.allocated_storage_gb,
            redis_groups={data.outputs.cache.replication_group_id: config.cache.num_cache_clusters},
            kafka_clusters={data.outputs.kafka.cluster_name: config.kafka.broker_count},
            copies_of=tertiary_regions(config) if origin else (),
        ))
        # One IAM role per service, after the layers whose resources it names (bucket, topic, queue, Redis, MSK).
        identity = ServiceIdentities(self, "identity", ServiceIdentitiesProps(
            naming=naming,
            account=self.account,
            region=region,
            issuer=OidcIssuer(provider_arn=compute.outputs.oidc_provider_arn, host=compute.outputs.oidc_issuer_host),
            namespace=config.workloads.namespace,
            services=services,
            secrets_key_arn=keys.secrets_key_arn,
            data_key_arn=keys.data_key_arn,
            data_bucket_name=operations.outputs.data_bucket_name,
            payment_events_topic_arn=operations.outputs.payment_events_topic_arn,
            payment_events_queue_arn=operations.outputs.payment_events_queue_arn,
            cache_replication_group_id=data.outputs.cache.replication_group_id,
            kafka=KafkaTarget(
                cluster_arn=data.outputs.kafka.cluster_arn,
                cluster_name=data.outputs.kafka.cluster_name,
                cluster_uuid=data.outputs.kafka.cluster_uuid,
            ),
        ))
        self.add_override("moved", [{"from": old, "to": new} for new, old in LAYER_RENAMES.items()])
        # The SASL/SCRAM secrets of a workspace applied before MSK IAM access control: forgotten, not deleted.
        self.add_override("removed", [{"from": address, "lifecycle": {"destroy": False}} for address in RETIRED_SCRAM_SECRETS])
        self.outputs = CoreOutputs(
            region=region,
            stack_name=self.stack_name,
            cluster_name=self.cluster_name,
            keys=keys,
            network=NetworkOutputs(
                vpc_id=self.network.vpc_id,
                vpc_cidr=self.network.vpc_cidr,
                private_subnet_ids=self.network.private_subnet_ids,
                transit_gateway_id=self.network.transit_gateway_id,
                transit_gateway_route_table_id=self.network.transit_gateway_route_table_id,
            ),
            compute=compute.outputs,
            data=data.outputs,
            operations=operations.outputs,
            service_role_arns=identity.role_arns,
            service_role_names=identity.role_names,
        )
