"""EKS clusters, IRSA, the -addons stacks (Helm add-ons) and the -apps stacks (workloads), read like a
plan reviewer would.

Uses the session's prod synthesis (and, for the database writer after a failover, the flipped prod synthesis
test_failover.py also uses, cached per session): every assertion is on the synthesized JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from constructs_lib import versions, workloads
from tests.synth import FAILOVER, Synth, by_path, policy, resources, synth

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
CLUSTER = "globalpay-prod-cluster"
SERVICES = ("api-gateway", "payment-processor", "reconciliation-engine")
HELM_RELEASES = ("aws-load-balancer-controller", "cluster-autoscaler", "aws-ebs-csi-driver", "external-secrets", "metrics-server")
VPC_CIDRS = {"us-east-1": "10.0.0.0/16", "eu-west-1": "10.1.0.0/16", "ap-southeast-2": "10.2.0.0/16"}
#: The failover configuration of test_failover.py: the writer is eu-west-1's promoted replica.
FLIPPED = FAILOVER

#: Every IRSA role and the one service account it may serve.
IRSA = {
    "lb-controller": "system:serviceaccount:kube-system:aws-load-balancer-controller",
    "cluster-autoscaler": "system:serviceaccount:kube-system:cluster-autoscaler",
    "ebs-csi": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
    "external-secrets": "system:serviceaccount:external-secrets:external-secrets",
    "cloudwatch-agent": "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent",
}


def core(prod, region: str = "us-east-1") -> dict[str, Any]:
    return prod[f"globalpay-prod-{region}"]


def addons(prod, region: str = "us-east-1") -> dict[str, Any]:
    return prod[f"globalpay-prod-{region}-addons"]


def apps(prod, region: str = "us-east-1") -> dict[str, Any]:
    return prod[f"globalpay-prod-{region}-apps"]


def remote_output(stack_name: str) -> str:
    """Prefix of a cdktf cross-stack reference to an output of ``stack_name`` (read as remote state)."""
    return f"data.terraform_remote_state.cross-stack-reference-input-{stack_name}.outputs."


def assert_key_arn(prod, region: str, value: str, purpose: str) -> None:
    """``value`` is the ARN of the region's ``purpose`` KMS key, read from the -keys stack that now holds it."""
    keys_stack = f"globalpay-prod-{region}-keys"
    prefix = "${" + remote_output(keys_stack)
    assert value.startswith(prefix) and value.endswith("}"), value
    output = prod[keys_stack]["output"][value[len(prefix):-1]]
    key_id = re.fullmatch(r"\$\{aws_kms_key\.([^.]+)\.arn\}", output["value"])
    assert key_id, output
    key = resources(prod[keys_stack], "aws_kms_key")[key_id.group(1)]
    assert key["//"]["metadata"]["path"].endswith(f"/encryption/{purpose}/key"), key["//"]["metadata"]["path"]


def one(stack: dict[str, Any], rtype: str) -> dict[str, Any]:
    items = list(resources(stack, rtype).values())
    assert len(items) == 1, f"{len(items)} {rtype}"
    return items[0]


def deployment(stack: dict[str, Any], name: str) -> dict[str, Any]:
    return by_path(stack, "kubernetes_deployment_v1", f"/workloads/{name}-deployment")


def release_values(stack: dict[str, Any], chart: str) -> dict[str, Any]:
    release = by_path(stack, "helm_release", f"/addons/{chart}")
    return json.loads(release["values"][0])


def config_data(stack: dict[str, Any]) -> dict[str, str]:
    """``data`` of the one ConfigMap, ``globalpay-config``, every container reads through ``env_from``."""
    config = one(stack, "kubernetes_config_map_v1")
    assert config["metadata"]["name"] == "globalpay-config"
    return config["data"]


