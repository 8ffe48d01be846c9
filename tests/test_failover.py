"""The failover runbook as configuration (docs/runbooks/failover.md).

Synthesize prod and the failed-over configuration (primary eu-west-1, secondary us-east-1) and compare them
the way a reviewer compares two plans: the eu-west-1 database becomes a primary, Route 53 roles swap, S3
replication follows the primary (from one ``-edge`` stack to the other), and no stateful resource in any
workspace (bootstrap, ``-keys``, core, ``-addons``, ``-apps``, global, ``-edge``) changes its Terraform address
or identity.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.synth import Synth, resources, synth, where

FLIPPED = {"primary_region": "eu-west-1", "secondary_region": "us-east-1"}
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
                found.setdefault(name, []).extend(
                    (cfg["bucket"], rule["destination"]["bucket"].rsplit(":", 1)[-1]) for rule in cfg["rule"]
                )
        return found

    expected = {
        "globalpay-prod-us-east-1-edge": [("globalpay-prod-data-us-east-1", "globalpay-prod-data-eu-west-1")],
        "globalpay-prod-eu-west-1-edge": [("globalpay-prod-data-eu-west-1", "globalpay-prod-data-us-east-1")],
        "globalpay-prod-ap-southeast-2-edge": [("globalpay-prod-data-ap-southeast-2", "globalpay-prod-data-ap-southeast-2-replica")],
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
