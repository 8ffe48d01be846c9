"""The failover runbook as configuration (docs/runbooks/failover.md).

Synthesize prod and the failed-over configuration (primary eu-west-1, secondary us-east-1) and compare them
the way a reviewer compares two plans: the eu-west-1 database becomes a primary, Route 53 roles swap, S3
replication follows the primary, and no stateful resource changes its Terraform address or identity.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.synth import Synth, resources, synth, where

FLIPPED = {"primary_region": "eu-west-1", "secondary_region": "us-east-1"}

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
        pytest.skip("no aws_db_instance in eu-west-1 yet (data tier, issue 3)")
    assert any("replicate_source_db" in db for db in eu_before.values()), "prod: eu-west-1 holds the cross-region replica"
    assert eu_after, "flipped: eu-west-1 keeps its database"
    for db in eu_after.values():
        assert "replicate_source_db" not in db, f"{db['identifier']} still replicates after failover"


def test_s3_replication_follows_the_primary(prod: Synth, flipped: Synth) -> None:
    def destinations(s: Synth, region: str) -> list[str]:
        return [
            rule["destination"]["bucket"]
            for cfg in resources(s[f"globalpay-prod-{region}"], "aws_s3_bucket_replication_configuration").values()
            for rule in cfg["rule"]
        ]

    assert [d.rsplit(":", 1)[-1] for d in destinations(prod, "us-east-1")] == ["globalpay-prod-data-eu-west-1"]
    assert destinations(prod, "eu-west-1") == []
    assert destinations(flipped, "us-east-1") == []
    assert [d.rsplit(":", 1)[-1] for d in destinations(flipped, "eu-west-1")] == ["globalpay-prod-data-us-east-1"]


def test_every_stateful_address_and_identity_is_kept(prod: Synth, flipped: Synth) -> None:
    assert set(prod) == set(flipped)
    checked = 0
    for stack in prod:
        for rtype in STATEFUL_TYPES:
            before, after = resources(prod[stack], rtype), resources(flipped[stack], rtype)
            assert set(before) == set(after), f"{stack}: {rtype} addresses differ: {set(before) ^ set(after)}"
            for address, cfg in before.items():
                for attr in IDENTITY_ATTRIBUTES:
                    assert cfg.get(attr) == after[address].get(attr), f"{stack}: {rtype}.{address}.{attr} changes"
                checked += 1
    assert checked >= 30


def test_only_the_flipped_roles_differ_in_the_failover_configuration(prod: Synth, flipped: Synth) -> None:
    """Nothing else moves: the tertiary region's stack is byte-for-byte the same resources."""
    assert prod["globalpay-prod-ap-southeast-2"]["resource"].keys() == flipped["globalpay-prod-ap-southeast-2"]["resource"].keys()
    for rtype, items in prod["globalpay-prod-ap-southeast-2"]["resource"].items():
        assert set(items) == set(flipped["globalpay-prod-ap-southeast-2"]["resource"][rtype]), rtype
