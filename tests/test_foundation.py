"""Workspaces, remote state, network, encryption, tags, validation and deterministic synth."""

from __future__ import annotations

import filecmp
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.synth import Synth, by_path, policy, resources, synth, where

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
CORE = [f"globalpay-prod-{r}" for r in REGIONS]
KEYS = [f"{c}-keys" for c in CORE]
#: How a core stack names one of the -keys stacks' key ARNs: a cdktf cross-stack reference (remote state).
KEY_REFERENCE = re.compile(
    r"data\.terraform_remote_state\.cross-stack-reference-input-(?P<keys>[a-z0-9-]+-keys)\.outputs\.(?P<output>cross-stack-output-[A-Za-z0-9_]+)")


def run_main(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **(env or {})},
    )


# ---------------------------------------------------------------------------------------------------
# Workspaces and state
# ---------------------------------------------------------------------------------------------------


def test_every_workspace_is_synthesized(prod: Synth) -> None:
    """The stack graph of regions/app.py: the state bucket, then per region its keys, core, security, add-ons,
    apps and edge workspaces, the transit gateway mesh and the global one."""
    per_region = {f"{core}{suffix}" for core in CORE for suffix in ("-keys", "", "-security", "-addons", "-apps", "-edge")}
    assert set(prod) == {"globalpay-prod-bootstrap", "globalpay-prod-mesh", "globalpay-prod-global", *per_region}


def test_remote_state_is_s3_encrypted_locked_and_one_key_per_workspace(prod: Synth) -> None:
    keys = []
    for name in prod:
        backend = prod[name]["terraform"]["backend"]
        if name.endswith("-bootstrap"):
            assert list(backend) == ["local"], "the bootstrap stack creates the bucket, so it keeps local state"
            # relative to cdktf.out/stacks/<name>/: the project root, which a new synth does not replace
            assert backend["local"]["path"] == f"../../../terraform.{name}.tfstate"
            continue
        s3 = backend["s3"]
        assert s3["encrypt"] is True
        assert s3["use_lockfile"] is True
        assert s3["bucket"] == "globalpay-prod-terraform-state-123456789012"
        assert s3["kms_key_id"] == "arn:aws:kms:us-east-1:123456789012:alias/globalpay-prod-terraform-state"
        assert s3["key"] == f"{name}/terraform.tfstate"
        keys.append(s3["key"])
    assert len(keys) == len(set(keys)) == len(prod) - 1


def test_terraform_version_supports_s3_native_locking(prod: Synth) -> None:
    for name in prod:
        assert prod[name]["terraform"]["required_version"] == ">= 1.11.0"


