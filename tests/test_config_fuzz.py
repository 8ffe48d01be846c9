"""Property-based tests over the configuration model (hypothesis).

* Any configuration the validator accepts synthesizes without an exception and passes the synth-time policy.
* Any configuration it refuses is refused with one-line ``field: rule`` messages, never another exception;
  ``main.py`` exits 2 on it without a traceback (a few subprocess samples: each costs a Python start).
* Known-bad values (``KNOWN_BAD``: a field, a value AWS or the platform refuses, the field the error must
  name) are refused, alone, next to random perturbations and on top of any valid configuration: a validator
  that accepts everything fails these properties (``test_an_accept_all_validator_fails_the_fuzz_properties``
  proves it), where "nothing crashed" alone would pass.

Budget: the whole suite runs in under 5 minutes on 2 cores, so examples are few (each accepted example is a
full in-process synth of every workspace, ~2 s) and deadlines are off (jsii calls vary in latency).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, assume, find, given, note, settings
from hypothesis import strategies as st

from constructs_lib import capacity, versions
from constructs_lib.config import ClusterConfig, load_config
from constructs_lib.errors import ConfigError
from constructs_lib.validation import (
    AURORA_UNSUPPORTED_CLASSES,
    CACHE_NODE_MEMORY_GIB,
    MSK_BROKER_TYPES,
    MSK_KRAFT_UNSUPPORTED,
    RDS_INSTANCE_MEMORY_GIB,
    RDS_NO_PERFORMANCE_INSIGHTS,
    validate,
)
from regions import REGION_SPECS

ROOT = Path(__file__).resolve().parent.parent
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}

# ---------------------------------------------------------------------------------------------------
# Strategies: configurations meant to be valid (they exercise the synth) ...
# ---------------------------------------------------------------------------------------------------


@st.composite
def windows(draw: st.DrawFn, daily_minutes: int, weekly_minutes: int) -> tuple[str, str]:
    """A daily window and a weekly maintenance window that do not overlap (AWS refuses overlapping ones)."""
    start = draw(st.integers(0, 18))
    day = draw(st.sampled_from(DAYS))
    daily_end = start * 60 + daily_minutes
    weekly_start = daily_end + 60
    weekly_end = weekly_start + weekly_minutes

    def hm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return f"{hm(start * 60)}-{hm(daily_end)}", f"{day}:{hm(weekly_start)}-{day}:{hm(weekly_end)}"


@st.composite
def database(draw: st.DrawFn) -> dict[str, Any]:
    engine = draw(st.sampled_from(["postgres", "postgres", "aurora-postgresql"]))
    classes = sorted(set(RDS_INSTANCE_MEMORY_GIB) - RDS_NO_PERFORMANCE_INSIGHTS
                     - (AURORA_UNSUPPORTED_CLASSES if engine == "aurora-postgresql" else set()))
    writer, replica = draw(st.sampled_from(classes)), draw(st.sampled_from(classes))
    memory = min(RDS_INSTANCE_MEMORY_GIB[writer], RDS_INSTANCE_MEMORY_GIB[replica])
    major = draw(st.sampled_from(sorted(versions.POSTGRES_MIN_CREATABLE_MINOR)))
    minor = versions.POSTGRES_MIN_CREATABLE_MINOR[major] + draw(st.integers(0, 3))
    storage = draw(st.sampled_from([20, 100, 399, 400, 1000, 4000]))
    if storage < 400:
        iops = throughput = 0
    else:
        iops = draw(st.integers(12000, min(64000, 500 * storage)))
        throughput = draw(st.integers(500, min(4000, iops // 4)))
    backup, maintenance = draw(windows(60, 60))
    # Replicas run the writer's version, or (RDS instances, mid-way through a minor upgrade) one minor ahead.
    replica_minor = minor + (draw(st.integers(0, 1)) if engine == "postgres" else 0)
    return {
        "engine": engine,
        "engine_version": f"{major}.{minor}",
        "replica_engine_version": f"{major}.{replica_minor}",
        "instance_class": writer,
        "replica_instance_class": replica,
        "shared_buffers_8kb_pages": int(memory * 1024 * 1024 / 8 * draw(st.sampled_from([0.1, 0.25, 0.4]))),
        "allocated_storage_gb": storage,
        "max_allocated_storage_gb": draw(st.sampled_from([0, -(-storage * 11 // 10), storage * 2])),
        "iops": iops,
        "storage_throughput_mbps": throughput,
        "multi_az": draw(st.booleans()),
        "same_region_replica": draw(st.booleans()),
        "cross_region_replica": draw(st.booleans()),
        "backup_retention_days": draw(st.integers(1, 35)),
        "backup_window": backup,
        "maintenance_window": maintenance,
        "password_version": draw(st.integers(1, 5)),
    }


@st.composite
def cache(draw: st.DrawFn) -> dict[str, Any]:
    engine, version = draw(st.sampled_from(sorted(versions.CACHE_ENGINE_FAMILIES)))
    snapshot, maintenance = draw(windows(120, 120))
    return {
        "engine": engine,
        "engine_version": version,
        "node_type": draw(st.sampled_from(sorted(CACHE_NODE_MEMORY_GIB))),
        "num_cache_clusters": draw(st.integers(2, 6)),
        "snapshot_retention_days": draw(st.integers(1, 35)),
        "snapshot_window": snapshot,
        "maintenance_window": maintenance,
    }


@st.composite
def kafka(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from(versions.MSK_KAFKA_VERSIONS))
    types = sorted(t for t in MSK_BROKER_TYPES if not (version.endswith(".kraft") and t in MSK_KRAFT_UNSUPPORTED))
    broker = draw(st.sampled_from(types))
    limit = MSK_BROKER_TYPES[broker]
    out: dict[str, Any] = {
        "kafka_version": version,
        "broker_instance_type": broker,
        "broker_count": 3 * draw(st.integers(1, 3)),
        "ebs_volume_gb": (volume := draw(st.integers(1, 16384))),
        "ebs_volume_max_gb": 0 if volume == 16384 else draw(st.sampled_from([0, min(16384, volume * 2), 16384])),
        "provisioned_throughput_enabled": limit is not None and draw(st.booleans()),
    }
    if out["provisioned_throughput_enabled"]:
        out["provisioned_throughput_mibps"] = draw(st.integers(250, int(limit)))
    return out


@st.composite
def regions(draw: st.DrawFn) -> dict[str, Any]:
    """A region set that keeps us-east-1 (state, ECR home, database origin) as primary or secondary."""
    other = draw(st.sampled_from(["eu-west-1", "ap-southeast-2"]))
    primary, secondary = draw(st.permutations(["us-east-1", other]))
    names = [primary, secondary] + (["ap-southeast-2" if other == "eu-west-1" else "eu-west-1"] if draw(st.booleans()) else [])
    second_octets = draw(st.lists(st.integers(0, 255), min_size=len(names), max_size=len(names), unique=True))
    regions_ = []
    for name, octet in zip(names, second_octets, strict=True):
        letters = draw(st.lists(st.sampled_from("abcdef"), min_size=3, max_size=3, unique=True))
        regions_.append({"name": name, "vpc_cidr": f"10.{octet}.0.0/16", "azs": [f"{name}{x}" for x in sorted(letters)]})
    return {"regions": regions_, "primary_region": primary, "secondary_region": secondary}


@st.composite
def valid_overrides(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    env = draw(st.sampled_from(["prod", "staging"]))
    node_min = draw(st.integers(1, 4))
    node_desired = draw(st.integers(node_min, node_min + 3))
    # Instance types with a known shape, and a maximum that holds the environment's services (the capacity rule).
    node_types = draw(st.lists(st.sampled_from(sorted(capacity.INSTANCE_SHAPES)), min_size=1, max_size=2, unique=True))
    services = load_config(env, REGION_SPECS).workloads.services
    needed = capacity.capacity(ClusterConfig(node_instance_types=tuple(node_types), node_max_size=1), services).nodes_needed
    node_max_floor = max(node_desired, needed)
    overrides: dict[str, Any] = {
        **draw(regions()),
        "single_nat_gateway": draw(st.booleans()),
        "database": draw(database()),
        "cache": draw(cache()),
        "kafka": draw(kafka()),
        "cluster": {
            "node_instance_types": node_types,
            "node_min_size": node_min,
            "node_desired_size": node_desired,
            "node_max_size": draw(st.integers(node_max_floor, node_max_floor + 5)),
            "node_disk_gb": draw(st.integers(20, 500)),
            **draw(st.sampled_from([{}, {"endpoint_public_access": True, "public_access_cidrs": ["203.0.113.0/24"]}])),
        },
        "edge": {"shield_advanced": draw(st.booleans())},
        "observability": {"log_retention_days": draw(st.sampled_from([365, 400, 545, 731, 3653])),
                          "alert_endpoints": draw(st.sampled_from([["oncall@globalpay.com"],
                                                                   ["oncall@globalpay.com", "https://oncall.globalpay.com/sns"]]))},
        "security": {"mode": draw(st.sampled_from(["account", "organization"]))},
        "cost": {"monthly_budget_usd": draw(st.integers(1, 100_000)),
                 "budget_alert_percents": draw(st.lists(st.integers(1, 200), min_size=1, max_size=5, unique=True))},
    }
    if draw(st.booleans()):
        overrides["name"] = draw(st.from_regex(r"[a-z][a-z0-9]{1,6}", fullmatch=True))
    if overrides["primary_region"] != "us-east-1":  # failed over: a switch is named and applies at once
        overrides["database"] = {**overrides["database"], "apply_immediately": True, "switch_id": "drill-1"}
        overrides["cache"] = {**overrides["cache"], "apply_immediately": True}
    return env, overrides


# ---------------------------------------------------------------------------------------------------
# ... and arbitrary perturbations, mostly invalid (they exercise the loader and the validator)
# ---------------------------------------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9), st.text(max_size=20),
                         st.floats(allow_nan=False, allow_infinity=False))
#: Object keys as a user may type them, control characters and line separators included.
KEYS = st.text(max_size=8)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)

#: Fields to corrupt, with values that are wrong in type or in range (or, sometimes, valid by chance).
PERTURBATIONS: list[tuple[tuple[str, ...], st.SearchStrategy[Any]]] = [
    (("regions", "eu-west-1", "vpc_cidr"), st.sampled_from(["10.0.0.0/16", "10.1.0.0/33", "10.1.2.0/16", "8.8.0.0/16", "10.0.0.0/8", "", "a.b.c.d/16"]) | st.text(max_size=18)),
    (("regions", "ap-southeast-2", "azs"), st.lists(st.sampled_from(["ap-southeast-2a", "ap-southeast-2b", "us-east-1a", "", "ap-southeast-2z"]), max_size=5)),
    (("regions",), st.lists(st.fixed_dictionaries({"name": st.sampled_from(["us-east-1", "eu-west-1", "mars-north-1", "eu-central-1", ""])}), max_size=4)),
    (("primary_region",), st.sampled_from(["eu-west-1", "ap-southeast-2", "us-west-2", ""])),
    (("database", "instance_class"), st.sampled_from(["db.t3.micro", "db.r6g.large", "db.x9.huge", "", "db.r7g.8xlarge"])),
    (("database", "engine_version"), st.from_regex(r"\d{1,2}\.\d{1,2}", fullmatch=True) | st.text(max_size=6)),
    (("database", "allocated_storage_gb"), st.integers(-100, 100_000)),
    (("database", "iops"), st.integers(-1, 100_000)),
    (("database", "backup_window"), st.sampled_from(["04:00-05:00", "03:30-03:45", "25:00-26:00", "mon:03:00-mon:04:00", ""]) | st.text(max_size=12)),
    (("database", "maintenance_window"), st.sampled_from(["mon:03:30-mon:04:30", "sun:23:30-mon:00:30", "xyz", "mon:04:00-mon:04:10"])),
    (("database", "master_username"), st.sampled_from(["admin", "rdsadmin", "pg_user", "1abc", "globalpay_admin_with_a_long_name"]) | st.text(max_size=20)),
    (("database", "port"), st.integers(-1, 70_000)),
    (("cache", "num_cache_clusters"), st.integers(-2, 10)),
    (("cache", "engine_version"), st.sampled_from(["6.2", "7.0", "7.1", "9.9"])),
    (("kafka", "broker_count"), st.integers(-3, 20)),
    (("kafka", "kafka_version"), st.sampled_from(["3.5.1", "2.8.1", "3.9.x", "4.0.x.kraft", ""])),
    (("kafka", "broker_instance_type"), st.sampled_from(["kafka.t3.small", "kafka.m5.2xlarge", "kafka.z1.large"])),
    (("kafka", "provisioned_throughput_enabled"), st.booleans()),
    (("cluster", "node_min_size"), st.integers(-1, 20)),
    (("cluster", "endpoint_public_access"), st.booleans()),
    (("cluster", "public_access_cidrs"), st.lists(st.sampled_from(["0.0.0.0/0", "203.0.113.0/24", "10.0.0.0/33", "::/0"]), max_size=2)),
    (("cluster", "node_instance_types"), st.lists(st.sampled_from(["t3.xlarge", "huge", "m7i.2xlarge", ""]), max_size=2)),
    (("workloads", "namespace"), st.text(max_size=70)),
    (("workloads", "services"), st.lists(st.fixed_dictionaries({"name": st.sampled_from(["api-gateway", "unknown-svc"]), "replicas": st.integers(-1, 5), "image_tag": st.sampled_from(["1.0.0", "latest", ""])}), max_size=3)),
    (("secrets", "recovery_window_days"), st.integers(-1, 60)),
    (("registry", "repositories"), st.lists(st.text(max_size=12), max_size=3)),
    (("edge", "api_hostname"), st.sampled_from(["api.globalpay.com", "api.other.com", "not a host", ""])),
    (("edge", "certificate_arns"), st.dictionaries(st.sampled_from(["us-east-1", "eu-west-1", "mars-1"]), st.sampled_from(["arn:aws:acm:us-east-1:123456789012:certificate/" + "0" * 36, "nope"]), max_size=2)),
    (("observability", "log_retention_days"), st.integers(-1, 4000)),
    (("cost", "budget_alert_percents"), st.lists(st.integers(-5, 2000), max_size=7)),
    (("cost", "budget_alert_email"), st.sampled_from(["finops@globalpay.com", "no-at-sign", ""])),
    (("aws_account_id",), st.text(max_size=14)),
    (("name",), st.text(max_size=20)),
    (("single_nat_gateway",), JSON_VALUES),
    (("database",), JSON_VALUES),
    (("no_such_field",), JSON_VALUES),
]


def nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return out


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


@st.composite
def perturbed_overrides(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    env = draw(st.sampled_from(["prod", "staging"]))
    overrides: dict[str, Any] = {}
    for path, values in draw(st.lists(st.sampled_from(PERTURBATIONS), min_size=1, max_size=3, unique_by=lambda p: p[0])):
        overrides = merge(overrides, nest(path, draw(values)))
    return env, overrides


# ---------------------------------------------------------------------------------------------------
# ... and values that must be refused whatever else the configuration holds
# ---------------------------------------------------------------------------------------------------


class KnownBad(NamedTuple):
    path: tuple[str, ...]
    value: Any
    field: str  # the field the refusal must name
    type_error: bool = False  # refused by the loader (wrong type), not by a value rule


#: Each row is refused on its own, whatever the rest of the configuration (no rule here depends on another
#: field that a perturbation could break first, so no row can be a follow-on of another mistake).
KNOWN_BAD: list[KnownBad] = [
    KnownBad(("database", "port"), 80, "database.port"),
    KnownBad(("database", "allocated_storage_gb"), -5, "database.allocated_storage_gb"),
    KnownBad(("database", "backup_retention_days"), 0, "database.backup_retention_days"),
    KnownBad(("database", "master_username"), "admin", "database.master_username"),
    KnownBad(("database", "engine"), "mysql", "database.engine"),
    KnownBad(("database", "engine_version"), "15.4", "database.engine_version"),
    KnownBad(("database", "storage_type"), "io1", "database.storage_type"),
    KnownBad(("database", "monitoring_interval_seconds"), 7, "database.monitoring_interval_seconds"),
    KnownBad(("database", "max_connections"), -1, "database.max_connections"),
    KnownBad(("cache", "num_cache_clusters"), 9, "cache.num_cache_clusters"),
    KnownBad(("state", "replica_region"), "us-east-1", "state.replica_region"),
    KnownBad(("cache", "snapshot_retention_days"), -5, "cache.snapshot_retention_days"),
    KnownBad(("kafka", "ebs_volume_gb"), 0, "kafka.ebs_volume_gb"),
    KnownBad(("kafka", "kafka_version"), "3.5.1", "kafka.kafka_version"),
    KnownBad(("kafka", "enhanced_monitoring"), "ALL", "kafka.enhanced_monitoring"),
    KnownBad(("secrets", "recovery_window_days"), 3, "secrets.recovery_window_days"),
    KnownBad(("registry", "keep_tagged_images"), 0, "registry.keep_tagged_images"),
    KnownBad(("registry", "scan_type"), "FULL", "registry.scan_type"),
    KnownBad(("cluster", "node_disk_gb"), 5, "cluster.node_disk_gb"),
    KnownBad(("cluster", "log_retention_days"), 30, "cluster.log_retention_days"),
    KnownBad(("cluster", "node_instance_types"), ["huge"], "cluster.node_instance_types"),
    KnownBad(("workloads", "log_level"), "verbose", "workloads.log_level"),
    KnownBad(("workloads", "hpa_cpu_utilization"), 0, "workloads.hpa_cpu_utilization"),
    KnownBad(("edge", "waf_rate_limit_per_ip"), 5, "edge.waf_rate_limit_per_ip"),
    KnownBad(("edge", "cdn_price_class"), "PriceClass_1", "edge.cdn_price_class"),
    KnownBad(("observability", "tracing_sample_percent"), 101, "observability.tracing_sample_percent"),
    KnownBad(("observability", "log_retention_days"), 30, "observability.log_retention_days"),
    KnownBad(("audit_logs", "object_lock_mode"), "WORM", "audit_logs.object_lock_mode"),
    KnownBad(("audit_logs", "object_lock_days"), 0, "audit_logs.object_lock_days"),
    KnownBad(("cost", "monthly_budget_usd"), 0, "cost.monthly_budget_usd"),
    KnownBad(("cost", "budget_alert_email"), "no-at-sign", "cost.budget_alert_email"),
    KnownBad(("state", "backend"), "gcs", "state.backend"),
    KnownBad(("database", "failback_step"), "promote", "database.failback_step"),
    KnownBad(("database", "switch_id"), "INC 42", "database.switch_id"),
    KnownBad(("edge", "recovery_cluster_arn"), "cluster-1", "edge.recovery_cluster_arn"),
    KnownBad(("aws_account_id",), "12345", "aws_account_id"),
    KnownBad(("name",), "Prod!", "name"),
    KnownBad(("primary_region",), "us-west-2", "primary_region"),  # a region with no network data at all
    KnownBad(("regions",), [{"name": "us-east-1"}, {"name": "eu-west-1"}, {"name": "mars-north-1"}], "regions[2].name"),
    KnownBad(("regions", "eu-west-1", "vpc_cidr"), "10.0.0.0/8", "regions.eu-west-1.vpc_cidr"),
    KnownBad(("database", "port"), "5432", "database.port", type_error=True),
    KnownBad(("cluster", "node_instance_types"), [5], "cluster.node_instance_types[0]", type_error=True),
    KnownBad(("single_nat_gateway",), "yes", "single_nat_gateway", type_error=True),
]


@st.composite
def perturbed_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], KnownBad | None]:
    """Random perturbations, and in about half of the cases a known-bad value on top (applied last)."""
    env, overrides = draw(perturbed_overrides())
    bad = draw(st.none() | st.sampled_from(KNOWN_BAD))
    if bad is not None:
        overrides = merge(overrides, nest(bad.path, bad.value))
    return env, overrides, bad


def load_and_validate(env: str, overrides: dict[str, Any]) -> list[ConfigError]:
    """What main.py does before any construct exists: every refusal as a ConfigError, nothing else."""
    return refusal(env, overrides)[0]


def refusal(env: str, overrides: dict[str, Any]) -> tuple[list[ConfigError], bool]:
    """(every error, whether the value rules ran): the loader's type errors stop before the validator."""
    try:
        config = load_config(env, REGION_SPECS, overrides)
    except ConfigError as error:
        return error.errors, False
    return validate(config, REGION_SPECS), True


