"""Configuration rules: everything AWS would reject at apply time, refused before any JSON is written.

``validate(config)`` returns every broken rule as a ``ConfigError`` (field path + rule); ``main.py`` prints
one line per error and exits 2. A rule that exists because the deployment guide's literal value is no
longer accepted says so, and ``docs/deviations.md`` lists it.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
import itertools
import re
from collections.abc import Iterable, Iterator

from constructs_lib import access, capacity, versions
from constructs_lib.config import (
    FAILBACK_STEPS,
    SECURITY_SERVICES,
    CacheConfig,
    ClusterConfig,
    DatabaseConfig,
    EnvironmentConfig,
    KafkaConfig,
    RegionSpec,
)
from constructs_lib.errors import ConfigError
from constructs_lib.naming import S3_BUCKET_NAME_MAX, Naming, environment_buckets

# ------------------------------------------------------------------------------------------------------
# Reference data (AWS documentation, checked 2026-11)
# ------------------------------------------------------------------------------------------------------

#: Regions this project has network data for (regions/*.py). Adding one means adding its module.
AWS_REGION_PATTERN = re.compile(r"^(us|eu|ap|ca|sa|me|af|il|mx)-(north|south|east|west|central|northeast|southeast|southwest|northwest)-\d$")

#: RDS for PostgreSQL instance classes we allow, with memory in GiB; the burstable ones cannot run
#: Performance Insights (db.t3/t4g micro and small).
RDS_INSTANCE_MEMORY_GIB = {
    "db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t4g.large": 8, "db.t4g.xlarge": 16,
    "db.t3.micro": 1, "db.t3.small": 2, "db.t3.medium": 4, "db.t3.large": 8, "db.t3.xlarge": 16,
    "db.m6g.large": 8, "db.m6g.xlarge": 16, "db.m6g.2xlarge": 32, "db.m6g.4xlarge": 64, "db.m6g.8xlarge": 128,
    "db.m7g.large": 8, "db.m7g.xlarge": 16, "db.m7g.2xlarge": 32, "db.m7g.4xlarge": 64, "db.m7g.8xlarge": 128,
    "db.r6g.large": 16, "db.r6g.xlarge": 32, "db.r6g.2xlarge": 64, "db.r6g.4xlarge": 128, "db.r6g.8xlarge": 256,
    "db.r6g.12xlarge": 384, "db.r6g.16xlarge": 512,
    "db.r7g.large": 16, "db.r7g.xlarge": 32, "db.r7g.2xlarge": 64, "db.r7g.4xlarge": 128, "db.r7g.8xlarge": 256,
}
RDS_NO_PERFORMANCE_INSIGHTS = {"db.t4g.micro", "db.t4g.small", "db.t3.micro", "db.t3.small"}
#: Aurora PostgreSQL does not offer the smallest burstable classes.
AURORA_UNSUPPORTED_CLASSES = {"db.t4g.micro", "db.t4g.small", "db.t3.micro", "db.t3.small", "db.t3.large"}

#: Master user names RDS for PostgreSQL refuses ("reserved word used by the engine"); names starting
#: with "pg_" or "rds" are refused too.
RDS_RESERVED_USERNAMES = {"admin", "rdsadmin", "rdsrepladmin", "rdstopmgr",
                          # SQL reserved words PostgreSQL itself refuses as role names
                          "public", "none", "all", "user", "current_user", "session_user"}

#: ElastiCache node types and memory (GiB).
CACHE_NODE_MEMORY_GIB = {
    "cache.t4g.micro": 0.5, "cache.t4g.small": 1.37, "cache.t4g.medium": 3.09,
    "cache.m6g.large": 6.38, "cache.m6g.xlarge": 12.93, "cache.m6g.2xlarge": 26.04,
    "cache.m7g.large": 6.38, "cache.m7g.xlarge": 12.93, "cache.m7g.2xlarge": 26.05,
    "cache.r6g.large": 13.07, "cache.r6g.xlarge": 26.32, "cache.r6g.2xlarge": 52.82, "cache.r6g.4xlarge": 105.81,
    "cache.r7g.large": 13.07, "cache.r7g.xlarge": 26.32, "cache.r7g.2xlarge": 52.82, "cache.r7g.4xlarge": 105.81,
}

#: MSK broker types, and the highest provisioned storage throughput (MiB/s) where MSK offers it at all
#: (kafka.m5.4xlarge and larger, kafka.m7g.2xlarge and larger).
MSK_BROKER_TYPES = {
    "kafka.t3.small": None, "kafka.m5.large": None, "kafka.m5.xlarge": None, "kafka.m5.2xlarge": None,
    "kafka.m5.4xlarge": 593.75, "kafka.m5.8xlarge": 850, "kafka.m5.12xlarge": 1000, "kafka.m5.16xlarge": 1000,
    "kafka.m5.24xlarge": 1000,
    "kafka.m7g.large": None, "kafka.m7g.xlarge": None, "kafka.m7g.2xlarge": 312.5, "kafka.m7g.4xlarge": 625,
    "kafka.m7g.8xlarge": 1000, "kafka.m7g.12xlarge": 1000, "kafka.m7g.16xlarge": 1000,
}
#: KRaft metadata mode is not offered on kafka.t3.small brokers.
MSK_KRAFT_UNSUPPORTED = {"kafka.t3.small"}
MSK_ENHANCED_MONITORING = {"DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION"}

#: Retention values CloudWatch Logs accepts.
LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653}

EC2_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\d[a-z0-9-]*\.(nano|micro|small|medium|large|\d*xlarge|metal)$")
WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WEEKLY_WINDOW = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


# ------------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------------

def validate(config: EnvironmentConfig, supported_regions: Iterable[str]) -> list[ConfigError]:
    """Every rule the configuration breaks, in a stable order (empty: it can be synthesized)."""
    supported = tuple(supported_regions)
    errors: list[ConfigError] = []
    errors.extend(_environment(config, supported))
    # Network rules only for regions we know: an unknown region is already one clear error.
    errors.extend(_network(config, supported))
    for rule in (_state, _buckets, _database, _cache, _kafka, _secrets, _registry, _cluster, _kubernetes_versions,
                 _workloads, _access, _capacity, _edge, _content_security_policy, _observability, _egress,
                 _audit_logs, _security, _cost):
        errors.extend(rule(config))
    return _without_follow_ons(config, supported, errors)


# ------------------------------------------------------------------------------------------------------
# One mistake, one message: errors that only repeat an error already in the list are dropped
# ------------------------------------------------------------------------------------------------------

#: Rules checked against another field's value (glob patterns): while that field is itself refused, they
#: only repeat its mistake (a negative allocated_storage_gb is not also an IOPS problem at "-5 GiB").
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "database.iops": ("database.allocated_storage_gb",),
    "database.storage_throughput_mbps": ("database.allocated_storage_gb",),
    "database.max_allocated_storage_gb": ("database.allocated_storage_gb",),
    "database.database_insights_mode": ("database.performance_insights_retention_days",),
    "kafka.broker_count": ("regions.*.azs",),  # the multiple is the regions' AZ count
    "kafka.storage_autoscaling_target_percent": ("observability.msk_disk_alarm_percent",),
    "database.replica_engine_version": ("database.engine_version",),  # compared with the writer's version
}

#: Fields that name one of the configured regions (edge.certificate_arns.<region> is keyed by one).
REGION_REFERENCES = ("primary_region", "secondary_region", "state.region", "registry.home_region")
_REFUSED_REGION_NAME = re.compile(r"regions\[\d+\]\.name")


def _without_follow_ons(c: EnvironmentConfig, supported: tuple[str, ...], errors: list[ConfigError]) -> list[ConfigError]:
    """``errors`` without those whose only cause is another error of the list.

    * A region entry refused by name (unknown, or not a region name) is one error: a primary, secondary,
      state, registry or certificate region that names a region we support but that is not configured
      is what that entry was meant to be, and is not reported again. One naming a region we do not
      support at all, or any such reference while every region entry is fine, is its own mistake.
    * ``database.origin_region`` is compared with primary_region and secondary_region: while either of
      those names no configured region, or both name the same one, an origin that names a region
      (configured, or dropped as above) is not reported.
    * One value, one message: a scalar field reports the first rule it breaks (a negative retention is
      not also "at least one day"), and a rule derived from a refused field (``DERIVED_FROM``) is dropped.
    """
    names = set(c.region_names)
    region_refused = any(_REFUSED_REGION_NAME.fullmatch(e.field) for e in errors)

    def stands_for_refused_region(region: str) -> bool:
        return region_refused and region not in names and region in supported

    def follows(error: ConfigError) -> bool:
        if error.field in REGION_REFERENCES and not error.rule.startswith("must differ"):
            return stands_for_refused_region(_field_value(c, error.field))
        if region_refused and error.field.startswith("regions.") and error.field.split(".")[1] not in supported:
            return True  # a rule about a region entry already refused by name
        if error.field.startswith("edge.certificate_arns."):
            return stands_for_refused_region(error.field.removeprefix("edge.certificate_arns."))
        if error.field == "database.origin_region":
            origin = c.database.origin_region
            broken_roles = c.primary_region not in names or c.secondary_region not in names or c.primary_region == c.secondary_region
            return broken_roles and (origin in names or stands_for_refused_region(origin))
        causes = DERIVED_FROM.get(error.field, ())
        return any(fnmatch.fnmatchcase(other.field, cause) for cause in causes for other in errors)

    kept: list[ConfigError] = []
    seen_scalars: set[str] = set()
    for error in errors:
        if follows(error):
            continue
        if isinstance(_field_value(c, error.field), int | str):  # bool is an int
            if error.field in seen_scalars:
                continue
            seen_scalars.add(error.field)
        kept.append(error)
    return kept


def _field_value(c: EnvironmentConfig, field: str) -> object:
    """The value a dotted field path names in the configuration (``None`` for any other path)."""
    value: object = c
    for part in field.split("."):
        if not dataclasses.is_dataclass(value) or part not in {f.name for f in dataclasses.fields(value)}:
            return None
        value = getattr(value, part)
    return value


# ------------------------------------------------------------------------------------------------------
# Rules
# ------------------------------------------------------------------------------------------------------


def _environment(c: EnvironmentConfig, supported: tuple[str, ...]) -> Iterator[ConfigError]:
    names = [r.name for r in c.regions]
    if not names:
        yield ConfigError("regions", "at least one region is required")
    for i, name in enumerate(names):
        if not AWS_REGION_PATTERN.match(name):
            yield ConfigError(f"regions[{i}].name", f"{name!r} is not an AWS region name")
        elif name not in supported:
            yield ConfigError(f"regions[{i}].name", f"unknown region {name!r}; regions with network data: {', '.join(supported)}")
    if len(set(names)) != len(names):
        yield ConfigError("regions", "a region is listed twice")
    if c.primary_region not in names:
        yield ConfigError("primary_region", f"{c.primary_region!r} is not one of the configured regions ({', '.join(names)})")
    if c.secondary_region not in names:
        yield ConfigError("secondary_region", f"{c.secondary_region!r} is not one of the configured regions ({', '.join(names)})")
    if c.primary_region == c.secondary_region:
        yield ConfigError("secondary_region", "must differ from primary_region (it holds the failover replica)")
    if not re.fullmatch(r"\d{12}", c.aws_account_id):
        yield ConfigError("aws_account_id", f"{c.aws_account_id!r} is not a 12-digit AWS account id")
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,15}", c.name):
        yield ConfigError("name", "environment names are 2-16 lowercase letters, digits or '-' (they prefix every resource name)")


def _network(c: EnvironmentConfig, supported: tuple[str, ...]) -> Iterator[ConfigError]:
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    for region in c.regions:
        if region.name not in supported:
            continue
        where = f"regions.{region.name}"
        net = None
        try:
            net = ipaddress.IPv4Network(region.vpc_cidr, strict=True)
        except ValueError as exc:
            rule = "has host bits set" if "host bits" in str(exc) else "is not a valid IPv4 CIDR block (a.b.c.d/n)"
            yield ConfigError(f"{where}.vpc_cidr", f"{region.vpc_cidr!r} {rule}")
        if net is not None:
            if not net.is_private:
                yield ConfigError(f"{where}.vpc_cidr", f"{net} is not in a private (RFC 1918) range")
            elif net.prefixlen != 16:
                yield ConfigError(f"{where}.vpc_cidr", f"{net} must be a /16: the subnet plan uses the third octet for tier and AZ")
            else:
                for other_name, other in networks:
                    if net.overlaps(other):
                        yield ConfigError(f"{where}.vpc_cidr", f"{net} overlaps {other_name}'s {other}; VPCs joined by transit gateway peering need distinct ranges")
                networks.append((region.name, net))
        yield from _azs(region, where)


def _azs(region: RegionSpec, where: str) -> Iterator[ConfigError]:
    if len(region.azs) < 3:
        yield ConfigError(f"{where}.azs", f"{len(region.azs)} availability zone(s) given; at least 3 are required (Multi-AZ RDS, MSK and EKS spread across three)")
    if len(set(region.azs)) != len(region.azs):
        yield ConfigError(f"{where}.azs", "an availability zone is listed twice")
    for az in region.azs:
        if not re.fullmatch(re.escape(region.name) + r"[a-z]", az):
            yield ConfigError(f"{where}.azs", f"{az!r} is not an availability zone of {region.name}")
    plans = {
        "public_subnet_octets": region.public_subnet_octets,
        "private_subnet_octets": region.private_subnet_octets,
        "database_subnet_octets": region.database_subnet_octets,
    }
    seen: set[int] = set()
    for name, octets in plans.items():
        if len(octets) != len(region.azs):
            yield ConfigError(f"{where}.{name}", f"needs one subnet per availability zone ({len(region.azs)}), got {len(octets)}")
        for octet in octets:
            if not 0 <= octet <= 255:
                yield ConfigError(f"{where}.{name}", f"{octet} is not an octet (0-255)")
            elif octet in seen:
                yield ConfigError(f"{where}.{name}", f"subnet {octet} is used twice in the plan (overlapping subnets)")
            seen.add(octet)
    if region.subnet_prefix != 24:
        yield ConfigError(f"{where}.subnet_prefix", "the subnet plan uses /24 subnets (the guide's)")


def _state(c: EnvironmentConfig) -> Iterator[ConfigError]:
    if c.state.backend not in ("s3", "local"):
        yield ConfigError("state.backend", f"{c.state.backend!r} is not a backend; use 's3' or 'local'")
    if c.state.region not in c.region_names:
        yield ConfigError("state.region", f"{c.state.region!r} is not one of the configured regions")
    if c.state.replica_region == c.state.region:
        yield ConfigError("state.replica_region", "must differ from state.region: the copy exists to survive that region's outage")
    elif not AWS_REGION_PATTERN.match(c.state.replica_region):
        yield ConfigError("state.replica_region", f"{c.state.replica_region!r} is not an AWS region name")
    elif re.fullmatch(r"\d{12}", c.aws_account_id):
        # The replica's names carry state.replica_region; the others only grow with the environment name (_buckets).
        for bucket in (c.state_replica_bucket, c.state_replica_log_bucket):
            if len(bucket) > S3_BUCKET_NAME_MAX:
                yield ConfigError("state.replica_region", f"the state bucket name {bucket!r} would be {len(bucket)} characters; S3 allows {S3_BUCKET_NAME_MAX}")


def _buckets(c: EnvironmentConfig) -> Iterator[ConfigError]:
    """Every bucket name the environment may create fits S3's 63 characters (``naming.environment_buckets``: the
    rule puts the account id in each, so a long environment name runs out of room first). The state replica's
    names are ``_state``'s (they grow with state.replica_region), and a refused account id or region is its own
    error already."""
    if not re.fullmatch(r"\d{12}", c.aws_account_id) or not all(AWS_REGION_PATTERN.match(r) for r in c.region_names):
        return
    replica = {c.state_replica_bucket, c.state_replica_log_bucket}
    too_long = [(what, name) for what, name in environment_buckets(c).items()
                if name not in replica and len(name) > S3_BUCKET_NAME_MAX]
    if too_long:
        what, name = max(too_long, key=lambda item: len(item[1]))
        more = f" ({len(too_long) - 1} more bucket names are too long)" if len(too_long) > 1 else ""
        yield ConfigError("name", f"the {what} bucket would be {name!r}, {len(name)} characters; S3 allows "
                                  f"{S3_BUCKET_NAME_MAX}: use a shorter environment name{more}")


def _window_minutes(window: str) -> tuple[int, int]:
    m = WINDOW.match(window)
    assert m
    start = int(m[1]) * 60 + int(m[2])
    end = int(m[3]) * 60 + int(m[4])
    return start, end if end > start else end + 24 * 60


def _weekly_window_minutes(window: str) -> tuple[int, int]:
    m = WEEKLY_WINDOW.match(window)
    assert m
    start = DAYS.index(m[1]) * 1440 + int(m[2]) * 60 + int(m[3])
    end = DAYS.index(m[4]) * 1440 + int(m[5]) * 60 + int(m[6])
    return start, end if end > start else end + 7 * 1440


def _windows(prefix: str, daily: str, weekly: str, daily_name: str, min_weekly: int) -> Iterator[ConfigError]:
    ok = True
    if not WINDOW.match(daily):
        ok = False
        yield ConfigError(f"{prefix}.{daily_name}", f"{daily!r} is not a daily window hh24:mi-hh24:mi (UTC)")
    if not WEEKLY_WINDOW.match(weekly):
        ok = False
        yield ConfigError(f"{prefix}.maintenance_window", f"{weekly!r} is not a weekly window ddd:hh24:mi-ddd:hh24:mi (UTC)")
    if not ok:
        return
    d_start, d_end = _window_minutes(daily)
    if d_end - d_start < 30:
        yield ConfigError(f"{prefix}.{daily_name}", "must be at least 30 minutes long")
    w_start, w_end = _weekly_window_minutes(weekly)
    if w_end - w_start < min_weekly:
        yield ConfigError(f"{prefix}.maintenance_window", f"must be at least {min_weekly} minutes long")
    for day in range(8):
        s, e = d_start + day * 1440, d_end + day * 1440
        if s < w_end and w_start < e:
            yield ConfigError(f"{prefix}.maintenance_window", f"{weekly} overlaps the {daily_name} {daily}; AWS refuses overlapping windows")
            return


def _database(c: EnvironmentConfig) -> Iterator[ConfigError]:
    d: DatabaseConfig = c.database
    p = "database"
    if d.engine not in ("postgres", "aurora-postgresql"):
        yield ConfigError(f"{p}.engine", f"{d.engine!r} is not supported; use 'postgres' (RDS instance) or 'aurora-postgresql'")
    m = re.fullmatch(r"(\d+)\.(\d+)", d.engine_version)
    if not m:
        yield ConfigError(f"{p}.engine_version", f"{d.engine_version!r} must be a major.minor PostgreSQL version such as 15.17")
    else:
        major, minor = int(m[1]), int(m[2])
        floor = versions.POSTGRES_MIN_CREATABLE_MINOR.get(major)
        if floor is None:
            yield ConfigError(f"{p}.engine_version", f"PostgreSQL {major} is not offered for new RDS instances here; use one of {', '.join(map(str, versions.POSTGRES_MIN_CREATABLE_MINOR))}")
        elif minor < floor:
            yield ConfigError(f"{p}.engine_version", f"{d.engine_version} is past RDS end of standard support and cannot be created; use {major}.{floor} or later")
    username = d.master_username
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,15}", username):
        yield ConfigError(f"{p}.master_username", f"{username!r} must be 1-16 letters, digits or '_', starting with a letter")
    elif username.lower() in RDS_RESERVED_USERNAMES or username.lower().startswith(("pg_", "rds")):
        yield ConfigError(f"{p}.master_username", f"{username!r} is a reserved word for RDS PostgreSQL master users")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", d.database_name):
        yield ConfigError(f"{p}.database_name", "must be 1-63 letters, digits or '_', starting with a letter")
    for name, cls in (("instance_class", d.instance_class), ("replica_instance_class", d.replica_instance_class)):
        memory = RDS_INSTANCE_MEMORY_GIB.get(cls)
        if memory is None:
            yield ConfigError(f"{p}.{name}", f"{cls!r} is not an RDS PostgreSQL instance class we support ({', '.join(sorted(RDS_INSTANCE_MEMORY_GIB))})")
            continue
        buffers_gib = d.shared_buffers_8kb_pages * 8 / (1024 * 1024)
        # Sized for the writer; replicas get the same share of their own memory (database.scaled_shared_buffers).
        if name == "instance_class" and buffers_gib >= memory:
            yield ConfigError(
                f"{p}.shared_buffers_8kb_pages",
                f"{d.shared_buffers_8kb_pages} pages of 8 kB = {buffers_gib:g} GiB does not fit the {memory} GiB of {cls} ({name}); keep it near 25% of memory",
            )
        if cls in RDS_NO_PERFORMANCE_INSIGHTS:
            yield ConfigError(f"{p}.{name}", f"{cls} cannot run Performance Insights, which this platform requires (PCI DSS 10)")
        if d.engine == "aurora-postgresql" and cls in AURORA_UNSUPPORTED_CLASSES:
            yield ConfigError(f"{p}.{name}", f"{cls} is not offered for Aurora PostgreSQL")
    if d.shared_buffers_8kb_pages < 16:
        yield ConfigError(f"{p}.shared_buffers_8kb_pages", "PostgreSQL needs at least 16 buffers")
    if not 1 <= d.max_connections <= 262143:
        yield ConfigError(f"{p}.max_connections", "must be between 1 and 262143")
    if not 64 <= d.work_mem_kb <= 2147483647:
        yield ConfigError(f"{p}.work_mem_kb", "must be between 64 kB and 2147483647 kB")
    if d.storage_type != "gp3":
        yield ConfigError(f"{p}.storage_type", "only gp3 is supported (encrypted, provisioned IOPS without io1 cost)")
    if not 20 <= d.allocated_storage_gb <= 65536:
        yield ConfigError(f"{p}.allocated_storage_gb", "gp3 volumes are 20-65536 GiB")
    if d.max_allocated_storage_gb and d.max_allocated_storage_gb * 10 < d.allocated_storage_gb * 11:
        # RDS refuses a ceiling less than 10% above the allocated storage ("Invalid max storage size"; RDS User
        # Guide, "Managing capacity automatically with Amazon RDS storage autoscaling").
        yield ConfigError(f"{p}.max_allocated_storage_gb", "must be 0 (no autoscaling) or at least 10% above allocated_storage_gb (RDS refuses a smaller ceiling)")
    if d.allocated_storage_gb < 400:
        if d.iops or d.storage_throughput_mbps:
            yield ConfigError(f"{p}.iops", f"gp3 below 400 GiB has a fixed 3000 IOPS / 125 MiB/s baseline; RDS refuses iops or storage_throughput at {d.allocated_storage_gb} GiB (set both to 0)")
    else:
        if not 12000 <= d.iops <= 64000:
            yield ConfigError(f"{p}.iops", f"gp3 at {d.allocated_storage_gb} GiB takes 12000-64000 IOPS, got {d.iops}")
        if not 500 <= d.storage_throughput_mbps <= 4000:
            yield ConfigError(f"{p}.storage_throughput_mbps", f"gp3 at {d.allocated_storage_gb} GiB takes 500-4000 MiB/s, got {d.storage_throughput_mbps}")
        elif d.iops and d.storage_throughput_mbps / d.iops > 0.25:
            yield ConfigError(f"{p}.storage_throughput_mbps", "gp3 allows at most 0.25 MiB/s of throughput per provisioned IOPS")
        if d.iops > 500 * d.allocated_storage_gb:
            yield ConfigError(f"{p}.iops", "gp3 allows at most 500 IOPS per GiB")
    if not 1 <= d.backup_retention_days <= 35:
        yield ConfigError(f"{p}.backup_retention_days", "must be 1-35 days (0 would disable backups and replicas)")
    yield from _windows(p, d.backup_window, d.maintenance_window, "backup_window", 30)
    for log in d.log_exports:
        if log not in ("postgresql", "upgrade", "iam-db-auth-error"):
            yield ConfigError(f"{p}.log_exports", f"{log!r} is not a PostgreSQL log type (postgresql, upgrade, iam-db-auth-error)")
    if d.performance_insights_retention_days not in (7, 31, 62, 93, 124, 155, 186, 217, 248, 279, 310, 341, 372,
                                                     403, 434, 465, 496, 527, 558, 589, 620, 651, 682, 713, 731):
        yield ConfigError(f"{p}.performance_insights_retention_days", "must be 7, 731 or a multiple of 31 up to 713")
    if d.monitoring_interval_seconds not in (1, 5, 10, 15, 30, 60):
        yield ConfigError(f"{p}.monitoring_interval_seconds", "enhanced monitoring takes 1, 5, 10, 15, 30 or 60 seconds")
    if d.engine == "aurora-postgresql" and not 1 <= d.aurora_instances <= 16:
        yield ConfigError(f"{p}.aurora_instances", "an Aurora cluster has 1-16 instances")
    if not 1150 <= d.port <= 65535:
        yield ConfigError(f"{p}.port", "RDS ports are 1150-65535")
    if d.origin_region not in (c.primary_region, c.secondary_region):
        yield ConfigError(f"{p}.origin_region", f"{d.origin_region!r} must be primary_region or secondary_region: it holds the instance created as the writer")
    if d.database_insights_mode not in ("standard", "advanced"):
        yield ConfigError(f"{p}.database_insights_mode", "must be 'standard' or 'advanced'")
    elif d.database_insights_mode == "advanced" and d.performance_insights_retention_days < 465:
        yield ConfigError(f"{p}.database_insights_mode", "advanced Database Insights needs performance_insights_retention_days >= 465")
    yield from _replica_engine_version(d, m)
    if d.password_version < 1:
        yield ConfigError(f"{p}.password_version", "must be 1 or more (bump it to rotate the master password)")
    if not 1 <= d.replica_backup_retention_days <= 35:
        yield ConfigError(f"{p}.replica_backup_retention_days", "must be 1-35 days")
    if not d.cardholder_schemas:
        yield ConfigError(f"{p}.cardholder_schemas", "at least one schema: pgaudit object auditing of cardholder tables needs one (PCI DSS 10.2.1.1)")
    for schema in d.cardholder_schemas:
        yield from _schema_name(f"{p}.cardholder_schemas", schema)
    yield from _switch(c)


#: ``database.switch_id``: it ends up in RDS tags and in a final snapshot identifier (letters, digits and single
#: hyphens, starting with a letter; the identifier as a whole stays under RDS's 255 characters).
SWITCH_ID = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,39}")


def _switch(c: EnvironmentConfig) -> Iterator[ConfigError]:
    """Failover and failback steps (docs/runbooks/failover.md, failback.md): each names its switch, applies at
    once, and runs with the primary_region its step needs."""
    d = c.database
    steps = dict(FAILBACK_STEPS)
    if d.switch_id and not SWITCH_ID.fullmatch(d.switch_id):
        yield ConfigError("database.switch_id", f"{d.switch_id!r} must be 1-40 lower-case letters, digits and single '-', starting with a letter (it names RDS tags and a final snapshot)")
    if d.failback_step and d.failback_step not in steps:
        yield ConfigError("database.failback_step", f"{d.failback_step!r} is not a failback step; the steps, in order: {', '.join(steps)}")
        return
    if d.origin_region not in (c.primary_region, c.secondary_region) or c.primary_region == c.secondary_region:
        return  # the topology itself is refused (database.origin_region, secondary_region): one mistake, one message
    if d.failback_step:
        if d.engine != "postgres":
            yield ConfigError("database.failback_step", "failback steps are for RDS instances; Aurora switches back with switchover-global-cluster (docs/data-tier.md)")
            return
        if not d.cross_region_replica:
            yield ConfigError("database.failback_step", "there is no failback without a cross-region replica (database.cross_region_replica)")
            return
        origin = d.origin_region
        dr = c.secondary_region if c.primary_region == origin else c.primary_region
        expected = dr if steps[d.failback_step] == "dr" else origin
        if c.primary_region != expected:
            yield ConfigError("database.failback_step", f"step {d.failback_step!r} runs with primary_region = {expected!r} ({'the region the writer failed over to' if expected == dr else 'database.origin_region'}), not {c.primary_region!r}")
    if c.switch_in_progress:
        what = f"failback step {d.failback_step!r}" if d.failback_step else f"a failover (primary_region {c.primary_region!r} is not database.origin_region)"
        if not d.switch_id:
            yield ConfigError("database.switch_id", f"{what} needs the switch named (e.g. the incident or drill id): it goes into the fenced writer's tags and final snapshot")
        for field, value in (("database.apply_immediately", d.apply_immediately), ("cache.apply_immediately", c.cache.apply_immediately)):
            if not value:
                yield ConfigError(field, f"must be true during {what}: otherwise RDS and ElastiCache wait for the maintenance window (a promoted writer would stay single-AZ and small)")


def _replica_engine_version(d: DatabaseConfig, writer: re.Match[str] | None) -> Iterator[ConfigError]:
    """The replicas' engine is never behind the writer's: RDS requires read replicas to take a minor upgrade before
    their source ("If your database has read replicas, you must first upgrade all of the read replicas before you
    upgrade the source instance", RDS User Guide, "Upgrades of the RDS for PostgreSQL DB engine"), and a major
    upgrade moves in-region replicas together with their source (same page), so both fields change together."""
    field = "database.replica_engine_version"
    m = re.fullmatch(r"(\d+)\.(\d+)", d.replica_engine_version)
    if not m:
        yield ConfigError(field, f"{d.replica_engine_version!r} must be a major.minor PostgreSQL version such as 15.17")
        return
    if writer is None or d.engine == "aurora-postgresql":  # Aurora members run their cluster's version: unused
        return
    (w_major, w_minor), (r_major, r_minor) = map(int, writer.groups()), map(int, m.groups())
    if r_major != w_major:
        yield ConfigError(field, f"{d.replica_engine_version} and engine_version {d.engine_version} differ in major version: "
                                 "a major upgrade moves the replicas with their source, so both change together")
    elif r_minor < w_minor:
        yield ConfigError(field, f"{d.replica_engine_version} is behind engine_version {d.engine_version}: RDS upgrades read replicas "
                                 f"before their source; set replica_engine_version to {d.engine_version} and apply first")
    else:
        floor = versions.POSTGRES_MIN_CREATABLE_MINOR.get(r_major)
        if floor is not None and r_minor < floor:
            yield ConfigError(field, f"{d.replica_engine_version} is past RDS end of standard support and cannot be created; use {r_major}.{floor} or later")


def _schema_name(where: str, schema: str) -> Iterator[ConfigError]:
    if not access.IDENTIFIER.fullmatch(schema) or schema.startswith("pg_"):
        yield ConfigError(where, f"{schema!r} must be a lower-case PostgreSQL identifier (letters, digits, '_'; not pg_...)")
    elif schema in access.RESERVED_SCHEMAS:
        yield ConfigError(where, f"{schema!r} is open to every role by default: services get schemas of their own")


def _cache(c: EnvironmentConfig) -> Iterator[ConfigError]:
    k: CacheConfig = c.cache
    p = "cache"
    family = versions.CACHE_ENGINE_FAMILIES.get((k.engine, k.engine_version))
    if family is None:
        offered = ", ".join(f"{e} {v}" for e, v in versions.CACHE_ENGINE_FAMILIES)
        yield ConfigError(f"{p}.engine_version", f"{k.engine} {k.engine_version} is not offered; use one of: {offered}")
    if k.node_type not in CACHE_NODE_MEMORY_GIB:
        yield ConfigError(f"{p}.node_type", f"{k.node_type!r} is not an ElastiCache node type we support ({', '.join(sorted(CACHE_NODE_MEMORY_GIB))})")
    if not 2 <= k.num_cache_clusters <= 6:
        yield ConfigError(f"{p}.num_cache_clusters", "automatic failover and Multi-AZ need 2-6 nodes (one primary, 1-5 replicas)")
    if not 0 <= k.snapshot_retention_days <= 35:
        yield ConfigError(f"{p}.snapshot_retention_days", "must be 0-35 days")
    if k.snapshot_retention_days < 1:
        yield ConfigError(f"{p}.snapshot_retention_days", "at least one day of snapshots is required for a payments cache")
    yield from _windows(p, k.snapshot_window, k.maintenance_window, "snapshot_window", 60)


def _kafka(c: EnvironmentConfig) -> Iterator[ConfigError]:
    k: KafkaConfig = c.kafka
    p = "kafka"
    if k.kafka_version not in versions.MSK_KAFKA_VERSIONS:
        yield ConfigError(f"{p}.kafka_version", f"{k.kafka_version!r} is not a version MSK supports for new clusters ({', '.join(versions.MSK_KAFKA_VERSIONS)})")
    if k.broker_instance_type not in MSK_BROKER_TYPES:
        yield ConfigError(f"{p}.broker_instance_type", f"{k.broker_instance_type!r} is not an MSK broker type")
    else:
        limit = MSK_BROKER_TYPES[k.broker_instance_type]
        if k.provisioned_throughput_enabled:
            if limit is None:
                yield ConfigError(
                    f"{p}.provisioned_throughput_enabled",
                    f"MSK offers provisioned storage throughput only on kafka.m5.4xlarge / kafka.m7g.2xlarge and larger, not {k.broker_instance_type}",
                )
            elif not 250 <= k.provisioned_throughput_mibps <= limit:
                yield ConfigError(f"{p}.provisioned_throughput_mibps", f"{k.broker_instance_type} takes 250-{limit:g} MiB/s of provisioned throughput")
        if k.kafka_version.endswith(".kraft") and k.broker_instance_type in MSK_KRAFT_UNSUPPORTED:
            yield ConfigError(f"{p}.broker_instance_type", f"{k.broker_instance_type} brokers cannot run KRaft mode ({k.kafka_version})")
    azs = min((len(r.azs) for r in c.regions if r.azs), default=3)
    if k.broker_count < azs or k.broker_count % azs:
        yield ConfigError(f"{p}.broker_count", f"must be a multiple of the {azs} client subnets (one per AZ), got {k.broker_count}")
    if not 1 <= k.ebs_volume_gb <= 16384:
        yield ConfigError(f"{p}.ebs_volume_gb", "MSK broker volumes are 1-16384 GiB")
    elif k.ebs_volume_max_gb and not k.ebs_volume_gb < k.ebs_volume_max_gb <= 16384:
        yield ConfigError(f"{p}.ebs_volume_max_gb", f"must be 0 (no storage autoscaling) or between ebs_volume_gb ({k.ebs_volume_gb}) and 16384 GiB, the largest MSK broker volume")
    if not 10 <= k.storage_autoscaling_target_percent < c.observability.msk_disk_alarm_percent:
        yield ConfigError(f"{p}.storage_autoscaling_target_percent", f"must be at least 10 and below observability.msk_disk_alarm_percent ({c.observability.msk_disk_alarm_percent}): the volumes grow before the disk alarm fires")
    if k.enhanced_monitoring not in MSK_ENHANCED_MONITORING:
        yield ConfigError(f"{p}.enhanced_monitoring", f"must be one of {', '.join(sorted(MSK_ENHANCED_MONITORING))}")


def _secrets(c: EnvironmentConfig) -> Iterator[ConfigError]:
    if not 7 <= c.secrets.recovery_window_days <= 30:
        yield ConfigError("secrets.recovery_window_days", "Secrets Manager recovery windows are 7-30 days (0 would delete at once)")


def _registry(c: EnvironmentConfig) -> Iterator[ConfigError]:
    for repo in c.registry.repositories:
        if not re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", repo):
            yield ConfigError("registry.repositories", f"{repo!r} is not a valid ECR repository name")
    if not 1 <= c.registry.keep_tagged_images <= 1000:
        yield ConfigError("registry.keep_tagged_images", "must be 1-1000")
    if c.registry.untagged_expiry_days < 1:
        yield ConfigError("registry.untagged_expiry_days", "must be at least 1 day")
    if c.registry.home_region not in c.region_names:
        yield ConfigError("registry.home_region", f"{c.registry.home_region!r} is not one of the configured regions")
    if c.registry.scan_type not in ("BASIC", "ENHANCED"):
        yield ConfigError("registry.scan_type", "must be 'BASIC' or 'ENHANCED'")


def _cluster(c: EnvironmentConfig) -> Iterator[ConfigError]:
    k: ClusterConfig = c.cluster
    p = "cluster"
    if k.support_type not in ("STANDARD", "EXTENDED"):
        yield ConfigError(f"{p}.support_type", f"{k.support_type!r} is not an EKS upgrade policy; use 'STANDARD' or 'EXTENDED'")
    if k.node_cpu_credits not in ("standard", "unlimited"):
        yield ConfigError(f"{p}.node_cpu_credits", f"{k.node_cpu_credits!r} is not a CPU credit mode; use 'standard' or 'unlimited'")
    if k.endpoint_public_access:
        if not k.public_access_cidrs:
            yield ConfigError(f"{p}.public_access_cidrs", "a public API endpoint needs an allow-list of CIDRs")
        for cidr in k.public_access_cidrs:
            try:
                net = ipaddress.ip_network(cidr, strict=True)
            except ValueError:
                yield ConfigError(f"{p}.public_access_cidrs", f"{cidr!r} is not a valid CIDR block")
                continue
            if net.prefixlen < 16:
                yield ConfigError(f"{p}.public_access_cidrs", f"{cidr} is wider than a /16: list the operators' egress addresses, never the internet (0.0.0.0/0 or its halves)")
    elif k.public_access_cidrs:
        yield ConfigError(f"{p}.public_access_cidrs", "set only together with endpoint_public_access = true")
    for cidr in k.api_access_cidrs:
        try:
            net = ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            yield ConfigError(f"{p}.api_access_cidrs", f"{cidr!r} is not a valid CIDR block")
            continue
        if not net.is_private:
            yield ConfigError(f"{p}.api_access_cidrs", f"{cidr} is not private: the API endpoint is private; public operators use endpoint_public_access with public_access_cidrs")
    yield from _admin_role(k.admin_role_name, f"{p}.admin_role_name")
    if k.log_retention_days not in LOG_RETENTION_DAYS or k.log_retention_days < 365:
        yield ConfigError(f"{p}.log_retention_days", "must be a CloudWatch retention value of at least 365 days (PCI DSS 10.5.1)")
    # The node group is named <node_group_name>-<26-character suffix> (create-before-destroy needs a fresh name) and
    # EKS names end at 63 characters: 36 are left (constructs_lib/cluster.py, NODE_GROUP_NAME_SUFFIX_LENGTH).
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,35}", k.node_group_name):
        yield ConfigError(f"{p}.node_group_name", "must be 1-36 letters, digits, '-' or '_' (EKS adds '-' and a 26-character suffix, 63 at most)")
    if not k.node_instance_types:
        yield ConfigError(f"{p}.node_instance_types", "at least one instance type is required")
    for itype in k.node_instance_types:
        if not EC2_INSTANCE_TYPE.match(itype):
            yield ConfigError(f"{p}.node_instance_types", f"{itype!r} is not an EC2 instance type")
        elif itype not in capacity.INSTANCE_SHAPES:
            yield ConfigError(f"{p}.node_instance_types", f"{itype!r} has no known shape (vCPUs, memory, pod slots) to check the node group's capacity with; "
                                                          f"known: {', '.join(sorted(capacity.INSTANCE_SHAPES))} (constructs_lib/capacity.py)")
    if not 1 <= k.node_min_size <= k.node_desired_size <= k.node_max_size:
        yield ConfigError(f"{p}.node_desired_size", f"need 1 <= node_min_size ({k.node_min_size}) <= node_desired_size ({k.node_desired_size}) <= node_max_size ({k.node_max_size})")
    if not 20 <= k.node_disk_gb <= 16384:
        yield ConfigError(f"{p}.node_disk_gb", "must be 20-16384 GiB")


def _minor(version: str) -> int | None:
    """``1.35`` -> 35; None for anything that is not a Kubernetes 1.x minor."""
    m = re.fullmatch(r"1\.(\d+)", version)
    return int(m[1]) if m else None


def _kubernetes_minor(field: str, version: str) -> Iterator[ConfigError]:
    """A cluster's minor exists in EKS standard support and has everything the stacks pin for it: add-ons,
    cluster-autoscaler image, node AMI release, and charts that declare it."""
    minor = _minor(version)
    if minor is None:
        yield ConfigError(field, f"{version!r} is not a Kubernetes minor such as {versions.KUBERNETES_VERSION}")
        return
    if version not in versions.EKS_STANDARD_SUPPORT_VERSIONS:
        yield ConfigError(field, f"{version} is not in EKS standard support ({', '.join(versions.EKS_STANDARD_SUPPORT_VERSIONS)})")
        return
    missing = [what for what, table in (("EKS add-ons", versions.EKS_ADDONS_BY_KUBERNETES),
                                        ("cluster-autoscaler image", versions.CLUSTER_AUTOSCALER_IMAGE_TAGS),
                                        ("node AMI release", versions.EKS_NODE_AMI_RELEASES)) if version not in table]
    if missing:
        yield ConfigError(field, f"{version} has no pinned {', '.join(missing)} (constructs_lib/versions.py, with evidence)")
        return
    too_new = [chart for chart, floor in versions.HELM_CHART_MIN_KUBERNETES.items() if (_minor(floor) or 0) > minor]
    if too_new:
        yield ConfigError(field, f"{version} is older than the pinned charts {', '.join(too_new)} support")


def _kubernetes_versions(c: EnvironmentConfig) -> Iterator[ConfigError]:
    """Every cluster's Kubernetes minor is one the stacks can build (``_kubernetes_minor``); regions take an upgrade
    in ``upgrade_order``, the canary first, and the fleet spans at most two consecutive minors."""
    k = c.cluster
    p = "cluster"
    names = c.region_names
    for region in k.kubernetes_versions:
        if region not in names:
            yield ConfigError(f"{p}.kubernetes_versions.{region}", f"is not a configured region ({', '.join(names)})")
    order_ok = not k.upgrade_order or sorted(k.upgrade_order) == sorted(names)
    if not order_ok:
        yield ConfigError(f"{p}.upgrade_order", f"must list every configured region once ({', '.join(names)}), the canary first")
    problems = list(_kubernetes_minor(f"{p}.kubernetes_version", k.kubernetes_version))
    for region, version in k.kubernetes_versions.items():
        if region in names:
            problems.extend(_kubernetes_minor(f"{p}.kubernetes_versions.{region}", version))
    yield from problems
    minors = [(region, _minor(c.kubernetes_version(region)) or 0) for region in c.upgrade_order]
    if problems or not order_ok or not minors:
        return
    lowest, highest = min(m for _, m in minors), max(m for _, m in minors)
    if highest - lowest > 1:
        yield ConfigError(f"{p}.kubernetes_versions", f"the regions span 1.{lowest} to 1.{highest}: EKS upgrades one minor at a time, "
                                                      "so the fleet runs at most two consecutive minors during an upgrade")
        return
    for (before, m_before), (after, m_after) in itertools.pairwise(minors):
        if m_after > m_before:
            yield ConfigError(f"{p}.kubernetes_versions.{after}",
                              f"{after} would run {c.kubernetes_version(after)} before {before} ({c.kubernetes_version(before)}), which comes earlier in "
                              f"the upgrade order ({', '.join(c.upgrade_order)}): the canary takes a new minor first, the other regions after it")


#: An IAM role ARN (IAM User Guide, "IAM identifiers": a path is "/" or "/"-delimited printable ASCII up to 512
#: characters; a role name is 1-64 of [A-Za-z0-9+=,.@_-]), and the same without the ARN prefix.
IAM_ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::\d{12}:role/(?P<path>([\x21-\x2e\x30-\x7e]+/)*)(?P<name>[\w+=,.@-]{1,64})")
IAM_ROLE_PATH_AND_NAME = re.compile(r"(?P<path>([\x21-\x2e\x30-\x7e]+/)*)(?P<name>[\w+=,.@-]{1,64})")
#: Roles IAM Identity Center creates for a permission set live under this path (IAM Identity Center User Guide,
#: "Referencing permission sets in resource policies, Amazon EKS, and AWS KMS").
SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"


def _admin_role(value: str, field: str) -> Iterator[ConfigError]:
    """The cluster admin's role: name, path/name or ARN. EKS CreateAccessEntry refuses an ARN that leaves out
    the role's path ("InvalidParameterException: The specified principalArn is invalid: invalid principal",
    terraform-aws-modules/terraform-aws-eks#2969 with an AWSReservedSSO_ role), so an Identity Center role
    without its path is refused here."""
    match = IAM_ROLE_ARN.fullmatch(value) if value.startswith("arn:") else IAM_ROLE_PATH_AND_NAME.fullmatch(value)
    if match is None or len(match.group("path")) > 511:
        yield ConfigError(field, f"{value!r} is not an IAM role name, path/name or role ARN")
    elif match.group("name").startswith("AWSReservedSSO_") and not match.group("path").startswith(SSO_ROLE_PATH):
        yield ConfigError(field, f"{value!r} is an IAM Identity Center role without its path: give the role's full ARN "
                                 f"(arn:aws:iam::<account>:role/{SSO_ROLE_PATH}[<region>/]{match.group('name')}); EKS refuses the ARN without it")


def _workloads(c: EnvironmentConfig) -> Iterator[ConfigError]:
    w = c.workloads
    p = "workloads"
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", w.namespace):
        yield ConfigError(f"{p}.namespace", f"{w.namespace!r} is not a Kubernetes namespace name")
    if w.log_level not in ("debug", "info", "warn", "error"):
        yield ConfigError(f"{p}.log_level", "must be debug, info, warn or error")
    names = [s.name for s in w.services]
    if len(set(names)) != len(names):
        yield ConfigError(f"{p}.services", "a service is listed twice")
    for s in w.services:
        where = f"{p}.services.{s.name}"
        if s.name not in c.registry.repositories:
            yield ConfigError(f"{where}.name", f"no ECR repository {s.name!r} in registry.repositories")
        if s.image_tag == "latest" or not IMAGE_TAG.match(s.image_tag):
            yield ConfigError(f"{where}.image_tag", f"{s.image_tag!r}: images are pinned to an immutable release tag, never 'latest'")
        if s.replicas < 2:
            yield ConfigError(f"{where}.replicas", "at least 2 replicas (a PodDisruptionBudget keeps one up)")
        if not 1 <= s.port <= 65535 or s.port < 1024:
            yield ConfigError(f"{where}.port", "containers run as non-root and must listen on 1024-65535")
        if _cpu_millis(s.cpu_request) is None or _cpu_millis(s.cpu_limit) is None:
            yield ConfigError(f"{where}.cpu_request", "CPU quantities look like 500m or 1")
        elif _cpu_millis(s.cpu_request) > _cpu_millis(s.cpu_limit):  # type: ignore[operator]
            yield ConfigError(f"{where}.cpu_request", "request exceeds the limit")
        if _mem_bytes(s.memory_request) is None or _mem_bytes(s.memory_limit) is None:
            yield ConfigError(f"{where}.memory_request", "memory quantities look like 512Mi or 2Gi")
        elif _mem_bytes(s.memory_request) > _mem_bytes(s.memory_limit):  # type: ignore[operator]
            yield ConfigError(f"{where}.memory_request", "request exceeds the limit")
    for s in w.services:
        if s.max_replicas < s.replicas:
            yield ConfigError(f"{p}.services.{s.name}.max_replicas", f"the HPA's maximum ({s.max_replicas}) is below its minimum, replicas ({s.replicas})")
    for name in ("hpa_cpu_utilization", "hpa_memory_utilization"):
        if not 1 <= getattr(w, name) <= 100:
            yield ConfigError(f"{p}.{name}", "a utilization target is 1-100 percent")


def _capacity(c: EnvironmentConfig) -> Iterator[ConfigError]:
    """The node group at its maximum holds every service at its HPA maximum, a rollout surge of each and the
    add-ons' pods (``constructs_lib/capacity.py``): otherwise a scale-up or a rollout at peak leaves pods Pending.
    Judged only once the figures it reads are valid themselves (their own rules report them)."""
    k, w = c.cluster, c.workloads
    if not k.node_instance_types or any(t not in capacity.INSTANCE_SHAPES for t in k.node_instance_types):
        return
    if not 1 <= k.node_min_size <= k.node_desired_size <= k.node_max_size:
        return
    for s in w.services:
        if _cpu_millis(s.cpu_request) is None or _mem_bytes(s.memory_request) is None or s.max_replicas < s.replicas:
            return
    report = capacity.capacity(k, w.services)
    if not report.fits:
        yield ConfigError("cluster.node_max_size", f"{report.summary()}; raise node_max_size to {report.nodes_needed} "
                                                   "or lower the services' max_replicas")


#: Kubernetes object names (the service accounts, Deployments and Services are named after the services).
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
#: IAM role names are at most 64 characters (IAM quotas): ``globalpay-<env>-<service>-<region>``.
IAM_ROLE_NAME_MAX = 64


def _access(c: EnvironmentConfig) -> Iterator[ConfigError]:
    """Least privilege (PCI DSS 7.2): no service gets the master login or a wildcard in any data store."""
    reserved_roles = {c.database.master_username.lower(), access.POSTGRES_OWNER_ROLE, access.POSTGRES_AUDIT_ROLE,
                      access.POSTGRES_IAM_ROLE}
    for s in c.workloads.services:
        where = f"workloads.services.{s.name}"
        a = s.access
        if not DNS_LABEL.fullmatch(s.name):
            yield ConfigError(f"{where}.name", "must be a Kubernetes name (lower-case letters, digits, '-'): it names the service account")
        longest = max((Naming(c.name, r).regional(s.name) for r in c.region_names), key=len, default="")
        if len(longest) > IAM_ROLE_NAME_MAX:
            yield ConfigError(f"{where}.name", f"its IAM role name {longest!r} would exceed {IAM_ROLE_NAME_MAX} characters")
        for secret in a.secrets:
            if secret == access.MASTER_SECRET:
                yield ConfigError(f"{where}.access.secrets", f"{secret!r} is the database master login (break-glass and the role manager only); services log in with IAM as their own role")
            elif secret not in access.SECRET_PROPERTIES:
                yield ConfigError(f"{where}.access.secrets", f"{secret!r} is not a shared secret ({', '.join(access.SECRET_PROPERTIES)}); wildcards are never granted")
        if a.database_grants and access.postgres_role(s.name) in reserved_roles:
            yield ConfigError(f"{where}.name", f"its PostgreSQL role {access.postgres_role(s.name)!r} would be the master user or a role the platform keeps")
        for schema, privileges in a.database_grants.items():
            yield from _schema_name(f"{where}.access.database_grants", schema)
            granted = access.table_privileges(privileges)
            unknown = [p for p in granted if p not in access.TABLE_PRIVILEGES]
            if unknown or not granted:
                yield ConfigError(f"{where}.access.database_grants", f"{schema}: {privileges!r}: table privileges are a comma-separated subset of {', '.join(access.TABLE_PRIVILEGES)} (never ALL)")
        for field_name in ("kafka_produce", "kafka_consume"):
            for topic in getattr(a, field_name):
                if not access.KAFKA_NAME.fullmatch(topic):
                    yield ConfigError(f"{where}.access.{field_name}", f"{topic!r} is not one Kafka topic name ([A-Za-z0-9._-]); wildcards are never granted")
        for rule in a.redis_commands:
            if rule.lower() in access.REDIS_FORBIDDEN_RULES:
                yield ConfigError(f"{where}.access.redis_commands", f"{rule!r} would allow every command of the server (wildcard): name the categories or commands the service uses")
            elif not access.REDIS_RULE.fullmatch(rule):
                yield ConfigError(f"{where}.access.redis_commands", f"{rule!r} is not a command rule (+@category, -@category, +command, +command|subcommand); key and channel patterns are the service's own, never configured")


def _cpu_millis(q: str) -> int | None:
    m = re.fullmatch(r"(\d+)(m?)", q)
    if not m:
        return None
    return int(m[1]) if m[2] else int(m[1]) * 1000


def _mem_bytes(q: str) -> int | None:
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", q)
    if not m:
        return None
    return int(m[1]) * {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}[m[2]]


def _edge(c: EnvironmentConfig) -> Iterator[ConfigError]:
    e = c.edge
    if not HOSTNAME.match(e.api_hostname):
        yield ConfigError("edge.api_hostname", f"{e.api_hostname!r} is not a DNS name")
    if not HOSTNAME.match(e.hosted_zone_name):
        yield ConfigError("edge.hosted_zone_name", f"{e.hosted_zone_name!r} is not a DNS name")
    elif not e.api_hostname.endswith("." + e.hosted_zone_name):
        yield ConfigError("edge.api_hostname", f"{e.api_hostname} is not inside the hosted zone {e.hosted_zone_name}")
    for region, arn in e.certificate_arns.items():
        if region not in c.region_names:
            yield ConfigError(f"edge.certificate_arns.{region}", "is not a configured region")
        elif not re.fullmatch(rf"arn:aws:acm:{re.escape(region)}:\d{{12}}:certificate/[0-9a-f-]{{36}}", arn):
            yield ConfigError(f"edge.certificate_arns.{region}", "must be an ACM certificate ARN in that region (an ALB only uses certificates from its own region)")
    if not 10 <= e.waf_rate_limit_per_ip <= 2_000_000_000:
        yield ConfigError("edge.waf_rate_limit_per_ip", "WAF rate-based rules take 10 to 2,000,000,000 requests")
    if not HOSTNAME.match(e.static_hostname):
        yield ConfigError("edge.static_hostname", f"{e.static_hostname!r} is not a DNS name")
    elif not e.static_hostname.endswith("." + e.hosted_zone_name):
        yield ConfigError("edge.static_hostname", f"{e.static_hostname} is not inside the hosted zone {e.hosted_zone_name}")
    if e.cdn_certificate_arn and not re.fullmatch(r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}", e.cdn_certificate_arn):
        yield ConfigError("edge.cdn_certificate_arn", "must be an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from us-east-1)")
    if e.cdn_price_class not in ("PriceClass_All", "PriceClass_200", "PriceClass_100"):
        yield ConfigError("edge.cdn_price_class", f"{e.cdn_price_class!r} is not a CloudFront price class (PriceClass_All, PriceClass_200, PriceClass_100)")
    if e.recovery_cluster_arn and not re.fullmatch(r"arn:aws:route53-recovery-control::\d{12}:cluster/[0-9a-z-]{1,64}", e.recovery_cluster_arn):
        yield ConfigError("edge.recovery_cluster_arn", "must be empty (create a cluster) or an ARC cluster ARN: arn:aws:route53-recovery-control::<account>:cluster/<id>")
    for operator in e.traffic_gate_operators:
        if not re.fullmatch(r"(arn:aws:iam::\d{12}:role/[\w+=,.@/-]+|[\w+=,.@-]{1,64})", operator):
            yield ConfigError("edge.traffic_gate_operators", f"{operator!r} is neither an IAM role name nor a role ARN")
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,254}", e.health_check_path):
        yield ConfigError("edge.health_check_path", "must be an absolute URL path (Route 53 health checks take up to 255 characters)")


#: CloudFront refuses a response headers policy whose Content-Security-Policy value is longer (CloudFront
#: Developer Guide, "Quotas", response headers policies; API error TooLongCSPInResponseHeadersPolicy).
CLOUDFRONT_CSP_MAX_LENGTH = 1783
#: CSP Level 3 directives (W3C Content Security Policy Level 3, "Directives"), with whether they take sources.
CSP_FETCH_DIRECTIVES = frozenset({
    "default-src", "script-src", "script-src-elem", "script-src-attr", "style-src", "style-src-elem",
    "style-src-attr", "img-src", "font-src", "connect-src", "media-src", "object-src", "frame-src", "child-src",
    "worker-src", "manifest-src", "base-uri", "form-action", "frame-ancestors",
})
CSP_VALUELESS_DIRECTIVES = frozenset({"upgrade-insecure-requests", "block-all-mixed-content"})
CSP_OTHER_DIRECTIVES = frozenset({"sandbox", "require-trusted-types-for", "trusted-types"})
#: Added from edge.csp_report_uri: the policy itself must not carry them.
CSP_REPORTING_DIRECTIVES = frozenset({"report-uri", "report-to"})
CSP_KEYWORDS = frozenset({"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'",
                          "'unsafe-hashes'", "'report-sample'", "'wasm-unsafe-eval'"})
CSP_HASH = re.compile(r"^'(sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2}'$")
CSP_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:$")
CSP_HOST = re.compile(r"^(https?://|wss://)?(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:(\d{1,5}|\*))?(/[^\s;,']*)?$")
#: Keywords that let injected script run (PCI DSS 6.4.3: every payment-page script is authorized).
CSP_UNSAFE_SCRIPT = frozenset({"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"})


def csp_problems(policy: str) -> list[str]:
    """What makes ``policy`` (a Content-Security-Policy header value without reporting directives) invalid or
    unsafe for payment pages; empty when it is fine."""
    problems: list[str] = []
    seen: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if not tokens:
            continue
        name, values = tokens[0].lower(), tokens[1:]
        if name in seen:
            problems.append(f"directive {name} appears twice (browsers ignore the second)")
            continue
        seen[name] = values
        if name in CSP_REPORTING_DIRECTIVES:
            problems.append(f"{name} is added from edge.csp_report_uri; leave it out of the policy")
        elif name in CSP_VALUELESS_DIRECTIVES:
            if values:
                problems.append(f"{name} takes no value")
        elif name in CSP_FETCH_DIRECTIVES:
            if not values:
                problems.append(f"{name} needs at least one source")
            elif "'none'" in values and len(values) > 1:
                problems.append(f"{name}: 'none' cannot be combined with other sources")
            for value in values:
                if not (value in CSP_KEYWORDS or CSP_HASH.match(value) or CSP_SCHEME.match(value) or CSP_HOST.match(value)):
                    problems.append(f"{name}: {value!r} is not a CSP source expression (keyword, hash, scheme: or host)")
        elif name not in CSP_OTHER_DIRECTIVES:
            problems.append(f"{name!r} is not a CSP directive")
    if "default-src" not in seen:
        problems.append("default-src is required: it is the fallback of every fetch directive left out")
    scripts = seen.get("script-src", seen.get("default-src", []))
    unsafe = sorted(CSP_UNSAFE_SCRIPT.intersection(scripts))
    if unsafe:
        problems.append(f"scripts may not be {', '.join(unsafe)}: every script of a payment page is authorized (PCI DSS 6.4.3)")
    if "frame-ancestors" not in seen:
        problems.append("frame-ancestors is required (clickjacking of the checkout, PCI DSS 6.4.3)")
    return problems


def _content_security_policy(c: EnvironmentConfig) -> Iterator[ConfigError]:
    e = c.edge
    for problem in csp_problems(e.csp_policy()):
        yield ConfigError("edge.content_security_policy", f"not a Content-Security-Policy for payment pages: {problem}")
    endpoint = e.csp_report_endpoint()
    if not re.fullmatch(r"https://[a-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", endpoint):
        yield ConfigError("edge.csp_report_uri", f"{endpoint!r} is not an https URL (browsers send reports to https endpoints only)")
    header = e.csp_header()
    if len(header) > CLOUDFRONT_CSP_MAX_LENGTH:
        yield ConfigError("edge.content_security_policy", f"with its reporting directives the header is {len(header)} characters; CloudFront allows {CLOUDFRONT_CSP_MAX_LENGTH}")


#: Route 53 Resolver DNS Firewall domain syntax: optional leading "*." wildcard, then DNS labels (Route 53 Developer
#: Guide, "Domain lists"; UpdateFirewallDomains).
DNS_FIREWALL_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
#: The allow-list must keep AWS APIs reachable: VPC endpoints answer under these names.
REQUIRED_ALLOWED_DOMAIN = "*.amazonaws.com"
#: IDs of AWS managed DNS Firewall domain lists.
DNS_FIREWALL_LIST_ID = re.compile(r"^rslvr-fdl-[0-9a-f]{8,17}$")
#: Capacity of the Network Firewall domain allow-list rule group, fixed at creation (a change replaces it). A
#: domain list takes one unit per domain and protocol (TLS SNI, HTTP Host): Network Firewall Developer Guide,
#: "Setting rule group capacity in Network Firewall".
NETWORK_FIREWALL_DOMAIN_CAPACITY = 1000
#: AWS Organizations organization ids.
ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")


def _egress(c: EnvironmentConfig) -> Iterator[ConfigError]:
    g = c.egress
    bad = [d for d in g.allowed_domains if not DNS_FIREWALL_DOMAIN.match(d) or len(d) > 255]
    if bad:
        yield ConfigError("egress.allowed_domains", f"{', '.join(repr(d) for d in bad)}: a domain is DNS labels, optionally after '*.' (lowercase)")
    if len(set(g.allowed_domains)) != len(g.allowed_domains):
        yield ConfigError("egress.allowed_domains", "a domain is listed twice")
    if REQUIRED_ALLOWED_DOMAIN not in g.allowed_domains:
        yield ConfigError("egress.allowed_domains", f"must keep {REQUIRED_ALLOWED_DOMAIN}: the VPC endpoints, EKS, RDS, MSK and ElastiCache answer under it")
    for region in c.regions:
        if not DNS_FIREWALL_LIST_ID.match(region.dns_firewall_threat_list_id):
            yield ConfigError(f"regions.{region.name}.dns_firewall_threat_list_id",
                              "needs the region's AWSManagedDomainsAggregateThreatList id (rslvr-fdl-...; aws route53resolver list-firewall-domain-lists)")
    if g.endpoint_policy_scope not in ("account", "organization"):
        yield ConfigError("egress.endpoint_policy_scope", f"{g.endpoint_policy_scope!r} is not 'account' or 'organization'")
    elif g.endpoint_policy_scope == "organization" and not ORGANIZATION_ID.match(g.organization_id):
        yield ConfigError("egress.organization_id", "an organization-wide endpoint policy needs the organization id (o-...)")
    elif g.endpoint_policy_scope == "account" and g.organization_id:
        yield ConfigError("egress.organization_id", "is only used with endpoint_policy_scope 'organization'")
    if g.network_firewall:
        targets = [d for d in g.allowed_domains if not d.endswith(".internal") and d != "ec2.internal"]
        if 2 * len(targets) > NETWORK_FIREWALL_DOMAIN_CAPACITY:
            yield ConfigError("egress.allowed_domains", f"{len(targets)} domains need {2 * len(targets)} Network Firewall capacity units; the rule group has {NETWORK_FIREWALL_DOMAIN_CAPACITY}")
        for region in c.regions:
            used = {*region.public_subnet_octets, *region.private_subnet_octets, *region.database_subnet_octets}
            for name in ("firewall_subnet_octets", "nat_subnet_octets"):
                octets = getattr(region, name)
                if len(octets) != len(region.azs):
                    yield ConfigError(f"regions.{region.name}.{name}", f"needs one subnet per availability zone ({len(region.azs)}), got {len(octets)}")
                clash = sorted(used.intersection(octets))
                if clash or len(set(octets)) != len(octets) or not all(0 <= o <= 255 for o in octets):
                    yield ConfigError(f"regions.{region.name}.{name}", f"must be distinct octets (0-255) no other subnet of the plan uses (clash: {clash})")
                used.update(octets)


def _observability(c: EnvironmentConfig) -> Iterator[ConfigError]:
    o = c.observability
    yield from _alert_endpoints(c)
    if o.log_retention_days not in LOG_RETENTION_DAYS or o.log_retention_days < 365:
        yield ConfigError("observability.log_retention_days", "must be a CloudWatch retention value of at least 365 days (PCI DSS 10.5.1)")
    for name in ("cpu_alarm_threshold_percent", "db_connections_alarm_percent", "db_free_storage_alarm_percent",
                 "redis_memory_alarm_percent", "msk_disk_alarm_percent"):
        if not 1 <= getattr(o, name) <= 99:
            yield ConfigError(f"observability.{name}", "an alarm threshold in percent is 1-99")
    if o.alb_5xx_alarm_threshold < 1:
        yield ConfigError("observability.alb_5xx_alarm_threshold", "must be at least 1 error per 5 minutes")
    if not 1 <= o.replica_lag_alarm_seconds <= 3600:
        yield ConfigError("observability.replica_lag_alarm_seconds", "must be 1-3600 seconds")
    if not 0 <= o.tracing_sample_percent <= 100:
        yield ConfigError("observability.tracing_sample_percent", "X-Ray sampling is 0-100 percent")


#: An HTTPS alert endpoint: host and path only. A query string, user info or fragment is where on-call tools put
#: integration keys, and SNS stores the endpoint in the subscription (and Terraform in its state).
HTTPS_ENDPOINT = re.compile(r"^https://(?P<host>[a-z0-9.-]+\.[a-z]{2,63})(:\d{1,5})?(?P<path>/[A-Za-z0-9._~/-]*)?$", re.IGNORECASE)
#: A path segment that looks like a key or token (20+ characters of letters and digits with at least one digit).
KEY_LIKE_SEGMENT = re.compile(r"^(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}$")


def alert_endpoint_protocol(endpoint: str) -> str | None:
    """The SNS subscription protocol of an alert endpoint (``email`` or ``https``), None when it is neither."""
    if EMAIL.match(endpoint):
        return "email"
    if HTTPS_ENDPOINT.match(endpoint):
        return "https"
    return None


def _alert_endpoints(c: EnvironmentConfig) -> Iterator[ConfigError]:
    endpoints = c.observability.alert_endpoints
    field = "observability.alert_endpoints"
    if not endpoints and c.name == "prod":
        yield ConfigError(field, "prod needs at least one alert endpoint: an alarm or finding nobody receives is a defect (PCI DSS 10.7.2, 12.10.5)")
    if len(set(endpoints)) != len(endpoints):
        yield ConfigError(field, "an endpoint is listed twice")
    for i, endpoint in enumerate(endpoints):
        where = f"{field}[{i}]"
        if endpoint.lower().startswith("http://"):
            yield ConfigError(where, "alerts leave AWS over HTTPS only (PCI DSS 4.2.1): use https://")
            continue
        match = HTTPS_ENDPOINT.match(endpoint)
        if endpoint.lower().startswith("https://") and match is None:
            yield ConfigError(where, "an HTTPS endpoint is https://host/path without user info, query string or fragment (where integration keys go: subscribe such an endpoint outside Terraform)")
        elif match is not None:
            if any(KEY_LIKE_SEGMENT.match(part) for part in (match["path"] or "").split("/")):
                yield ConfigError(where, "the URL path carries what looks like an integration key: subscribe that endpoint outside Terraform (docs/runbooks/security-findings.md), never in configuration")
        elif not EMAIL.match(endpoint):
            yield ConfigError(where, f"{endpoint!r} is neither an e-mail address nor an https:// URL")


#: S3 Object Lock retention modes (PutObjectLockConfiguration, DefaultRetention.Mode).
OBJECT_LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")
#: S3 accepts a default retention of 1 day up to 100 years (36,500 days; S3 User Guide, "Object Lock").
OBJECT_LOCK_MAX_DAYS = 36500


def _audit_logs(c: EnvironmentConfig) -> Iterator[ConfigError]:
    a = c.audit_logs
    if a.object_lock_mode not in OBJECT_LOCK_MODES:
        yield ConfigError("audit_logs.object_lock_mode", f"{a.object_lock_mode!r} is not an S3 Object Lock mode; expected one of {', '.join(OBJECT_LOCK_MODES)}")
    elif c.name == "prod" and a.object_lock_mode != "COMPLIANCE":
        yield ConfigError("audit_logs.object_lock_mode", "prod audit logs are locked in COMPLIANCE mode: GOVERNANCE can be bypassed (PCI DSS 10.3.3)")
    if not 1 <= a.object_lock_days <= OBJECT_LOCK_MAX_DAYS:
        yield ConfigError("audit_logs.object_lock_days", f"S3 Object Lock retention is 1-{OBJECT_LOCK_MAX_DAYS} days")
    elif c.name == "prod" and a.object_lock_days < 365:
        yield ConfigError("audit_logs.object_lock_days", "prod keeps audit logs locked at least 365 days (PCI DSS 10.5.1)")


def _security(c: EnvironmentConfig) -> Iterator[ConfigError]:
    s = c.security
    if s.mode not in ("account", "organization"):
        yield ConfigError("security.mode", f"{s.mode!r} is not a mode; expected account or organization")
    for i, service in enumerate(s.organization_services):
        if service not in SECURITY_SERVICES:
            yield ConfigError(f"security.organization_services[{i}]", f"{service!r} is not a service; expected one of {', '.join(SECURITY_SERVICES)}")
    if len(set(s.organization_services)) != len(s.organization_services):
        yield ConfigError("security.organization_services", "a service is listed twice")
    if s.mode == "organization" and not s.organization_services:
        yield ConfigError("security.organization_services", "organization mode names at least one service the organization owns (or use mode account)")
    if not 1 <= s.guardduty_min_severity <= 9:
        yield ConfigError("security.guardduty_min_severity", "GuardDuty severities run from 1 to 9 (4 = medium)")
    elif c.name == "prod" and s.guardduty_min_severity > 4:
        yield ConfigError("security.guardduty_min_severity", "prod routes medium findings and above (4 or lower): PCI DSS 10.7.2 / 12.10.5")
    for name in ("config_history_days", "trail_retention_days"):
        days = getattr(s, name)
        if days < max(365, c.audit_logs.object_lock_days if c.name == "prod" else 1):
            yield ConfigError(f"security.{name}", "kept at least 365 days and no shorter than audit_logs.object_lock_days (PCI DSS 10.5.1; S3 cannot expire a locked version)")


def _cost(c: EnvironmentConfig) -> Iterator[ConfigError]:
    if c.cost.monthly_budget_usd <= 0:
        yield ConfigError("cost.monthly_budget_usd", "must be a positive amount of USD")
    if not EMAIL.match(c.cost.budget_alert_email):
        yield ConfigError("cost.budget_alert_email", f"{c.cost.budget_alert_email!r} is not an e-mail address")
    if not c.cost.cost_center.strip():
        yield ConfigError("cost.cost_center", "the CostCenter tag cannot be empty")
    if not c.cost.budget_alert_percents:
        yield ConfigError("cost.budget_alert_percents", "at least one alert threshold is required")
    for pct in c.cost.budget_alert_percents:
        if not isinstance(pct, int) or isinstance(pct, bool) or not 1 <= pct <= 1000:
            yield ConfigError("cost.budget_alert_percents", f"{pct!r} is not a percentage of the budget (1-1000)")
    if len(set(c.cost.budget_alert_percents)) != len(c.cost.budget_alert_percents):
        yield ConfigError("cost.budget_alert_percents", "a threshold is listed twice")
    if len(c.cost.budget_alert_percents) * 2 > 10:
        yield ConfigError("cost.budget_alert_percents", "AWS Budgets allows 10 notifications per budget (each threshold makes an ACTUAL and a FORECASTED one)")
