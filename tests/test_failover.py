"""The failover runbook as configuration (docs/runbooks/failover.md, failback.md).

Synthesize prod, the failed-over configuration and every failback step as operators commit them
(``docs/runbooks/failover/NN-<step>.json``) and compare them the way a reviewer compares plans:

* the failover promotes the eu-west-1 replica, swaps the Route 53 roles and **fences** the old writer: no
  ConfigMap, secret or security group lets a service write to it, and its parameter group refuses writes;
* traffic never comes back by itself: every failover record follows a routing control (the traffic gate) as
  well as its load balancer, and ARC keeps at least one control on;
* the failback sequence destroys exactly what ``tests/stateful_addresses.json`` documents for each step, plans
  nothing that fails at apply, and ends in the original topology;
* every step applies at once (``apply_immediately``), and no stateful resource outside the documented steps
  changes its Terraform address or identity in any workspace.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.config import load_config
from constructs_lib.validation import validate
from regions import REGION_SPECS
from tests.synth import FAILOVER, Synth, resources, switch_step, switch_steps, synth, where

ROOT = Path(__file__).resolve().parent.parent
FLIPPED = FAILOVER
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
#: Every workspace of prod (regions/app.py): a failover must neither add nor drop one.
ALL_STACKS = {
    "globalpay-prod-bootstrap",
    "globalpay-prod-global",
    "globalpay-prod-mesh",
    *(f"globalpay-prod-{r}{kind}" for r in REGIONS for kind in ("-keys", "", "-security", "-addons", "-apps", "-edge")),
}

#: Resource types whose replacement or destruction loses data or identity.
STATEFUL_TYPES = (
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_elasticache_replication_group",
    "aws_msk_cluster",
    "aws_s3_bucket",
    "aws_kms_key",
    "aws_secretsmanager_secret",
    "aws_ecr_repository",
    "aws_eks_cluster",
    "aws_db_parameter_group",
)
#: Attributes that name the real resource: a change is a replacement.
IDENTITY_ATTRIBUTES = ("identifier", "cluster_identifier", "bucket", "name", "cluster_name", "replication_group_id")


@pytest.fixture(scope="module")
def flipped() -> Synth:
    return synth("prod", FLIPPED)


def _failover_roles(s: Synth) -> dict[str, str]:
    records = where(s["globalpay-prod-global"], "aws_route53_record", name="api.globalpay.com")
    return {r["set_identifier"]: r["failover_routing_policy"]["type"] for r in records}


def test_route53_roles_swap(prod: Synth, flipped: Synth) -> None:
    assert _failover_roles(prod) == {"us-east-1": "PRIMARY", "eu-west-1": "SECONDARY"}
    assert _failover_roles(flipped) == {"us-east-1": "SECONDARY", "eu-west-1": "PRIMARY"}
    # Same construct ids (keyed by region): the swap is an in-place update of two records.
    before = set(where_keys(prod["globalpay-prod-global"], "aws_route53_record"))
    after = set(where_keys(flipped["globalpay-prod-global"], "aws_route53_record"))
    assert before == after


def where_keys(stack: dict[str, Any], rtype: str) -> list[str]:
    return list(resources(stack, rtype))


def test_eu_database_is_promoted(prod: Synth, flipped: Synth) -> None:
    eu_before = resources(prod["globalpay-prod-eu-west-1"], "aws_db_instance")
    eu_after = resources(flipped["globalpay-prod-eu-west-1"], "aws_db_instance")
    if not eu_before and not eu_after:
        pytest.skip("no aws_db_instance in eu-west-1 yet (data tier)")
    assert any("replicate_source_db" in db for db in eu_before.values()), "prod: eu-west-1 holds the cross-region replica"
    assert eu_after, "flipped: eu-west-1 keeps its database"
    for db in eu_after.values():
        assert "replicate_source_db" not in db, f"{db['identifier']} still replicates after failover"


def test_s3_replication_does_not_move_with_a_failover(prod: Synth, flipped: Synth) -> None:
    """Primary and secondary replicate into each other's data bucket in both directions, the tertiary into its
    copy in the origin region: a failover (roles swapped) changes no replication rule at all."""

    def replicated(s: Synth) -> dict[str, list[tuple[str, str]]]:
        """Stack -> (source bucket, destination bucket name) of every data replication rule it holds."""
        found: dict[str, list[tuple[str, str]]] = {}
        for name in s:
            if name.endswith("bootstrap"):
                continue  # the state bucket's replication: not the data tier's
            for cfg in resources(s[name], "aws_s3_bucket_replication_configuration").values():
                if "archive/" in cfg["//"]["metadata"]["path"]:
                    continue  # a write-once archive of logs (tests/test_audit.py), in the same region
                found.setdefault(name, []).extend(
                    (cfg["bucket"], rule["destination"]["bucket"].rsplit(":", 1)[-1]) for rule in cfg["rule"]
                )
        return found

    expected = {
        "globalpay-prod-us-east-1-edge": [("globalpay-prod-data-123456789012-us-east-1", "globalpay-prod-data-123456789012-eu-west-1")],
        "globalpay-prod-eu-west-1-edge": [("globalpay-prod-data-123456789012-eu-west-1", "globalpay-prod-data-123456789012-us-east-1")],
        "globalpay-prod-ap-southeast-2-edge": [("globalpay-prod-data-123456789012-ap-southeast-2", "globalpay-prod-data-123456789012-ap-southeast-2-replica")],
    }
    assert replicated(prod) == replicated(flipped) == expected
    for synthesized in (prod, flipped):
        assert "globalpay-prod-us-east-1" in _dependencies(synthesized)["globalpay-prod-eu-west-1-edge"]
        assert "globalpay-prod-eu-west-1" in _dependencies(synthesized)["globalpay-prod-us-east-1-edge"]


def test_every_stateful_address_and_identity_is_kept(prod: Synth, flipped: Synth) -> None:
    """In every workspace, not only the core stacks: the KMS keys now live in the ``-keys`` stacks."""
    assert set(prod) == set(flipped) == ALL_STACKS
    checked = 0
    holders = set()
    for stack in prod:
        for rtype in STATEFUL_TYPES:
            before, after = resources(prod[stack], rtype), resources(flipped[stack], rtype)
            assert set(before) == set(after), f"{stack}: {rtype} addresses differ: {set(before) ^ set(after)}"
            for address, cfg in before.items():
                for attr in IDENTITY_ATTRIBUTES:
                    assert cfg.get(attr) == after[address].get(attr), f"{stack}: {rtype}.{address}.{attr} changes"
                checked += 1
                holders.add(stack)
    assert checked >= 30
    # The comparison reached the workspaces that hold state: bootstrap, every region's keys and core, global.
    assert {"globalpay-prod-bootstrap", "globalpay-prod-global",
            *(f"globalpay-prod-{r}{kind}" for r in REGIONS for kind in ("-keys", ""))} <= holders


@pytest.mark.parametrize("kind", ["-keys", "", "-addons", "-apps", "-edge"])
def test_only_the_flipped_roles_differ_in_the_failover_configuration(prod: Synth, flipped: Synth, kind: str) -> None:
    """Nothing else moves: each of the tertiary region's stacks has the same resources (its apps may read the
    database writer from another core stack, but create and destroy nothing)."""
    name = f"globalpay-prod-ap-southeast-2{kind}"
    before, after = prod[name].get("resource", {}), flipped[name].get("resource", {})
    assert before, name
    assert before.keys() == after.keys()
    for rtype, items in before.items():
        assert set(items) == set(after[rtype]), rtype


def _dependencies(s: Synth) -> dict[str, set[str]]:
    """``cdktf deploy`` applies a stack after every stack of its manifest ``dependencies``."""
    manifest = json.loads((s.outdir / "manifest.json").read_text())
    return {name: set(stack["dependencies"]) for name, stack in manifest["stacks"].items()}


# ---------------------------------------------------------------------------------------------------------
# Fencing: the old writer takes no write from anyone, and every region's services use the new writer
# ---------------------------------------------------------------------------------------------------------

US, EU = "globalpay-prod-us-east-1", "globalpay-prod-eu-west-1"
OLD_WRITER, NEW_WRITER = "globalpay-prod-primary", "globalpay-prod-replica-eu"


def instance(s: Synth, stack: str, identifier: str) -> tuple[str, dict[str, Any]]:
    """(logical name, config) of the ``aws_db_instance`` with that identifier."""
    [(name, cfg)] = [(n, c) for n, c in resources(s[stack], "aws_db_instance").items() if c["identifier"] == identifier]
    return name, cfg


def group_name(reference: str) -> str:
    """``${aws_security_group.<name>.id}`` -> ``<name>``."""
    match = re.fullmatch(r"\$\{aws_security_group\.([^.]+)\.id\}", reference)
    assert match, reference
    return match.group(1)


def ingress_of(stack: dict[str, Any], group: str) -> list[dict[str, Any]]:
    """Every ingress rule of a security group of the stack: separate rule resources and inline blocks."""
    rules = [r for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
             if r["security_group_id"] == "${aws_security_group." + group + ".id}"]
    rules += [r for r in resources(stack, "aws_security_group_rule").values()
              if r.get("type") == "ingress" and r["security_group_id"] == "${aws_security_group." + group + ".id}"]
    return rules + list(resources(stack, "aws_security_group")[group].get("ingress") or [])


def parameters(stack: dict[str, Any], reference: str) -> dict[str, str]:
    match = re.fullmatch(r"\$\{aws_db_parameter_group\.([^.]+)\.name\}", reference)
    assert match, reference
    return {p["name"]: p["value"] for p in resources(stack, "aws_db_parameter_group")[match.group(1)]["parameter"]}


def database_host_target(s: Synth, host: str) -> tuple[str, str]:
    """(stack, identifier) that a ConfigMap's ``DATABASE_HOST`` (a remote-state output) resolves to."""
    ref = re.fullmatch(r"\$\{data\.terraform_remote_state\.cross-stack-reference-input-([a-z0-9-]+)\.outputs\.([^.}]+)\}", host)
    assert ref, host
    stack, output = ref.groups()
    address = re.fullmatch(r"\$\{aws_db_instance\.([^.]+)\.address\}", s[stack]["output"][output]["value"])
    assert address, s[stack]["output"][output]
    return stack, resources(s[stack], "aws_db_instance")[address.group(1)]["identifier"]


