"""A region's VPC, built the way the guide lays it out and the way terraform-aws-modules/vpc hardens it.

Three tiers in three AZs: public (load balancers, NAT), private (EKS, MSK, Redis, endpoints) and database
(isolated: no route to the internet). One NAT gateway per AZ so an AZ outage does not take egress of the
other two with it (``single_nat_gateway`` trades that for cost in staging). Flow logs of ALL traffic to a
KMS-encrypted log group kept a year (PCI DSS 10.5.1); the default security group stripped of every rule;
VPC endpoints so that private nodes reach AWS APIs without the internet; a transit gateway that the global
stack peers with the other regions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, policy_document, protected, security_group_rule
from constructs_lib.config import RegionSpec
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: Interface endpoints private EKS nodes and the platform's pods need (EKS best practices, "private
#: clusters"): image pulls, STS for IRSA, logs and metrics, the controllers' AWS APIs, secrets and keys,
#: and SNS/SQS so that payment events never leave the AWS network through NAT; Systems Manager (ssm, ssmmessages,
#: ec2messages) so that nodes are reached through Session Manager, never SSH (Security Hub EC2.57).
INTERFACE_ENDPOINTS = (
    "ecr.api",
    "ecr.dkr",
    "sts",
    "logs",
    "monitoring",
    "ec2",
    "elasticloadbalancing",
    "autoscaling",
    "secretsmanager",
    "kms",
    "sns",
    "sqs",
    "eks",
    "eks-auth",
    "xray",
    "ssm",
    "ssmmessages",
    "ec2messages",
)


@dataclass(frozen=True)
class NetworkProps:
    region: RegionSpec
    naming: Naming
    account: AccountContext
    #: Key for the flow-log log group (the region's data key).
    log_kms_key_arn: str
    #: EKS cluster name, for the subnet discovery tags of the load balancer controller.
    cluster_name: str
    #: One NAT gateway for all AZs instead of one per AZ (default False: per-AZ, as the guide).
    single_nat_gateway: bool = False
    flow_log_retention_days: int = 365
    #: Private ASN of this region's transit gateway (distinct per region for peering).
    transit_gateway_asn: int = 64512
    #: CIDRs of the other regions' VPCs, routed through the transit gateway.
    peer_cidrs: Sequence[str] = ()


def subnet_cidr(vpc_cidr: str, octet: int, prefix: int = 24) -> str:
    """``subnet_cidr("10.0.0.0/16", 11)`` -> ``10.0.11.0/24``: the guide's plan inside any /16."""
    net = ipaddress.IPv4Network(vpc_cidr)
    base = int(net.network_address) + (octet << 8)
    return str(ipaddress.IPv4Network((base, prefix)))


