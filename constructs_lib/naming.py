"""Names and tags, spelled once: every construct asks this helper instead of formatting strings."""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs_lib.config import PROJECT, EnvironmentConfig

#: S3 bucket names are 3-63 characters (S3 User Guide, "General purpose bucket naming rules").
S3_BUCKET_NAME_MAX = 63

#: The one naming rule of this project's S3 buckets: ``globalpay-<env>-<purpose>-<account>[-<region>][-<qualifier>]``.
#: Bucket names are one namespace across every AWS account and partition: a name somebody else holds fails the
#: first apply, and renaming a bucket later means a new bucket (its data copied, the old one retired), so every
#: name carries the 12-digit account id, which no other account can use. ``<region>`` is the bucket's region
#: (left out only by the Terraform state bucket of ``state.region``, named before this rule and kept as it is);
#: ``<qualifier>`` tells two buckets of one purpose and region apart (``replica``, ``access-logs``).
BUCKET_NAME_RULE = re.compile(
    rf"^{PROJECT}-(?P<env>[a-z][a-z0-9-]*?)-(?P<purpose>[a-z][a-z0-9-]*?)-(?P<account>\d{{12}})"
    r"(?:-(?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?(?:-(?P<qualifier>[a-z][a-z0-9-]*))?$"
)


#: CloudFront, its certificates and WAF, Route 53 metrics, Shield and Budgets are managed from us-east-1: the
#: global stack and its buckets live there.
GLOBAL_SERVICES_REGION = "us-east-1"


def bucket_name(env: str, account_id: str, purpose: str, region: str = "", qualifier: str = "") -> str:
    """``bucket_name("prod", "123456789012", "data", "us-east-1")`` -> ``globalpay-prod-data-123456789012-us-east-1``
    (``BUCKET_NAME_RULE``)."""
    if not account_id:
        raise ValueError(f"bucket {purpose!r}: bucket names carry the account id (Naming(account_id=...))")
    return "-".join(part for part in (PROJECT, env, purpose, account_id, region, qualifier) if part)


def bucket_name_problem(name: str, account_id: str) -> str:
    """Why ``name`` breaks the bucket naming rule or S3's limits for ``account_id``; empty when it does not."""
    if len(name) > S3_BUCKET_NAME_MAX:
        return f"{name!r} is {len(name)} characters; S3 allows {S3_BUCKET_NAME_MAX}"
    match = BUCKET_NAME_RULE.match(name)
    if match is None or match["account"] != account_id:
        return (f"{name!r} does not follow {PROJECT}-<env>-<purpose>-<account>[-<region>][-<qualifier>] with the "
                f"account id {account_id}: S3 names are global, a name without the account id can be taken by anyone")
    return ""