def fence_violations(s: Synth, old_stack: str, old_writer: str) -> list[str]:
    """Every way a service could still write to ``old_writer`` in a synthesis: empty when it is fenced."""
    found = []
    _, old = instance(s, old_stack, old_writer)
    for group in map(group_name, old["vpc_security_group_ids"]):
        for rule in ingress_of(s[old_stack], group):
            found.append(f"security group {group} admits {rule.get('referenced_security_group_id') or rule.get('cidr_ipv4')}")
    if parameters(s[old_stack], old["parameter_group_name"]).get("default_transaction_read_only") != "1":
        found.append("its parameter group does not make transactions read-only")
    if old.get("tags", {}).get("Role") != "fenced" or "writes refused" not in old.get("tags", {}).get("Fenced", ""):
        found.append("its tags do not say it is fenced and why")
    for stack in (n for n in s if n.endswith("-apps")):
        for cm in resources(s[stack], "kubernetes_config_map_v1").values():
            host = cm["data"].get("DATABASE_HOST")
            if host and database_host_target(s, host)[1] == old_writer:
                found.append(f"{stack}: ConfigMap {cm['metadata']['name']} points DATABASE_HOST at it")
        for manifest in resources(s[stack], "kubernetes_manifest").values():
            body = manifest["manifest"]
            if body.get("kind") == "ExternalSecret":
                # No pod holds a database login at all (services use IAM authentication): a credentials secret
                # handed to pods would carry a host and a password that survive the fence.
                remote = {d["remoteRef"]["key"] for d in body["spec"].get("data", [])}
                remote |= {d.get("extract", {}).get("key", "") for d in body["spec"].get("dataFrom", [])}
                if any(key.endswith("/database/credentials") for key in remote):
                    found.append(f"{stack}: ExternalSecret {body['metadata']['name']} hands the pods the database credentials")
    return found