def test_state_bucket_is_versioned_encrypted_private_and_tls_only(prod: Synth) -> None:
    boot = prod["globalpay-prod-bootstrap"]
    bucket = by_path(boot, "aws_s3_bucket", "/state-bucket/bucket")
    assert bucket["bucket"] == "globalpay-prod-terraform-state-123456789012"
    assert bucket["lifecycle"]["prevent_destroy"] is True
    assert by_path(boot, "aws_s3_bucket_versioning", "/state-bucket/versioning")["versioning_configuration"]["status"] == "Enabled"
    sse = by_path(boot, "aws_s3_bucket_server_side_encryption_configuration", "/state-bucket/encryption")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    assert "aws_kms_key" in sse["apply_server_side_encryption_by_default"]["kms_master_key_id"]
    pab = by_path(boot, "aws_s3_bucket_public_access_block", "/state-bucket/public-access-block")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    statements = policy(by_path(boot, "aws_s3_bucket_policy", "/state-bucket/policy"))["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
    assert deny and deny[0]["Action"] == "s3:*"
    aliases = where(boot, "aws_kms_alias", name="alias/globalpay-prod-terraform-state")
    assert len(aliases) == 2, "one key in the state region, one in the replica region, same alias name"


def test_state_survives_a_us_east_1_outage_in_a_replica_with_its_own_key(prod: Synth) -> None:
    """The state bucket replicates every version (RTC, metrics, delete markers) into a bucket of
    ``state.replica_region`` (eu-west-1), encrypted with a key of that region; ``state.use_replica`` points every
    workspace (backends and remote-state reads alike) at the copy (docs/runbooks/failover.md)."""
    boot = prod["globalpay-prod-bootstrap"]
    replica_provider = next(p for p in boot["provider"]["aws"] if p.get("alias") == "state_replica")
    assert replica_provider["region"] == "eu-west-1"
    replica = by_path(boot, "aws_s3_bucket", "replica-state-bucket/bucket")
    assert replica["bucket"] == "globalpay-prod-terraform-state-123456789012-eu-west-1"
    assert replica["provider"] == "aws.state_replica" and replica["lifecycle"]["prevent_destroy"] is True
    key = by_path(boot, "aws_kms_key", "replica-state-key/key")
    assert key["provider"] == "aws.state_replica" and key["enable_key_rotation"] is True
    assert by_path(boot, "aws_s3_bucket_versioning", "replica-state-bucket/versioning")["versioning_configuration"] == {"status": "Enabled"}
    sse = by_path(boot, "aws_s3_bucket_server_side_encryption_configuration", "replica-state-bucket/encryption")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"]["kms_master_key_id"].startswith("${aws_kms_key.replica-state-key_")
    repl = by_path(boot, "aws_s3_bucket_replication_configuration", "state-replication/configuration")
    (rule,) = repl["rule"]
    dest = rule["destination"]
    assert dest["bucket"].endswith(":s3:::globalpay-prod-terraform-state-123456789012-eu-west-1")
    assert dest["encryption_configuration"]["replica_kms_key_id"].endswith(":kms:eu-west-1:${data.aws_caller_identity.account_caller_1C5BE04F.account_id}:alias/globalpay-prod-terraform-state")
    assert dest["replication_time"]["status"] == "Enabled" and dest["metrics"]["status"] == "Enabled"
    assert rule["delete_marker_replication"] == {"status": "Enabled"}
    assert sorted(d.split(".")[0] for d in repl["depends_on"]) == [
        "aws_iam_role_policy", "aws_s3_bucket_versioning", "aws_s3_bucket_versioning"], "both buckets versioned and the role's permissions in place before the rule"
    # Break glass: every S3 backend and every remote-state read moves to the replica.
    moved = synth("prod", {"state": {"use_replica": True}})
    for name in moved:
        if name.endswith("bootstrap"):
            continue
        backend = moved[name]["terraform"]["backend"]["s3"]
        assert (backend["bucket"], backend["region"]) == ("globalpay-prod-terraform-state-123456789012-eu-west-1", "eu-west-1")
        assert backend["kms_key_id"] == "arn:aws:kms:eu-west-1:123456789012:alias/globalpay-prod-terraform-state"
        for remote in moved[name].get("data", {}).get("terraform_remote_state", {}).values():
            assert (remote["config"]["bucket"], remote["config"]["region"]) == (backend["bucket"], "eu-west-1")


def test_local_backend_option(tmp_path: Path) -> None:
    local = synth("prod", backend="local")
    for name in local:
        assert list(local[name]["terraform"]["backend"]) == ["local"]


# ---------------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------------


def _subnets(stack: dict, tier: str) -> list[dict]:
    return sorted((s for s in resources(stack, "aws_subnet").values() if s["tags"]["Tier"] == tier), key=lambda s: s["availability_zone"])


def test_us_east_1_carries_the_guides_vpc_and_subnets_exactly(prod: Synth) -> None:
    stack = prod["globalpay-prod-us-east-1"]
    (vpc,) = resources(stack, "aws_vpc").values()
    assert vpc["cidr_block"] == "10.0.0.0/16"
    assert vpc["enable_dns_hostnames"] is True and vpc["enable_dns_support"] is True
    assert [(s["cidr_block"], s["availability_zone"]) for s in _subnets(stack, "public")] == [
        ("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"), ("10.0.3.0/24", "us-east-1c")]
    assert [(s["cidr_block"], s["availability_zone"]) for s in _subnets(stack, "private")] == [
        ("10.0.11.0/24", "us-east-1a"), ("10.0.12.0/24", "us-east-1b"), ("10.0.13.0/24", "us-east-1c")]
    assert [(s["cidr_block"], s["availability_zone"]) for s in _subnets(stack, "db")] == [
        ("10.0.21.0/24", "us-east-1a"), ("10.0.22.0/24", "us-east-1b"), ("10.0.23.0/24", "us-east-1c")]


def test_vpc_cidrs_do_not_overlap_and_other_regions_follow_the_plan(prod: Synth) -> None:
    nets = {}
    for name in CORE:
        (vpc,) = resources(prod[name], "aws_vpc").values()
        nets[name] = ipaddress.ip_network(vpc["cidr_block"])
        for subnet in resources(prod[name], "aws_subnet").values():
            assert ipaddress.ip_network(subnet["cidr_block"]).subnet_of(nets[name])
            assert subnet["map_public_ip_on_launch"] is False
        assert len(_subnets(prod[name], "public")) == len(_subnets(prod[name], "private")) == len(_subnets(prod[name], "db")) == 3
    values = list(nets.values())
    assert all(not a.overlaps(b) for i, a in enumerate(values) for b in values[i + 1:])


@pytest.mark.parametrize("stack_name", CORE)
def test_nat_gateway_and_private_route_table_per_az(prod: Synth, stack_name: str) -> None:
    stack = prod[stack_name]
    nats = resources(stack, "aws_nat_gateway")
    assert len(nats) == 3 and len(resources(stack, "aws_eip")) == 3
    routes = resources(stack, "aws_route").values()
    nat_routes = [r for r in routes if "nat_gateway_id" in r]
    assert len(nat_routes) == 3 and len({r["nat_gateway_id"] for r in nat_routes}) == 3
    assert all(r["destination_cidr_block"] == "0.0.0.0/0" for r in nat_routes)
    igw_routes = [r for r in routes if "gateway_id" in r]
    assert len(igw_routes) == 1 and igw_routes[0]["destination_cidr_block"] == "0.0.0.0/0"
    db_rt = by_path(stack, "aws_route_table", "network/db-rt")
    db_routes = [r for r in routes if db_rt["//"]["metadata"]["uniqueId"] in r["route_table_id"]]
    assert all("0.0.0.0/0" != r["destination_cidr_block"] for r in db_routes), "the database tier is isolated"


def test_staging_may_use_a_single_nat_gateway(staging: Synth) -> None:
    assert len(resources(staging["globalpay-staging-us-east-1"], "aws_nat_gateway")) == 1


@pytest.mark.parametrize("stack_name", CORE)
def test_subnets_carry_load_balancer_discovery_tags(prod: Synth, stack_name: str) -> None:
    stack = prod[stack_name]
    for s in _subnets(stack, "public"):
        assert s["tags"]["kubernetes.io/role/elb"] == "1"
    for s in _subnets(stack, "private"):
        assert s["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert s["tags"]["kubernetes.io/cluster/globalpay-prod-cluster"] == "shared"


@pytest.mark.parametrize("stack_name", CORE)
def test_flow_logs_capture_all_traffic_to_an_encrypted_group_kept_a_year(prod: Synth, stack_name: str) -> None:
    stack = prod[stack_name]
    # (The transit gateway's flow log: tests/test_audit.py.)
    (flow,) = [f for f in resources(stack, "aws_flow_log").values() if "vpc_id" in f]
    assert flow["traffic_type"] == "ALL" and flow["log_destination_type"] == "cloud-watch-logs"
    group = by_path(stack, "aws_cloudwatch_log_group", "network/flow-log-group")
    assert group["retention_in_days"] >= 365
    # the network stays in the core stack; its key is the region's data key, read from the -keys stack
    assert group["kms_key_id"] == _key_ref(prod, stack_name, "data")


@pytest.mark.parametrize("stack_name", CORE)
def test_default_security_group_has_no_rules(prod: Synth, stack_name: str) -> None:
    (sg,) = resources(prod[stack_name], "aws_default_security_group").values()
    assert sg["ingress"] == [] and sg["egress"] == []


@pytest.mark.parametrize("stack_name", CORE)
def test_vpc_endpoints_for_private_nodes(prod: Synth, stack_name: str) -> None:
    region = stack_name.removeprefix("globalpay-prod-")
    endpoints = {e["service_name"]: e for e in resources(prod[stack_name], "aws_vpc_endpoint").values()}
    assert endpoints[f"com.amazonaws.{region}.s3"]["vpc_endpoint_type"] == "Gateway"
    for service in ("ecr.api", "ecr.dkr", "secretsmanager", "kms", "sts", "logs", "ec2"):
        endpoint = endpoints[f"com.amazonaws.{region}.{service}"]
        assert endpoint["vpc_endpoint_type"] == "Interface" and endpoint["private_dns_enabled"] is True
        assert len(endpoint["subnet_ids"]) == 3


def test_transit_gateways_are_peered_in_a_full_mesh_with_routes(prod: Synth) -> None:
    for name in CORE:
        assert len(resources(prod[name], "aws_ec2_transit_gateway")) == 1
        assert len(resources(prod[name], "aws_ec2_transit_gateway_vpc_attachment")) == 1
        peer_routes = [r for r in resources(prod[name], "aws_route").values() if "transit_gateway_id" in r]
        assert len(peer_routes) == 2 * 4, "two peer VPC ranges from three private and one database route table"
    glob = prod["globalpay-prod-mesh"]
    peerings = resources(glob, "aws_ec2_transit_gateway_peering_attachment").values()
    pairs = {(p["provider"], p["peer_region"]) for p in peerings}
    assert pairs == {("aws.us_east_1", "eu-west-1"), ("aws.us_east_1", "ap-southeast-2"), ("aws.eu_west_1", "ap-southeast-2")}
    assert len(resources(glob, "aws_ec2_transit_gateway_peering_attachment_accepter")) == 3
    tgw_routes = resources(glob, "aws_ec2_transit_gateway_route").values()
    assert len(tgw_routes) == 6
    # regional values travel through remote state, never through a resource of this stack
    assert "terraform_remote_state" in glob.get("data", {})


# ---------------------------------------------------------------------------------------------------
# Encryption and tags
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack_name", KEYS)
def test_data_and_secrets_keys_rotate_with_explicit_policies(prod: Synth, stack_name: str) -> None:
    """The region's two keys live in its -keys stack (applied before every core stack), under the Terraform
    addresses they had in the core stack, so moving their state is a ``terraform state mv`` and no new key."""
    stack = prod[stack_name]
    keys = resources(stack, "aws_kms_key")
    assert set(keys) == {"encryption_data_key_B417BE32", "encryption_secrets_key_72B64542"}
    aliases = {a["name"]: a["target_key_id"] for a in resources(stack, "aws_kms_alias").values()}
    assert aliases == {"alias/globalpay-prod-data": "${aws_kms_key.encryption_data_key_B417BE32.key_id}",
                       "alias/globalpay-prod-secrets": "${aws_kms_key.encryption_secrets_key_72B64542.key_id}"}
    for key in keys.values():
        assert key["enable_key_rotation"] is True
        assert key["lifecycle"]["prevent_destroy"] is True
        statements = policy(key)["Statement"]
        wildcard = [s for s in statements if s["Principal"] in ("*", {"AWS": "*"})]
        assert all("kms:CallerAccount" in s["Condition"]["StringEquals"] for s in wildcard)
    data_key = by_path(stack, "aws_kms_key", "encryption/data/key")
    services = [s for s in policy(data_key)["Statement"] if str(s.get("Principal", {}).get("Service", "")).startswith("logs.")]
    assert services, "CloudWatch Logs may use the data key (flow logs, cluster logs)"


def _strings(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """``(location, string)`` of every string in a stack's JSON, cdktf's ``//`` metadata left out."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "//":
                yield from _strings(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{where}[{i}]")
    elif isinstance(node, str):
        yield where, node


def _key_ref(prod: Synth, consumer: str, kind: str) -> str:
    """The expression ``consumer`` uses for its own region's ``kind`` key ARN ("data" or "secrets"): the
    remote state of its -keys stack and the output that exports exactly that key's ARN."""
    keys = f"{consumer}-keys"
    key = next(name for name, cfg in resources(prod[keys], "aws_kms_key").items() if cfg["//"]["metadata"]["path"].endswith(f"encryption/{kind}/key"))
    (output,) = [name for name, out in prod[keys]["output"].items() if out["value"] == f"${{aws_kms_key.{key}.arn}}"]
    remote = prod[consumer]["data"]["terraform_remote_state"][f"cross-stack-reference-input-{keys}"]
    assert remote["config"]["key"] == prod[keys]["terraform"]["backend"]["s3"]["key"] == f"{keys}/terraform.tfstate"
    return f"${{data.terraform_remote_state.cross-stack-reference-input-{keys}.outputs.{output}}}"


@pytest.mark.parametrize("stack_name", CORE)
def test_core_stack_has_no_key_and_reads_its_regions_keys_through_remote_state(prod: Synth, stack_name: str) -> None:
    """No aws_kms_key (or alias) is left in a core stack: a second key there would encrypt new resources with
    a key outside the -keys state. Every key its resources use is its own region's, through remote state; the
    one exception is the origin region's shared secrets, whose replicas use each other region's secrets key."""
    stack = prod[stack_name]
    assert not resources(stack, "aws_kms_key") and not resources(stack, "aws_kms_alias")
    own = {_key_ref(prod, stack_name, kind)[2:-1]: kind for kind in ("data", "secrets")}
    used = {kind: 0 for kind in own.values()}
    reviewed = {**stack, "data": {t: v for t, v in stack.get("data", {}).items() if t != "terraform_remote_state"}}
    for location, text in _strings(reviewed):
        assert not re.search(r"\baws_kms_key\.", text), (location, text)
        for match in KEY_REFERENCE.finditer(text):
            if not match.group("output").startswith("cross-stack-output-aws_kms_key"):
                continue
            if match.group(0) in own:
                used[own[match.group(0)]] += 1
                continue
            # another region's key: only as a replica's key of the origin's shared secrets
            assert stack_name == "globalpay-prod-us-east-1", (location, text)
            assert re.fullmatch(r"resource\.aws_secretsmanager_secret\.[^.]+\.replica\[\d+\]\.kms_key_id", location), location
            assert "encryption_secrets_key" in match.group("output"), location
    assert all(used.values()), used


def test_every_aws_provider_carries_the_cost_tags(prod: Synth, staging: Synth) -> None:
    for synthesized, env in ((prod, "Production"), (staging, "Staging")):
        for name in synthesized:
            for provider in synthesized[name].get("provider", {}).get("aws", []):
                assert provider["default_tags"][0]["tags"] == {
                    "Environment": env, "Project": "GlobalPay", "CostCenter": "Engineering", "ManagedBy": "cdktf"}


# ---------------------------------------------------------------------------------------------------
# Validation, atomic output, determinism
# ---------------------------------------------------------------------------------------------------


BAD_CONFIGS = {
    "unknown region": ({"regions": [{"name": "us-east-1"}, {"name": "eu-west-1"}, {"name": "mars-north-1", "vpc_cidr": "10.9.0.0/16", "azs": ["a", "b", "c"]}]}, "regions[2].name"),
    "overlapping CIDR": ({"regions": {"eu-west-1": {"vpc_cidr": "10.0.0.0/16"}}}, "regions.eu-west-1.vpc_cidr"),
    "malformed CIDR": ({"regions": {"ap-southeast-2": {"vpc_cidr": "10.2.0.0/33"}}}, "regions.ap-southeast-2.vpc_cidr"),
    "host bits set": ({"regions": {"ap-southeast-2": {"vpc_cidr": "10.2.1.0/16"}}}, "regions.ap-southeast-2.vpc_cidr"),
    "two AZs": ({"regions": {"eu-west-1": {"azs": ["eu-west-1a", "eu-west-1b"], "public_subnet_octets": [1, 2], "private_subnet_octets": [11, 12], "database_subnet_octets": [21, 22]}}}, "regions.eu-west-1.azs"),
    "unknown field": ({"database": {"instance_klass": "db.r6g.large"}}, "database.instance_klass"),
}


@pytest.fixture(scope="module")
def previous_output(prod: Synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("previous") / "cdktf.out"
    shutil.copytree(prod.outdir, out)
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line_and_keeps_previous_output(case: str, previous_output: Path, tmp_path: Path) -> None:
    overrides, field = BAD_CONFIGS[case]
    before = _snapshot(previous_output)
    config = tmp_path / "overrides.json"
    config.write_text(json.dumps(overrides))
    proc = run_main("--config", str(config), "--out", str(previous_output))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"config error: {field}: "), lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert _snapshot(previous_output) == before
    assert not list(previous_output.parent.glob(".cdktf.out.*")), "no temporary folder left behind"


def test_unknown_environment_is_refused() -> None:
    proc = run_main("--env", "qa")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "config error: environment: unknown environment 'qa'; expected one of prod, staging"


def test_two_syntheses_are_byte_identical(prod: Synth, tmp_path: Path) -> None:
    from constructs_lib.config import load_config
    from regions import REGION_SPECS
    from regions.app import build_app
    from scripts.ci.locks import install as install_lock_files

    build_app(load_config("prod", REGION_SPECS), str(tmp_path / "again")).app.synth()
    install_lock_files(tmp_path / "again")
    cmp = filecmp.dircmp(prod.outdir, tmp_path / "again")
    assert _snapshot(prod.outdir) == _snapshot(tmp_path / "again"), cmp.diff_files


def test_cli_synth_swaps_a_complete_output_in_and_matches_eager_provider_imports(prod: Synth, tmp_path: Path) -> None:
    """``python main.py`` end to end, with the provider packages imported the ordinary (slow) way: the lazy
    import of constructs_lib/providers.py must not change a byte of the output."""
    out = tmp_path / "cdktf.out"
    out.mkdir()
    (out / "stale-file").write_text("from an older synth")
    proc = run_main("--out", str(out), env={"GLOBALPAY_EAGER_PROVIDERS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "synthesized" in proc.stdout and "globalpay-prod-us-east-1" in proc.stdout
    assert not (out / "stale-file").exists(), "the new output replaces the old one whole"
    assert _snapshot(out) == _snapshot(prod.outdir)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary on this machine (it is optional: synth does not need it)")
def test_terraform_itself_parses_every_stack(prod: Synth, tmp_path: Path) -> None:
    """Where a terraform binary exists (no providers can be downloaded here, so no validate), `terraform
    providers` still decodes each stack's JSON: top-level and meta block types (ephemeral, moved, lifecycle,
    required_version) and the provider requirements (it does not evaluate expressions). The backend block is
    left out: it would ask for `init`."""
    for name in prod:
        stack = json.loads(json.dumps(prod[name]))
        stack["terraform"].pop("backend")
        folder = tmp_path / name
        folder.mkdir()
        (folder / "main.tf.json").write_text(json.dumps(stack))
        proc = subprocess.run(["terraform", "providers"], cwd=folder, capture_output=True, text=True, timeout=120, check=False,
                              env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"})
        assert proc.returncode == 0, f"{name}: {proc.stderr}"
        assert "hashicorp/aws] 6.25.0" in proc.stdout, proc.stdout
        if name.endswith("-addons"):  # the Helm add-ons
            assert "hashicorp/helm] 3.1.1" in proc.stdout
        if name.endswith("-apps"):  # the workloads' Kubernetes objects
            assert "hashicorp/kubernetes]" in proc.stdout
