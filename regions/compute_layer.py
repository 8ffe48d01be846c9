"""A region's compute: EKS cluster, node group, OIDC provider, IRSA roles and managed add-ons.

The core stack's first layer: the data tier admits the node security group, the operations layer alarms on
the cluster. What later stacks need travels in ``Compute`` (Terraform tokens of the core stack): the
add-ons and apps stacks read it through cdktf cross-stack references (remote state), never by recomputing
names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from constructs import Construct

from constructs_lib import irsa
from constructs_lib.audit import ContainerInsightsLogGroups
from constructs_lib.cluster import ClusterProps, EksCluster, NodeGroup, observability_addon_configuration
from constructs_lib.common import AccountContext
from constructs_lib.config import ClusterConfig
from constructs_lib.encryption import KeyPair
from constructs_lib.naming import Naming


@dataclass(frozen=True)
class ComputeProps:
    """What a region's compute is built from."""

    naming: Naming
    account: AccountContext
    region: str
    cluster: ClusterConfig
    #: The region's Kubernetes minor (``EnvironmentConfig.kubernetes_version``).
    kubernetes_version: str
    #: ``globalpay-<env>-cluster``.
    cluster_name: str
    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: Sequence[str]
    #: The worker security group (created by the core stack before the layers: the data tier admits it).
    node_security_group_id: str
    keys: KeyPair
    #: Every region's VPC CIDR, in configuration order: Terraform runners there reach this API endpoint.
    platform_vpc_cidrs: Sequence[str]
    #: The other regions' VPC CIDRs: the database writer may live there (the origin's, or the promoted one
    #: after a failover), reached on 5432 over the transit gateway.
    peer_vpc_cidrs: Sequence[str]
    #: Kubernetes labels of the nodes (the guide's ``environment`` and ``workload``).
    node_labels: dict[str, str]
    #: X-Ray sampling: the agent of the observability add-on receives traces (default on).
    collect_traces: bool = True
    #: The S3 gateway endpoint's prefix list (node egress to S3 and ECR layers); default empty.
    s3_prefix_list_id: str = ""
    #: Node HTTPS to 0.0.0.0/0 through NAT, for destinations no endpoint serves (default True).
    internet_https_egress: bool = True


@dataclass
class Compute:
    """The compute layer's outputs (Terraform tokens of the core stack)."""

    cluster_name: str
    cluster_arn: str
    endpoint: str
    #: Base64 PEM of the cluster CA, as EKS returns it.
    certificate_authority_data: str
    oidc_provider_arn: str
    oidc_issuer_url: str
    #: The issuer without ``https://``: the condition keys of every IRSA trust policy.
    oidc_issuer_host: str
    #: The security group EKS created for the cluster.
    cluster_security_group_id: str
    #: The guide's globalpay-eks-cluster-sg on the control plane ENIs (HTTPS from the nodes).
    control_plane_security_group_id: str
    node_role_arn: str
    node_security_group_id: str
    #: IRSA role ARN by service account, keyed ``<namespace>/<name>``.
    irsa_role_arns: dict[str, str] = field(default_factory=dict)

    def role_arn(self, account: irsa.ServiceAccountRef) -> str:
        return self.irsa_role_arns[f"{account.namespace}/{account.name}"]