def test_the_failover_fences_the_old_writer(prod: Synth) -> None:
    """In the synthesized failover configuration no ConfigMap, secret or security group lets a service write to
    globalpay-prod-primary: its database security group admits nobody (neither the us-east-1 nodes nor the
    other regions' subnets), its parameter group makes every transaction read-only, its tags say why, and every
    region's services read the promoted eu-west-1 writer's address."""
    flipped = synth("prod", FLIPPED)
    assert fence_violations(flipped, US, OLD_WRITER) == []
    # The same checks find the way in prod, where the old writer is the writer: they can fail.
    assert len(fence_violations(prod, US, OLD_WRITER)) >= 6
    _, old = instance(flipped, US, OLD_WRITER)
    assert f"the writer is {NEW_WRITER} in eu-west-1" in old["tags"]["Fenced"]
    # The new writer admits the services of every region (its nodes, and the peers' private subnets).
    _, new = instance(flipped, EU, NEW_WRITER)
    assert "replicate_source_db" not in new
    [group] = map(group_name, new["vpc_security_group_ids"])
    admitted = {r.get("referenced_security_group_id") or r.get("cidr_ipv4") for r in ingress_of(flipped[EU], group)}
    assert len(admitted) == 8  # the eu-west-1 node group, three private subnets in each other region, the role manager
    assert "default_transaction_read_only" not in parameters(flipped[EU], new["parameter_group_name"])
    for region in REGIONS:
        cm = next(iter(resources(flipped[f"globalpay-prod-{region}-apps"], "kubernetes_config_map_v1").values()))
        assert database_host_target(flipped, cm["data"]["DATABASE_HOST"]) == (EU, NEW_WRITER)


