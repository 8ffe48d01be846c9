"""Upgrades without outages, read as the operator reviews them: each change is synthesized next to prod and compared
with the offline plan review (scripts/plan_review.py), as ``python3 tasks.py plan-review`` does in a pull request.

* a Kubernetes minor upgrade of the canary region touches that region's stacks only, and the validator holds the
  upgrade order (canary first, at most one minor ahead);
* a node instance-type change replaces the node group create-before-destroy, and the review flags it;
* a PostgreSQL minor bump reaches the replicas first (``replica_engine_version``), and the one-step bump is refused
  by the validator (writer ahead) and by the review (writer before its replicas);
* a major bump plans new parameter groups, created before the old ones go, and destroys nothing protected;
* a Kafka version bump replaces the broker configuration create-before-destroy, so MSK is never asked to delete the
  configuration its cluster uses;
* the node group's maximum holds the services at their HPA maxima plus a rollout surge, or the configuration is
  refused.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import capacity, versions
from constructs_lib.config import load_config
from constructs_lib.validation import validate
from regions import REGION_SPECS
from scripts import inventory
from tests.synth import FAILOVER, Synth, resources, synth
from tests.test_plan_review import plan_review

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
CANARY = {"cluster": {"kubernetes_versions": {"ap-southeast-2": "1.36"}}}
NEW_NODES = {"cluster": {"node_instance_types": ["m6i.xlarge"]}}
PG_REPLICAS_FIRST = {"database": {"replica_engine_version": "15.18"}}
PG_ONE_STEP = {"database": {"engine_version": "15.18", "replica_engine_version": "15.18"}}
PG_MAJOR = {"database": {"engine_version": "16.13", "replica_engine_version": "16.13", "allow_major_version_upgrade": True}}
KAFKA_4 = {"kafka": {"kafka_version": "4.0.x.kraft"}}


def errors(overrides: dict[str, Any], env: str = "prod") -> list[str]:
    return [str(e) for e in validate(load_config(env, REGION_SPECS, overrides), REGION_SPECS)]


def reviewed(old: Synth, new: Synth) -> list[Any]:
    return plan_review.review(plan_review.read_stacks(old.outdir), plan_review.read_stacks(new.outdir))


def changes(reviews: list[Any]) -> dict[tuple[str, str], Any]:
    return {(r.name, c.address): c for r in reviews for c in r.changes}


def only(stack: dict, rtype: str) -> dict:
    (cfg,) = resources(stack, rtype).values()
    return cfg


def review_exit(old: Path, new: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "plan_review.py"), str(old), str(new), "--color", "never", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------------------
# Kubernetes: one region at a time, the canary first
# ------------------------------------------------------------------------------------------------------


def test_a_kubernetes_minor_upgrade_of_the_canary_touches_only_its_region(prod: Synth) -> None:
    canary = synth("prod", CANARY)
    assert set(canary) == set(prod)
    differ = sorted(name for name in prod if json.dumps(prod[name], sort_keys=True) != json.dumps(canary[name], sort_keys=True))
    assert differ == ["globalpay-prod-ap-southeast-2", "globalpay-prod-ap-southeast-2-addons"]
    core = canary["globalpay-prod-ap-southeast-2"]
    assert only(core, "aws_eks_cluster")["version"] == "1.36"
    assert only(core, "aws_eks_node_group")["release_version"] == versions.EKS_NODE_AMI_RELEASES["1.36"] == "1.36.2-20260714"
    addons = {a["addon_name"]: a["addon_version"] for a in resources(core, "aws_eks_addon").values()}
    assert addons == versions.EKS_ADDONS_BY_KUBERNETES["1.36"] and addons["kube-proxy"].startswith("v1.36.")
    autoscaler = next(r for r in resources(canary["globalpay-prod-ap-southeast-2-addons"], "helm_release").values()
                      if r["name"] == "cluster-autoscaler")
    assert json.loads(autoscaler["values"][0])["image"]["tag"] == "v1.36.1"
    for region in ("us-east-1", "eu-west-1"):
        assert only(canary[f"globalpay-prod-{region}"], "aws_eks_cluster")["version"] == "1.35"
    # The review shows one control plane moving, by one minor: nothing refused, nothing destructive.
    reviews = reviewed(prod, canary)
    assert not any(r.refusals for r in reviews) and not any(r.destructive for r in reviews)
    cluster = [c for (stack, _), c in changes(reviews).items() if c.rtype == "aws_eks_cluster"]
    assert len(cluster) == 1 and cluster[0].kind == "update" and cluster[0].attributes == ["version"]


def test_the_upgrade_order_is_validated() -> None:
    assert errors(CANARY) == []
    assert errors({"cluster": {"kubernetes_version": "1.36"}}) == []  # every region on the new minor
    [primary_first] = errors({"cluster": {"kubernetes_versions": {"us-east-1": "1.36"}}})
    assert primary_first.startswith("cluster.kubernetes_versions.us-east-1: us-east-1 would run 1.36 before eu-west-1 (1.35)")
    [unknown] = errors({"cluster": {"kubernetes_versions": {"sa-east-1": "1.36"}}})
    assert unknown.startswith("cluster.kubernetes_versions.sa-east-1: is not a configured region")
    [order] = errors({"cluster": {"upgrade_order": ["ap-southeast-2", "us-east-1"]}})
    assert order.startswith("cluster.upgrade_order: must list every configured region once")
    # The default order follows the roles: after a failover the old primary comes before the new one.
    failed_over = FAILOVER
    assert load_config("prod", REGION_SPECS, failed_over).upgrade_order == ("ap-southeast-2", "us-east-1", "eu-west-1")
    assert errors({**failed_over, "cluster": {"kubernetes_versions": {"ap-southeast-2": "1.36", "us-east-1": "1.36"}}}) == []
    assert errors({"cluster": {"upgrade_order": ["us-east-1", "eu-west-1", "ap-southeast-2"], "kubernetes_versions": {"us-east-1": "1.36"}}}) == []
    [unpinned] = errors({"cluster": {"kubernetes_versions": {"ap-southeast-2": "1.34"}}})
    assert unpinned == ("cluster.kubernetes_versions.ap-southeast-2: 1.34 has no pinned EKS add-ons, cluster-autoscaler image, "
                        "node AMI release (constructs_lib/versions.py, with evidence)")
    [gone] = errors({"cluster": {"kubernetes_version": "1.30"}})
    assert gone.startswith("cluster.kubernetes_version: 1.30 is not in EKS standard support")


def test_every_pinned_minor_has_its_addons_autoscaler_and_node_ami() -> None:
    for minor in versions.EKS_ADDONS_BY_KUBERNETES:
        assert versions.EKS_ADDONS_BY_KUBERNETES[minor]["kube-proxy"].startswith(f"v{minor}.")
        assert versions.CLUSTER_AUTOSCALER_IMAGE_TAGS[minor].startswith(f"v{minor}.")
        assert versions.EKS_NODE_AMI_RELEASES[minor].startswith(f"{minor}.")
        assert set(versions.EKS_ADDONS_BY_KUBERNETES[minor]) == set(versions.EKS_ADDONS)


def test_the_review_refuses_a_skipped_minor_a_downgrade_and_two_clusters_at_once(prod: Synth) -> None:
    old = plan_review.read_stacks(prod.outdir)

    def with_versions(**by_region: str) -> dict:
        new = copy.deepcopy(old)
        for region, version in by_region.items():
            only(new[f"globalpay-prod-{region.replace('_', '-')}"], "aws_eks_cluster")["version"] = version
        return new

    def refusals(new: dict) -> list[str]:
        return [m for r in plan_review.review(old, new) for m in r.refusals]

    assert any("skips a minor: EKS upgrades one minor at a time" in m for m in refusals(with_versions(ap_southeast_2="1.37")))
    assert any("EKS cannot downgrade" in m for m in refusals(with_versions(ap_southeast_2="1.34")))
    both = refusals(with_versions(ap_southeast_2="1.36", eu_west_1="1.36"))
    assert len(both) == 2 and all("2 clusters change Kubernetes version in one change" in m for m in both)
    assert refusals(with_versions(ap_southeast_2="1.36")) == []


# ------------------------------------------------------------------------------------------------------
# Nodes: patched on a pinned release, replaced create-before-destroy, flagged by the review
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_node_group_is_replaced_create_before_destroy_on_a_pinned_ami_release(prod: Synth, region: str) -> None:
    group = only(prod[f"globalpay-prod-{region}"], "aws_eks_node_group")
    assert group["node_group_name_prefix"] == "payment-processing-nodes-" and "node_group_name" not in group
    assert group["lifecycle"] == {"create_before_destroy": True, "ignore_changes": ["scaling_config[0].desired_size"]}
    assert group["release_version"] == versions.EKS_NODE_AMI_RELEASES[versions.KUBERNETES_VERSION]
    assert group["update_config"] == {"max_unavailable": 1}


def test_a_node_instance_type_change_plans_create_before_destroy_and_the_review_flags_it(prod: Synth) -> None:
    new = synth("prod", NEW_NODES)
    found = changes(reviewed(prod, new))
    groups = {key: c for key, c in found.items() if c.rtype == "aws_eks_node_group"}
    assert len(groups) == 3
    for change in groups.values():
        assert change.kind == "replace" and change.destructive
        assert "replacement order: created before the old one is destroyed" in change.details
        assert any("node_desired_size" in d for d in change.details)
    code, out = review_exit(prod.outdir, new.outdir)
    assert code == 1 and out.count("-/+ aws_eks_node_group.") == 3 and "DESTRUCTIVE: replaced" in out
    assert "refused: destructive changes to stateful resources or node groups" in out
    assert review_exit(prod.outdir, new.outdir, "--allow-destructive")[0] == 0


# ------------------------------------------------------------------------------------------------------
# PostgreSQL: replicas before their source; majors through new parameter groups
# ------------------------------------------------------------------------------------------------------


def engine_versions(s: Synth) -> dict[str, str]:
    return {cfg["identifier"]: cfg["engine_version"] for name in s for cfg in resources(s[name], "aws_db_instance").values()}


def test_a_minor_bump_reaches_the_replicas_first(prod: Synth) -> None:
    step1 = synth("prod", PG_REPLICAS_FIRST)
    assert engine_versions(step1) == {"globalpay-prod-primary": "15.17", "globalpay-prod-replica-1": "15.18",
                                      "globalpay-prod-replica-eu": "15.18"}
    reviews = reviewed(prod, step1)
    assert not any(r.refusals for r in reviews)
    moved = {c.address for c in changes(reviews).values() if "engine_version" in c.attributes}
    assert len(moved) == 2  # the two replicas; the writer waits for the next change
    # The next change moves the writer: nothing refused, because its replicas already run 15.18.
    step2 = synth("prod", PG_ONE_STEP)
    assert not any(r.refusals for r in reviewed(step1, step2))


def test_a_minor_bump_in_the_wrong_order_is_refused(prod: Synth) -> None:
    [validator] = errors({"database": {"engine_version": "15.18"}})
    assert validator == ("database.replica_engine_version: 15.17 is behind engine_version 15.18: RDS upgrades read replicas "
                         "before their source; set replica_engine_version to 15.18 and apply first")
    one_step = synth("prod", PG_ONE_STEP)
    refusals = [m for r in reviewed(prod, one_step) for m in r.refusals]
    assert len(refusals) == 2 and all("RDS upgrades read replicas first" in m for m in refusals)
    assert {m.split("its replica ")[1].split(" ")[0] for m in refusals} == {"globalpay-prod-replica-1", "globalpay-prod-replica-eu"}
    code, out = review_exit(prod.outdir, one_step.outdir, "--allow-destructive")
    assert code == 1 and "AWS would refuse" in out  # no flag waives what AWS refuses


def test_a_major_bump_plans_new_parameter_groups_and_destroys_nothing_protected(prod: Synth) -> None:
    major = synth("prod", PG_MAJOR)
    found = changes(reviewed(prod, major))
    groups = {key: c for key, c in found.items() if c.rtype == "aws_db_parameter_group"}
    assert len(groups) == 4  # writer and replica groups in us-east-1 and eu-west-1
    for change in groups.values():
        assert change.kind == "replace" and not change.destructive
        assert "replacement order: created before the old one is destroyed" in change.details
        assert any(d.startswith("family: 'postgres15' -> 'postgres16'") for d in change.details)
    instances = [c for c in found.values() if c.rtype == "aws_db_instance"]
    assert instances and all(c.kind == "update" for c in instances)
    assert all(cfg["allow_major_version_upgrade"] is True for name in major for cfg in resources(major[name], "aws_db_instance").values())
    assert not any(c.destructive for c in found.values())
    # Every stateful address and identity is where the inventory expects it.
    assert inventory.compare(inventory.load(), {n: d for n, d in inventory.read_stacks(major.outdir).items() if "-prod-" in n}).ok
    assert review_exit(prod.outdir, major.outdir)[0] == 0


def test_a_major_bump_without_allow_major_version_upgrade_is_refused(prod: Synth) -> None:
    major = plan_review.read_stacks(synth("prod", PG_MAJOR).outdir)
    for data in major.values():
        for cfg in (data.get("resource", {}).get("aws_db_instance") or {}).values():
            cfg["allow_major_version_upgrade"] = False
    refusals = [m for r in plan_review.review(plan_review.read_stacks(prod.outdir), major) for m in r.refusals]
    assert refusals and all("major upgrade without allow_major_version_upgrade" in m for m in refusals)


# ------------------------------------------------------------------------------------------------------
# Kafka: the configuration in use is never deleted first
# ------------------------------------------------------------------------------------------------------


def test_a_kafka_version_bump_plans_without_configuration_in_use(prod: Synth) -> None:
    new = synth("prod", KAFKA_4)
    reviews = reviewed(prod, new)
    assert not any(r.refusals for r in reviews) and not any(r.destructive for r in reviews)
    found = changes(reviews)
    configs = [c for c in found.values() if c.rtype == "aws_msk_configuration"]
    assert len(configs) == 3 and all(c.kind == "replace" for c in configs)
    assert all("replacement order: created before the old one is destroyed" in c.details for c in configs)
    assert all(any("'globalpay-prod-kafka-config-4-0-x-kraft'" in d for d in c.details) for c in configs)
    clusters = [c for c in found.values() if c.rtype == "aws_msk_cluster"]
    assert len(clusters) == 3 and all(c.kind == "update" and "kafka_version" in c.attributes for c in clusters)


def test_a_configuration_replaced_destroy_first_while_in_use_is_refused(prod: Synth) -> None:
    """The shape the code had: one fixed-name configuration without create_before_destroy."""
    new = plan_review.read_stacks(synth("prod", KAFKA_4).outdir)
    for data in new.values():
        for cfg in (data.get("resource", {}).get("aws_msk_configuration") or {}).values():
            cfg.pop("lifecycle")
    refusals = [m for r in plan_review.review(plan_review.read_stacks(prod.outdir), new) for m in r.refusals]
    assert len(refusals) == 3 and all("Configuration is in use by one or more clusters" in m for m in refusals)


# ------------------------------------------------------------------------------------------------------
# Capacity: the node group holds the services at their HPA maxima plus a rollout surge
# ------------------------------------------------------------------------------------------------------


def test_the_capacity_rule_refuses_an_hpa_total_the_node_group_cannot_hold() -> None:
    assert errors({}) == [] and errors({}, "staging") == []
    [guide] = errors({"cluster": {"node_max_size": 10}})
    assert guide.startswith("cluster.node_max_size: 10 x t3.xlarge offer 34.4 vCPU")
    assert guide.endswith("15 nodes needed; raise node_max_size to 15 or lower the services' max_replicas")
    # A list of services replaces the list: the other two keep their defaults by being named.
    busier = {"services": [{"name": "api-gateway", "max_replicas": 80}, {"name": "payment-processor"}, {"name": "reconciliation-engine"}]}
    [too_many] = errors({"workloads": busier})
    assert too_many.startswith("cluster.node_max_size: 15 x t3.xlarge") and "raise node_max_size to 21 " in too_many
    assert errors({"workloads": busier, "cluster": {"node_max_size": 21}}) == []
    [below] = errors({"workloads": {"services": [{"name": "payment-processor", "replicas": 5, "max_replicas": 4}]}})
    assert below.startswith("workloads.services.payment-processor.max_replicas: the HPA's maximum (4) is below its minimum")


def test_the_capacity_model_counts_reservations_daemonsets_and_the_surge() -> None:
    # nodeadm: 6% of the first core, 1% of the second, 0.5% of the third and fourth: 80m of 4 vCPUs.
    assert capacity.kube_reserved_cpu_millis(4) == 80 and capacity.kube_reserved_cpu_millis(8) == 90
    assert capacity.kube_reserved_memory_mib(58) == 11 * 58 + 255
    cpu, _, slots = capacity.schedulable_per_node("t3.xlarge")
    daemons = sum(r.cpu_millis for r in capacity.PER_NODE_SYSTEM_PODS.values())
    assert cpu == 4000 - 80 - daemons == 3440 and slots == 58 - len(capacity.PER_NODE_SYSTEM_PODS)
    assert [capacity.surge_pods(n) for n in (50, 20, 10, 5, 1)] == [13, 5, 3, 2, 1]
    config = load_config("prod", REGION_SPECS)
    report = capacity.capacity(config.cluster, config.workloads.services)
    services = (50 + 13 + 20 + 5 + 10 + 3) * 500
    addons = sum(r.cpu_millis * n for r, n in capacity.CLUSTER_SYSTEM_PODS.values())
    assert report.demand.cpu_millis == services + addons
    assert report.nodes_needed == 15 == config.cluster.node_max_size
    # The guide's 50 vCPUs do not cover 15 nodes plus a node group update's surge (2 x 3 AZs) of 4-vCPU nodes.
    assert capacity.vcpu_quota_needed(config.cluster, azs=3) == (15 + 6) * 4


# ------------------------------------------------------------------------------------------------------
# What the upgrades rely on in the prod synthesis
# ------------------------------------------------------------------------------------------------------


def test_every_instance_says_whether_it_may_take_a_major_upgrade_and_replicas_run_their_own_version(prod: Synth) -> None:
    instances = {cfg["identifier"]: cfg for name in prod for cfg in resources(prod[name], "aws_db_instance").values()}
    assert set(instances) == {"globalpay-prod-primary", "globalpay-prod-replica-1", "globalpay-prod-replica-eu"}
    assert all(cfg["allow_major_version_upgrade"] is False for cfg in instances.values())
    assert all(cfg["engine_version"] == "15.17" for cfg in instances.values())
    step = engine_versions(synth("prod", PG_REPLICAS_FIRST))
    failed_over = synth("prod", {**FAILOVER, **PG_REPLICAS_FIRST, "database": {**FAILOVER["database"], **PG_REPLICAS_FIRST["database"]}})
    promoted = next(cfg for name in failed_over for cfg in resources(failed_over[name], "aws_db_instance").values()
                    if cfg["identifier"] == "globalpay-prod-replica-eu")
    assert step["globalpay-prod-replica-eu"] == "15.18" and promoted["engine_version"] == "15.17"  # a promoted replica is a writer


@pytest.mark.parametrize("stack", ["globalpay-prod-us-east-1", "globalpay-prod-eu-west-1"])
def test_storage_nearing_the_autoscaling_ceiling_pages_the_alarm_topic(prod: Synth, stack: str) -> None:
    s = prod[stack]
    rule = only(s, "aws_cloudwatch_event_rule")
    assert rule["name"] == "globalpay-prod-db-storage-ceiling"
    pattern = json.loads(rule["event_pattern"])
    identifiers = sorted(cfg["identifier"] for cfg in resources(s, "aws_db_instance").values())
    assert pattern == {"source": ["aws.rds"], "detail-type": ["RDS DB Instance Event"],
                       "detail": {"EventID": ["RDS-EVENT-0225"], "SourceIdentifier": identifiers}}
    target = only(s, "aws_cloudwatch_event_target")
    topic = next(name for name, cfg in resources(s, "aws_sns_topic").items() if cfg["name"] == "globalpay-prod-alarms")
    assert target["rule"].startswith("${aws_cloudwatch_event_rule.") and target["arn"] == f"${{aws_sns_topic.{topic}.arn}}"
    # The topic admits EventBridge of this account (the rule's only way to publish).
    policy = next(json.loads(cfg["policy"]) for cfg in resources(s, "aws_sns_topic_policy").values() if topic in cfg["arn"])
    assert any("events.amazonaws.com" in st.get("Principal", {}).get("Service", []) for st in policy["Statement"])
    assert "aws_cloudwatch_event_rule" not in prod["globalpay-prod-ap-southeast-2"].get("resource", {})  # no database there


def test_redis_pins_the_minor_and_takes_its_patches_explicitly(prod: Synth) -> None:
    for region in REGIONS:
        group = only(prod[f"globalpay-prod-{region}"], "aws_elasticache_replication_group")
        assert group["engine_version"] == "7.1" and group["auto_minor_version_upgrade"] == "true"
    pinned = synth("prod", {"cache": {"auto_minor_version_upgrade": False}})
    assert only(pinned["globalpay-prod-us-east-1"], "aws_elasticache_replication_group")["auto_minor_version_upgrade"] == "false"


def test_database_and_kafka_storage_rules() -> None:
    [ceiling] = errors({"database": {"max_allocated_storage_gb": 540}})
    assert ceiling.startswith("database.max_allocated_storage_gb: must be 0 (no autoscaling) or at least 10% above")
    assert errors({"database": {"max_allocated_storage_gb": 550}}) == []
    [kafka] = errors({"kafka": {"ebs_volume_max_gb": 800}})
    assert kafka.startswith("kafka.ebs_volume_max_gb: must be 0 (no storage autoscaling) or between ebs_volume_gb (1000)")
    [target] = errors({"kafka": {"storage_autoscaling_target_percent": 90}})
    assert target.startswith("kafka.storage_autoscaling_target_percent: must be at least 10 and below observability.msk_disk_alarm_percent (85)")
    assert errors({"kafka": {"ebs_volume_max_gb": 0}}) == []
    no_autoscaling = synth("prod", {"kafka": {"ebs_volume_max_gb": 0}})["globalpay-prod-us-east-1"]
    assert "aws_appautoscaling_target" not in no_autoscaling["resource"]
    assert only(no_autoscaling, "aws_msk_cluster")["lifecycle"] == {"prevent_destroy": True}
