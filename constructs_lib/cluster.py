"""A region's EKS cluster: control plane, worker node group, OIDC provider and core add-ons.

Built the way the guide's section 2 describes it (cluster role with AmazonEKSClusterPolicy, the five
control-plane log types, node group ``payment-processing-nodes`` with the guide's three node policies,
sizes and labels) and hardened the way terraform-aws-modules/eks and the EKS best-practices guide do:

* private API endpoint (public only from an allow-list, never 0.0.0.0/0; ``validation._cluster``),
* Kubernetes secrets envelope-encrypted with the region's secrets key,
* control-plane logs in a KMS-encrypted log group kept ``log_retention_days`` (PCI DSS 10.5.1), created
  before the cluster so EKS does not create an unencrypted one with infinite retention first,
* access entries (authentication mode ``API``) instead of the ``aws-auth`` ConfigMap, and no implicit
  cluster-admin for whoever ran ``terraform apply``,
* a launch template that requires IMDSv2 with a hop limit of 1 and encrypts the root volume with our key,
* managed add-ons pinned per Kubernetes minor in ``versions.EKS_ADDONS_BY_KUBERNETES``, the VPC CNI with its
  network-policy agent switched on (without it the ``globalpay`` NetworkPolicies would be accepted and silently
  not enforced),
* nodes on a pinned EKS-optimized AMI release (``versions.EKS_NODE_AMI_RELEASES``, bumped monthly), and a node
  group that a forcing change (instance types, disk, subnets) replaces create-before-destroy: the new group's
  nodes join before the old group drains (docs/runbooks/upgrade.md).

Terraform addresses of the stateful resources (cluster, node group, OIDC provider, log group) follow from
the construct ids below: they are part of this construct's contract and never change without a ``moved``
block (DESIGN.md, "Stability rules").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cdktf import Fn, TerraformLocal, TerraformResourceLifecycle
from constructs import Construct

from constructs_lib import versions
from constructs_lib.capacity import NODE_UPDATE_MAX_UNAVAILABLE
from constructs_lib.common import AccountContext, assume_role_policy, policy_document, protected, security_group_rule
from constructs_lib.naming import Naming
from constructs_lib.providers import aws

#: Every control-plane log type EKS can ship (the guide enables all five).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

#: The guide's node role policies (section 2, "Create Node Groups").
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)

#: EKS access policy granted to ``admin_role_name`` (cluster scope).
CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"

#: Add-ons that only become healthy once nodes exist: created after the node group, or Terraform waits
#: for a DEGRADED add-on until it times out.
ADDONS_NEEDING_NODES = ("coredns", "amazon-cloudwatch-observability")

#: The EKS-optimised Amazon Linux 2023 AMI (AL2 AMIs are not published for Kubernetes 1.33 and later).
NODE_AMI_TYPE = "AL2023_x86_64_STANDARD"

#: Characters the provider appends to a ``node_group_name_prefix`` (terraform-plugin-sdk ``id.UniqueIDSuffixLength``):
#: EKS node group names end at 63 (hashicorp/terraform-provider-aws internal/service/eks/node_group.go,
#: ``node_group_name_prefix``: ``validation.StringLenBetween(0, 63-id.UniqueIDSuffixLength)``).
NODE_GROUP_NAME_SUFFIX_LENGTH = 26

#: Instance families that run on CPU credits (burstable performance instances).
BURSTABLE_FAMILIES = ("t2.", "t3.", "t3a.", "t4g.")

#: IMDSv2 response hop limit of the nodes. 1 keeps the node role's credentials out of reach of pods that
#: are not on the host network: every GlobalPay pod and every controller gets its own IRSA role, and the
#: controllers that used to read IMDS are told their region and VPC explicitly (LBC ``region``/``vpcId``,
#: cluster-autoscaler ``awsRegion``, EBS CSI ``controller.region``; the EBS CSI node plugin falls back to the
#: Kubernetes API for its metadata). Host-network daemons (aws-node, kube-proxy, the CloudWatch agent)
#: are one hop away and keep working. EKS best practices, "Restrict access to the instance profile".
NODE_IMDS_HOP_LIMIT = 1

#: Root device of the AL2023 EKS AMIs.
NODE_ROOT_DEVICE = "/dev/xvda"

#: The trace collector of every cluster: the CloudWatch agent of the amazon-cloudwatch-observability add-on, a
#: DaemonSet on the host network behind the Service ``cloudwatch-agent`` of namespace ``amazon-cloudwatch``
#: (the add-on's chart, templates/linux/cloudwatch-agent-custom-resource.yaml; the agent operator derives the
#: Service ports from the agent configuration's ``traces`` section). It forwards what it receives to X-Ray.
TRACE_COLLECTOR_HOST = "cloudwatch-agent.amazon-cloudwatch"
TRACE_COLLECTOR_NAMESPACE = "amazon-cloudwatch"
#: X-Ray daemon protocol (UDP segments, TCP proxy for sampling rules), OTLP over gRPC and over HTTP.
XRAY_DAEMON_PORT = 2000
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318


def observability_addon_configuration(*, traces: bool = True) -> str:
    """``configuration_values`` of the amazon-cloudwatch-observability add-on (the chart's ``agent.config``).

    Container Insights with enhanced metrics (the alarms read ``node_cpu_utilization`` and
    ``cluster_failed_node_count``) and, with ``traces``, the agent's trace receivers: X-Ray daemon protocol and
    OTLP, bound to every address (the agent is on the host network; the node security group admits only the
    cluster's own nodes and pods). ``agent.config`` replaces the chart's default configuration as a whole.
    """
    config: dict = {"logs": {"metrics_collected": {"kubernetes": {"enhanced_container_insights": True}}}}
    if traces:
        config["traces"] = {"traces_collected": {
            "xray": {"bind_address": f"0.0.0.0:{XRAY_DAEMON_PORT}", "tcp_proxy": {"bind_address": f"0.0.0.0:{XRAY_DAEMON_PORT}"}},
            "otlp": {"grpc_endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}", "http_endpoint": f"0.0.0.0:{OTLP_HTTP_PORT}"},
        }}
    return json.dumps({"agent": {"config": config}}, sort_keys=True)


#: Configuration JSON of managed add-ons unless the caller gives its own: the VPC CNI's network-policy agent
#: enforces the NetworkPolicies of the workloads' namespace.
DEFAULT_ADDON_CONFIGURATION: dict[str, str] = {
    "vpc-cni": json.dumps({"enableNetworkPolicy": "true"}, sort_keys=True),
}


def role_arn(role: str, account: AccountContext) -> str:
    """The ARN of ``role``: a full ARN as given, else ``<path>/<name>`` or ``<name>`` in this account (EKS access
    entries need the real ARN, IAM path included: an IAM Identity Center role lives under
    ``aws-reserved/sso.amazonaws.com/``)."""
    if role.startswith("arn:"):
        return role
    return f"arn:{account.partition}:iam::{account.account_id}:role/{role.strip('/')}"


def burstable_credits(instance_types: Sequence[str], mode: str) -> dict:
    """The launch template's ``credit_specification`` when the node group runs burstable types (an explicit mode,
    priced by ``scripts/cost.py``), else nothing."""
    if any(t.startswith(BURSTABLE_FAMILIES) for t in instance_types):
        return {"credit_specification": {"cpu_credits": mode}}
    return {}


class AddonRole(Protocol):
    """The IRSA role of an add-on's service account (``irsa.ServiceAccountRole``): its ARN and the resources that
    give it its permissions."""

    arn: str
    policies: Sequence[object]


@dataclass(frozen=True)
class ClusterProps:
    """What a region's cluster is built from. Every optional field documents its default."""

    naming: Naming
    account: AccountContext
    region: str
    #: ``globalpay-<env>-cluster`` (the guide's name; the subnets' discovery tags carry it).
    cluster_name: str
    vpc_id: str
    vpc_cidr: str
    #: Control plane ENIs and nodes live in the private subnets (the guide's ``<PRIVATE_SUBNET_IDS>``).
    private_subnet_ids: Sequence[str]
    #: The worker security group created by the core stack (the data tier admits it).
    node_security_group_id: str
    #: Region's data key: log group, node root volumes.
    data_key_arn: str
    #: Region's secrets key: Kubernetes secrets envelope encryption.
    secrets_key_arn: str
    #: IAM role granted cluster-admin through an access entry: name, ``path/name`` or full ARN (``role_arn``).
    admin_role_name: str
    #: Node group of the guide: name, instance types and sizes.
    node_group_name: str = "payment-processing-nodes"
    node_instance_types: Sequence[str] = ("t3.xlarge",)
    node_min_size: int = 3
    node_max_size: int = 10
    node_desired_size: int = 5
    node_disk_gb: int = 50
    #: Kubernetes labels on every node; default: the guide's ``workload`` label only.
    node_labels: Mapping[str, str] = field(default_factory=lambda: {"workload": "payment-processing"})
    #: Public API endpoint (default off). When on, only ``public_access_cidrs`` reach it.
    endpoint_public_access: bool = False
    public_access_cidrs: Sequence[str] = ()
    #: Private CIDRs admitted to the private API endpoint on 443 (Terraform runners); default none.
    api_access_cidrs: Sequence[str] = ()
    #: The other regions' VPCs: the database writer may live there (origin region, or the promoted replica
    #: after a failover), reached over the transit gateway on 5432; default none.
    database_peer_cidrs: Sequence[str] = ()
    #: Control-plane log retention; default one year (PCI DSS 10.5.1).
    log_retention_days: int = 365
    #: The S3 gateway endpoint's prefix list: the nodes reach S3 and ECR's image layers on 443 through it; default
    #: empty (S3 only through the internet rule below).
    s3_prefix_list_id: str = ""
    #: HTTPS from the nodes to the internet through NAT, for what no VPC endpoint serves (payment partners, public
    #: registries; the DNS Firewall allow-list and, when on, Network Firewall decide which names); default True.
    internet_https_egress: bool = True
    #: Kubernetes minor; default the pinned ``versions.KUBERNETES_VERSION``.
    kubernetes_version: str = versions.KUBERNETES_VERSION
    #: Managed add-ons and their versions; default the pins of ``kubernetes_version``
    #: (``versions.EKS_ADDONS_BY_KUBERNETES``). A name missing here is not installed.
    addon_versions: Mapping[str, str] | None = None
    #: EKS-optimized AMI release of the nodes; default the pin of ``kubernetes_version``
    #: (``versions.EKS_NODE_AMI_RELEASES``).
    node_release_version: str = ""
    #: EKS upgrade policy at the end of standard support; default ``EXTENDED`` (no forced control-plane upgrade).
    support_type: str = "EXTENDED"
    #: CPU credit mode of burstable instance types; default ``unlimited`` (EC2's default for T3, made explicit).
    node_cpu_credits: str = "unlimited"

    @property
    def addons(self) -> Mapping[str, str]:
        """The managed add-ons to install with their versions."""
        if self.addon_versions is not None:
            return self.addon_versions
        return versions.EKS_ADDONS_BY_KUBERNETES[self.kubernetes_version]

    @property
    def release_version(self) -> str:
        return self.node_release_version or versions.EKS_NODE_AMI_RELEASES[self.kubernetes_version]


class EksCluster(Construct):
    """The control plane, its log group, security group, admin access entry and OIDC provider.

    The node group is a separate construct (``NodeGroup``) because the IRSA roles are created between the two
    (they need the OIDC provider; the CloudWatch add-on needs both the role and the nodes).
    """

    def __init__(self, scope: Construct, id: str, props: ClusterProps) -> None:
        super().__init__(scope, id)
        naming, account = props.naming, props.account
        name = props.cluster_name
        self.props = props

        # ---- IAM: the guide's GlobalPayEKSClusterRole, one per region (IAM names are account-wide).
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=naming.regional("eks-cluster"),
            description=f"EKS control plane of {name} ({props.region})",
            assume_role_policy=assume_role_policy("eks.amazonaws.com"),
        )
        cluster_policy = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "role-cluster-policy",
            role=self.role.name,
            policy_arn=f"arn:{account.partition}:iam::aws:policy/AmazonEKSClusterPolicy",
        )
        # The secrets key's policy already admits EKS (ViaService); the identity policy makes the cluster's own
        # use explicit, as terraform-aws-modules/eks does, so a key policy change cannot lock the cluster out.
        encryption_policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "role-secrets-encryption",
            name="secrets-envelope-encryption",
            role=self.role.id,
            policy=policy_document([{
                "Sid": "EnvelopeEncryptionOfKubernetesSecrets",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": props.secrets_key_arn,
            }]),
        )

        # ---- Control-plane logs: our log group first, so EKS writes into an encrypted one with retention.
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.data_key_arn,
            lifecycle=protected(),
        )

        # ---- The guide's globalpay-eks-cluster-sg: HTTPS from the workers. Attached to the control plane
        # ENIs next to the security group EKS creates itself.
        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=naming.name("eks-cluster"),
            description="EKS control plane: HTTPS from the worker nodes",
            vpc_id=props.vpc_id,
            tags={"Name": naming.name("eks-cluster")},
        )
        #: Control-plane side of node <-> control plane traffic (the node group waits for these).
        self.node_access_rules: list[object] = []
        self.node_access_rules.append(security_group_rule(
            self, "security-group-https-from-nodes", security_group_id=self.security_group.id,
            description="Kubernetes API from the worker nodes", ports=443, peer_group_id=props.node_security_group_id,
        ))
        # Where Terraform applies the -addons and -apps stacks from: without this the private endpoint admits only the nodes.
        for i, cidr in enumerate(props.api_access_cidrs):
            security_group_rule(
                self, f"security-group-https-from-runners-{i}", security_group_id=self.security_group.id,
                description=f"Kubernetes API from Terraform runners and operators in {cidr}", ports=443, cidr=cidr,
            )
        for port_id, (low, high, why) in {
            "kubelet-and-webhooks": (1025, 65535, "kubelet, metrics-server and admission webhooks on the nodes"),
            "https": (443, 443, "admission webhooks served on 443"),
        }.items():
            self.node_access_rules.append(security_group_rule(
                self, f"security-group-to-nodes-{port_id}", security_group_id=self.security_group.id,
                description=f"Control plane to {why}", ports=(low, high), peer_group_id=props.node_security_group_id,
                egress=True,
            ))

        if props.endpoint_public_access and (
            not props.public_access_cidrs or any(c.endswith("/0") for c in props.public_access_cidrs)
        ):
            # An empty list is not "nobody": EKS then defaults public_access_cidrs to 0.0.0.0/0. The config
            # validator refuses this too; the construct refuses it for callers that bypass the config.
            raise ValueError(f"{name}: a public API endpoint needs an allow-list of CIDRs without 0.0.0.0/0")
        vpc_config: dict = {
            "subnet_ids": list(props.private_subnet_ids),
            "security_group_ids": [self.security_group.id],
            "endpoint_private_access": True,
            "endpoint_public_access": props.endpoint_public_access,
        }
        if props.endpoint_public_access:
            vpc_config["public_access_cidrs"] = list(props.public_access_cidrs)

        self.cluster = aws.eks_cluster.EksCluster(
            self,
            "cluster",
            name=name,
            role_arn=self.role.arn,
            version=props.kubernetes_version,
            vpc_config=vpc_config,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": props.secrets_key_arn}},
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": False,
            },
            # Configured (cluster.support_type): EXTENDED at the end of standard support keeps the control plane
            # from being upgraded under a payments platform, at the extended-support price (tasks.py cost); the
            # validator keeps every minor in standard support, so extended support is a safety net, not a plan.
            upgrade_policy={"support_type": props.support_type},
            deletion_protection=True,
            tags={"Name": name},
            # The role's permissions exist before the cluster and go after it (IAM is eventually consistent; on
            # destroy EKS still needs them to remove its security groups and ENIs): aws_rules AWS002.
            depends_on=[self.log_group, cluster_policy, encryption_policy],
            lifecycle=protected(),
        )
        self.cluster_name: str = self.cluster.name
        self.endpoint: str = self.cluster.endpoint
        self.certificate_authority_data: str = self.cluster.certificate_authority.get(0).data
        self.arn: str = self.cluster.arn
        self.version: str = self.cluster.version
        #: The security group EKS creates for the cluster (control plane <-> EKS-managed ENIs).
        self.cluster_security_group_id: str = self.cluster.vpc_config.cluster_security_group_id
        self.oidc_issuer_url: str = self.cluster.identity.get(0).oidc.get(0).issuer

        # ---- Access entries instead of aws-auth: the platform admin role is cluster-admin, nobody else.
        admin_arn = role_arn(props.admin_role_name, account)
        self.admin_role_arn: str = admin_arn
        admin_entry = aws.eks_access_entry.EksAccessEntry(
            self,
            "admin-access-entry",
            cluster_name=self.cluster.name,
            principal_arn=admin_arn,
            type="STANDARD",
        )
        aws.eks_access_policy_association.EksAccessPolicyAssociation(
            self,
            "admin-access-policy",
            cluster_name=self.cluster.name,
            principal_arn=admin_entry.principal_arn,
            policy_arn=f"arn:{account.partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_ACCESS_POLICY}",
            access_scope={"type": "cluster"},
        )

        # ---- IRSA: the cluster's OIDC issuer as an IAM identity provider. No thumbprint_list: AWS provider
        # 6.x makes it optional and IAM validates EKS issuers against its own trusted CAs (the thumbprint
        # is ignored for them since 2023).
        self.oidc_provider = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
            self,
            "oidc-provider",
            url=self.oidc_issuer_url,
            client_id_list=["sts.amazonaws.com"],
            tags={"Name": f"{name}-irsa"},
        )
        self.oidc_provider_arn: str = self.oidc_provider.arn
        #: ``oidc.eks.<region>.amazonaws.com/id/<id>``: the prefix of the ``:sub``/``:aud`` condition keys. A
        #: Terraform local, so the trust policies embed ``${local...}`` and stay valid JSON text before
        #: rendering (a function call would put quoted arguments inside the policy string).
        self.oidc_issuer_host: str = TerraformLocal(
            self, "oidc-issuer-host", Fn.replace(self.oidc_issuer_url, "https://", "")
        ).as_string

    def add_addons(
        self,
        *,
        after_nodes: Sequence[object] = (),
        service_account_roles: Mapping[str, AddonRole] | None = None,
        configuration_values: Mapping[str, str] | None = None,
    ) -> dict[str, object]:
        """The pinned managed add-ons. Those in ``ADDONS_NEEDING_NODES`` wait for ``after_nodes``;
        ``service_account_roles`` gives an add-on its IRSA role, which it waits for with its policies (default:
        none, the node role); ``configuration_values`` an add-on's configuration JSON, replacing its entry of
        ``DEFAULT_ADDON_CONFIGURATION`` (vpc-cni's network-policy agent)."""
        props = self.props
        roles = dict(service_account_roles or {})
        configurations = {**DEFAULT_ADDON_CONFIGURATION, **(configuration_values or {})}
        created: dict[str, object] = {}
        for addon, version in props.addons.items():
            kwargs: dict = {}
            depends: list[object] = []
            if addon in configurations:
                kwargs["configuration_values"] = configurations[addon]
            if addon in roles:
                kwargs["service_account_role_arn"] = roles[addon].arn
                depends.extend(roles[addon].policies)
            if addon in ADDONS_NEEDING_NODES:
                depends.extend(after_nodes)
            if depends:
                kwargs["depends_on"] = depends
            created[addon] = aws.eks_addon.EksAddon(
                self,
                f"addon-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                addon_version=version,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                **kwargs,
            )
        return created