def test_the_dr_writer_is_fenced_before_the_switchback_promotes() -> None:
    """The other way round, in two configurations so that no deploy order can promote before the fence: first
    eu-west-1's writer refuses writes while us-east-1 still replicates from it (every ConfigMap still names it:
    nobody writes), then the switchback promotes us-east-1 and changes nothing more in eu-west-1."""
    fenced, switched = synth("prod", switch_step("05-fence-dr")), synth("prod", switch_step("06-switchback"))
    _, replica = instance(fenced, US, OLD_WRITER)
    assert replica["replicate_source_db"].endswith(":db:globalpay-prod-replica-eu")
    _, dr = instance(fenced, EU, NEW_WRITER)
    assert dr["tags"]["Role"] == "fenced"
    assert fenced[EU]["resource"] == switched[EU]["resource"]  # the switchback changes no resource in eu-west-1
    assert fence_violations(switched, EU, NEW_WRITER) == []
    _, promoted = instance(switched, US, OLD_WRITER)
    assert "replicate_source_db" not in promoted and promoted["tags"]["Role"] == "writer"


# ---------------------------------------------------------------------------------------------------------
# Traffic gate: an outage moves traffic, a recovery does not
# ---------------------------------------------------------------------------------------------------------

GLOBAL = "globalpay-prod-global"


def check_by_reference(stack: dict[str, Any], reference: str) -> tuple[str, dict[str, Any]]:
    match = re.fullmatch(r"\$\{aws_route53_health_check\.([^.]+)\.id\}", reference)
    assert match, reference
    return match.group(1), resources(stack, "aws_route53_health_check")[match.group(1)]


