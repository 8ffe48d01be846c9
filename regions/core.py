"""``globalpay-<env>-<region>``: one region's AWS footprint (network, keys, data, cluster, edge, alarms)."""

from __future__ import annotations

from constructs import Construct

from constructs_lib.common import AccountContext
from constructs_lib.config import EnvironmentConfig
from constructs_lib.encryption import Encryption
from constructs_lib.naming import Naming
from constructs_lib.network import Network, NetworkProps
from constructs_lib.providers import aws
from regions.base import GlobalPayStack

#: Private ASNs of the regional transit gateways, by position in the configuration (stable across failover).
TRANSIT_GATEWAY_BASE_ASN = 64512


def core_stack_name(config: EnvironmentConfig, region: str) -> str:
    return Naming(config.name).stack(region)


class RegionCoreStack(GlobalPayStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig, region: str, *, backend: str) -> None:
        super().__init__(scope, core_stack_name(config, region), config=config, region=region, backend=backend)
        spec = config.region(region)
        self.role = config.role_of(region)
        self.account = AccountContext(self, "account")
        self.encryption = Encryption(self, "encryption", naming=self.naming, region=region, account=self.account)
        self.keys = self.encryption.keys
        self.cluster_name = self.naming.name("cluster")
        self.network = Network(
            self,
            "network",
            NetworkProps(
                region=spec,
                naming=self.naming,
                account=self.account,
                log_kms_key_arn=self.keys.data_key_arn,
                cluster_name=self.cluster_name,
                single_nat_gateway=config.single_nat_gateway,
                flow_log_retention_days=config.observability.log_retention_days,
                transit_gateway_asn=TRANSIT_GATEWAY_BASE_ASN + config.region_names.index(region),
                peer_cidrs=tuple(r.vpc_cidr for r in config.regions if r.name != region),
            ),
        )
        # The security group of the EKS worker nodes. Created here, before the layers, because the data tier
        # admits it (RDS, Redis, MSK) and the compute layer attaches it to the nodes' launch template.
        self.node_security_group = aws.security_group.SecurityGroup(
            self,
            "node-security-group",
            name=self.naming.name("eks-nodes"),
            description="EKS worker nodes of the payment-processing node group",
            vpc_id=self.network.vpc_id,
            tags={"Name": self.naming.name("eks-nodes"), f"kubernetes.io/cluster/{self.cluster_name}": "owned"},
        )

        # The layers, in dependency order. Each is a module of regions/ that composes constructs_lib.
        from regions import compute_layer, data_layer, edge_layer

        self.compute = compute_layer.add_compute(self)
        self.data = data_layer.add_data_tier(self)
        self.edge = edge_layer.add_edge_and_observability(self)
