"""A brand-new environment deploys in one pass: ``npx cdktf deploy '*'`` in the manifest's dependency order.

The deploy order is derived from the synthesized ``manifest.json`` (what the cdktf CLI orders by). For every
object a stack finds by name (data sources, and principals named by ARN), the object must be a documented
prerequisite (``regions/prerequisites.py``, docs/runbooks/deploy.md) or be created by a stack that comes
before its reader, including objects a controller creates: the load balancer of an Ingress is created by
the AWS Load Balancer Controller, so the stack that reads it must come after the stack whose Ingress waits
for it. And every secret a pod reads has a value in the pod's own region.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.access import SECRET_PROPERTIES
from constructs_lib.config import load_config
from regions import REGION_SPECS
from regions.prerequisites import prerequisites
from tests.synth import FAILOVER, Synth, synth

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

from rehearsal.lookups import Lookup, find_lookups, provider_regions  # noqa: E402
from rehearsal.runner import deploy_order  # noqa: E402

LB_NAME_ANNOTATION = "alb.ingress.kubernetes.io/load-balancer-name"

#: Lookup kind -> (resource type that creates such an object, its identifying attribute).
CREATED_BY = {
    "route53_zone": ("aws_route53_zone", "name"),
    "acm_certificate": ("aws_acm_certificate", "domain_name"),
    "iam_role": ("aws_iam_role", "name"),
    "load_balancer": ("aws_lb", "name"),
    "guardduty_detector": ("aws_guardduty_detector", "name"),  # never created here: a prerequisite (organization mode)
}
ORGANIZATION = {"security": {"mode": "organization"}}


def scenarios() -> Iterator[tuple[str, str, dict]]:
    yield "prod", "prod", {}
    yield "staging", "staging", {}
    yield "failover", "prod", FAILOVER
    yield "organization", "prod", ORGANIZATION


@pytest.fixture(scope="module", params=[s[0] for s in scenarios()])
def scenario(request: pytest.FixtureRequest) -> tuple[Synth, Any]:
    _, env, overrides = next(s for s in scenarios() if s[0] == request.param)
    synthesized = request.getfixturevalue(env) if not overrides else synth(env, overrides)
    return synthesized, load_config(env, REGION_SPECS, overrides)


def manifest(synthesized: Synth) -> dict[str, list[str]]:
    stacks = json.loads((synthesized.outdir / "manifest.json").read_text())["stacks"]
    return {name: list(entry["dependencies"]) for name, entry in stacks.items()}


def upstream(dependencies: dict[str, list[str]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(dependencies[name])
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(dependencies[dep])
    return seen


def stack_region(stack: dict[str, Any]) -> str:
    return provider_regions(stack).get("aws", "")


def creators(stack_name: str, stack: dict[str, Any], lookup: Lookup) -> Iterator[str]:
    """How ``stack`` creates the object ``lookup`` finds, if it does: a resource, or an Ingress whose load
    balancer the controller creates and Terraform waits for."""
    rtype, attr = CREATED_BY[lookup.kind]
    key = lookup.args.get("name") or lookup.args.get("domain")
    global_service = lookup.kind in ("route53_zone", "iam_role")
    same_region = global_service or stack_region(stack) == lookup.region
    for name, cfg in stack.get("resource", {}).get(rtype, {}).items():
        if cfg.get(attr) == key and same_region:
            yield f"{stack_name}: {rtype}.{name}"
    if lookup.kind == "load_balancer" and same_region:
        for name, cfg in stack.get("resource", {}).get("kubernetes_ingress_v1", {}).items():
            annotations = (cfg.get("metadata") or {}).get("annotations") or {}
            if annotations.get(LB_NAME_ANNOTATION) == key and cfg.get("wait_for_load_balancer") is True:
                yield f"{stack_name}: kubernetes_ingress_v1.{name} (load balancer controller)"


def lookup_problems(synthesized: Synth, config: Any, dependencies: dict[str, list[str]] | None = None) -> list[str]:
    """Every lookup that is neither a prerequisite nor created by a stack its reader depends on."""
    dependencies = dependencies or manifest(synthesized)
    documented = {(p.kind, p.key, p.region) for p in prerequisites(config)}
    problems = []
    for reader in synthesized:
        before = upstream(dependencies, reader)
        for lookup in find_lookups(reader, synthesized[reader]):
            if lookup.kind == "unsupported":
                problems.append(f"{reader}: {lookup.address}: a lookup type this test does not know")
                continue
            key = lookup.args.get("name") or lookup.args.get("domain") or ""
            region = "" if lookup.kind in ("route53_zone", "iam_role") else lookup.region
            if (lookup.kind, key, region) in documented:
                continue
            made = [c for s in before for c in creators(s, synthesized[s], lookup)]
            later = [c for s in synthesized if s not in before and s != reader for c in creators(s, synthesized[s], lookup)]
            if not made:
                where = f"; created by {later} which is not applied before it" if later else "; nothing creates it"
                problems.append(f"{reader}: {lookup.address} finds {lookup.describe()}{where}")
    return problems


# ------------------------------------------------------------------------------------------------------
# Order
# ------------------------------------------------------------------------------------------------------


def test_the_manifest_gives_one_deploy_order_from_bootstrap(scenario) -> None:
    synthesized, config = scenario
    deps = manifest(synthesized)
    order = deploy_order(deps)  # raises on a cycle
    env = config.name
    assert order[0] == f"globalpay-{env}-bootstrap"
    for name in order[1:]:
        assert f"globalpay-{env}-bootstrap" in deps[name], f"{name} keeps its state in the bootstrap bucket"
    position = {name: i for i, name in enumerate(order)}
    origin, regions = config.database.origin_region, config.region_names
    for region in regions:
        core, keys = f"globalpay-{env}-{region}", f"globalpay-{env}-{region}-keys"
        assert position[keys] < position[core]
        # The origin replicates the shared secrets into every region's secrets key.
        assert position[f"globalpay-{env}-{region}-keys"] < position[f"globalpay-{env}-{origin}"]
        assert position[core] < position[f"{core}-addons"] < position[f"{core}-apps"] < position[f"globalpay-{env}-global"]
        assert position[f"globalpay-{env}-global"] < position[f"{core}-edge"]
        # Detection reads the region's data bucket and alarm topic; the origin's holds AWS Config's role and bucket.
        assert position[core] < position[f"{core}-security"]
        assert position[f"globalpay-{env}-{origin}-security"] <= position[f"{core}-security"]
    # The mesh (transit gateway peering) exists before any service starts, after every core stack.
    mesh = f"globalpay-{env}-mesh"
    for region in regions:
        assert position[f"globalpay-{env}-{region}"] < position[mesh] < position[f"globalpay-{env}-{region}-apps"]
    # The DR region's read replica needs the origin's writer.
    dr = config.secondary_region if config.primary_region == origin else config.primary_region
    assert position[f"globalpay-{env}-{origin}"] < position[f"globalpay-{env}-{dr}"]


def test_the_runbook_deploys_with_one_command_and_no_phases() -> None:
    """Prerequisites, the state backend (bootstrap: cdktf runs ``terraform init`` of every selected stack before
    it applies any, and an S3 backend's init needs its bucket), then one ``npx cdktf deploy '*'``."""
    runbook = (ROOT / "docs" / "runbooks" / "deploy.md").read_text()
    assert "npx cdktf deploy '*'" in runbook
    new_environment = runbook.split("## A new environment", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in new_environment.splitlines() if line.strip().startswith("npx cdktf deploy")]
    assert commands and commands[0].startswith("npx cdktf deploy globalpay-prod-bootstrap"), commands
    assert [c.split("#")[0].strip() for c in commands[1:]] == ["npx cdktf deploy '*'"], commands
    for gone in ("initial_deploy", "-target", "phase 1", "phase1"):
        assert gone not in runbook, f"the deploy runbook still mentions {gone!r}"
    code = "\n".join(p.read_text() for p in (*ROOT.glob("regions/*.py"), *ROOT.glob("constructs_lib/*.py")))
    assert "initial_deploy" not in code


# ------------------------------------------------------------------------------------------------------
# Lookups
# ------------------------------------------------------------------------------------------------------


def test_every_lookup_is_a_prerequisite_or_created_by_an_earlier_stack(scenario) -> None:
    synthesized, config = scenario
    found = [lk for name in synthesized for lk in find_lookups(name, synthesized[name])]
    assert {lk.kind for lk in found} >= {"route53_zone", "acm_certificate", "iam_role", "load_balancer"}
    assert lookup_problems(synthesized, config) == []


def test_a_reader_of_the_load_balancer_before_its_ingress_is_caught(prod: Synth) -> None:
    """The check can fail: drop the global stack's dependency on one apps stack, or the Ingress's wait."""
    config = load_config("prod", REGION_SPECS)
    deps = manifest(prod)
    broken = {name: [d for d in ds if not (name == "globalpay-prod-global" and d.endswith("eu-west-1-apps"))]
              for name, ds in deps.items()}
    # Other paths must not hide it: the global stack reaches eu-west-1-apps only through that edge.
    assert "globalpay-prod-eu-west-1-apps" not in upstream(broken, "globalpay-prod-global")
    problems = lookup_problems(prod, config, broken)
    assert any(p.startswith("globalpay-prod-global: data.aws_lb.") and "eu-west-1" in p and "not applied before" in p
               for p in problems), problems

    no_wait = copy.copy(prod)
    no_wait.stacks = copy.deepcopy(prod.stacks)
    for cfg in no_wait["globalpay-prod-us-east-1-apps"]["resource"]["kubernetes_ingress_v1"].values():
        cfg["wait_for_load_balancer"] = False
    problems = lookup_problems(no_wait, config, deps)
    assert any("data.aws_lb." in p and "us-east-1" in p for p in problems), problems


# ------------------------------------------------------------------------------------------------------
# Secrets in every pod's region
# ------------------------------------------------------------------------------------------------------


def _secret_values(synthesized: Synth) -> dict[tuple[str, str], set[str]]:
    """(secret name, region) -> the JSON keys of the value Terraform writes into it, in every region where
    the secret or a Secrets Manager replica of it exists. A secret operators fill in maps to the keys the
    runbook tells them to put there (``constructs_lib.access.SECRET_PROPERTIES``); any other secret without a
    written value maps to an empty set."""
    values: dict[tuple[str, str], set[str]] = {}
    for name in synthesized:
        stack = synthesized[name]
        secrets = stack.get("resource", {}).get("aws_secretsmanager_secret", {})
        versions = stack.get("resource", {}).get("aws_secretsmanager_secret_version", {})
        for logical, secret in secrets.items():
            keys: set[str] = set()
            for version in versions.values():
                if f"aws_secretsmanager_secret.{logical}." in str(version.get("secret_id")):
                    value = str(version.get("secret_string_wo") or version.get("secret_string") or "")
                    keys |= set(re.findall(r'"(\w+)" =', value))
            if not keys:
                keys = set(SECRET_PROPERTIES.get(secret["name"].split("/", 2)[-1], ()))
            regions = [stack_region(stack), *(r["region"] for r in secret.get("replica") or [])]
            for region in regions:
                values[(secret["name"], region)] = keys
    return values


def test_every_external_secret_key_has_a_value_in_the_pods_region(scenario) -> None:
    synthesized, config = scenario
    values = _secret_values(synthesized)
    checked = 0
    for name in synthesized:
        stack = synthesized[name]
        region = stack_region(stack)
        for manifest_resource in stack.get("resource", {}).get("kubernetes_manifest", {}).values():
            obj = manifest_resource["manifest"]
            if obj["kind"] == "SecretStore":
                assert obj["spec"]["provider"]["aws"]["region"] == region, f"{name}: the store reads another region"
            if obj["kind"] != "ExternalSecret":
                continue
            for item in obj["spec"]["data"]:
                ref = item["remoteRef"]
                assert (ref["key"], region) in values, f"{name}: {ref['key']} has no secret or replica in {region}"
                assert ref["property"] in values[(ref["key"], region)], (
                    f"{name}: {ref['key']} in {region} has no value with key {ref['property']!r}")
                checked += 1
    assert checked >= 2 * len(config.region_names)


def test_shared_secrets_replicate_with_each_regions_own_key(prod: Synth) -> None:
    origin = prod["globalpay-prod-us-east-1"]
    shared = {s["name"]: s for s in origin["resource"]["aws_secretsmanager_secret"].values()
              if s["name"] in ("globalpay/prod/database/credentials", "globalpay/prod/jwt/keys", "globalpay/prod/api/keys")}
    assert len(shared) == 3
    for secret in shared.values():
        replicas = {r["region"]: r["kms_key_id"] for r in secret["replica"]}
        assert sorted(replicas) == ["ap-southeast-2", "eu-west-1"]
        for region, key in replicas.items():
            assert f"cross-stack-reference-input-globalpay-prod-{region}-keys" in key and "encryption_secrets_key" in key
    for region in ("eu-west-1", "ap-southeast-2"):
        names = {s["name"] for s in prod[f"globalpay-prod-{region}"]["resource"].get("aws_secretsmanager_secret", {}).values()}
        assert not names & set(shared), f"{region} creates a copy instead of reading the replica"
