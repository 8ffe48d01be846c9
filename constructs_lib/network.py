"""A region's VPC, built the way the guide lays it out and the way terraform-aws-modules/vpc hardens it.

Three tiers in three AZs: public (load balancers, NAT), private (EKS, MSK, Redis, endpoints) and database
(isolated: no route to the internet). One NAT gateway per AZ so an AZ outage does not take egress of the
other two with it (``single_nat_gateway`` trades that for cost in staging). Flow logs of ALL traffic to a
KMS-encrypted log group kept a year (PCI DSS 10.5.1); the default security group stripped of every rule;
VPC endpoints so that private nodes reach AWS APIs without the internet, each with a policy that admits only
this account's (or organization's) principals and resources; a transit gateway that the global stack peers
with the other regions, its traffic flow-logged like the VPC's. Egress control (``constructs_lib/egress.py``):
Route 53 Resolver DNS Firewall on the VPC and, with ``network_firewall``, AWS Network Firewall between the
private subnets and the NAT gateways.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from constructs_lib.common import AccountContext, assume_role_policy, policy_document, protected, security_group_rule
from constructs_lib.config import RegionSpec
from constructs_lib.egress import DnsFirewall, DnsFirewallProps, NetworkFirewall, NetworkFirewallProps
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


#: Read-only S3 objects AWS (and the Kubernetes project) own that nodes fetch through the S3 gateway endpoint,
#: sometimes with a URL presigned by the owner's account (aws-samples/data-perimeter-policy-examples,
#: vpc_endpoint_policies/s3_endpoint_policy.json and service_owned_resources.md; registry.k8s.io's S3 mirrors).
S3_SERVICE_OWNED_OBJECTS = (
    "prod-{region}-starport-layer-bucket",  # ECR image layers (ECR User Guide, "Minimum Amazon S3 bucket permissions")
    "al2023-repos-{region}-de612dc2",  # Amazon Linux 2023 package repositories of the EKS nodes
    "amazonlinux-2-repos-{region}",
    "prod-registry-k8s-io-{region}",  # registry.k8s.io image layers (cluster-autoscaler, metrics-server)
)
#: Image pulls are read-only: principals of the perimeter may pull from any registry (EKS add-on images live in
#: AWS-owned registry accounts that differ by region: EKS User Guide, "View Amazon container image registries").
ECR_PULL_ACTIONS = ("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability")


def endpoint_policy(service: str, *, region: str, partition: str, account_id: str, organization_id: str = "") -> str:
    """The policy of the VPC endpoint of ``service`` (``sts``, ``ecr.dkr``, ``s3``...): requests of this account's
    (or organization's) principals to this account's (organization's) resources, and requests AWS services make
    with their service principal; the few service-owned resources a service needs besides (data perimeter
    pattern of aws-samples/data-perimeter-policy-examples, vpc_endpoint_policies/)."""
    if organization_id:
        principals = {"aws:PrincipalOrgID": organization_id}
        perimeter = {**principals, "aws:ResourceOrgID": organization_id}
    else:
        principals = {"aws:PrincipalAccount": account_id}
        perimeter = {**principals, "aws:ResourceAccount": account_id}
    statements: list[dict] = [
        {"Sid": "PerimeterPrincipalsToPerimeterResources", "Effect": "Allow", "Principal": "*", "Action": "*",
         "Resource": "*", "Condition": {"StringEquals": perimeter}},
        {"Sid": "AwsServicePrincipals", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
         "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}},
    ]
    if service == "sts":
        # IRSA: AssumeRoleWithWebIdentity carries a token, not an AWS identity, so no principal key is in the request
        # (IAM User Guide, "Control access to AWS STS with VPC endpoint policies"): allow it to the perimeter's roles.
        federated: dict = {"Sid": "WebIdentityToPerimeterRoles", "Effect": "Allow", "Principal": "*",
                           "Action": "sts:AssumeRoleWithWebIdentity"}
        if organization_id:
            federated.update(Resource="*", Condition={"StringEquals": {"aws:ResourceOrgID": organization_id}})
        else:
            federated["Resource"] = f"arn:{partition}:iam::{account_id}:role/*"
        statements.append(federated)
    elif service in ("ecr.api", "ecr.dkr"):
        statements.append({"Sid": "PerimeterPrincipalsPullImages", "Effect": "Allow", "Principal": "*",
                           "Action": list(ECR_PULL_ACTIONS), "Resource": "*", "Condition": {"StringEquals": principals}})
    elif service == "s3":
        statements.append({"Sid": "ServiceOwnedObjectsReadOnly", "Effect": "Allow", "Principal": "*",
                           "Action": "s3:GetObject",
                           "Resource": [f"arn:{partition}:s3:::{b.format(region=region)}/*" for b in S3_SERVICE_OWNED_OBJECTS]})
    elif service == "ec2":
        statements.append({"Sid": "PerimeterPrincipalsToAwsImagesAndPrefixLists", "Effect": "Allow", "Principal": "*",
                           "Action": ["ec2:RunInstances", "ec2:CreateReplaceRootVolumeTask", "ec2:CreateTags",
                                      "ec2:DeleteTags", "ec2:GetManagedPrefixListEntries"],
                           "Resource": [f"arn:{partition}:ec2:*::image/*", f"arn:{partition}:ec2:*:aws:prefix-list/*"],
                           "Condition": {"StringEquals": principals}})
    elif service == "ssm":
        statements.append({"Sid": "PerimeterPrincipalsToAwsDocumentsAndParameters", "Effect": "Allow", "Principal": "*",
                           "Action": ["ssm:Describe*", "ssm:List*", "ssm:Get*", "ssm:SendCommand", "ssm:StartSession",
                                      "ssm:StartAutomationExecution"],
                           "Resource": [f"arn:{partition}:ssm:{region}::parameter/aws/*", f"arn:{partition}:ssm:{region}::document/*"],
                           "Condition": {"StringEquals": principals}})
    return policy_document(statements)


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
    #: Domains the VPC may resolve (DNS Firewall) and, with ``network_firewall``, reach over HTTP(S); default: AWS
    #: APIs only.
    allowed_domains: Sequence[str] = ("*.amazonaws.com",)
    #: AWS Network Firewall between the private subnets and the NAT gateways (default False: DNS Firewall only).
    network_firewall: bool = False
    #: Endpoint policies admit this AWS Organizations organization's principals and resources instead of this
    #: account's (default empty: this account).
    organization_id: str = ""


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
        public_rt_id = public_rt.id  # read once: every attribute read is a jsii round trip
        aws.route.Route(
            self, "public-default-route", route_table_id=public_rt_id,
            destination_cidr_block="0.0.0.0/0", gateway_id=igw.id,
        )
        for i, subnet in enumerate(self.public_subnets):
            aws.route_table_association.RouteTableAssociation(
                self, f"public-rta-{i}", subnet_id=subnet.id, route_table_id=public_rt_id
            )

        # With the network firewall, the NAT gateways get subnets of their own (the load balancers' public subnets
        # keep routing straight to the pods), and their route table sends the pods' return traffic back through
        # the firewall endpoint of the pods' AZ: Network Firewall only inspects symmetric flows.
        nat_subnets = self.public_subnets
        nat_route_table_id = ""
        if props.network_firewall:
            nat_subnets = self._subnets(props, "nat", region.nat_subnet_octets, {})
            nat_route_table = aws.route_table.RouteTable(
                self, "nat-rt", vpc_id=self.vpc_id, tags={"Name": naming.name("nat-rt")}
            )
            nat_route_table_id = nat_route_table.id
            aws.route.Route(
                self, "nat-default-route", route_table_id=nat_route_table.id,
                destination_cidr_block="0.0.0.0/0", gateway_id=igw.id,
            )
            for i, subnet in enumerate(nat_subnets):
                aws.route_table_association.RouteTableAssociation(
                    self, f"nat-rta-{i}", subnet_id=subnet.id, route_table_id=nat_route_table.id
                )

        nat_count = 1 if props.single_nat_gateway else len(region.azs)
        nat_ids = []
        for i in range(nat_count):
            suffix = region.azs[i][-2:]  # "1a", as in the guide's nat-gateway-1a
            eip = aws.eip.Eip(self, f"nat-eip-{i}", domain="vpc", tags={"Name": naming.name(f"nat-eip-{suffix}")})
            nat = aws.nat_gateway.NatGateway(
                self, f"nat-{i}", allocation_id=eip.allocation_id, subnet_id=nat_subnets[i].id,
                tags={"Name": naming.name(f"nat-gateway-{suffix}")}, depends_on=[igw],
            )
            nat_ids.append(nat.id)

        self.network_firewall: NetworkFirewall | None = None
        if props.network_firewall:
            self.network_firewall = self._network_firewall(props, nat_ids, nat_route_table_id)

        self.private_route_table_ids: list[str] = []
        for i, subnet in enumerate(self.private_subnets):
            suffix = region.azs[i][-2:]
            rt = aws.route_table.RouteTable(
                self, f"private-rt-{i}", vpc_id=self.vpc_id, tags={"Name": naming.name(f"private-rt-{suffix}")}
            )
            egress_target = (
                {"vpc_endpoint_id": self.network_firewall.endpoint_id(region.azs[i])} if self.network_firewall
                else {"nat_gateway_id": nat_ids[min(i, nat_count - 1)]}
            )
            rt_id = rt.id  # read once: every attribute read is a jsii round trip
            aws.route.Route(
                self, f"private-default-route-{i}", route_table_id=rt_id,
                destination_cidr_block="0.0.0.0/0", **egress_target,
            )
            aws.route_table_association.RouteTableAssociation(
                self, f"private-rta-{i}", subnet_id=subnet.id, route_table_id=rt_id
            )
            self.private_route_table_ids.append(rt_id)

        # Isolated: the database tier has only the local route (plus the peer regions via transit gateway).
        self.database_route_table = aws.route_table.RouteTable(
            self, "db-rt", vpc_id=self.vpc_id, tags={"Name": naming.name("db-rt")}
        )
        self.database_route_table_id: str = self.database_route_table.id
        for i, subnet in enumerate(self.database_subnets):
            aws.route_table_association.RouteTableAssociation(
                self, f"db-rta-{i}", subnet_id=subnet.id, route_table_id=self.database_route_table_id
            )

        self._flow_logs(props)
        self._endpoints(props)
        self._transit_gateway(props)
        self.dns_firewall = DnsFirewall(self, "dns-firewall", DnsFirewallProps(
            prefix=naming.name(),
            vpc_id=self.vpc_id,
            allowed_domains=tuple(props.allowed_domains),
            threat_list_id=region.dns_firewall_threat_list_id,
        ))

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

    def _network_firewall(self, props: NetworkProps, nat_ids: list[str], nat_route_table_id: str) -> NetworkFirewall:
        """The firewall subnets, the firewall, and the routes through it: firewall subnet -> NAT gateway of its AZ
        (the only one with ``single_nat_gateway``), NAT subnets -> the firewall endpoint of each private subnet's AZ."""
        region, naming = props.region, props.naming
        firewall_subnets = self._subnets(props, "firewall", region.firewall_subnet_octets, {})
        firewall = NetworkFirewall(self, "network-firewall", NetworkFirewallProps(
            prefix=naming.name(),
            vpc_id=self.vpc_id,
            subnet_ids=[s.id for s in firewall_subnets],
            platform_cidrs=(region.vpc_cidr, *props.peer_cidrs),
            allowed_domains=tuple(props.allowed_domains),
            kms_key_arn=props.log_kms_key_arn,
            region=region.name,
            account=props.account,
            log_retention_days=props.flow_log_retention_days,
        ))
        for i, subnet in enumerate(firewall_subnets):
            suffix = region.azs[i][-2:]
            rt = aws.route_table.RouteTable(
                self, f"firewall-rt-{i}", vpc_id=self.vpc_id, tags={"Name": naming.name(f"firewall-rt-{suffix}")}
            )
            aws.route.Route(
                self, f"firewall-default-route-{i}", route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat_ids[min(i, len(nat_ids) - 1)],
            )
            aws.route_table_association.RouteTableAssociation(
                self, f"firewall-rta-{i}", subnet_id=subnet.id, route_table_id=rt.id
            )
        for i, octet in enumerate(region.private_subnet_octets):
            aws.route.Route(
                self, f"nat-return-route-{i}", route_table_id=nat_route_table_id,
                destination_cidr_block=subnet_cidr(region.vpc_cidr, octet, region.subnet_prefix),
                vpc_endpoint_id=firewall.endpoint_id(region.azs[i]),
            )
        return firewall

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
        # The transit gateway's traffic (every cross-region flow: pods to the writer, replication) gets its own.
        self.transit_flow_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "tgw-flow-log-group",
            name=f"/aws/transit-gateway/{naming.name('flow-logs')}",
            retention_in_days=props.flow_log_retention_days,
            kms_key_id=props.log_kms_key_arn,
            lifecycle=protected(),
        )
        role = aws.iam_role.IamRole(
            self,
            "flow-log-role",
            name=naming.regional("vpc-flow-logs"),
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", source_account=props.account.account_id),
        )
        delivery = aws.iam_role_policy.IamRolePolicy(
            self,
            "flow-log-policy",
            name="deliver-to-log-group",
            role=role.id,
            policy=policy_document([{
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [self.flow_log_group.arn, f"{self.flow_log_group.arn}:*",
                             self.transit_flow_log_group.arn, f"{self.transit_flow_log_group.arn}:*"],
            }]),
        )
        self.flow_log_role_arn: str = role.arn
        #: The delivery permissions: every flow log waits for them (aws_rules AWS002).
        self.flow_log_delivery = delivery
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
            depends_on=[delivery],  # delivery works from the first minute (aws_rules AWS002)
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
        account = props.account

        def policy(service: str) -> str:
            return endpoint_policy(service, region=region.name, partition=account.partition,
                                   account_id=account.account_id, organization_id=props.organization_id)

        self.s3_endpoint = aws.vpc_endpoint.VpcEndpoint(
            self,
            "s3-endpoint",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{region.name}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[*self.private_route_table_ids, self.database_route_table_id],
            policy=policy("s3"),
            tags={"Name": naming.name("s3-endpoint")},
        )
        #: The S3 gateway endpoint's prefix list: security groups admit S3 (and ECR's image layers) through it.
        self.s3_prefix_list_id: str = self.s3_endpoint.prefix_list_id
        endpoint_security_group_id = self.endpoint_security_group.id  # one jsii round trip, not one per endpoint
        for service in INTERFACE_ENDPOINTS:
            aws.vpc_endpoint.VpcEndpoint(
                self,
                f"endpoint-{service.replace('.', '-')}",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{region.name}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[endpoint_security_group_id],
                policy=policy(service),
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
        # Transit gateway flow logs take no traffic type and only a 60-second aggregation interval; EC2 refuses
        # anything else for this resource type (Transit Gateway guide, "Create and manage flow logs using the
        # API or CLI").
        aws.flow_log.FlowLog(
            self,
            "tgw-flow-log",
            transit_gateway_id=self.transit_gateway_id,
            log_destination_type="cloud-watch-logs",
            log_destination=self.transit_flow_log_group.arn,
            iam_role_arn=self.flow_log_role_arn,
            max_aggregation_interval=60,
            tags={"Name": naming.name("tgw-flow-log")},
            depends_on=[self.flow_log_delivery],
        )
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
        route_table_ids = [*self.private_route_table_ids, self.database_route_table_id]
        for cidr in props.peer_cidrs:
            label = cidr.split("/")[0].replace(".", "-")
            for i, route_table_id in enumerate(route_table_ids):
                aws.route.Route(
                    self,
                    f"peer-{label}-route-{i}",
                    route_table_id=route_table_id,
                    destination_cidr_block=cidr,
                    transit_gateway_id=self.transit_gateway_id,
                )