def automatic_returns(g: dict[str, Any]) -> list[str]:
    """Failover records of the global stack ``g`` whose health a recovered endpoint alone can restore: unless the
    health they follow requires (AND) a check of their region's routing control, the record is listed."""
    controls = resources(g, "aws_route53recoverycontrolconfig_routing_control")
    found = []
    for record in where(g, "aws_route53_record", name="api.globalpay.com"):
        _, check = check_by_reference(g, record["health_check_id"])
        children = [check_by_reference(g, c)[1] for c in check.get("child_healthchecks", [])] if check["type"] == "CALCULATED" else [check]
        gated = [c for c in children if c["type"] == "RECOVERY_CONTROL"
                 and re.fullmatch(r"\$\{aws_route53recoverycontrolconfig_routing_control\.([^.]+)\.arn\}", c["routing_control_arn"])
                 and controls[c["routing_control_arn"].split(".")[1]]["name"].endswith(record["set_identifier"])]
        required = check.get("child_health_threshold", 1) >= len(children) if check["type"] == "CALCULATED" else True
        if not gated or not required:
            found.append(record["set_identifier"])
    return found


@pytest.mark.parametrize("configuration", ["prod", "failover"])
def test_traffic_never_comes_back_by_itself(prod: Synth, configuration: str) -> None:
    """Each failover record follows its load balancer AND its region's routing control: an outage (the load
    balancer check fails) moves traffic at once; a recovered region gets none until an operator turns its
    control on. The safety rule keeps at least one control on."""
    s = prod if configuration == "prod" else synth("prod", FLIPPED)
    g = s[GLOBAL]
    assert automatic_returns(g) == []
    controls = resources(g, "aws_route53recoverycontrolconfig_routing_control")
    assert sorted(c["name"] for c in controls.values()) == ["globalpay-prod-api-eu-west-1", "globalpay-prod-api-us-east-1"]
    assert all(c["lifecycle"]["prevent_destroy"] for c in controls.values())  # a new control starts OFF
    [rule] = resources(g, "aws_route53recoverycontrolconfig_safety_rule").values()
    assert rule["rule_config"] == {"inverted": False, "threshold": 1, "type": "ATLEAST"}
    assert len(rule["asserted_controls"]) == 2
    # Who may flip them: one role, only these controls.
    [role] = where(g, "aws_iam_role", name="globalpay-prod-traffic-gate")
    principals = [p for st in json.loads(role["assume_role_policy"])["Statement"] for p in st["Principal"]["AWS"]]
    assert len(principals) == 1 and principals[0].endswith(":role/GlobalPayPlatformAdmin"), principals
    [policy] = [p for p in resources(g, "aws_iam_role_policy").values() if "traffic-gate" in p["role"]]
    flip = next(st for st in json.loads(policy["policy"])["Statement"] if "route53-recovery-cluster:UpdateRoutingControlState" in st["Action"])
    assert sorted(flip["Resource"]) == sorted("${" + f"aws_route53recoverycontrolconfig_routing_control.{n}.arn" + "}" for n in controls)


def test_a_record_that_follows_only_its_load_balancer_is_found(prod: Synth) -> None:
    """The check above fails on a gate that does not hold: a record that follows its load balancer's check alone,
    or a calculated check satisfied by either child, comes back with the region."""
    g = json.loads(json.dumps(prod[GLOBAL]))
    [record] = where(g, "aws_route53_record", set_identifier="us-east-1")
    record["health_check_id"] = check_by_reference(g, record["health_check_id"])[1]["child_healthchecks"][0]
    assert check_by_reference(g, record["health_check_id"])[1]["type"] == "HTTPS"
    assert automatic_returns(g) == ["us-east-1"]
    g = json.loads(json.dumps(prod[GLOBAL]))
    [record] = where(g, "aws_route53_record", set_identifier="eu-west-1")
    check_by_reference(g, record["health_check_id"])[1]["child_health_threshold"] = 1
    assert automatic_returns(g) == ["eu-west-1"]


# ---------------------------------------------------------------------------------------------------------
# The failback sequence: each step validates, synthesizes, destroys only what is documented, ends where it began
# ---------------------------------------------------------------------------------------------------------