def network_policy(stack: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [p["spec"] for p in resources(stack, "kubernetes_network_policy_v1").values() if p["metadata"]["name"] == name]
    return found


def irsa_roles(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        cfg["//"]["metadata"]["path"].split("/")[-2].removeprefix("irsa-"): cfg
        for cfg in resources(stack, "aws_iam_role").values()
        if "/irsa-" in cfg["//"]["metadata"]["path"]
    }


# ------------------------------------------------------------------------------------------------
# Stacks and providers
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_has_a_cluster_an_addons_stack_with_the_five_releases_and_an_apps_stack(prod, region):
    """The old -k8s stack is split: the Helm releases in -addons, every Kubernetes object in -apps, nothing of
    either left in the core stack."""
    assert one(core(prod, region), "aws_eks_cluster")["name"] == CLUSTER
    assert one(core(prod, region), "aws_eks_node_group")["node_group_name_prefix"] == "payment-processing-nodes-"
    releases = resources(addons(prod, region), "helm_release").values()
    assert sorted(r["name"] for r in releases) == sorted(HELM_RELEASES)
    assert set(addons(prod, region)["resource"]) == {"helm_release"}
    assert len(resources(apps(prod, region), "kubernetes_deployment_v1")) == len(SERVICES)
    # Kubernetes objects, and each service's database login, which follows the writer (constructs_lib/identity.py).
    assert all(t.startswith("kubernetes_") or t in ("aws_iam_policy", "aws_iam_role_policy_attachment")
               for t in apps(prod, region)["resource"])
    assert set(apps(prod, region)["data"]) == {"aws_caller_identity", "aws_partition", "aws_acm_certificate", "terraform_remote_state"}
    assert not any(t.startswith(("helm_", "kubernetes_")) for t in core(prod, region)["resource"])
    assert f"globalpay-prod-{region}-k8s" not in prod
    # The apps stack's SecretStore/ExternalSecret need the external-secrets CRDs at plan time and the Ingress
    # the controller's webhook: the apps stack is deployed after its region's -addons stack.
    manifest = json.loads((prod.outdir / "manifest.json").read_text())
    assert f"globalpay-prod-{region}-addons" in manifest["stacks"][f"globalpay-prod-{region}-apps"]["dependencies"]


@pytest.mark.parametrize(("layer", "provider"), [("addons", "helm"), ("apps", "kubernetes")])
@pytest.mark.parametrize("region", REGIONS)
def test_k8s_providers_come_from_the_core_stacks_remote_state_and_use_exec(prod, region, layer, provider):
    stack = prod[f"globalpay-prod-{region}-{layer}"]
    remote = remote_output(f"globalpay-prod-{region}")
    assert stack["data"]["terraform_remote_state"]
    # Each stack configures only the provider its resources need (plus aws).
    assert set(stack["provider"]) == {"aws", provider}
    if provider == "kubernetes":
        cfg = stack["provider"]["kubernetes"][0]
        exec_ = cfg["exec"][0]
    else:
        cfg = stack["provider"]["helm"][0]["kubernetes"]
        exec_ = cfg["exec"]
    assert cfg["host"] == "${" + remote + cfg["host"].split(".outputs.")[1]
    assert cfg["cluster_ca_certificate"].startswith("${base64decode(" + remote)
    assert exec_["command"] == "aws"
    assert exec_["api_version"] == "client.authentication.k8s.io/v1beta1"
    assert exec_["args"][:4] == ["eks", "get-token", "--cluster-name", CLUSTER]
    assert exec_["args"][4:6] == ["--region", region]
    assert "token" not in cfg
    # Nothing the providers read is a resource of this stack's own state.
    provider_text = json.dumps(stack["provider"])
    own_types = set(stack.get("resource", {}))
    assert not any(f"{t}." in provider_text for t in own_types)
    assert not any(t.startswith("aws_eks") for t in own_types)


# ------------------------------------------------------------------------------------------------
# Cluster
# ------------------------------------------------------------------------------------------------


def test_cluster_version_endpoint_encryption_logs_and_access(prod):
    stack = core(prod)
    cluster = one(stack, "aws_eks_cluster")
    assert cluster["version"] == versions.KUBERNETES_VERSION
    assert cluster["vpc_config"]["endpoint_private_access"] is True
    assert cluster["vpc_config"]["endpoint_public_access"] is False
    assert "0.0.0.0/0" not in cluster["vpc_config"].get("public_access_cidrs", [])
    assert len(cluster["vpc_config"]["subnet_ids"]) == 3
    assert all("private-subnet" in s for s in cluster["vpc_config"]["subnet_ids"])
    assert cluster["encryption_config"]["resources"] == ["secrets"]
    assert "encryption_secrets_key" in cluster["encryption_config"]["provider"]["key_arn"]
    assert_key_arn(prod, "us-east-1", cluster["encryption_config"]["provider"]["key_arn"], "secrets")
    assert cluster["enabled_cluster_log_types"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert cluster["access_config"] == {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False}
    assert cluster["lifecycle"]["prevent_destroy"] is True
    assert cluster["deletion_protection"] is True

    log_group = by_path(stack, "aws_cloudwatch_log_group", "/eks/log-group")
    assert log_group["name"] == f"/aws/eks/{CLUSTER}/cluster"
    assert log_group["retention_in_days"] == 365
    assert "encryption_data_key" in log_group["kms_key_id"]
    assert_key_arn(prod, "us-east-1", log_group["kms_key_id"], "data")
    assert any("aws_cloudwatch_log_group.compute_eks_log-group" in d for d in cluster["depends_on"])

    entry = one(stack, "aws_eks_access_entry")
    assert entry["principal_arn"].endswith(":role/GlobalPayPlatformAdmin")
    assert "${data.aws_caller_identity." in entry["principal_arn"]  # the account at apply time, not a literal
    association = one(stack, "aws_eks_access_policy_association")
    assert association["policy_arn"].endswith(":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")
    assert association["access_scope"] == {"type": "cluster"}

    role = by_path(stack, "aws_iam_role", "/eks/role")
    attached = [a["policy_arn"] for a in resources(stack, "aws_iam_role_policy_attachment").values() if "eks_role" in a["role"]]
    assert [a.rsplit("/", 1)[-1] for a in attached] == ["AmazonEKSClusterPolicy"]
    assert json.loads(role["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}


def test_core_addons_are_pinned_and_the_cni_enforces_network_policies(prod):
    addons = {a["addon_name"]: a for a in resources(core(prod), "aws_eks_addon").values()}
    assert {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"} <= set(addons)
    for name, addon in addons.items():
        assert addon["addon_version"] == versions.EKS_ADDONS[name]
        assert addon["resolve_conflicts_on_update"] == "OVERWRITE"
    assert json.loads(addons["vpc-cni"]["configuration_values"]) == {"enableNetworkPolicy": "true"}
    assert addons["kube-proxy"]["addon_version"].startswith(f"v{versions.KUBERNETES_VERSION}.")
    assert "irsa-cloudwatch-agent" in addons["amazon-cloudwatch-observability"]["service_account_role_arn"]


def test_cluster_security_group_admits_https_from_the_workers(prod):
    stack = core(prod)
    rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
             if r["//"]["metadata"]["path"].endswith("/eks/security-group-https-from-nodes")]
    assert len(rules) == 1
    assert (rules[0]["from_port"], rules[0]["to_port"], rules[0]["ip_protocol"]) == (443, 443, "tcp")
    assert "node-security-group" in rules[0]["referenced_security_group_id"]


# ------------------------------------------------------------------------------------------------
# Node group
# ------------------------------------------------------------------------------------------------


def test_node_group_matches_the_guide_and_leaves_desired_size_to_the_autoscaler(prod):
    stack = core(prod)
    group = one(stack, "aws_eks_node_group")
    # The guide's min 3 / desired 5 on t3.xlarge; max 15 instead of 10 holds the services at their HPA maxima.
    assert group["scaling_config"] == {"min_size": 3, "max_size": 15, "desired_size": 5}
    assert group["instance_types"] == ["t3.xlarge"]
    assert group["labels"] == {"environment": "production", "workload": "payment-processing"}
    assert group["lifecycle"]["ignore_changes"] == ["scaling_config[0].desired_size"]
    assert group["lifecycle"]["create_before_destroy"] is True
    assert group["release_version"] == versions.EKS_NODE_AMI_RELEASES[versions.KUBERNETES_VERSION]
    assert group["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert group["tags"][f"k8s.io/cluster-autoscaler/{CLUSTER}"] == "owned"
    assert all("private-subnet" in s for s in group["subnet_ids"])

    node_role_policies = sorted(
        a["policy_arn"].rsplit("/", 1)[-1]
        for a in resources(stack, "aws_iam_role_policy_attachment").values()
        if "eks-nodes_role" in a["role"]
    )
    assert node_role_policies == ["AmazonEC2ContainerRegistryReadOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume(prod):
    template = one(core(prod), "aws_launch_template")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["metadata_options"]["http_put_response_hop_limit"] == 1
    ebs = template["block_device_mappings"][0]["ebs"]
    assert ebs["encrypted"] == "true"
    assert ebs["volume_type"] == "gp3"
    assert "encryption_data_key" in ebs["kms_key_id"]
    assert_key_arn(prod, "us-east-1", ebs["kms_key_id"], "data")
    assert len(template["vpc_security_group_ids"]) == 1
    assert "node-security-group" in template["vpc_security_group_ids"][0]
    # T3 in unlimited mode, explicit (EC2's default made visible; tasks.py cost prices the surplus).
    assert template["credit_specification"] == {"cpu_credits": "unlimited"}


def test_the_upgrade_policy_is_configured_per_environment(prod, staging):
    assert one(core(prod), "aws_eks_cluster")["upgrade_policy"] == {"support_type": "EXTENDED"}
    assert one(staging["globalpay-staging-us-east-1"], "aws_eks_cluster")["upgrade_policy"] == {"support_type": "STANDARD"}


def test_node_security_group_has_no_internet_ingress(prod):
    stack = core(prod)
    node_rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
                  if "node-security-group" in r["security_group_id"]]
    assert node_rules, "the node group's ingress rules are missing"
    for rule in node_rules:
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule, rule["//"]["metadata"]["path"]
    egress = [r for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
              if "node-security-group" in r["security_group_id"] and r.get("cidr_ipv4") == "0.0.0.0/0"]
    assert [(r["from_port"], r["to_port"]) for r in egress] == [(443, 443)]


def _rule_ref(rule: dict[str, Any]) -> str:
    """``aws_vpc_security_group_<dir>_rule.<name>`` of a rule, as ``depends_on`` names it."""
    return rule["//"]["metadata"]["uniqueId"]


def test_nodes_and_control_plane_reach_each_other_without_the_eks_cluster_security_group(prod):
    """The launch template attaches only the node group: every node <-> control plane path is an explicit rule."""
    stack = core(prod)
    control_plane = "aws_security_group.compute_eks_security-group"
    nodes = "aws_security_group.node-security-group"

    def rules(kind: str, owner: str, peer: str) -> set[tuple[str, Any, Any]]:
        return {
            (r["ip_protocol"], r.get("from_port"), r.get("to_port"))
            for r in resources(stack, f"aws_vpc_security_group_{kind}_rule").values()
            if owner in r["security_group_id"] and peer in r.get("referenced_security_group_id", "")
        }

    # Kubelet and kube-proxy on the nodes -> API server (443).
    assert ("tcp", 443, 443) in rules("ingress", control_plane, nodes)
    # API server -> kubelet (10250), metrics-server and webhooks (LBC 9443, external-secrets 10250), and 443.
    for kind, owner, peer in (("egress", control_plane, nodes), ("ingress", nodes, control_plane)):
        found = rules(kind, owner, peer)
        assert ("tcp", 443, 443) in found, (kind, owner)
        assert any(proto == "tcp" and low <= 10250 <= high and low <= 9443 for proto, low, high in found), (kind, owner)
    # Node <-> node, all protocols: pod-to-pod and CoreDNS on 53/udp and 53/tcp.
    assert ("-1", None, None) in rules("ingress", nodes, nodes)
    assert ("-1", None, None) in rules("egress", nodes, nodes)

    # The node group waits for every one of these rules (nodes must reach the API to join).
    group = one(stack, "aws_eks_node_group")
    needed = [
        r for kind in ("ingress", "egress") for r in resources(stack, f"aws_vpc_security_group_{kind}_rule").values()
        if (control_plane in r["security_group_id"] and nodes in r.get("referenced_security_group_id", ""))
        or (nodes in r["security_group_id"] and (control_plane in r.get("referenced_security_group_id", "")
                                                  or nodes in r.get("referenced_security_group_id", "")
                                                  or r.get("cidr_ipv4") == "0.0.0.0/0"))
    ]
    assert len(needed) == 8
    for rule in needed:
        assert any(d.endswith("." + _rule_ref(rule)) for d in group["depends_on"]), rule["//"]["metadata"]["path"]


def test_node_group_uses_the_launch_template_for_disk_and_ami_type_for_al2023(prod):
    stack = core(prod)
    group = one(stack, "aws_eks_node_group")
    template = one(stack, "aws_launch_template")
    assert group["ami_type"] == "AL2023_x86_64_STANDARD"
    assert group["launch_template"]["id"].startswith("${aws_launch_template.compute_eks-nodes_launch-template")
    assert "latest_version" in group["launch_template"]["version"]
    # With a launch template, EKS rejects disk_size and remote_access on the group; no image_id keeps the
    # EKS-optimised AMI of ami_type (and its bootstrap).
    assert "disk_size" not in group and "remote_access" not in group
    assert "image_id" not in template and "user_data" not in template
    [root] = template["block_device_mappings"]
    assert root["device_name"] == "/dev/xvda"  # root device of the AL2023 EKS AMIs
    assert template["metadata_options"]["http_endpoint"] == "enabled"
    assert group["version"].startswith("${aws_eks_cluster.compute_eks_cluster")


# ------------------------------------------------------------------------------------------------
# IRSA
# ------------------------------------------------------------------------------------------------


def test_oidc_provider_trusts_sts(prod):
    provider = one(core(prod), "aws_iam_openid_connect_provider")
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert provider["url"].endswith(".identity[0].oidc[0].issuer}")


@pytest.mark.parametrize("region", REGIONS)
def test_each_irsa_role_trusts_only_its_own_service_account(prod, region):
    roles = irsa_roles(core(prod, region))
    assert set(roles) == set(IRSA)
    for suffix, role in roles.items():
        statements = json.loads(role["assume_role_policy"])["Statement"]
        assert len(statements) == 1
        statement = statements[0]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert "aws_iam_openid_connect_provider" in statement["Principal"]["Federated"]
        assert set(statement["Condition"]) == {"StringEquals"}
        condition = statement["Condition"]["StringEquals"]
        subs = {k: v for k, v in condition.items() if k.endswith(":sub")}
        auds = {k: v for k, v in condition.items() if k.endswith(":aud")}
        assert list(subs.values()) == [IRSA[suffix]], suffix
        assert list(auds.values()) == ["sts.amazonaws.com"], suffix
        assert "*" not in IRSA[suffix]
        assert role["name"] == f"globalpay-prod-irsa-{suffix}-{region}"


def _workload_statements(stack: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every IRSA role: the add-ons' and the services' (``identity/<service>``)."""
    role_ids = {cfg["//"]["metadata"]["uniqueId"] for cfg in resources(stack, "aws_iam_role").values()
                if "/irsa-" in cfg["//"]["metadata"]["path"] or "/identity/" in cfg["//"]["metadata"]["path"]}
    out = []
    for inline in resources(stack, "aws_iam_role_policy").values():
        if any(rid in inline["role"] for rid in role_ids):
            out.extend(policy(inline)["Statement"])
    return out


def test_no_workload_policy_grants_everything_on_secrets_manager_or_s3(prod):
    stack = core(prod)
    statements = _workload_statements(stack)
    assert len(statements) > 10
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        touched = [a for a in actions if a.split(":")[0] in ("secretsmanager", "s3")]
        if not touched:
            continue
        assert not any(a.endswith(":*") or a == "*" for a in touched), st
        resources_ = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in resources_, st
        for res in resources_:
            assert res.startswith(("arn:${data.aws_partition", "arn:aws")), res
            assert re.search(r"(secret:globalpay/prod/(jwt|api)/keys-\?{6}|:::\$\{aws_s3_bucket\.operations_data-bucket_\w+\.bucket\}(/[a-z-]+/\*)?)$", res), res
    managed = [a["policy_arn"] for a in resources(stack, "aws_iam_role_policy_attachment").values()]
    assert not any(p.endswith(("/SecretsManagerReadWrite", "/AmazonS3FullAccess")) for p in managed)


def test_the_cluster_autoscaler_scales_only_this_clusters_node_groups(prod):
    ca = by_path(core(prod), "aws_iam_role_policy", "/irsa-cluster-autoscaler/policy")
    scale = policy(ca)["Statement"][0]
    assert scale["Condition"]["StringEquals"][f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}"] == "owned"


def test_the_external_secrets_controller_reads_nothing_itself(prod):
    """Every SecretStore authenticates as its service's own account; the controller's role has no permission,
    so no SecretStore without auth (or another namespace's) can read a secret through it."""
    stack = core(prod)
    [role] = [r for r in resources(stack, "aws_iam_role").values() if r["//"]["metadata"]["path"].endswith("/irsa-external-secrets/role")]
    attached = [p for p in resources(stack, "aws_iam_role_policy").values() if "irsa-external-secrets" in p["//"]["metadata"]["path"]]
    assert not attached and role["name"] == "globalpay-prod-irsa-external-secrets-us-east-1"


def _upstream_lbc() -> list[dict[str, Any]]:
    from constructs_lib import irsa

    return json.loads(irsa.LOAD_BALANCER_CONTROLLER_POLICY_FILE.read_text())["Statement"]


def _actions(statement: dict[str, Any]) -> set[str]:
    return {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])


@pytest.mark.parametrize("region", REGIONS)
def test_load_balancer_controller_policy_is_narrowed_below_upstream(prod, region):
    """Every upstream permission is still granted (the controller works), but security-group creation only in
    this cluster's VPC, ingress changes only on this VPC's groups tagged for this cluster, and every tag
    condition pinned to this cluster's name instead of "the tag exists" (any cluster of the account)."""
    stack = core(prod, region)
    ours = policy(by_path(stack, "aws_iam_role_policy", "/irsa-lb-controller/policy"))["Statement"]
    upstream = _upstream_lbc()
    granted = set().union(*(_actions(s) for s in ours))
    assert set().union(*(_actions(s) for s in upstream)) == granted, "no upstream action may be lost or added"
    vpc = next(iter(resources(stack, "aws_vpc")))
    vpc_arn = f"arn:${{data.aws_partition.{next(iter(stack['data']['aws_partition']))}.partition}}"
    for s in ours:
        text = json.dumps(s)
        assert '"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}' not in text
        assert '"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"' not in text
        if {"ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"} & _actions(s):
            assert s["Resource"] != "*", f"{sorted(_actions(s))} on any resource"
            condition = s.get("Condition", {}).get("StringEquals", {})
            if "security-group" in s["Resource"]:
                assert condition.get("ec2:Vpc", "").endswith(f"vpc/${{aws_vpc.{vpc}.id}}") or any(
                    v == CLUSTER for v in condition.values()), s
            else:
                assert s["Resource"].startswith(vpc_arn) and s["Resource"].endswith(f"vpc/${{aws_vpc.{vpc}.id}}"), s
    by_sid = {s.get("Sid"): s for s in ours}
    assert by_sid["IngressRulesOnThisClustersNodeGroups"]["Condition"]["StringEquals"][
        f"aws:ResourceTag/kubernetes.io/cluster/{CLUSTER}"] == "owned"
    assert by_sid["CreateSecurityGroupsTaggedForThisCluster"]["Condition"]["StringEquals"] == {
        "aws:RequestTag/elbv2.k8s.aws/cluster": CLUSTER}
    # The node security group carries the tag the ingress statement requires.
    node_sg = by_path(stack, "aws_security_group", "/node-security-group")
    assert node_sg["tags"][f"kubernetes.io/cluster/{CLUSTER}"] == "owned"
    # Statements upstream leaves unconditioned on tags stay exactly upstream's.
    untouched = [s for s in upstream if not s.get("Condition", {}).get("Null") and s["Resource"] != "*"]
    for s in untouched:
        assert s in [{k: v for k, v in o.items() if k != "Sid"} for o in ours], s


def test_compute_docs_list_every_difference_from_the_upstream_lbc_policy() -> None:
    doc = (ROOT / "docs" / "compute.md").read_text()
    section = doc.split("### Load balancer controller policy", 1)[1].split("\n## ", 1)[0]
    for marker in ("ec2:CreateSecurityGroup", "AuthorizeSecurityGroupIngress", "StringEquals", "ec2:Vpc",
                   "kubernetes.io/cluster/<cluster>", "aws-load-balancer-controller.json", "v3.4.2"):
        assert marker in section, marker


# ------------------------------------------------------------------------------------------------
# Helm add-ons
# ------------------------------------------------------------------------------------------------


def test_every_helm_release_is_pinned_from_an_https_repository(prod):
    for region in REGIONS:
        for release in resources(addons(prod, region), "helm_release").values():
            repository, version = versions.HELM_CHARTS[release["chart"]]
            assert release["version"] == version and re.fullmatch(r"\d+\.\d+\.\d+", version)
            assert release["repository"] == repository and repository.startswith("https://")
            assert release["atomic"] is True and release["wait"] is True
            assert 0 < release["timeout"] <= 900


def test_helm_values_wire_cluster_region_vpc_and_irsa(prod):
    stack = addons(prod, "eu-west-1")
    lbc = release_values(stack, "aws-load-balancer-controller")
    assert (lbc["clusterName"], lbc["region"]) == (CLUSTER, "eu-west-1")
    assert "terraform_remote_state" in lbc["vpcId"]
    assert "irsa-lb-controller" in lbc["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert lbc["serviceAccount"]["name"] == "aws-load-balancer-controller"

    ca = release_values(stack, "cluster-autoscaler")
    assert ca["autoDiscovery"]["clusterName"] == CLUSTER and ca["awsRegion"] == "eu-west-1"
    assert ca["image"]["tag"] == versions.CLUSTER_AUTOSCALER_IMAGE_TAG
    assert ca["image"]["tag"].startswith(f"v{versions.KUBERNETES_VERSION}.")
    assert "irsa-cluster-autoscaler" in ca["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]

    ebs = release_values(stack, "aws-ebs-csi-driver")
    assert ebs["controller"]["serviceAccount"]["name"] == "ebs-csi-controller-sa"
    assert "irsa-ebs-csi" in ebs["controller"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    [storage_class] = ebs["storageClasses"]
    assert storage_class["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert storage_class["parameters"]["type"] == "gp3" and storage_class["parameters"]["encrypted"] == "true"
    assert "encryption_data_key" in storage_class["parameters"]["kmsKeyId"]
    assert_key_arn(prod, "eu-west-1", storage_class["parameters"]["kmsKeyId"], "data")

    eso = release_values(stack, "external-secrets")
    assert eso["installCRDs"] is True
    assert "irsa-external-secrets" in eso["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert by_path(stack, "helm_release", "/addons/external-secrets")["namespace"] == "external-secrets"


# ------------------------------------------------------------------------------------------------
# Workloads
# ------------------------------------------------------------------------------------------------


def test_namespace_configmap_and_service_account(prod):
    stack = apps(prod)
    namespace = one(stack, "kubernetes_namespace_v1")["metadata"]
    assert namespace["name"] == "globalpay"
    assert namespace["labels"]["name"] == "globalpay" and namespace["labels"]["environment"] == "production"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    config = one(stack, "kubernetes_config_map_v1")
    assert config["metadata"]["name"] == "globalpay-config"
    guide_keys = {"NODE_ENV": "production", "LOG_LEVEL": "info", "API_PORT": "3000",
                  "REDIS_CLUSTER_MODE": "false", "KAFKA_CLIENT_ID": "globalpay-api"}
    assert {k: config["data"][k] for k in guide_keys} == guide_keys
    # the region's Redis and Kafka endpoints come from the core stack's remote state, never literals
    for key in ("REDIS_HOST", "KAFKA_BROKERS"):
        assert "data.terraform_remote_state.cross-stack-reference-input-globalpay-prod-" in config["data"][key]
    assert config["data"]["REDIS_TLS"] == "true" and config["data"]["KAFKA_SASL_MECHANISM"] == "AWS_MSK_IAM"
    assert (config["data"]["DATABASE_AUTH_MODE"], config["data"]["DATABASE_SSLMODE"]) == ("iam", "verify-full")
    # One service account per service, each annotated with its own role (the guide's shared globalpay-sa is gone).
    accounts = {a["metadata"]["name"]: a["metadata"] for a in resources(stack, "kubernetes_service_account_v1").values()}
    assert sorted(accounts) == sorted(SERVICES)
    for service, meta in accounts.items():
        role = meta["annotations"]["eks.amazonaws.com/role-arn"]
        assert role.startswith("${data.terraform_remote_state.cross-stack-reference-input-globalpay-prod-us-east-1.outputs.")
        assert f"identity_{service}_role" in role, (service, role)


def test_secret_stores_and_external_secrets_read_only_each_services_own_secrets(prod):
    """One SecretStore per service that has secrets, authenticating as that service's account; its ExternalSecret
    names exactly the service's secrets, and no object anywhere names the database master credentials."""
    stack = apps(prod, "ap-southeast-2")
    manifests = [m["manifest"] for m in resources(stack, "kubernetes_manifest").values()]
    stores = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "SecretStore"}
    secrets = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "ExternalSecret"}
    expected = {"api-gateway": {"globalpay/prod/jwt/keys": {"JWT_PRIVATE_KEY": "private_key", "JWT_PUBLIC_KEY": "public_key"}},
                "payment-processor": {"globalpay/prod/api/keys": {"API_STRIPE_KEY": "stripe_key", "API_PLAID_KEY": "plaid_key"}}}
    assert sorted(stores) == sorted(secrets) == sorted(f"{s}-secrets" for s in expected)
    for service, keys in expected.items():
        store, secret = stores[f"{service}-secrets"], secrets[f"{service}-secrets"]
        assert store["apiVersion"] == secret["apiVersion"] == "external-secrets.io/v1"
        aws = store["spec"]["provider"]["aws"]
        assert aws["region"] == "ap-southeast-2" and aws["service"] == "SecretsManager"
        assert aws["auth"] == {"jwt": {"serviceAccountRef": {"name": service}}}
        found = {d["remoteRef"]["key"]: {} for d in secret["spec"]["data"]}
        for d in secret["spec"]["data"]:
            found[d["remoteRef"]["key"]][d["secretKey"]] = d["remoteRef"]["property"]
        assert found == keys
        assert secret["spec"]["refreshInterval"] == "1h"
        assert secret["spec"]["secretStoreRef"] == {"name": f"{service}-secrets", "kind": "SecretStore"}
        assert secret["spec"]["target"] == {"name": f"{service}-secrets", "creationPolicy": "Owner"}
    for name in prod:
        assert "globalpay/prod/database/credentials" not in json.dumps(prod[name].get("resource", {}).get("kubernetes_manifest", {}))
        for rtype in ("kubernetes_config_map_v1", "kubernetes_deployment_v1", "kubernetes_secret_v1"):
            assert "database/credentials" not in json.dumps(resources(prod[name], rtype)), (name, rtype)


@pytest.mark.parametrize("service", SERVICES)
def test_deployments_follow_the_guide_and_are_hardened(prod, service):
    stack = apps(prod)
    spec = deployment(stack, service)["spec"]
    assert spec["replicas"] == "5"
    pod = spec["template"]["spec"]
    [container] = pod["container"]
    assert container["image"] == "${data.aws_caller_identity.caller.account_id}.dkr.ecr.us-east-1.amazonaws.com/globalpay/" + f"{service}:1.0.0"
    assert not container["image"].endswith(":latest")
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1000m", "memory": "2Gi"}}
    assert container["liveness_probe"] == {"http_get": {"path": "/health", "port": "3000"}, "initial_delay_seconds": 30, "period_seconds": 10}
    assert container["readiness_probe"] == {"http_get": {"path": "/ready", "port": "3000"}, "initial_delay_seconds": 10, "period_seconds": 5}
    security = container["security_context"]
    assert security["run_as_non_root"] is True and security["run_as_user"] == "1000"
    assert security["allow_privilege_escalation"] is False and security["read_only_root_filesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccomp_profile"] == {"type": "RuntimeDefault"}
    assert container["env_from"][0]["config_map_ref"]["name"].startswith("${kubernetes_config_map_v1.")
    # Its own secrets only (none for reconciliation-engine), never the database master login: IAM instead.
    own_secrets = {"api-gateway": "api-gateway-secrets", "payment-processor": "payment-processor-secrets"}
    assert container["env_from"][1:] == ([{"secret_ref": {"name": own_secrets[service]}}] if service in own_secrets else [])
    assert not [e for e in container["env"] if "value_from" in e]
    # DATABASE_HOST comes from the ConfigMap (env_from): an env entry would shadow it.
    assert "DATABASE_HOST" not in {e["name"] for e in container["env"]}
    expected_env = {"DATABASE_USER": service.replace("-", "_"), "REDIS_USER": f"globalpay-prod-{service}",
                    "REDIS_KEY_PREFIX": f"{service}:", "OTEL_SERVICE_NAME": service}
    if service != "api-gateway":
        expected_env["KAFKA_GROUP_ID"] = service
    assert {e["name"]: e["value"] for e in container["env"]} == expected_env
    assert container["volume_mount"] == [{"name": "tmp", "mount_path": "/tmp"}]
    assert pod["volume"][0]["name"] == "tmp" and "empty_dir" in pod["volume"][0]
    assert "topology.kubernetes.io/zone" in [c["topology_key"] for c in pod["topology_spread_constraint"]]
    assert pod["service_account_name"].startswith(f"${{kubernetes_service_account_v1.workloads_{service}-service-account_")
    pod_security = pod["security_context"]
    assert pod_security["run_as_non_root"] is True and pod_security["run_as_user"] == "1000"
    assert pod_security["seccomp_profile"] == {"type": "RuntimeDefault"}
    # The pods read their own secrets: created after the ExternalSecret that syncs them.
    if service in own_secrets:
        assert any(d.startswith(f"kubernetes_manifest.workloads_{service}-external-secret") for d in deployment(stack, service)["depends_on"])

    service_obj = by_path(stack, "kubernetes_service_v1", f"/workloads/{service}-service")["spec"]
    assert service_obj["type"] == "ClusterIP"
    assert service_obj["port"] == [{"name": "http", "port": 80, "target_port": "3000", "protocol": "TCP"}]
    pdb = by_path(stack, "kubernetes_pod_disruption_budget_v1", f"/workloads/{service}-pdb")["spec"]
    assert pdb["max_unavailable"] == "1" and pdb["selector"]["match_labels"] == {"app": service}


def test_api_gateway_ingress_has_the_guides_annotations(prod):
    stack = apps(prod)
    ingress = one(stack, "kubernetes_ingress_v1")
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingress_class_name"] == "alb"
    assert "kubernetes.io/ingress.class" not in annotations
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/health"
    assert annotations["alb.ingress.kubernetes.io/load-balancer-name"] == "globalpay-prod-api"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == "${data.aws_acm_certificate.api-certificate.arn}"
    assert re.match(r"\$\{data\.(terraform_remote_state\.|aws_wafv2_web_acl\.)", annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"])
    rule, health = ingress["spec"]["rule"]
    assert rule["host"] == "api.globalpay.com"
    assert rule["http"]["path"][0]["backend"]["service"] == {"name": "api-gateway", "port": {"number": 80}}
    # Route 53 probes the ALB by its DNS name: only the health path is routed without a host.
    assert "host" not in health
    assert health["http"]["path"] == [{"path": "/health", "path_type": "Exact",
                                        "backend": {"service": {"name": "api-gateway", "port": {"number": 80}}}}]
    certificate = stack["data"]["aws_acm_certificate"]["api-certificate"]
    assert certificate["domain"] == "api.globalpay.com" and certificate["statuses"] == ["ISSUED"]


@pytest.mark.parametrize("region", REGIONS)
def test_ingress_waits_for_its_load_balancer(prod, region):
    """The -edge stacks (Shield protection, ALB 5xx alarm) and the global stack (Route 53, dashboard) are applied
    after the apps stack and look the ALB up by name: the apply returns only once the controller created it."""
    ingress = one(apps(prod, region), "kubernetes_ingress_v1")
    assert ingress["wait_for_load_balancer"] is True
    assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-name"] == "globalpay-prod-api"


def test_api_gateway_hpa_has_the_guides_metrics_and_behaviour(prod):
    stack = apps(prod)
    spec = by_path(stack, "kubernetes_horizontal_pod_autoscaler_v2", "/api-gateway-hpa")["spec"]
    assert (spec["min_replicas"], spec["max_replicas"]) == (5, 50)
    assert "api-gateway-deployment" in spec["scale_target_ref"]["name"]
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metric"]}
    assert targets == {"cpu": {"type": "Utilization", "average_utilization": 70},
                       "memory": {"type": "Utilization", "average_utilization": 80}}
    down, up = spec["behavior"]["scale_down"][0], spec["behavior"]["scale_up"][0]
    assert down["stabilization_window_seconds"] == 300
    assert down["policy"] == [{"type": "Percent", "value": 50, "period_seconds": 60}]
    assert up["stabilization_window_seconds"] == 0 and up["select_policy"] == "Max"
    assert up["policy"] == [{"type": "Percent", "value": 100, "period_seconds": 15}, {"type": "Pods", "value": 4, "period_seconds": 15}]
    # The HPA owns the replica count after the first apply.
    assert deployment(stack, "api-gateway")["lifecycle"]["ignore_changes"] == ["spec[0].replicas"]


@pytest.mark.parametrize(("env", "maxima"), [("prod", {"api-gateway": 50, "payment-processor": 20, "reconciliation-engine": 10}),
                                             ("staging", {"api-gateway": 6, "payment-processor": 6, "reconciliation-engine": 6})])
def test_every_service_scales_with_its_own_hpa(prod, staging, env, maxima):
    """Every Deployment has an HPA between its replicas and its max_replicas, with the guide's targets, and leaves
    its replica count to it; only api-gateway had one before."""
    stack = {"prod": prod, "staging": staging}[env][f"globalpay-{env}-us-east-1-apps"]
    hpas = {h["metadata"]["name"]: h["spec"] for h in resources(stack, "kubernetes_horizontal_pod_autoscaler_v2").values()}
    assert set(hpas) == {f"{name}-hpa" for name in SERVICES}
    for name, maximum in maxima.items():
        spec = hpas[f"{name}-hpa"]
        replicas = int(deployment(stack, name)["spec"]["replicas"])
        assert (spec["min_replicas"], spec["max_replicas"]) == (replicas, maximum)
        assert f"{name}-deployment" in spec["scale_target_ref"]["name"]
        assert {m["resource"]["name"] for m in spec["metric"]} == {"cpu", "memory"}
        assert deployment(stack, name)["lifecycle"]["ignore_changes"] == ["spec[0].replicas"]


@pytest.mark.parametrize("region", REGIONS)
def test_network_policies_deny_by_default_and_allow_only_what_is_needed(prod, region):
    found = resources(apps(prod, region), "kubernetes_network_policy_v1").values()
    policies = {p["metadata"]["name"]: p["spec"] for p in found}
    # Default deny, DNS, data tier, trace collector, AWS APIs, ALB -> api-gateway, api-gateway <-> payment-processor.
    assert len(found) == len(policies) == 8
    assert set(policies) == {"default-deny-all", "allow-dns", "allow-data-tier", "allow-trace-collector", "allow-aws-apis",
                             "allow-api-gateway-from-alb", "allow-api-gateway-to-payment-processor",
                             "allow-payment-processor-from-api-gateway"}
    assert policies["default-deny-all"] == {"pod_selector": {}, "policy_types": ["Ingress", "Egress"]}
    dns = policies["allow-dns"]["egress"][0]
    assert sorted((p["port"], p["protocol"]) for p in dns["ports"]) == [("53", "TCP"), ("53", "UDP")]
    assert dns["to"] == [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}}}]
    assert [p["port"] for p in policies["allow-data-tier"]["egress"][0]["ports"]] == ["5432", "6379", "9098"]
    assert policies["allow-data-tier"]["egress"][0]["to"] == [{"ip_block": {"cidr": VPC_CIDRS[region]}}]
    aws_apis = policies["allow-aws-apis"]["egress"][0]
    assert aws_apis["ports"] == [{"port": "443", "protocol": "TCP"}]
    assert aws_apis["to"][0]["ip_block"]["except"] == ["169.254.169.254/32"]
    from_alb = policies["allow-api-gateway-from-alb"]
    assert from_alb["pod_selector"] == {"match_labels": {"app": "api-gateway"}}
    assert from_alb["ingress"][0]["from"] == [{"ip_block": {"cidr": VPC_CIDRS[region]}}]
    assert "allow-api-gateway-to-payment-processor" in policies and "allow-payment-processor-from-api-gateway" in policies
    # Nothing else may reach payment-processor or reconciliation-engine.
    ingress_targets = [p["pod_selector"].get("match_labels", {}).get("app") for p in policies.values() if "ingress" in p]
    assert sorted(ingress_targets) == ["api-gateway", "payment-processor"]


def test_private_api_endpoint_admits_terraform_runners_from_the_platform_vpcs_only(prod: Synth) -> None:
    """The -addons and -apps stacks are applied through the private endpoint: the control-plane group admits 443
    from the three VPCs (runners there or across the transit gateway) and from nothing public."""
    stack = prod["globalpay-prod-us-east-1"]
    rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
             if "security-group-https-from-runners" in r["//"]["metadata"]["path"]]
    assert sorted(r["cidr_ipv4"] for r in rules) == ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"]
    assert all((r["from_port"], r["to_port"], r["ip_protocol"]) == (443, 443, "tcp") for r in rules)


@pytest.mark.parametrize(("cluster", "message"), [
    ({"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/1", "128.0.0.0/1"]}, "wider than a /16"),
    ({"api_access_cidrs": ["8.8.8.0/24"]}, "is not private"),
])
def test_validator_refuses_an_api_endpoint_open_to_the_internet(cluster: dict, message: str) -> None:
    from constructs_lib.config import load_config
    from constructs_lib.validation import validate
    from regions import REGION_SPECS

    errors = [str(e) for e in validate(load_config("prod", REGION_SPECS, {"cluster": cluster}), REGION_SPECS)]
    assert errors and all(message in e for e in errors), errors


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_pods_reach_the_database_writer_in_the_other_regions_on_5432_only(prod: Synth, region: str) -> None:
    """The writer lives in the origin region (or in the secondary after a failover): every region's nodes and
    pods may open 5432 towards the other VPCs, and nothing else crosses regions."""
    peers = sorted(cidr for r, cidr in VPC_CIDRS.items() if r != region)
    egress = [r for r in resources(prod[f"globalpay-prod-{region}"], "aws_vpc_security_group_egress_rule").values()
              if "sg-egress-database-peer" in r["//"]["metadata"]["path"]]
    assert sorted(r["cidr_ipv4"] for r in egress) == peers
    assert all((r["from_port"], r["to_port"]) == (5432, 5432) for r in egress)
    [data_tier] = [p for p in resources(apps(prod, region), "kubernetes_network_policy_v1").values()
                   if p["metadata"]["name"] == "allow-data-tier"]
    rules = data_tier["spec"]["egress"]
    cross = [r for r in rules if r["ports"] == [{"port": "5432", "protocol": "TCP"}]]
    assert [sorted(b["ip_block"]["cidr"] for b in r["to"]) for r in cross] == [peers]


# ------------------------------------------------------------------------------------------------
# Database address: configuration, from the writer's core stack
# ------------------------------------------------------------------------------------------------


def writer_of(synthesis: Synth, database_host: str) -> tuple[str, dict[str, Any]]:
    """(region, ``aws_db_instance``) a ConfigMap's ``DATABASE_HOST`` resolves to: an output of a core stack,
    read as remote state, that is that instance's address."""
    ref = re.fullmatch(r"\$\{data\.terraform_remote_state\.cross-stack-reference-input-globalpay-prod-([a-z0-9-]+)"
                       r"\.outputs\.([^.}]+)\}", database_host)
    assert ref, database_host
    region, output = ref.groups()
    stack = synthesis[f"globalpay-prod-{region}"]
    address = re.fullmatch(r"\$\{aws_db_instance\.([^.]+)\.address\}", stack["output"][output]["value"])
    assert address, stack["output"][output]
    return region, resources(stack, "aws_db_instance")[address.group(1)]


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_reads_the_database_writers_address_from_the_origins_core_stack(prod, region):
    """The credentials are the only secret: the writer's address, port and name are configuration, so a failover
    is a configuration change (the secret is replicated and read-only in the other regions). Every region's
    services write to the one writer: in prod the origin, us-east-1."""
    config = config_data(apps(prod, region))
    writer, instance = writer_of(prod, config["DATABASE_HOST"])
    assert writer == "us-east-1"
    assert "replicate_source_db" not in instance  # the writer, not a read replica
    assert config["DATABASE_PORT"] == str(instance["port"]) == "5432"
    assert config["DATABASE_NAME"] == instance["db_name"] == "globalpay"
    # Redis and Kafka are the region's own.
    for key in ("REDIS_HOST", "KAFKA_BROKERS"):
        assert config[key].startswith("${" + remote_output(f"globalpay-prod-{region}")), key


@pytest.mark.parametrize("region", REGIONS)
def test_after_a_failover_every_region_reads_the_promoted_writers_address(region):
    """With eu-west-1 primary, its promoted replica is the writer: every apps stack, us-east-1's included, reads
    its address from eu-west-1's core stack."""
    flipped = synth("prod", FLIPPED)
    config = config_data(flipped[f"globalpay-prod-{region}-apps"])
    writer, instance = writer_of(flipped, config["DATABASE_HOST"])
    assert writer == "eu-west-1"
    assert "replicate_source_db" not in instance
    assert config["DATABASE_PORT"] == str(instance["port"]) == "5432"
    assert config["DATABASE_NAME"] == "globalpay"


# ------------------------------------------------------------------------------------------------
# Tracing: workloads -> CloudWatch agent (observability add-on) -> X-Ray
# ------------------------------------------------------------------------------------------------


def observability_addon(stack: dict[str, Any]) -> dict[str, Any]:
    [addon] = [a for a in resources(stack, "aws_eks_addon").values() if a["addon_name"] == "amazon-cloudwatch-observability"]
    return addon


def collector_ports(addon: dict[str, Any]) -> dict[str, int]:
    """The ports the agent listens on, read from the add-on's ``configuration_values`` (all addresses: the agent
    is on the host network and the pods reach it on their node's IP)."""
    received = json.loads(addon["configuration_values"])["agent"]["config"]["traces"]["traces_collected"]

    def port(bind_address: str) -> int:
        host, _, number = bind_address.rpartition(":")
        assert host == "0.0.0.0", bind_address
        return int(number)

    return {
        "xray_udp": port(received["xray"]["bind_address"]),
        "xray_tcp": port(received["xray"]["tcp_proxy"]["bind_address"]),
        "otlp_grpc": port(received["otlp"]["grpc_endpoint"]),
        "otlp_http": port(received["otlp"]["http_endpoint"]),
    }


@pytest.mark.parametrize("region", REGIONS)
def test_observability_addon_receives_traces_and_its_role_may_write_them_to_xray(prod, region):
    """``agent.config`` replaces the chart's default configuration as a whole: Container Insights (the alarms'
    node and cluster metrics) must be in it next to the trace receivers."""
    stack = core(prod, region)
    addon = observability_addon(stack)
    config = json.loads(addon["configuration_values"])["agent"]["config"]
    assert config["logs"]["metrics_collected"]["kubernetes"]["enhanced_container_insights"] is True
    assert config["traces"]["traces_collected"] == {
        "xray": {"bind_address": "0.0.0.0:2000", "tcp_proxy": {"bind_address": "0.0.0.0:2000"}},
        "otlp": {"grpc_endpoint": "0.0.0.0:4317", "http_endpoint": "0.0.0.0:4318"},
    }
    role_ref = re.fullmatch(r"\$\{aws_iam_role\.([^.]+)\.arn\}", addon["service_account_role_arn"])
    assert role_ref, addon["service_account_role_arn"]
    assert irsa_roles(stack)["cloudwatch-agent"]["//"]["metadata"]["uniqueId"] == role_ref.group(1)
    managed = sorted(a["policy_arn"] for a in resources(stack, "aws_iam_role_policy_attachment").values()
                     if a["role"] == "${aws_iam_role." + role_ref.group(1) + ".name}")
    assert [arn.split(":", 5)[-1] for arn in managed] == ["policy/AWSXrayWriteOnlyAccess", "policy/CloudWatchAgentServerPolicy"]
    assert all(":iam::aws:policy/" in arn for arn in managed)  # AWS managed, not look-alikes of this account


@pytest.mark.parametrize("region", REGIONS)
def test_every_service_exports_traces_to_the_clusters_collector(prod, region):
    """The OTel SDKs read their exporter, sampler and propagators from the ConfigMap; each container names its
    service (the node of the X-Ray service map)."""
    stack = apps(prod, region)
    config = config_data(stack)
    expected = workloads.trace_settings("production", "globalpay")
    assert {key: config.get(key) for key in expected} == expected
    assert config["OTEL_TRACES_EXPORTER"] == "otlp"
    assert config["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    assert config["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://cloudwatch-agent.amazon-cloudwatch:4318/v1/traces"
    assert config["OTEL_TRACES_SAMPLER"] == "xray"
    assert config["OTEL_TRACES_SAMPLER_ARG"] == "endpoint=http://cloudwatch-agent.amazon-cloudwatch:2000"
    assert {"tracecontext", "xray"} <= set(config["OTEL_PROPAGATORS"].split(","))
    assert config["AWS_XRAY_DAEMON_ADDRESS"] == "cloudwatch-agent.amazon-cloudwatch:2000"
    for service in SERVICES:
        [container] = deployment(stack, service)["spec"]["template"]["spec"]["container"]
        assert container["env_from"][0] == {"config_map_ref": {"name": container["env_from"][0]["config_map_ref"]["name"]}}
        assert "kubernetes_config_map_v1." in container["env_from"][0]["config_map_ref"]["name"]
        assert [e["value"] for e in container["env"] if e["name"] == "OTEL_SERVICE_NAME"] == [service]


@pytest.mark.parametrize("region", REGIONS)
def test_pods_may_reach_the_trace_collector_on_the_nodes(prod, region):
    """Default deny covers egress. The pods send to the agent's Service: the VPC CNI's policy agent admits a
    Service's ClusterIP only for a selector peer (the agent's namespace), and after DNAT the traffic goes to
    the node IPs the host-network agent listens on (the VPC). X-Ray segments on 2000/UDP, sampling rules on
    2000/TCP, OTLP on 4317 and 4318."""
    spec = network_policy(apps(prod, region), "allow-trace-collector")
    assert spec["pod_selector"] == {} and spec["policy_types"] == ["Egress"]
    [rule] = spec["egress"]
    assert rule["to"] == [
        {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "amazon-cloudwatch"}}},
        {"ip_block": {"cidr": VPC_CIDRS[region]}},
    ]
    assert sorted((p["port"], p["protocol"]) for p in rule["ports"]) == [
        ("2000", "TCP"), ("2000", "UDP"), ("4317", "TCP"), ("4318", "TCP")]


@pytest.mark.parametrize("region", REGIONS)
def test_the_collector_listens_where_the_workloads_send_and_the_network_policy_opens(prod, region):
    """Three places name the collector's ports: the add-on (core stack), the ConfigMap and the NetworkPolicy
    (apps stack). Derived from the JSON, not from the constants they share: a mismatch drops traces silently."""
    ports = collector_ports(observability_addon(core(prod, region)))
    stack = apps(prod, region)
    config = config_data(stack)
    otlp = urlsplit(config["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
    assert config["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf" and otlp.scheme == "http"
    assert otlp.port == ports["otlp_http"]
    sampler = urlsplit(config["OTEL_TRACES_SAMPLER_ARG"].removeprefix("endpoint="))
    assert sampler.port == ports["xray_tcp"]  # sampling rules through the agent's TCP proxy
    daemon_host, _, daemon_port = config["AWS_XRAY_DAEMON_ADDRESS"].rpartition(":")
    assert int(daemon_port) == ports["xray_udp"] == ports["xray_tcp"]  # the X-Ray SDKs use one port for both
    # One collector: the Service of the agent's service account (the add-on's IRSA subject).
    namespace, account = IRSA["cloudwatch-agent"].split(":")[2:]
    assert otlp.hostname == sampler.hostname == daemon_host == f"{account}.{namespace}"
    [rule] = network_policy(stack, "allow-trace-collector")["egress"]
    allowed = {(int(p["port"]), p["protocol"]) for p in rule["ports"]}
    assert allowed == {(ports["xray_udp"], "UDP"), (ports["xray_tcp"], "TCP"), (ports["otlp_grpc"], "TCP"),
                       (ports["otlp_http"], "TCP")}


SSO_ROLE = "aws-reserved/sso.amazonaws.com/eu-west-2/AWSReservedSSO_PlatformAdmin_0123456789abcdef"


@pytest.mark.parametrize(("value", "arn"), [
    ("GlobalPayPlatformAdmin", "arn:aws:iam::123456789012:role/GlobalPayPlatformAdmin"),
    (SSO_ROLE, f"arn:aws:iam::123456789012:role/{SSO_ROLE}"),
    (f"arn:aws:iam::123456789012:role/{SSO_ROLE}", f"arn:aws:iam::123456789012:role/{SSO_ROLE}"),
])
def test_the_admin_role_may_be_a_name_a_path_or_an_arn_and_keeps_its_path(value: str, arn: str) -> None:
    """EKS access entries need the role's real ARN: an IAM Identity Center role keeps its aws-reserved path."""
    from types import SimpleNamespace

    from constructs_lib.cluster import role_arn
    from constructs_lib.config import load_config
    from constructs_lib.validation import validate
    from regions import REGION_SPECS

    assert role_arn(value, SimpleNamespace(partition="aws", account_id="123456789012")) == arn
    assert validate(load_config("prod", REGION_SPECS, {"cluster": {"admin_role_name": value}}), REGION_SPECS) == []


@pytest.mark.parametrize(("value", "message"), [
    ("AWSReservedSSO_PlatformAdmin_0123456789abcdef", "without its path"),
    ("arn:aws:iam::123456789012:role/AWSReservedSSO_PlatformAdmin_0123456789abcdef", "without its path"),
    ("arn:aws:iam::123456789012:user/alice", "not an IAM role"),
    ("role with spaces", "not an IAM role"),
])
def test_validator_refuses_an_admin_role_eks_would_refuse(value: str, message: str) -> None:
    from constructs_lib.config import load_config
    from constructs_lib.validation import validate
    from regions import REGION_SPECS

    errors = validate(load_config("prod", REGION_SPECS, {"cluster": {"admin_role_name": value}}), REGION_SPECS)
    assert [e.field for e in errors] == ["cluster.admin_role_name"] and message in errors[0].rule, errors