class NodeGroup(Construct):
    """The guide's managed node group with an IMDSv2-only, encrypted launch template."""

    def __init__(self, scope: Construct, id: str, *, cluster: EksCluster, labels: Mapping[str, str]) -> None:
        super().__init__(scope, id)
        props = cluster.props
        naming, account = props.naming, props.account
        name = props.cluster_name

        # ---- The guide's GlobalPayEKSNodeRole with its three policies.
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=naming.regional("eks-nodes"),
            description=f"Worker nodes of {name} ({props.region})",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
        )
        attachments = [
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self,
                f"role-{policy}",
                role=self.role.name,
                policy_arn=f"arn:{account.partition}:iam::aws:policy/{policy}",
            )
            for policy in NODE_MANAGED_POLICIES
        ]
        self.role_arn: str = self.role.arn

        # ---- Node security group rules (the group itself belongs to the core stack; the data tier admits it).
        sg = props.node_security_group_id
        ingress: dict[str, tuple[tuple[int, int] | None, str, str]] = {
            "self-all": (None, sg, "Node to node: pod-to-pod traffic and CoreDNS"),
            "cluster-https": ((443, 443), cluster.security_group.id, "Control plane to webhooks on 443"),
            "cluster-ephemeral": ((1025, 65535), cluster.security_group.id, "Control plane to kubelet, metrics-server and webhooks"),
        }
        #: Every rule the nodes need to join the cluster; the node group waits for them (and, on destroy, is
        #: removed before them), so no node boots into a security group that cannot reach the API yet.
        self.security_group_rules: list[object] = list(cluster.node_access_rules)
        for rule_id, (ports, source, why) in ingress.items():
            self.security_group_rules.append(security_group_rule(
                self, f"sg-ingress-{rule_id}", security_group_id=sg, description=why, ports=ports, peer_group_id=source,
            ))
        self.security_group_rules.append(security_group_rule(
            self, "sg-egress-self-all", security_group_id=sg, description="Node to node: pod-to-pod traffic and CoreDNS",
            ports=None, peer_group_id=sg, egress=True,
        ))
        # HTTPS: the Kubernetes API and the interface endpoints are in the VPC, S3 and ECR's layers behind the gateway
        # endpoint's prefix list; 0.0.0.0/0 only for the destinations no endpoint serves (internet_https_egress).
        self.security_group_rules.append(security_group_rule(
            self, "sg-egress-https-vpc", security_group_id=sg,
            description="HTTPS to the Kubernetes API and the interface endpoints of AWS APIs in the VPC",
            ports=443, cidr=props.vpc_cidr, egress=True,
        ))
        if props.s3_prefix_list_id:
            self.security_group_rules.append(security_group_rule(
                self, "sg-egress-https-s3", security_group_id=sg,
                description="HTTPS to S3 and ECR image layers through the S3 gateway endpoint",
                ports=443, prefix_list_id=props.s3_prefix_list_id, egress=True,
            ))
        if props.internet_https_egress:
            self.security_group_rules.append(security_group_rule(
                self, "sg-egress-https", security_group_id=sg,
                description="HTTPS through NAT to what no endpoint serves (payment partners, public registries); names limited by the egress allow-list",
                ports=443, cidr="0.0.0.0/0", egress=True,
            ))
        # The data tier (RDS 5432, Redis 6379, MSK SASL/IAM 9098) inside the VPC only.
        for port in (5432, 6379, 9098):
            security_group_rule(
                self, f"sg-egress-data-{port}", security_group_id=sg, description=f"Data tier port {port} inside the VPC",
                ports=port, cidr=props.vpc_cidr, egress=True,
            )
        for i, cidr in enumerate(props.database_peer_cidrs):
            security_group_rule(
                self, f"sg-egress-database-peer-{i}", security_group_id=sg,
                description=f"PostgreSQL writer in the peer region {cidr} (transit gateway)", ports=5432, cidr=cidr, egress=True,
            )

        # ---- Launch template: IMDSv2 only, encrypted gp3 root volume, our security group only.
        self.launch_template = aws.launch_template.LaunchTemplate(
            self,
            "launch-template",
            name=naming.name("eks-nodes", props.node_group_name),
            description=f"{props.node_group_name} nodes of {name}: IMDSv2 only, encrypted root volume",
            update_default_version=True,
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": NODE_IMDS_HOP_LIMIT,
                "instance_metadata_tags": "disabled",
            },
            block_device_mappings=[{
                "device_name": NODE_ROOT_DEVICE,
                "ebs": {
                    "volume_size": props.node_disk_gb,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "kms_key_id": props.data_key_arn,
                    "delete_on_termination": "true",
                },
            }],
            # Only the node group: the EKS-created cluster security group is deliberately not attached. It
            # allows all egress (which would void the rules above) and carries the
            # kubernetes.io/cluster/<name> tag, and the load balancer controller refuses ENIs with two tagged
            # groups. Control plane <-> node traffic runs through the rules above.
            vpc_security_group_ids=[sg],
            **burstable_credits(props.node_instance_types, props.node_cpu_credits),
            tag_specifications=[
                {"resource_type": "instance", "tags": {"Name": naming.name("eks-node", props.node_group_name)}},
                {"resource_type": "volume", "tags": {"Name": naming.name("eks-node", props.node_group_name)}},
            ],
            tags={"Name": naming.name("eks-nodes", props.node_group_name)},
        )

        self.node_group = aws.eks_node_group.EksNodeGroup(
            self,
            "node-group",
            cluster_name=cluster.cluster.name,
            # <name>-<suffix>: a replacement (instance types, disk, subnets force one) can exist next to the group it
            # replaces (EKS refuses two node groups of one name in a cluster: ResourceInUseException).
            node_group_name_prefix=f"{props.node_group_name}-",
            node_role_arn=self.role.arn,
            subnet_ids=list(props.private_subnet_ids),
            version=cluster.cluster.version,
            # The AMI changes when this pin does (a monthly patch), rolled in place max_unavailable nodes at a time
            # within the PodDisruptionBudgets; never because AWS published a newer image.
            release_version=props.release_version,
            ami_type=NODE_AMI_TYPE,
            capacity_type="ON_DEMAND",
            instance_types=list(props.node_instance_types),
            scaling_config={
                "min_size": props.node_min_size,
                "max_size": props.node_max_size,
                "desired_size": props.node_desired_size,
            },
            update_config={"max_unavailable": NODE_UPDATE_MAX_UNAVAILABLE},
            launch_template={"id": self.launch_template.id, "version": Fn.tostring(self.launch_template.latest_version)},
            labels=dict(labels),
            tags={
                "Name": naming.name("eks-nodes", props.node_group_name),
                # Cluster autoscaler auto-discovery; its IAM policy is scoped to exactly these tags.
                "k8s.io/cluster-autoscaler/enabled": "true",
                f"k8s.io/cluster-autoscaler/{name}": "owned",
            },
            depends_on=[*attachments, *self.security_group_rules],
            # After creation the cluster autoscaler owns the desired size; Terraform keeps min and max. Not
            # prevent_destroy: nodes are cattle, the cluster is not. A replacement is created first: its nodes
            # join, then EKS drains and removes the old group's (plan review flags it: scripts/plan_review.py).
            lifecycle=TerraformResourceLifecycle(
                create_before_destroy=True, ignore_changes=["scaling_config[0].desired_size"],
            ),
        )
