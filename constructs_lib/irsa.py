"""IAM roles for Kubernetes service accounts (IRSA): one role per service account, trusted by nobody else.

Each role's trust policy names the cluster's OIDC provider and pins both condition keys with
``StringEquals``: ``<issuer>:sub`` to exactly ``system:serviceaccount:<namespace>:<name>`` and
``<issuer>:aud`` to ``sts.amazonaws.com``. A wildcard (``StringLike ...:*``) or a missing ``sub`` would let
any pod of the cluster assume the role (EKS best practices, "Scope the IAM role trust policy").

The add-ons' permission policies live here too. The GlobalPay services have one role each, built by
``constructs_lib/identity.py`` with this module's trust policy (the guide's single ``globalpay-sa`` with
SecretsManagerReadWrite and AmazonS3FullAccess is gone: docs/compliance/access-model.md, deviations).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from constructs import Construct

from constructs_lib.common import AccountContext, policy_document
from constructs_lib.providers import aws

POLICY_DIR = Path(__file__).resolve().parent / "policies"

#: The upstream AWS Load Balancer Controller policy, kept verbatim so an upgrade shows the diff
#: (kubernetes-sigs/aws-load-balancer-controller ``docs/install/iam_policy.json``; unchanged from v2.13.4 to
#: v3.4.x, the pinned chart's app version). The role gets ``load_balancer_controller_policy``: this file
#: narrowed to the cluster's VPC and tag (docs/compute.md, "Load balancer controller policy").
LOAD_BALANCER_CONTROLLER_POLICY_FILE = POLICY_DIR / "aws-load-balancer-controller.json"
LOAD_BALANCER_CONTROLLER_UPSTREAM_VERSION = "v3.4.2"
#: The tag the controller puts on every security group, load balancer and target group it creates, with
#: the cluster name as value.
LBC_CLUSTER_TAG = "elbv2.k8s.aws/cluster"


@cache
def load_policy_file(path: Path) -> str:
    """A policy document stored as JSON in ``policies/``, re-serialised compactly and deterministically."""
    document = json.loads(path.read_text())
    if document.get("Version") != "2012-10-17" or not document.get("Statement"):
        raise ValueError(f"{path.name} is not an IAM policy document")
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _actions(statement: dict[str, Any]) -> frozenset[str]:
    actions = statement["Action"]
    return frozenset([actions] if isinstance(actions, str) else actions)


def load_balancer_controller_policy(account: AccountContext, region: str, *, vpc_id: str, cluster_name: str) -> str:
    """The upstream policy, narrowed below upstream where upstream trusts any resource or any tag value.

    Upstream checks only that the controller's tag *exists* (``Null``: false), so a controller of any cluster in
    the account may change any other cluster's load balancers and security groups; and it lets the controller
    create security groups in any VPC and change the ingress rules of any security group at all. Here:

    * tag conditions require the tag's value to be this cluster's name (``StringEquals``);
    * ``CreateSecurityGroup`` only in this cluster's VPC, only with the cluster tag in the request;
    * ingress changes on groups it did not create (the nodes' group, in ip target mode) only in this VPC and
      only on groups tagged ``kubernetes.io/cluster/<cluster>`` = ``owned``.

    Every other statement is upstream's, unchanged. ``tests/test_compute.py`` compares both documents and
    docs/compute.md lists each difference.
    """
    upstream = json.loads(load_policy_file(LOAD_BALANCER_CONTROLLER_POLICY_FILE))
    security_groups = account.arn("ec2", region, "security-group/*")
    vpc_arn = account.arn("ec2", region, f"vpc/{vpc_id}")
    ours: list[dict[str, Any]] = []
    for statement in upstream["Statement"]:
        s = json.loads(json.dumps(statement))
        actions = _actions(s)
        condition = s.get("Condition", {})
        if actions == {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"} and not condition:
            s.update(Sid="IngressRulesOnThisClustersNodeGroups", Resource=security_groups, Condition={
                "StringEquals": {"ec2:Vpc": vpc_arn, f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"},
            })
        elif actions == {"ec2:CreateSecurityGroup"} and not condition:
            ours.append({"Sid": "CreateSecurityGroupsInThisClustersVpc", "Effect": "Allow",
                         "Action": "ec2:CreateSecurityGroup", "Resource": vpc_arn})
            s.update(Sid="CreateSecurityGroupsTaggedForThisCluster", Resource=security_groups,
                     Condition={"StringEquals": {f"aws:RequestTag/{LBC_CLUSTER_TAG}": cluster_name}})
        else:
            null = dict(condition.get("Null", {}))
            pinned = {key: cluster_name for key, value in null.items()
                      if key.endswith(f"/{LBC_CLUSTER_TAG}") and value == "false"}
            if pinned:
                for key in pinned:
                    del null[key]
                rest = {k: v for k, v in condition.items() if k not in ("Null", "StringEquals")}
                equals = {**condition.get("StringEquals", {}), **pinned}
                if any(k.startswith("aws:ResourceTag/") for k in pinned) and s["Resource"] == "*" and any(
                        a.startswith("ec2:") for a in actions):
                    equals["ec2:Vpc"] = vpc_arn
                    s["Resource"] = security_groups
                s["Condition"] = {**rest, "StringEquals": equals, **({"Null": null} if null else {})}
        ours.append(s)
    return policy_document(ours)


@dataclass(frozen=True)
class OidcIssuer:
    """The cluster's OIDC identity provider, as the trust policies need it."""

    #: ARN of the ``aws_iam_openid_connect_provider``.
    provider_arn: str
    #: Issuer without ``https://`` (``oidc.eks.<region>.amazonaws.com/id/<id>``).
    host: str


def trust_policy(issuer: OidcIssuer, namespace: str, service_account: str) -> str:
    """Only ``namespace/service_account`` of this cluster may assume the role, only through STS."""
    return policy_document([{
        "Effect": "Allow",
        "Principal": {"Federated": issuer.provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{issuer.host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer.host}:aud": "sts.amazonaws.com",
            }
        },
    }])