@dataclass(frozen=True)
class Naming:
    """``globalpay-<env>-...`` names for one environment (and, optionally, one region and the account)."""

    env: str
    region: str = ""
    #: The AWS account id (``aws_account_id``): only bucket names need it.
    account_id: str = ""

    def name(self, *parts: str) -> str:
        """``name("kafka")`` -> ``globalpay-prod-kafka``."""
        return "-".join((PROJECT, self.env, *parts))

    def regional(self, *parts: str) -> str:
        """``regional("data")`` -> ``globalpay-prod-data-us-east-1`` (names that must be unique account-wide)."""
        return self.name(*parts, self.region)

    def bucket(self, purpose: str, *, region: str | None = None, qualifier: str = "") -> str:
        """An S3 bucket of this environment in ``region`` (default: this naming's region): ``BUCKET_NAME_RULE``."""
        return bucket_name(self.env, self.account_id, purpose, self.region if region is None else region, qualifier)

    # -- the environment's buckets (``environment_buckets`` lists them all) ---------------------------------

    def data_bucket(self, region: str | None = None) -> str:
        """The region's data bucket (application objects, replicated to another region)."""
        return self.bucket("data", region=region)

    def data_copy_bucket(self, source_region: str) -> str:
        """The copy of ``source_region``'s data bucket kept in the origin region (a region without a partner)."""
        return self.bucket("data", region=source_region, qualifier="replica")

    def access_log_bucket(self, region: str | None = None) -> str:
        """Where the region's S3 server access logs and ALB access logs are delivered."""
        return self.bucket("access-logs", region=region)

    def log_archive_bucket(self, region: str | None = None) -> str:
        """The region's write-once archive (S3 Object Lock) the log buckets replicate into."""
        return self.bucket("log-archive", region=region)

    def static_assets_bucket(self) -> str:
        """CloudFront's origin (global stack, us-east-1)."""
        return self.bucket("static-assets", region=GLOBAL_SERVICES_REGION)

    def cdn_log_bucket(self) -> str:
        """CloudFront standard logging v2 delivers here (global stack, us-east-1)."""
        return self.bucket("cdn-logs", region=GLOBAL_SERVICES_REGION)

    def edge_log_archive_bucket(self) -> str:
        """The global stack's write-once archive of the CDN logs (us-east-1)."""
        return self.bucket("edge-log-archive", region=GLOBAL_SERVICES_REGION)

    def trail_bucket(self, region: str) -> str:
        """The account's CloudTrail trail delivers here (the origin region's -security stack), write-once."""
        return self.bucket("trail", region=region)

    def config_bucket(self, region: str) -> str:
        """AWS Config's configuration history and snapshots (the origin region's -security stack)."""
        return self.bucket("config", region=region)

    def config_archive_bucket(self, region: str) -> str:
        """The write-once archive AWS Config's history replicates into (Config cannot deliver to a locked bucket)."""
        return self.bucket("config-archive", region=region)

    def state_log_archive_bucket(self, region: str) -> str:
        """The bootstrap stack's write-once archive of the state buckets' access logs in ``region``."""
        return self.bucket("state-log-archive", region=region)

    def path(self, *parts: str) -> str:
        """Secrets Manager style: ``path("database", "credentials")`` -> ``globalpay/prod/database/credentials``."""
        return "/".join((PROJECT, self.env, *parts))

    def alias(self, purpose: str) -> str:
        """KMS alias: ``alias("data")`` -> ``alias/globalpay-prod-data`` (the guide's aliases)."""
        return f"alias/{self.name(purpose)}"

    def stack(self, *parts: str) -> str:
        return self.name(*parts)


def environment_buckets(config: EnvironmentConfig) -> dict[str, str]:
    """Every S3 bucket the environment may create, ``{what: name}``; the validator checks their length.

    A superset where the configuration decides: the origin region holds a copy of the data bucket of every
    region without a replication partner, and a failover (primary and secondary swapped) changes which those
    are, so a copy is listed for every region but the origin: no failover may turn a valid name into a
    refused one.
    """
    naming = Naming(config.name, account_id=config.aws_account_id)
    names = {
        "state bucket": config.state_bucket,
        "state access logs": config.state_access_log_bucket,
        "state replica": config.state_replica_bucket,
        "state replica access logs": config.state_replica_log_bucket,
        "static assets": naming.static_assets_bucket(),
        "CDN logs": naming.cdn_log_bucket(),
        "edge log archive": naming.edge_log_archive_bucket(),
    }
    origin = config.database.origin_region
    names["trail"] = naming.trail_bucket(origin)
    names["configuration history"] = naming.config_bucket(origin)
    names["configuration history archive"] = naming.config_archive_bucket(origin)
    for state_region in (config.state.region, config.state.replica_region):
        names[f"state log archive ({state_region})"] = naming.state_log_archive_bucket(state_region)
    for region in config.region_names:
        names[f"data ({region})"] = naming.data_bucket(region)
        names[f"access logs ({region})"] = naming.access_log_bucket(region)
        names[f"log archive ({region})"] = naming.log_archive_bucket(region)
        if region != config.database.origin_region:
            names[f"data copy ({region})"] = naming.data_copy_bucket(region)
    return names


def default_tags(config: EnvironmentConfig) -> dict[str, str]:
    """Cost allocation tags every AWS resource carries (provider ``default_tags``)."""
    return {
        "Environment": config.environment_label.capitalize(),
        "Project": "GlobalPay",
        "CostCenter": config.cost.cost_center,
        "ManagedBy": "cdktf",
    }