class ComputeLayer(Construct):
    """``compute/``: the cluster (``compute/eks``), its nodes (``compute/eks-nodes``) and one IRSA role per
    controller (``compute/irsa-*``); the services' roles are the core stack's ``identity/``."""

    def __init__(self, scope: Construct, id: str, props: ComputeProps) -> None:
        super().__init__(scope, id)
        k, naming, account, region, keys = props.cluster, props.naming, props.account, props.region, props.keys
        cluster = EksCluster(
            self,
            "eks",
            ClusterProps(
                naming=naming,
                account=account,
                region=region,
                cluster_name=props.cluster_name,
                vpc_id=props.vpc_id,
                vpc_cidr=props.vpc_cidr,
                private_subnet_ids=props.private_subnet_ids,
                node_security_group_id=props.node_security_group_id,
                data_key_arn=keys.data_key_arn,
                secrets_key_arn=keys.secrets_key_arn,
                admin_role_name=k.admin_role_name,
                node_group_name=k.node_group_name,
                node_instance_types=k.node_instance_types,
                node_min_size=k.node_min_size,
                node_max_size=k.node_max_size,
                node_desired_size=k.node_desired_size,
                node_disk_gb=k.node_disk_gb,
                endpoint_public_access=k.endpoint_public_access,
                public_access_cidrs=k.public_access_cidrs,
                api_access_cidrs=(*props.platform_vpc_cidrs, *k.api_access_cidrs),
                database_peer_cidrs=tuple(props.peer_vpc_cidrs),
                log_retention_days=k.log_retention_days,
                s3_prefix_list_id=props.s3_prefix_list_id,
                internet_https_egress=props.internet_https_egress,
                kubernetes_version=props.kubernetes_version,
                support_type=k.support_type,
                node_cpu_credits=k.node_cpu_credits,
            ),
        )
        issuer = irsa.OidcIssuer(provider_arn=cluster.oidc_provider_arn, host=cluster.oidc_issuer_host)

        def role(ref: irsa.ServiceAccountRef, **kwargs) -> irsa.ServiceAccountRole:
            return irsa.ServiceAccountRole(
                self,
                f"irsa-{ref.role_suffix}",
                name=naming.regional("irsa", ref.role_suffix),
                issuer=issuer,
                namespace=ref.namespace,
                service_account=ref.name,
                partition=account.partition,
                **kwargs,
            )

        roles = [
            role(irsa.LOAD_BALANCER_CONTROLLER, inline_policy=irsa.load_balancer_controller_policy(
                account, region, vpc_id=props.vpc_id, cluster_name=props.cluster_name)),
            role(irsa.CLUSTER_AUTOSCALER, inline_policy=irsa.cluster_autoscaler_policy(props.cluster_name)),
            role(
                irsa.EBS_CSI_CONTROLLER,
                managed_policies=("service-role/AmazonEBSCSIDriverPolicy",),
                inline_policy=irsa.ebs_csi_kms_policy(keys.data_key_arn),
            ),
            # No permission at all: every SecretStore authenticates as its service's own account
            # (auth.jwt.serviceAccountRef), so the controller never reads a secret under its own identity.
            role(irsa.EXTERNAL_SECRETS),
        ]
        addon_roles: dict[str, irsa.ServiceAccountRole] = {}
        addon_configuration: dict[str, str] = {}
        insights_logs: ContainerInsightsLogGroups | None = None
        if "amazon-cloudwatch-observability" in cluster.props.addons:
            # Its log groups exist, encrypted and with our retention, before the add-on would create them itself.
            insights_logs = ContainerInsightsLogGroups(
                self, "container-insights-logs", cluster_name=props.cluster_name,
                kms_key_arn=keys.data_key_arn, retention_days=k.log_retention_days,
            )
            # Container Insights and the trace collector through the EKS add-on; its agent gets a role of its
            # own instead of the node role (CloudWatch metrics and logs, X-Ray segments).
            cloudwatch = role(irsa.CLOUDWATCH_AGENT, managed_policies=("CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"))
            roles.append(cloudwatch)
            addon_roles["amazon-cloudwatch-observability"] = cloudwatch
            addon_configuration["amazon-cloudwatch-observability"] = observability_addon_configuration(traces=props.collect_traces)

        self.node_group = NodeGroup(self, "eks-nodes", cluster=cluster, labels=props.node_labels)
        addons = cluster.add_addons(after_nodes=[self.node_group.node_group], service_account_roles=addon_roles,
                                    configuration_values=addon_configuration)
        if insights_logs is not None:
            observability = addons["amazon-cloudwatch-observability"]
            observability.depends_on = [*(observability.depends_on or []), *insights_logs.dependency_addresses]
        self.cluster = cluster
        self.outputs = Compute(
            cluster_name=cluster.cluster_name,
            cluster_arn=cluster.arn,
            endpoint=cluster.endpoint,
            certificate_authority_data=cluster.certificate_authority_data,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer_url=cluster.oidc_issuer_url,
            oidc_issuer_host=cluster.oidc_issuer_host,
            cluster_security_group_id=cluster.cluster_security_group_id,
            control_plane_security_group_id=cluster.security_group.id,
            node_role_arn=self.node_group.role_arn,
            node_security_group_id=props.node_security_group_id,
            irsa_role_arns={f"{r.namespace}/{r.service_account}": r.arn for r in roles},
        )