def _plan_review() -> Any:
    spec = importlib.util.spec_from_file_location("globalpay_plan_review_failover", ROOT / "scripts" / "plan_review.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


plan_review = _plan_review()
STEPS = switch_steps()


def test_the_committed_steps_are_the_documented_sequence() -> None:
    inventory = json.loads((ROOT / "tests" / "stateful_addresses.json").read_text())["switch_steps"]
    assert STEPS == ["01-failover", "02-release-origin", "03-retire-origin", "04-reseed-origin", "05-fence-dr",
                     "06-switchback", "07-release-dr", "08-retire-dr", "09-original"]
    assert sorted(k for k in inventory if not k.startswith("/")) == sorted([*STEPS, "emergency-scaling"])


def test_the_rehearsal_plans_every_step() -> None:
    """``python3 tasks.py rehearse`` plans the failover and every failback step by default, emergency scaling
    when named (scripts/rehearse.py reads the same files)."""
    spec = importlib.util.spec_from_file_location("globalpay_rehearse_failover", ROOT / "scripts" / "rehearse.py")
    assert spec and spec.loader
    rehearse = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rehearse)
    assert rehearse.SCENARIOS["failover"] == ("prod", FAILOVER)
    assert list(rehearse.SCENARIOS) == ["prod", "staging", "egress-firewall", "organization", "failover", *STEPS[1:]]
    assert rehearse.SCENARIOS[STEPS[-1]] == ("prod", switch_step(STEPS[-1]))
    assert rehearse.OPTIONAL_SCENARIOS == {"emergency-scaling": ("prod", switch_step("emergency-scaling"))}


@pytest.mark.parametrize("index", range(len(STEPS)))
def test_each_step_plans_only_its_documented_destruction(prod: Synth, index: int) -> None:
    """The review of step N against step N-1 (prod before the first): the stateful destroys and replacements are
    exactly those ``tests/stateful_addresses.json`` documents for the step, and nothing fails at apply."""
    step = STEPS[index]
    before = prod if index == 0 else synth("prod", switch_step(STEPS[index - 1]))
    after = synth("prod", switch_step(step))
    reviews = plan_review.review(before.stacks, after.stacks)
    destructive = [(r.name, c) for r in reviews for c in r.destructive]
    assert plan_review.undocumented_destruction(step, destructive) == []
    documented = plan_review.documented_destruction(step)
    found = {(plan_review.stack_role(stack), c.address) for stack, c in destructive}
    assert found == {(stack, a) for kind in ("destroys", "replaces") for stack, addresses in documented[kind].items() for a in addresses}
    assert [why for r in reviews for why in r.failing] == []


def test_the_sequence_ends_in_the_original_topology(prod: Synth) -> None:
    """The last step is prod again: the same workspaces, resources and database settings; only the master
    password's version moved on (the re-seeded writer never had a Terraform-set password, so the return rotates
    it, writer and secret in one apply)."""
    last = synth("prod", switch_step(STEPS[-1]))
    assert set(last) == set(prod)
    for stack in prod:
        assert {t: set(v) for t, v in prod[stack].get("resource", {}).items()} == \
               {t: set(v) for t, v in last[stack].get("resource", {}).items()}, stack
        for rtype in ("aws_db_instance", "aws_db_parameter_group", "aws_security_group", "aws_elasticache_replication_group"):
            for name, cfg in resources(prod[stack], rtype).items():
                other = resources(last[stack], rtype)[name]
                differing = {k for k in set(cfg) | set(other) if cfg.get(k) != other.get(k)}
                assert differing <= {"password_wo_version"}, (stack, name, differing)