class ServiceAccountRole(Construct):
    """An IAM role for one Kubernetes service account, with managed and/or inline policies."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        issuer: OidcIssuer,
        namespace: str,
        service_account: str,
        partition: str,
        managed_policies: Sequence[str] = (),
        inline_policy: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
    ) -> None:
        """``managed_policies`` are AWS-managed policy names (``AmazonEBSCSIDriverPolicy`` or
        ``service-role/...``); ``inline_policy`` a policy document (JSON string); default neither. ``tags``:
        on the role (default none beyond the provider's)."""
        super().__init__(scope, id)
        self.namespace = namespace
        self.service_account = service_account
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=name,
            description=description or f"IRSA role of {namespace}/{service_account}",
            assume_role_policy=trust_policy(issuer, namespace, service_account),
            tags=tags or None,
        )
        #: The role's permissions: whatever AWS runs with the role waits for them (aws_rules AWS002).
        self.policies: list[object] = [
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self,
                f"managed-{policy.rsplit('/', 1)[-1]}",
                role=self.role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{policy}",
            )
            for policy in managed_policies
        ]
        if inline_policy:
            self.policies.append(
                aws.iam_role_policy.IamRolePolicy(self, "policy", name=service_account, role=self.role.id, policy=inline_policy)
            )
        self.arn: str = self.role.arn


# --------------------------------------------------------------------------------------------------
# Least-privilege permission policies
# --------------------------------------------------------------------------------------------------


def cluster_autoscaler_policy(cluster_name: str) -> str:
    """kubernetes/autoscaler AWS README, "Auto-discovery setup": writes only on groups tagged for this cluster."""
    return policy_document([
        {
            "Sid": "ScaleOnlyThisClustersNodeGroups",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                }
            },
        },
        {
            "Sid": "DiscoverNodeGroups",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ],
            "Resource": "*",
        },
    ])


def ebs_csi_kms_policy(data_key_arn: str) -> str:
    """AmazonEBSCSIDriverPolicy covers EBS; a customer-managed key needs these on top (EBS CSI docs)."""
    return policy_document([
        {
            "Sid": "GrantsForEbsOnTheDataKey",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": data_key_arn,
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        {
            "Sid": "UseTheDataKeyForVolumes",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": data_key_arn,
        },
    ])


# --------------------------------------------------------------------------------------------------
# The service accounts that get a role, shared by the core stack (roles) and the -addons stack (Helm values)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccountRef:
    """``namespace/name`` of a service account, and the short suffix of its role name."""

    namespace: str
    name: str
    role_suffix: str


#: Add-on service accounts (fixed by their charts / EKS add-ons). The services' own accounts are named after
#: the services, in the workloads namespace (``constructs_lib/access.py``).
LOAD_BALANCER_CONTROLLER = ServiceAccountRef("kube-system", "aws-load-balancer-controller", "lb-controller")
CLUSTER_AUTOSCALER = ServiceAccountRef("kube-system", "cluster-autoscaler", "cluster-autoscaler")
EBS_CSI_CONTROLLER = ServiceAccountRef("kube-system", "ebs-csi-controller-sa", "ebs-csi")
EXTERNAL_SECRETS = ServiceAccountRef("external-secrets", "external-secrets", "external-secrets")
CLOUDWATCH_AGENT = ServiceAccountRef("amazon-cloudwatch", "cloudwatch-agent", "cloudwatch-agent")
