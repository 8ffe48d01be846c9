"""EKS cluster, node group, OIDC provider and IRSA roles of a region (issue 4).

Runs first among the core stack's layers: the data tier admits the node security group, the edge layer
alarms on the cluster. What other stacks need travels in ``Compute``; the ``-k8s`` stack reads it through
cdktf cross-stack references (Terraform remote state), never by recomputing names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib import irsa
from constructs_lib.cluster import ClusterProps, EksCluster, NodeGroup

if TYPE_CHECKING:
    from regions.core import RegionCoreStack

#: The S3 prefix ``globalpay-sa`` may read and write in the region's data bucket.
APP_BUCKET_PREFIX = irsa.APP_SERVICE_ACCOUNT_NAME


@dataclass
class Compute:
    """The compute layer's outputs (Terraform tokens of the core stack)."""

    cluster: EksCluster
    node_group: NodeGroup
    cluster_name: str
    cluster_arn: str
    endpoint: str
    #: Base64 PEM of the cluster CA, as EKS returns it.
    certificate_authority_data: str
    oidc_provider_arn: str
    oidc_issuer_url: str
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


def add_compute(stack: RegionCoreStack) -> Compute:
    config, naming, account, region = stack.config, stack.naming, stack.account, stack.region
    k = config.cluster
    keys, network = stack.keys, stack.network

    cluster = EksCluster(
        stack,
        "eks",
        ClusterProps(
            naming=naming,
            account=account,
            region=region,
            cluster_name=stack.cluster_name,
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr,
            private_subnet_ids=network.private_subnet_ids,
            node_security_group_id=stack.node_security_group.id,
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
            api_access_cidrs=(*(r.vpc_cidr for r in stack.config.regions), *k.api_access_cidrs),
            database_peer_cidrs=tuple(r.vpc_cidr for r in stack.config.regions if r.name != region),
            log_retention_days=k.log_retention_days,
        ),
    )
    issuer = irsa.OidcIssuer(provider_arn=cluster.oidc_provider_arn, host=cluster.oidc_issuer_host)

    def role(ref: irsa.ServiceAccountRef, **kwargs) -> irsa.ServiceAccountRole:
        return irsa.ServiceAccountRole(
            stack,
            f"irsa-{ref.role_suffix}",
            name=naming.regional("irsa", ref.role_suffix),
            issuer=issuer,
            namespace=ref.namespace,
            service_account=ref.name,
            partition=account.partition,
            **kwargs,
        )

    app_sa = irsa.app_service_account(config.workloads.namespace)
    roles = [
        role(irsa.LOAD_BALANCER_CONTROLLER, inline_policy=irsa.load_policy_file(irsa.LOAD_BALANCER_CONTROLLER_POLICY_FILE)),
        role(irsa.CLUSTER_AUTOSCALER, inline_policy=irsa.cluster_autoscaler_policy(stack.cluster_name)),
        role(
            irsa.EBS_CSI_CONTROLLER,
            managed_policies=("service-role/AmazonEBSCSIDriverPolicy",),
            inline_policy=irsa.ebs_csi_kms_policy(keys.data_key_arn),
        ),
        role(irsa.EXTERNAL_SECRETS, inline_policy=irsa.external_secrets_policy(account, region, naming, keys.secrets_key_arn)),
        role(
            app_sa,
            inline_policy=irsa.app_policy(
                account,
                region,
                naming,
                secrets_key_arn=keys.secrets_key_arn,
                data_key_arn=keys.data_key_arn,
                bucket_name=naming.regional("data"),
                prefix=APP_BUCKET_PREFIX,
                events_name=naming.name("payment-events"),
            ),
            description="GlobalPay services: own secrets (read), own S3 prefix (read/write), payment events",
        ),
    ]
    addon_roles: dict[str, str] = {}
    if "amazon-cloudwatch-observability" in cluster.props.addon_versions:
        # Container Insights (issue 5) through the EKS add-on; its agent gets a role instead of the node role.
        cloudwatch = role(irsa.CLOUDWATCH_AGENT, managed_policies=("CloudWatchAgentServerPolicy", "AWSXrayWriteOnlyAccess"))
        roles.append(cloudwatch)
        addon_roles["amazon-cloudwatch-observability"] = cloudwatch.arn

    nodes = NodeGroup(
        stack,
        "eks-nodes",
        cluster=cluster,
        labels={"environment": config.environment_label, "workload": "payment-processing"},
    )
    cluster.add_addons(after_nodes=[nodes.node_group], service_account_role_arns=addon_roles)

    return Compute(
        cluster=cluster,
        node_group=nodes,
        cluster_name=cluster.cluster_name,
        cluster_arn=cluster.arn,
        endpoint=cluster.endpoint,
        certificate_authority_data=cluster.certificate_authority_data,
        oidc_provider_arn=cluster.oidc_provider_arn,
        oidc_issuer_url=cluster.oidc_issuer_url,
        cluster_security_group_id=cluster.cluster_security_group_id,
        control_plane_security_group_id=cluster.security_group.id,
        node_role_arn=nodes.role_arn,
        node_security_group_id=stack.node_security_group.id,
        irsa_role_arns={f"{r.namespace}/{r.service_account}": r.arn for r in roles},
    )