class Network(Construct):
    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        region, naming = props.region, props.naming
        self.vpc = aws.vpc.Vpc(
            self,
            "vpc",
            cidr_block=region.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": naming.name("vpc")},
        )
        self.vpc_id: str = self.vpc.id
        self.vpc_cidr: str = region.vpc_cidr

        # The default security group keeps no rule: anything that forgets its own group gets no traffic.
        aws.default_security_group.DefaultSecurityGroup(
            self, "default-sg", vpc_id=self.vpc_id, ingress=[], egress=[],
            tags={"Name": naming.name("default-sg-unused")},
        )

        igw = aws.internet_gateway.InternetGateway(
            self, "igw", vpc_id=self.vpc_id, tags={"Name": naming.name("igw")}
        )

        cluster_tag = {f"kubernetes.io/cluster/{props.cluster_name}": "shared"}
        self.public_subnets = self._subnets(props, "public", region.public_subnet_octets, {"kubernetes.io/role/elb": "1", **cluster_tag})
        self.private_subnets = self._subnets(props, "private", region.private_subnet_octets, {"kubernetes.io/role/internal-elb": "1", **cluster_tag})
        self.database_subnets = self._subnets(props, "db", region.database_subnet_octets, {})
        self.public_subnet_ids: list[str] = [s.id for s in self.public_subnets]
        self.private_subnet_ids: list[str] = [s.id for s in self.private_subnets]
        self.database_subnet_ids: list[str] = [s.id for s in self.database_subnets]

        public_rt = aws.route_table.RouteTable(
            self, "public-rt", vpc_id=self.vpc_id, tags={"Name": naming.name("public-rt")}
        )
        aws.route.Route(
            self, "public-default-route", route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0", gateway_id=igw.id,
        )
        for i, subnet in enumerate(self.public_subnets):
            aws.route_table_association.RouteTableAssociation(
                self, f"public-rta-{i}", subnet_id=subnet.id, route_table_id=public_rt.id
            )

        nat_count = 1 if props.single_nat_gateway else len(region.azs)
        nat_ids = []
        for i in range(nat_count):
            suffix = region.azs[i][-2:]  # "1a", as in the guide's nat-gateway-1a
            eip = aws.eip.Eip(self, f"nat-eip-{i}", domain="vpc", tags={"Name": naming.name(f"nat-eip-{suffix}")})
            nat = aws.nat_gateway.NatGateway(
                self, f"nat-{i}", allocation_id=eip.allocation_id, subnet_id=self.public_subnets[i].id,
                tags={"Name": naming.name(f"nat-gateway-{suffix}")}, depends_on=[igw],
            )
            nat_ids.append(nat.id)

        self.private_route_tables = []
        for i, subnet in enumerate(self.private_subnets):
            suffix = region.azs[i][-2:]
            rt = aws.route_table.RouteTable(
                self, f"private-rt-{i}", vpc_id=self.vpc_id, tags={"Name": naming.name(f"private-rt-{suffix}")}
            )
            aws.route.Route(
                self, f"private-default-route-{i}", route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[min(i, nat_count - 1)],
            )
            aws.route_table_association.RouteTableAssociation(
                self, f"private-rta-{i}", subnet_id=subnet.id, route_table_id=rt.id
            )
            self.private_route_tables.append(rt)

        # Isolated: the database tier has only the local route (plus the peer regions via transit gateway).
        self.database_route_table = aws.route_table.RouteTable(
            self, "db-rt", vpc_id=self.vpc_id, tags={"Name": naming.name("db-rt")}
        )
        for i, subnet in enumerate(self.database_subnets):
            aws.route_table_association.RouteTableAssociation(
                self, f"db-rta-{i}", subnet_id=subnet.id, route_table_id=self.database_route_table.id
            )
        self.private_route_table_ids: list[str] = [rt.id for rt in self.private_route_tables]

        self._flow_logs(props)
        self._endpoints(props)
        self._transit_gateway(props)

    # ------------------------------------------------------------------------------------------------

    def _subnets(self, props: NetworkProps, tier: str, octets: Sequence[int], tags: dict[str, str]) -> list:
        region, naming = props.region, props.naming
        out = []
        for i, (az, octet) in enumerate(zip(region.azs, octets, strict=True)):
            out.append(aws.subnet.Subnet(
                self,
                f"{tier}-subnet-{i}",
                vpc_id=self.vpc_id,
                cidr_block=subnet_cidr(region.vpc_cidr, octet, region.subnet_prefix),
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": naming.name(f"{tier}-subnet-{az[-2:]}"), "Tier": tier, **tags},
            ))
        return out

    def _flow_logs(self, props: NetworkProps) -> None:
        naming = props.naming
        self.flow_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "flow-log-group",
            name=f"/aws/vpc/{naming.name('flow-logs')}",
            retention_in_days=props.flow_log_retention_days,
            kms_key_id=props.log_kms_key_arn,
            lifecycle=protected(),  # PCI DSS 10.5: network audit trail
        )
        role = aws.iam_role.IamRole(
            self,
            "flow-log-role",
            name=naming.regional("vpc-flow-logs"),
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", source_account=props.account.account_id),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "flow-log-policy",
            name="deliver-to-log-group",
            role=role.id,
            policy=policy_document([{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [self.flow_log_group.arn, f"{self.flow_log_group.arn}:*"],
            }]),
        )
        aws.flow_log.FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": naming.name("flow-log")},
        )

    def _endpoints(self, props: NetworkProps) -> None:
        naming, region = props.naming, props.region
        self.endpoint_security_group = aws.security_group.SecurityGroup(
            self,
            "endpoints-sg",
            name=naming.name("vpc-endpoints"),
            description="HTTPS from inside the VPC to the interface endpoints",
            vpc_id=self.vpc_id,
            tags={"Name": naming.name("vpc-endpoints")},
        )
        security_group_rule(
            self, "endpoints-https-in", security_group_id=self.endpoint_security_group.id,
            description="HTTPS from the VPC", ports=443, cidr=region.vpc_cidr,
        )
        aws.vpc_endpoint.VpcEndpoint(
            self,
            "s3-endpoint",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{region.name}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[*self.private_route_table_ids, self.database_route_table.id],
            tags={"Name": naming.name("s3-endpoint")},
        )
        for service in INTERFACE_ENDPOINTS:
            aws.vpc_endpoint.VpcEndpoint(
                self,
                f"endpoint-{service.replace('.', '-')}",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{region.name}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[self.endpoint_security_group.id],
                tags={"Name": naming.name(f"{service.replace('.', '-')}-endpoint")},
            )

    def _transit_gateway(self, props: NetworkProps) -> None:
        naming = props.naming
        self.transit_gateway = aws.ec2_transit_gateway.Ec2TransitGateway(
            self,
            "tgw",
            description=f"GlobalPay {naming.env} {props.region.name} hub",
            amazon_side_asn=props.transit_gateway_asn,
            auto_accept_shared_attachments="disable",
            default_route_table_association="enable",
            default_route_table_propagation="enable",
            dns_support="enable",
            tags={"Name": naming.name("tgw")},
        )
        self.transit_gateway_id: str = self.transit_gateway.id
        self.transit_gateway_route_table_id: str = self.transit_gateway.association_default_route_table_id
        aws.ec2_transit_gateway_vpc_attachment.Ec2TransitGatewayVpcAttachment(
            self,
            "tgw-attachment",
            transit_gateway_id=self.transit_gateway_id,
            vpc_id=self.vpc_id,
            subnet_ids=self.private_subnet_ids,
            dns_support="enable",
            tags={"Name": naming.name("tgw-attachment")},
        )
        # Traffic for the other regions leaves private and database subnets through the transit gateway.
        route_tables = [*self.private_route_tables, self.database_route_table]
        for cidr in props.peer_cidrs:
            label = cidr.split("/")[0].replace(".", "-")
            for i, rt in enumerate(route_tables):
                aws.route.Route(
                    self,
                    f"peer-{label}-route-{i}",
                    route_table_id=rt.id,
                    destination_cidr_block=cidr,
                    transit_gateway_id=self.transit_gateway_id,
                )