def test_the_failback_retires_and_reseeds_under_the_same_addresses() -> None:
    """Retired instances leave their log groups (audit evidence); the re-seeded one replicates from the current
    writer under the old identifier; a released instance names its switch in its final snapshot."""
    released = synth("prod", switch_step("02-release-origin"))
    _, old = instance(released, US, OLD_WRITER)
    assert old["deletion_protection"] is False and "lifecycle" not in old
    assert old["final_snapshot_identifier"] == f"{OLD_WRITER}-final-inc-0000"
    retired = synth("prod", switch_step("03-retire-origin"))
    assert resources(retired[US], "aws_db_instance") == {}
    logs = {c["name"] for c in resources(retired[US], "aws_cloudwatch_log_group").values()}
    assert {f"/aws/rds/instance/{OLD_WRITER}/postgresql", "/aws/rds/instance/globalpay-prod-replica-1/postgresql"} <= logs
    reseeded = synth("prod", switch_step("04-reseed-origin"))
    _, replica = instance(reseeded, US, OLD_WRITER)
    assert re.fullmatch(r"arn:\$\{[^}]+\}:rds:eu-west-1:\$\{[^}]+\}:db:globalpay-prod-replica-eu", replica["replicate_source_db"])
    assert replica["deletion_protection"] is True and replica["lifecycle"]["prevent_destroy"] is True


@pytest.mark.parametrize("step", [*STEPS[:-1], "emergency-scaling"])
def test_every_switch_step_applies_at_once(step: str) -> None:
    """RDS and ElastiCache apply the step's modifications now, not in next Monday's maintenance window."""
    s = synth("prod", switch_step(step))
    for stack in (US, EU, "globalpay-prod-ap-southeast-2"):
        for rtype in ("aws_db_instance", "aws_elasticache_replication_group"):
            for cfg in resources(s[stack], rtype).values():
                assert cfg["apply_immediately"] is True, (step, stack, rtype)


def test_apply_immediately_is_off_by_default(prod: Synth) -> None:
    for stack in (US, EU, "globalpay-prod-ap-southeast-2"):
        for rtype in ("aws_db_instance", "aws_elasticache_replication_group"):
            assert all(cfg["apply_immediately"] is False for cfg in resources(prod[stack], rtype).values())


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("step", [*STEPS, "emergency-scaling"])
def test_every_step_validates_in_every_environment(env: str, step: str) -> None:
    assert [str(e) for e in validate(load_config(env, REGION_SPECS, switch_step(step)), REGION_SPECS)] == []


def errors_of(overrides: dict[str, Any]) -> list[str]:
    return [str(e) for e in validate(load_config("prod", REGION_SPECS, overrides), REGION_SPECS)]


def test_a_switch_without_apply_immediately_or_a_name_is_refused() -> None:
    errors = errors_of({"primary_region": "eu-west-1", "secondary_region": "us-east-1"})
    assert [e.split(":")[0] for e in errors] == ["database.switch_id", "database.apply_immediately", "cache.apply_immediately"]
    assert "maintenance window" in errors[1]


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({**FAILOVER, "primary_region": "us-east-1", "secondary_region": "eu-west-1",
      "database": {**FAILOVER["database"], "failback_step": "reseed-origin"}}, "database.failback_step", "primary_region = 'eu-west-1'"),
    ({**FAILOVER, "database": {**FAILOVER["database"], "failback_step": "switchback"}}, "database.failback_step", "primary_region = 'us-east-1'"),
    ({**FAILOVER, "database": {**FAILOVER["database"], "failback_step": "promote"}}, "database.failback_step", "not a failback step"),
    ({**FAILOVER, "database": {**FAILOVER["database"], "switch_id": "INC 42"}}, "database.switch_id", "lower-case"),
    ({**FAILOVER, "database": {**FAILOVER["database"], "failback_step": "release-origin", "engine": "aurora-postgresql"}},
     "database.failback_step", "Aurora"),
    ({"edge": {"recovery_cluster_arn": "arn:aws:route53:::cluster/x"}}, "edge.recovery_cluster_arn", "ARC cluster ARN"),
])
def test_a_wrong_switch_configuration_is_refused_naming_the_field(overrides: dict[str, Any], field: str, words: str) -> None:
    errors = errors_of(overrides)
    assert any(e.startswith(f"{field}:") and words in e for e in errors), errors