def assert_refused(bad: KnownBad, errors: list[ConfigError], validated: bool) -> None:
    fields = [e.field for e in errors]
    assert errors, f"{'.'.join(bad.path)} = {bad.value!r} was accepted"
    if validated or bad.type_error:  # with a type error elsewhere the value rules never ran
        assert bad.field in fields, f"{'.'.join(bad.path)} = {bad.value!r}: no error names {bad.field}, only {fields}"


def assert_one_line_messages(errors: list[ConfigError]) -> None:
    for error in errors:
        text = str(error)
        assert text and "\n" not in text and "\r" not in text, repr(text)
        field, _, rule = text.partition(": ")
        assert field and rule, f"not 'field: rule': {text!r}"
        assert field == error.field and rule == error.rule


# ---------------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------------


@settings(max_examples=10, **COMMON)
@given(case=valid_overrides())
def test_accepted_configurations_synthesize_and_pass_the_policy(case: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> None:
    from constructs_lib.policy import apply_policy, synth
    from regions.app import build_app

    env, overrides = case
    note(json.dumps(overrides, indent=1, sort_keys=True))
    config = load_config(env, REGION_SPECS, overrides)
    errors = validate(config, REGION_SPECS)
    note(f"validator: {[str(e) for e in errors]}")
    assume(not errors)
    outdir = tmp_path_factory.mktemp("fuzz")
    spaces = build_app(config, str(outdir))
    report = apply_policy(spaces.app)
    synth(spaces.app)  # raises PolicyViolation (or a synth error) on a bad configuration
    assert {s.node.id for s in spaces.stacks} <= report.checked_stacks
    for stack in spaces.stacks:
        assert (outdir / "stacks" / stack.node.id / "cdk.tf.json").is_file()


@settings(max_examples=60, **COMMON)
@given(case=perturbed_cases())
def test_any_configuration_is_accepted_or_refused_with_one_line_messages(case: tuple[str, dict[str, Any], KnownBad | None]) -> None:
    env, overrides, bad = case
    note(json.dumps(overrides, sort_keys=True, default=str))
    errors, validated = refusal(env, overrides)  # any other exception fails the test
    assert_one_line_messages(errors)
    if bad is not None:
        assert_refused(bad, errors, validated)


@settings(max_examples=60, **COMMON)
@given(case=valid_overrides(), bad=st.sampled_from(KNOWN_BAD))
def test_a_known_bad_value_is_refused_in_any_valid_configuration(case: tuple[str, dict[str, Any]], bad: KnownBad) -> None:
    """One mistake in a configuration the validator accepts: refused, with one message naming the field."""
    env, overrides = case
    overrides = merge(overrides, nest(bad.path, bad.value))
    note(json.dumps(overrides, sort_keys=True, default=str))
    errors, validated = refusal(env, overrides)
    assert_one_line_messages(errors)
    assert_refused(bad, errors, validated)
    assert [e.field for e in errors] == [bad.field], [str(e) for e in errors]


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("bad", KNOWN_BAD, ids=lambda b: f"{'.'.join(b.path)}={b.value!r}")
def test_each_known_bad_value_is_refused_with_one_message(env: str, bad: KnownBad) -> None:
    """Every row, not only those hypothesis happens to draw: exactly one error, naming the row's field."""
    errors = load_and_validate(env, nest(bad.path, bad.value))
    assert [e.field for e in errors] == [bad.field], [str(e) for e in errors]


def test_an_accept_all_validator_fails_the_fuzz_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    """The properties above test the validator, not only that nothing crashes: with a validator that accepts
    everything, hypothesis finds a counterexample to each of them (a known-bad value let through)."""
    monkeypatch.setattr(sys.modules[__name__], "validate", lambda config, supported: [])
    search = settings(database=None, max_examples=300, **COMMON)

    def fails(prop: Any, **kwargs: Any) -> bool:
        try:
            prop(**kwargs)
        except AssertionError:
            return True
        return False

    fuzz = test_any_configuration_is_accepted_or_refused_with_one_line_messages.hypothesis.inner_test
    case = find(perturbed_cases(), lambda c: fails(fuzz, case=c), settings=search)
    assert case[2] is not None and not case[2].type_error, case  # what got through is a known-bad value

    on_valid = test_a_known_bad_value_is_refused_in_any_valid_configuration.hypothesis.inner_test
    find(st.tuples(valid_overrides(), st.sampled_from(KNOWN_BAD)), lambda c: fails(on_valid, case=c[0], bad=c[1]), settings=search)


@settings(max_examples=60, **COMMON)
@given(case=valid_overrides())
def test_the_valid_strategy_is_accepted(case: tuple[str, dict[str, Any]]) -> None:
    """Keeps the synth property honest: if the validator starts refusing these, its examples would all be
    discarded by ``assume`` and the property would test nothing."""
    errors = load_and_validate(*case)
    assert not errors, [str(e) for e in errors]


@settings(max_examples=2, **COMMON)
@given(case=perturbed_overrides())
def test_refused_configuration_exits_2_without_a_traceback(case: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> None:
    env, overrides = case
    errors = load_and_validate(env, overrides)
    assume(errors)
    folder = tmp_path_factory.mktemp("refused")
    (folder / "overrides.json").write_text(json.dumps(overrides))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--env", env, "--config", str(folder / "overrides.json"), "--out", str(folder / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"config error: {e}" for e in errors]
    assert not (folder / "out").exists()


def test_a_line_break_in_an_unknown_key_stays_on_one_line() -> None:
    """The fuzzer's first find (fixed in constructs_lib/errors.py): a key with a line break split the message."""
    errors = load_and_validate("prod", {"database": {"\n": None}})
    assert errors
    assert_one_line_messages(errors)


@pytest.mark.parametrize(("overrides", "field", "rule"), [
    ({"audit_logs": {"object_lock_mode": "GOVERNANCE"}}, "audit_logs.object_lock_mode", "COMPLIANCE"),
    ({"audit_logs": {"object_lock_days": 90}}, "audit_logs.object_lock_days", "365"),
])
def test_prod_audit_logs_are_locked_in_compliance_mode_for_a_year(overrides: dict[str, Any], field: str, rule: str) -> None:
    """Staging may use governance-mode or shorter locks (it must be removable); prod may not (PCI DSS 10.3.3, 10.5.1)."""
    assert load_and_validate("staging", overrides) == []
    errors = load_and_validate("prod", overrides)
    assert [e.field for e in errors] == [field]
    assert rule in errors[0].rule
