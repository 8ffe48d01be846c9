"""The requirement catalogue of the compliance checklists: one entry per requirement, as data.

``scripts/compliance.py`` renders ``docs/compliance/pci-dss.md`` and ``docs/compliance/soc2.md`` from these entries
and a synthesis. Each entry says, in our own words (the standards' texts are copyrighted; their ids are not):

- ``id`` and ``wording``: what the requirement asks, shortened.
- ``status``: what this repository claims. ``met`` (the AWS layer built here does what the requirement asks),
  ``partly`` (the technical part is built here; a process or a layer outside this repository completes it),
  ``customer`` (the operating organization's, or the application's, entirely), ``inherited`` (AWS meets it for
  the services used: physical security, the hypervisor, the HSMs behind KMS, time synchronization).
- ``matcher``: a function of the synthesis that returns the evidence (the resources, found in the synthesized
  JSON, that meet the requirement) and the gaps (what is missing or wrong). A claim with a matcher whose evidence
  is empty, or that reports a gap, is rendered ``not met`` and fails ``tasks.py compliance --check``: the checklist
  cannot claim what the JSON does not hold. No address is written here; every address on the pages is found.
- ``guard``: the policy rules (``GP0xx``, ``AWS0xx``) and tests (``tests/test_x.py::test_name``) that fail when
  the control goes away (``tests/test_compliance.py`` checks that each one exists).
- ``operator``: what the operator still has to do for the requirement to be met in an assessment.

Sources: PCI DSS v4.0.1, PCI Security Standards Council, June 2024 (requirement ids and their scope); AICPA, 2017
Trust Services Criteria for Security, Availability, Processing Integrity, Confidentiality, and Privacy, with the
revised points of focus of 2022 (criteria ids).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from constructs_lib import app_rules
from constructs_lib.synthesis import Item, Synthesis

STATUSES = ("met", "partly", "customer", "inherited")
NOT_MET = "not met"


@dataclass(frozen=True)
class Evidence:
    """What a matcher found: the resources that meet the requirement, and what is missing or wrong."""

    items: tuple[Item, ...] = ()
    gaps: tuple[str, ...] = ()


Matcher = Callable[[Synthesis], Evidence]


@dataclass(frozen=True)
class Requirement:
    """One requirement (or criterion) of a standard, and what this repository does about it."""

    id: str
    wording: str
    status: str
    matcher: Matcher | None = None  # None: nothing in the JSON to show (a process, or AWS's part)
    guard: tuple[str, ...] = ()  # policy rules and tests that fail when the control is removed; none: ()
    operator: str = ""  # what the operator must still do; empty: nothing beyond running this code


@dataclass(frozen=True)
class Group:
    """A principal requirement (PCI DSS 1-12, appendices) or a criteria series (CC6, A1): its entries."""

    id: str
    title: str
    requirements: tuple[Requirement, ...]


# --------------------------------------------------------------------------------------------------
# Matchers: small builders over the shared reader of a synthesis
# --------------------------------------------------------------------------------------------------

REGION_OF_STACK = re.compile(r"^globalpay-[a-z0-9]+-([a-z]{2}-[a-z]+-\d)(?:-|$)")


def region_of(item: Item) -> str:
    """The item's AWS region: its provider's, or for a Kubernetes object the region in its stack's name."""
    if item.region and item.region != "?":
        return item.region
    match = REGION_OF_STACK.match(item.stack)
    return match.group(1) if match else "?"


def _where(predicate: Callable[[Mapping[str, Any]], bool] | None, item: Item) -> bool:
    return predicate is None or bool(predicate(item.config))


def present(*types: str, where: Callable[[Mapping[str, Any]], bool] | None = None, what: str,
            every_region: bool = False) -> Matcher:
    """The resources of ``types`` (that satisfy ``where``); a gap when there is none, and with ``every_region``
    for each region the platform runs in (a VPC) without one."""
    def match(s: Synthesis) -> Evidence:
        found = tuple(i for t in types for i in s.of_type(t) if _where(where, i))
        gaps: list[str] = [] if found else [f"no {what}"]
        if found and every_region:
            covered = {region_of(i) for i in found}
            gaps += [f"no {what} in {region}" for region in s.regions() if region not in covered]
        return Evidence(found, tuple(gaps))
    return match


def every(rtype: str, test: Callable[[Mapping[str, Any]], bool], what: str, *,
          among: Callable[[Mapping[str, Any]], bool] | None = None) -> Matcher:
    """Every resource of ``rtype`` (those ``among`` selects) passes ``test``; each one that does not is a gap
    (``what`` says what it should do). None at all is a gap too."""
    def match(s: Synthesis) -> Evidence:
        items = tuple(i for i in s.of_type(rtype) if _where(among, i))
        gaps = [f"{i.stack}: {i.address} does not {what}" for i in items if not test(i.config)]
        return Evidence(items, tuple(gaps) if items else (f"no {rtype}",))
    return match


def rule(check: Callable[[Synthesis], Iterable[app_rules.Violation]]) -> Matcher:
    """The violations of a policy rule that spans stacks (``constructs_lib/app_rules.py``), as gaps."""
    def match(s: Synthesis) -> Evidence:
        return Evidence((), tuple(f"{r} {path}: {message}" for _, _, path, r, message in check(s)))
    return match


def combine(*matchers: Matcher) -> Matcher:
    """The evidence and the gaps of every matcher (duplicates once, in the reader's order)."""
    def match(s: Synthesis) -> Evidence:
        results = [m(s) for m in matchers]
        seen: set[tuple[str, str]] = set()
        items: list[Item] = []
        for result in results:
            for item in result.items:
                if (item.stack, item.address) not in seen:
                    seen.add((item.stack, item.address))
                    items.append(item)
        return Evidence(tuple(items), tuple(g for r in results for g in r.gaps))
    return match


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, Mapping)]


def _first(cfg: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = _blocks(cfg.get(key))
    return found[0] if found else {}


def _annotations(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    annotations = _first(cfg, "metadata").get("annotations")
    return annotations if isinstance(annotations, Mapping) else {}


def _tags(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    return cfg["tags"] if isinstance(cfg.get("tags"), Mapping) else {}


def _document(cfg: Mapping[str, Any], attr: str = "policy") -> Mapping[str, Any]:
    try:
        parsed = json.loads(cfg.get(attr) or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _statements(cfg: Mapping[str, Any], attr: str = "policy") -> list[Mapping[str, Any]]:
    return _blocks(_document(cfg, attr).get("Statement"))


def _denies_insecure_transport(cfg: Mapping[str, Any]) -> bool:
    return any(st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition", {}))
               for st in _statements(cfg))


def _is_workload(cfg: Mapping[str, Any]) -> bool:
    return "Workload" in _tags(cfg)


def _internet_facing_ingress(cfg: Mapping[str, Any]) -> bool:
    return _annotations(cfg).get("alb.ingress.kubernetes.io/scheme") == "internet-facing"


def _ingress_behind_waf_over_tls(cfg: Mapping[str, Any]) -> bool:
    annotations = _annotations(cfg)
    return all(annotations.get(f"alb.ingress.kubernetes.io/{key}")
               for key in ("wafv2-acl-arn", "certificate-arn", "ssl-redirect", "ssl-policy"))


def _feature_on(*names: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda cfg: cfg.get("name") in names and cfg.get("status") == "ENABLED"


def _log_retention_ok(cfg: Mapping[str, Any]) -> bool:
    days = cfg.get("retention_in_days")
    return not isinstance(days, int) or days == 0 or days >= 365


def _log_buckets(s: Synthesis) -> Evidence:
    """The buckets log services write into, the Object Lock configurations and replications that make them
    write-once, and the gaps GP010 finds."""
    by_name = {b.config["bucket"]: b for b in s.of_type("aws_s3_bucket") if isinstance(b.config.get("bucket"), str)}
    buckets: dict[tuple[str, str], Item] = {}
    for writer, expression, _ in app_rules.log_destinations(s):
        bucket = app_rules.bucket_named(s, writer.stack, expression, by_name)
        if bucket is not None:
            buckets[(bucket.stack, bucket.name)] = bucket
    copies = app_rules.archives(s, by_name)
    archive_keys = {(t.stack, t.name) for key in buckets for t in copies.get(key, [])}
    archive_items = [i for i in s.of_type("aws_s3_bucket") if (i.stack, i.name) in archive_keys]
    keys = set(buckets) | archive_keys
    locks = [lock for lock in s.of_type("aws_s3_bucket_object_lock_configuration")
             if (b := app_rules.bucket_named(s, lock.stack, lock.config.get("bucket"), by_name)) is not None
             and (b.stack, b.name) in keys]
    replications = [r for r in s.of_type("aws_s3_bucket_replication_configuration")
                    if (b := app_rules.bucket_named(s, r.stack, r.config.get("bucket"), by_name)) is not None
                    and (b.stack, b.name) in buckets]
    items = (*[buckets[k] for k in sorted(buckets)], *archive_items, *locks, *replications)
    gaps = rule(app_rules.unlocked_log_buckets)(s).gaps
    if not locks:
        gaps = (*gaps, "no S3 Object Lock configuration on a log bucket or archive")
    return Evidence(tuple(items), gaps)


# --------------------------------------------------------------------------------------------------
# The controls, as matchers (several requirements share one)
# --------------------------------------------------------------------------------------------------

SECURITY_GROUPS = combine(
    present("aws_security_group", what="security group"),
    every("aws_default_security_group", lambda c: not c.get("ingress") and not c.get("egress"),
          "leave the default security group without rules"),
)
PORTS_WITH_A_REASON = combine(
    every("aws_vpc_security_group_ingress_rule", lambda c: bool(c.get("description")), "say why the port is open"),
    every("aws_vpc_security_group_egress_rule", lambda c: bool(c.get("description")), "say why the port is open"),
)
NETWORK_MAP = present("aws_vpc", "aws_subnet", "aws_ec2_transit_gateway", "aws_ec2_transit_gateway_peering_attachment",
                      "aws_internet_gateway", "aws_nat_gateway", what="network", every_region=True)
TRANSIT_ENCRYPTION = combine(
    every("aws_elasticache_replication_group", lambda c: c.get("transit_encryption_enabled") is True,
          "encrypt in transit"),
    every("aws_msk_cluster", lambda c: _first(c, "encryption_info").get("encryption_in_transit") is None
          or _first(_first(c, "encryption_info"), "encryption_in_transit").get("client_broker", "TLS") == "TLS",
          "serve TLS only"),
)
def _of_state_bucket(cfg: Mapping[str, Any]) -> bool:
    """A resource of the Terraform state bucket or its replica (where the configuration's state lives)."""
    return bool(re.search(r"/(replica-)?state-bucket/", str(_first(cfg, "//").get("metadata", {}).get("path", ""))))


STATE_PROTECTED = combine(
    every("aws_s3_bucket_versioning", lambda c: _first(c, "versioning_configuration").get("status") == "Enabled",
          "keep versions", among=_of_state_bucket),
    every("aws_s3_bucket_policy", _denies_insecure_transport, "deny requests without TLS", among=_of_state_bucket),
)
INBOUND = combine(
    present("aws_vpc_security_group_ingress_rule", what="ingress rule"),
    present("aws_default_security_group", what="default security group", every_region=True),
    every("aws_db_instance", lambda c: c.get("publicly_accessible") is not True, "stay private"),
)
OUTBOUND = combine(
    present("aws_vpc_security_group_egress_rule", what="egress rule"),
    present("aws_route53_resolver_firewall_rule_group_association", what="DNS Firewall on the VPC", every_region=True),
    present("aws_vpc_endpoint", where=lambda c: bool(c.get("policy")), what="VPC endpoint with a policy"),
)
BOUNDARY = combine(
    present("aws_subnet", where=lambda c: c.get("map_public_ip_on_launch") is not True, what="private subnet",
            every_region=True),
    present("aws_internet_gateway", "aws_nat_gateway", what="internet and NAT gateway", every_region=True),
)
PUBLIC_ENTRY = combine(
    every("kubernetes_ingress_v1", _ingress_behind_waf_over_tls,
          "sit behind the WAF with a certificate, a TLS policy and HTTPS redirect", among=_internet_facing_ingress),
    every("aws_cloudfront_distribution", lambda c: bool(c.get("web_acl_id")), "sit behind the WAF"),
)
NOT_REACHABLE = combine(
    every("aws_db_instance", lambda c: c.get("publicly_accessible") is not True, "stay private"),
    every("aws_s3_bucket_public_access_block",
          lambda c: all(c.get(k) is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                                   "restrict_public_buckets")), "block every kind of public access"),
    present("aws_s3_account_public_access_block", what="account-wide S3 public access block"),
    every("aws_eks_cluster", lambda c: _first(c, "vpc_config").get("endpoint_public_access") is False,
          "keep its API endpoint private"),
)
HARDENED_NODES = combine(
    every("aws_launch_template", lambda c: _first(c, "metadata_options").get("http_tokens") == "required",
          "require IMDSv2"),
    present("aws_ebs_encryption_by_default", where=lambda c: c.get("enabled") is not False,
            what="EBS encryption by default", every_region=True),
)
NO_DEFAULT_ACCOUNTS = combine(
    present("aws_elasticache_user", where=lambda c: c.get("user_name") == "default" and
            "off" in str(c.get("access_string", "")).split(), what="disabled default Redis user"),
    every("aws_msk_cluster", lambda c: _first(c, "client_authentication").get("unauthenticated") is not True,
          "refuse unauthenticated clients"),
)
SEPARATED_TIERS = present("aws_db_subnet_group", "aws_elasticache_subnet_group", "aws_msk_cluster",
                          what="data-tier subnet group")
PRIVATE_ADMIN = combine(
    every("aws_eks_cluster", lambda c: _first(c, "vpc_config").get("endpoint_public_access") is False,
          "keep its API endpoint private"),
    present("aws_eks_access_entry", what="EKS access entry"),
)
PINNED_ADDONS = present("aws_eks_addon", "helm_release", what="pinned add-on",
                        where=lambda c: bool(c.get("addon_version") or c.get("version")))
ENCRYPTED_AT_REST = combine(
    # A replica without a key of its own is encrypted with its source's (the same region's: AWS001 makes a
    # replica in another region name that region's key).
    every("aws_db_instance", lambda c: c.get("storage_encrypted") is True
          and bool(c.get("kms_key_id") or c.get("replicate_source_db")), "encrypt with our key"),
    every("aws_elasticache_replication_group", lambda c: c.get("at_rest_encryption_enabled") in (True, "true")
          and bool(c.get("kms_key_id")), "encrypt with our key"),
    every("aws_s3_bucket_server_side_encryption_configuration", lambda c: bool(_first(c, "rule")),
          "set a default encryption"),
    present("aws_ebs_default_kms_key", what="EBS default key", every_region=True),
    present("aws_msk_cluster", what="Kafka cluster"),
)
KEYS = every("aws_kms_key", lambda c: bool(c.get("policy")), "carry an explicit key policy")
KEY_ROTATION = every("aws_kms_key", lambda c: c.get("enable_key_rotation") is True, "rotate yearly")
KEYS_PROTECTED = every("aws_kms_key", lambda c: (c.get("lifecycle") or {}).get("prevent_destroy") is True
                       and isinstance(c.get("deletion_window_in_days"), int), "resist deletion")
TLS_OUTSIDE = combine(
    every("kubernetes_ingress_v1", _ingress_behind_waf_over_tls,
          "serve TLS with a TLS 1.2+ policy and redirect HTTP", among=_internet_facing_ingress),
    every("aws_cloudfront_distribution",
          lambda c: str(_first(c, "viewer_certificate").get("minimum_protocol_version", "")).startswith("TLSv1.2"),
          "require TLS 1.2 or later"),
    every("aws_s3_bucket_policy", _denies_insecure_transport, "deny requests without TLS"),
)
MALWARE = combine(
    present("aws_guardduty_detector_feature", where=_feature_on("EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING"),
            what="GuardDuty malware protection or runtime monitoring", every_region=True),
    present("aws_guardduty_malware_protection_plan", what="GuardDuty Malware Protection for S3", every_region=True),
)
DETECTORS = present("aws_guardduty_detector", "aws_guardduty_detector_feature", what="GuardDuty detector",
                    every_region=True)
FINDINGS_ROUTED = combine(
    present("aws_cloudwatch_event_rule", where=lambda c: any(source in str(c.get("event_pattern", "")) for source in
                                                             ("aws.guardduty", "aws.securityhub", "aws.inspector2")),
            what="EventBridge rule for security findings", every_region=True),
    present("aws_securityhub_finding_aggregator", what="Security Hub finding aggregator"),
    present("aws_sns_topic_subscription", what="alert subscription", every_region=True),
    rule(app_rules.unsubscribed_alarm_topics),
)
VULNERABILITY_SCANS = combine(
    present("aws_inspector2_enabler", what="Amazon Inspector", every_region=True),
    present("aws_ecr_registry_scanning_configuration", where=lambda c: c.get("scan_type") == "ENHANCED",
            what="ECR enhanced scanning", every_region=True),
)
VULNERABILITY_RANKING = combine(
    VULNERABILITY_SCANS,
    present("aws_securityhub_standards_subscription", what="Security Hub standard", every_region=True),
)
PATCHING = combine(
    present("aws_eks_addon", where=lambda c: bool(c.get("addon_version")), what="pinned EKS add-on", every_region=True),
    present("aws_eks_node_group", what="EKS node group", every_region=True),
)
WEB_FIREWALL = combine(
    present("aws_wafv2_web_acl", what="WAF web ACL", every_region=True),
    every("kubernetes_ingress_v1", lambda c: bool(_annotations(c).get("alb.ingress.kubernetes.io/wafv2-acl-arn")),
          "sit behind the WAF", among=_internet_facing_ingress),
    every("aws_cloudfront_distribution", lambda c: bool(c.get("web_acl_id")), "sit behind the WAF"),
)  # Shield Advanced (`shield_advanced`, off in staging) protects availability, not what 6.4 asks
PAGE_SCRIPTS = present("aws_cloudfront_response_headers_policy",
                       where=lambda c: bool(_first(_first(c, "security_headers_config"), "content_security_policy")),
                       what="Content-Security-Policy on the CDN")
WORKLOAD_ROLES = combine(
    present("aws_iam_role", where=_is_workload, what="workload IAM role", every_region=True),
    present("kubernetes_service_account_v1", what="Kubernetes service account", every_region=True),
    rule(app_rules.break_glass_secret_readers),
)
SYSTEM_ROLES = combine(
    present("aws_iam_role", where=lambda c: not _is_workload(c), what="platform IAM role"),
    present("aws_iam_role_policy", what="inline role policy"),
)
ACCESS_ANALYZER = present("aws_accessanalyzer_analyzer", what="IAM Access Analyzer", every_region=True)
DATABASE_ROLES = combine(
    every("aws_db_instance", lambda c: c.get("iam_database_authentication_enabled") is True,
          "authenticate with IAM"),
    present("aws_lambda_invocation", where=lambda c: '"roles"' in str(c.get("input", "")),
            what="PostgreSQL role plan"),
)
CLUSTER_ACCESS = combine(
    present("aws_eks_access_entry", what="EKS access entry", every_region=True),
    present("aws_eks_access_policy_association", what="EKS access policy", every_region=True),
)
SERVICE_IDENTITIES = combine(
    WORKLOAD_ROLES,
    every("aws_elasticache_user", lambda c: _first(c, "authentication_mode").get("type") in ("iam", "no-password-required")
          or c.get("user_name") == "default", "authenticate with IAM"),
)
BREAK_GLASS = combine(
    present("aws_secretsmanager_secret", where=lambda c: _tags(c).get("Access") == "break-glass",
            what="break-glass secret"),
    rule(app_rules.break_glass_secret_readers),
)
AUTHENTICATED = combine(
    DATABASE_ROLES,
    every("aws_msk_cluster", lambda c: _first(_first(c, "client_authentication"), "sasl").get("iam") is True,
          "authenticate clients with IAM"),
    every("aws_elasticache_replication_group", lambda c: bool(c.get("user_group_ids")), "authenticate users"),
)
SECRETS_ENCRYPTED = every("aws_secretsmanager_secret", lambda c: bool(c.get("kms_key_id")), "encrypt with our key")
PASSWORD_POLICY = present("aws_iam_account_password_policy",
                          where=lambda c: (c.get("minimum_password_length") or 0) >= 12 and c.get("require_numbers")
                          and (c.get("require_lowercase_characters") or c.get("require_uppercase_characters")),
                          what="IAM password policy of 12+ characters, letters and numbers")
PASSWORD_REUSE = present("aws_iam_account_password_policy",
                         where=lambda c: (c.get("password_reuse_prevention") or 0) >= 4,
                         what="IAM password policy refusing the last four passwords")
PASSWORD_AGE = present("aws_iam_account_password_policy",
                       where=lambda c: 0 < (c.get("max_password_age") or 0) <= 90,
                       what="IAM password policy expiring passwords within 90 days")
NO_SECRET_IN_CODE = combine(
    SECRETS_ENCRYPTED,
    present("kubernetes_manifest", where=lambda c: _first(c, "manifest").get("kind") == "ExternalSecret",
            what="ExternalSecret"),
)
TRAIL = every("aws_cloudtrail", lambda c: c.get("is_multi_region_trail") is True and
              c.get("include_global_service_events") is True, "record every region and global events")
AUDIT_LOGS = combine(
    TRAIL,
    every("aws_flow_log", lambda c: c.get("traffic_type") == "ALL", "record all traffic",
          among=lambda c: bool(c.get("vpc_id"))),  # a transit gateway's flow log takes no traffic type
    present("aws_flow_log", where=lambda c: bool(c.get("vpc_id")), what="VPC flow log", every_region=True),
    every("aws_eks_cluster", lambda c: {"api", "audit", "authenticator"} <= set(c.get("enabled_cluster_log_types") or []),
          "send its API, audit and authenticator logs"),
    every("aws_db_instance", lambda c: "postgresql" in (c.get("enabled_cloudwatch_logs_exports") or []),
          "export its logs"),
    present("aws_wafv2_web_acl_logging_configuration", what="WAF logging"),
    present("aws_s3_bucket_logging", what="S3 server access logging"),
)
DATA_ACCESS_LOGS = combine(
    every("aws_cloudtrail", lambda c: bool(c.get("advanced_event_selector") or c.get("event_selector")),
          "record data events"),
    present("aws_db_parameter_group", where=lambda c: "pgaudit" in json.dumps(c.get("parameter")),
            what="pgaudit on the database"),
)
ADMIN_LOGS = combine(
    TRAIL,
    every("aws_eks_cluster", lambda c: "audit" in (c.get("enabled_cluster_log_types") or []), "send its audit log"),
)
CONFIG_RECORDING = combine(
    present("aws_config_configuration_recorder", what="AWS Config recorder", every_region=True),
    rule(app_rules.unmonitored_regions),
)
LOG_READ_ACCESS = combine(
    every("aws_cloudwatch_log_group", lambda c: bool(c.get("kms_key_id")), "encrypt with our key"),
    present("aws_s3_bucket_policy", what="bucket policy"),
)
WRITE_ONCE_LOGS = _log_buckets
LOG_FILE_VALIDATION = combine(
    every("aws_cloudtrail", lambda c: c.get("enable_log_file_validation") is True, "validate its log files"),
    _log_buckets,
)
AUTOMATED_REVIEW = combine(
    DETECTORS,
    present("aws_securityhub_account", what="Security Hub", every_region=True),
    FINDINGS_ROUTED,
)
def _locked_a_year(cfg: Mapping[str, Any]) -> bool:
    retention = _first(_first(cfg, "rule"), "default_retention")
    return (retention.get("days") or 0) >= 365 or (retention.get("years") or 0) >= 1


RETENTION = combine(
    _log_buckets,
    every("aws_s3_bucket_object_lock_configuration", _locked_a_year, "lock its objects at least a year"),
    every("aws_cloudwatch_log_group", _log_retention_ok, "keep its events a year"),
)
CONTROL_FAILURES = combine(
    CONFIG_RECORDING,
    DETECTORS,
    present("aws_cloudwatch_metric_alarm", what="CloudWatch alarm"),
    rule(app_rules.unsubscribed_alarm_topics),
    present("aws_sns_topic_subscription", what="alarm subscription"),
)
INTRUSION_DETECTION = combine(
    DETECTORS,
    rule(app_rules.unmonitored_regions),
    present("aws_route53_resolver_firewall_rule", where=lambda c: c.get("action") == "BLOCK",
            what="DNS Firewall block rule", every_region=True),
)
COVERT_CHANNELS = combine(
    present("aws_guardduty_detector_feature", where=_feature_on("RUNTIME_MONITORING", "EKS_AUDIT_LOGS"),
            what="GuardDuty runtime or EKS audit monitoring", every_region=True),
    present("aws_route53_resolver_firewall_rule", where=lambda c: c.get("action") == "BLOCK",
            what="DNS Firewall block rule", every_region=True),
)
CHANGE_DETECTION = combine(
    CONFIG_RECORDING,
    present("aws_config_conformance_pack", what="PCI DSS conformance pack", every_region=True),
    every("aws_cloudtrail", lambda c: c.get("enable_log_file_validation") is True, "validate its log files"),
)
ALERT_RESPONSE = FINDINGS_ROUTED
ACCESS_SECURITY = combine(WORKLOAD_ROLES, KEYS, SECRETS_ENCRYPTED, SECURITY_GROUPS)
CAPACITY = combine(
    present("aws_appautoscaling_target", "kubernetes_horizontal_pod_autoscaler_v2", what="autoscaling"),
    present("aws_eks_node_group", where=lambda c: (_first(c, "scaling_config").get("max_size") or 0) >
            (_first(c, "scaling_config").get("min_size") or 0), what="node group that can grow", every_region=True),
    present("aws_cloudwatch_metric_alarm", what="CloudWatch alarm"),
)
BACKUP_AND_RECOVERY = combine(
    present("aws_db_instance", where=lambda c: (c.get("backup_retention_period") or 0) > 0, what="database backups"),
    present("aws_db_instance", where=lambda c: bool(c.get("replicate_source_db")), what="database replica"),
    present("aws_dlm_lifecycle_policy", what="EBS snapshot policy", every_region=True),
    present("aws_s3_bucket_replication_configuration", what="bucket replication"),
    present("aws_route53_health_check", what="failover health check"),
)
RECOVERY_TEST = combine(
    present("aws_route53recoverycontrolconfig_routing_control", what="traffic routing control"),
    present("aws_route53_record", where=lambda c: bool(c.get("failover_routing_policy")), what="failover record"),
)
INCIDENT_RECOVERY = combine(BACKUP_AND_RECOVERY, RECOVERY_TEST)
ANOMALY_MONITORING = combine(DETECTORS, TRAIL, AUDIT_LOGS, present("aws_cloudwatch_metric_alarm", what="alarm"))
CONFIG_AND_VULNERABILITIES = combine(CHANGE_DETECTION, VULNERABILITY_SCANS,
                                     present("aws_securityhub_standards_subscription", what="Security Hub standard",
                                             every_region=True))


def _r(id: str, wording: str, status: str, matcher: Matcher | None = None, guard: tuple[str, ...] = (),
       operator: str = "") -> Requirement:
    return Requirement(id, wording, status, matcher, guard, operator)


# --------------------------------------------------------------------------------------------------
# PCI DSS v4.0.1 (PCI Security Standards Council, June 2024)
# --------------------------------------------------------------------------------------------------

T_AUDIT = "tests/test_audit.py::test_every_log_bucket_is_locked_or_replicated_within_minutes_into_a_locked_archive"
T_TRAIL = "tests/test_detection.py::test_one_multi_region_trail_with_validation_kms_logs_and_data_events"
T_DETECTOR = "tests/test_detection.py::test_guardduty_detector_has_the_five_protections"
T_CONFIG = "tests/test_detection.py::test_config_records_every_resource_and_runs_the_pci_pack"
T_FINDINGS = "tests/test_detection.py::test_findings_route_to_the_encrypted_security_topic"
T_SUBSCRIBED = "tests/test_detection.py::test_every_alarm_and_security_topic_has_a_subscription"
T_IDENTITY = "tests/test_identity.py::test_each_service_has_its_own_role_trusted_by_its_own_service_account_only"
T_MASTER = "tests/test_identity.py::test_no_workload_and_no_kubernetes_object_can_reach_the_master_credentials"
T_KEYS = "tests/test_foundation.py::test_data_and_secrets_keys_rotate_with_explicit_policies"
T_PASSWORD = "tests/test_detection.py::test_password_policy_meets_pci_dss_8_3"
T_WAF = "tests/test_edge.py::test_regional_waf_has_the_guide_rate_rule_and_managed_groups"
T_INGRESS = "tests/test_compute.py::test_api_gateway_ingress_has_the_guides_annotations"
T_SHUB = "tests/test_security_hub_pci.py"
T_PLAN = "tests/test_plan_review.py"
T_DNS_FW = "tests/test_audit.py::test_dns_firewall_on_every_vpc_blocks_threats_then_allows_the_list_then_blocks_everything"
T_ENDPOINTS = "tests/test_audit.py::test_every_vpc_endpoint_admits_only_this_accounts_principals_and_resources"
T_FLOW = "tests/test_foundation.py::test_flow_logs_capture_all_traffic_to_an_encrypted_group_kept_a_year"
T_DEFAULT_SG = "tests/test_foundation.py::test_default_security_group_has_no_rules"
T_DATA_SG = "tests/test_data_tier.py::test_data_stores_admit_only_the_node_security_group"
T_IMDS = "tests/test_compute.py::test_launch_template_requires_imdsv2_and_encrypts_the_root_volume"
T_INSPECTOR = "tests/test_detection.py::test_inspector_and_access_analyzer"
T_NO_SECRET = "tests/test_data_tier.py::test_no_secret_literal_in_any_stack"
T_PG_ROLES = "tests/test_postgres_roles.py"
T_REDIS_USERS = "tests/test_data_tier.py::test_redis_users_are_the_disabled_default_and_one_iam_user_per_service"
T_EKS = "tests/test_compute.py::test_cluster_version_endpoint_encryption_logs_and_access"
T_FAILOVER = "tests/test_failover.py::test_the_rehearsal_plans_every_step"
T_STATE = "tests/test_foundation.py::test_state_bucket_is_versioned_encrypted_private_and_tls_only"
T_CSP = "tests/test_audit.py::test_static_assets_carry_the_content_security_policy_with_reporting"
T_ALARMS = "tests/test_edge.py::test_every_alarm_notifies_on_alarm_and_on_ok"
T_APP_RULES = "tests/test_app_rules.py::test_a_control_removed_from_the_prod_json_is_found"
T_UPGRADES = "tests/test_upgrades.py"
T_DIAGRAM = "tests/test_diagram.py"

IDP_MFA = ("People reach AWS and the cluster only through the identity provider's federated roles "
           "(GlobalPayPlatformAdmin and the roles the IdP maps): enforce MFA and lockout there.")

PCI_DSS: tuple[Group, ...] = (
    Group("1", "Install and maintain network security controls", (
        _r("1.1.1", "Security policies and procedures for network security controls are documented, current and known",
           "customer", operator="Publish the network security policy; this repository's docs describe the AWS part."),
        _r("1.1.2", "Roles and responsibilities for network security controls are assigned and understood", "customer",
           operator="Name the owners of the network configuration (the reviewers of this repository's changes)."),
        _r("1.2.1", "Configuration standards for network security controls are defined, implemented and maintained",
           "partly", SECURITY_GROUPS, ("GP004", "GP015", T_DEFAULT_SG),
           "Adopt this code and docs/safe-change.md as the written standard, and approve it."),
        _r("1.2.2", "Changes to network connections and to network security controls are approved and managed as "
           "changes (6.5.1)", "partly", SECURITY_GROUPS, (T_PLAN,),
           "Review and approve every plan in the pipeline's pull request before deploy (docs/runbooks/pipeline.md)."),
        _r("1.2.3", "An accurate network diagram shows every connection between the CDE and other networks", "partly",
           NETWORK_MAP, (T_DIAGRAM,),
           "Add the connections outside AWS (offices, processors, IdP) to the generated diagrams."),
        _r("1.2.4", "An accurate data-flow diagram shows every flow of account data across systems and networks",
           "customer", operator="Draw the flows of account data through the services; the application knows them."),
        _r("1.2.5", "Every allowed service, protocol and port is identified, approved and has a business need",
           "partly", PORTS_WITH_A_REASON, ("GP004", T_DATA_SG),
           "Approve the rules as listed (each carries its reason in its description)."),
        _r("1.2.6", "Security features are defined and in place for every service or protocol considered insecure",
           "met", TRANSIT_ENCRYPTION, ("GP002",)),
        _r("1.2.7", "Configurations of network security controls are reviewed at least every six months", "customer",
           operator="Review the security groups, endpoint policies and DNS Firewall lists every six months."),
        _r("1.2.8", "Configuration files of network security controls are secured and kept consistent with the active "
           "configuration", "partly", STATE_PROTECTED, (T_STATE, "GP007"),
           "Restrict who can merge into this repository and who can assume the deploy role; run the drift plan."),
        _r("1.3.1", "Inbound traffic to the CDE is limited to what is necessary; everything else is denied", "met",
           INBOUND, ("GP003", "GP004", "GP015", T_DATA_SG)),
        _r("1.3.2", "Outbound traffic from the CDE is limited to what is necessary; everything else is denied",
           "met", OUTBOUND, ("GP014", T_DNS_FW, T_ENDPOINTS)),
        _r("1.3.3", "Network security controls sit between every wireless network and the CDE", "customer",
           operator="No wireless network is part of the AWS environment; apply this to the company's own networks."),
        _r("1.4.1", "Network security controls sit between trusted and untrusted networks", "met", BOUNDARY,
           ("GP015", T_FLOW)),
        _r("1.4.2", "Inbound traffic from untrusted networks reaches only publicly reachable services, protocols and "
           "ports", "met", PUBLIC_ENTRY, ("GP014", "GP015", T_INGRESS)),
        _r("1.4.3", "Anti-spoofing measures detect and block forged source addresses", "inherited",
           operator="AWS's VPC network does not deliver packets with a forged source address (AWS PCI DSS "
                    "responsibility summary); nothing to configure."),
        _r("1.4.4", "System components that store cardholder data are not directly reachable from untrusted networks",
           "met", NOT_REACHABLE, ("GP003", T_SHUB)),
        _r("1.4.5", "Internal IP addresses and routing are disclosed only to authorized parties", "partly", BOUNDARY,
           ("GP015",), "Keep internal names out of public DNS and error pages of the services."),
        _r("1.5.1", "Security controls protect computing devices that connect to both untrusted networks and the CDE",
           "customer", operator="Manage the laptops of the people who operate the platform (endpoint security)."),
    )),
    Group("2", "Apply secure configurations to all system components", (
        _r("2.1.1", "Policies and procedures for secure configuration are documented, current and known", "customer",
           operator="Publish the configuration standard (this repository describes the AWS part)."),
        _r("2.1.2", "Roles and responsibilities for secure configuration are assigned", "customer",
           operator="Name the owners of this repository and of the images the services run."),
        _r("2.2.1", "Configuration standards cover every system component and address known vulnerabilities",
           "partly", HARDENED_NODES, (T_IMDS, T_SHUB),
           "Adopt the code as the standard for the AWS layer; add one for the container images."),
        _r("2.2.2", "Vendor default accounts are disabled, removed, or have their passwords changed", "met",
           NO_DEFAULT_ACCOUNTS, ("GP006", T_REDIS_USERS)),
        _r("2.2.3", "Primary functions needing different security levels are separated, or secured to the highest "
           "level", "partly", SEPARATED_TIERS, (T_DATA_SG,),
           "Keep one primary function per container image."),
        _r("2.2.4", "Only the services, protocols, daemons and functions needed are enabled", "partly", PINNED_ADDONS,
           ("tests/test_compute.py::test_every_helm_release_is_pinned_from_an_https_repository",),
           "Keep the container images minimal (no shells or package managers the service does not need)."),
        _r("2.2.5", "Insecure services, protocols or daemons that are needed are justified and secured", "met",
           TRANSIT_ENCRYPTION, ("GP002",)),
        _r("2.2.6", "System security parameters are configured to prevent misuse", "met", HARDENED_NODES,
           (T_IMDS, "GP001")),
        _r("2.2.7", "Non-console administrative access is encrypted with strong cryptography", "met", PRIVATE_ADMIN,
           (T_EKS,), "Reach the private cluster endpoint only over the company's VPN or a bastion with TLS."),
        _r("2.3.1", "Wireless vendor defaults are changed for wireless environments connected to the CDE", "customer",
           operator="No wireless network is part of the AWS environment."),
        _r("2.3.2", "Wireless encryption keys are changed when someone who knew them leaves", "customer",
           operator="No wireless network is part of the AWS environment."),
    )),
    Group("3", "Protect stored account data", (
        _r("3.1.1", "Policies and procedures for protecting stored account data are documented and known", "customer",
           operator="Publish the data-retention and key-management policies."),
        _r("3.2.1", "Account data storage is kept to a minimum by retention and disposal policies", "customer",
           operator="The services decide what they store and delete; bucket lifecycles here keep logs only."),
        _r("3.3.1", "Sensitive authentication data is not kept after authorization", "customer",
           operator="The payment-processor must never persist CVV, PIN or track data."),
        _r("3.4.1", "PAN is masked when displayed", "customer", operator="The services and their UIs mask PAN."),
        _r("3.4.2", "Copying or moving PAN with remote-access technologies is prevented without authorization",
           "customer", operator="Control remote-access tools on operators' devices."),
        _r("3.5.1", "PAN is rendered unreadable wherever it is stored", "partly", ENCRYPTED_AT_REST,
           ("GP001", T_SHUB),
           "Storage encryption with our keys is in place; tokenize, truncate or encrypt PAN in the application as "
           "well (disk- or storage-level encryption alone does not meet 3.5.1 for PAN)."),
        _r("3.6.1", "Procedures protect the keys that protect stored account data against disclosure and misuse",
           "partly", KEYS, (T_KEYS, "GP001"),
           "Name the key custodians and restrict GlobalPayPlatformAdmin (the key administrators) to them."),
        _r("3.6.1.1", "Service providers document their cryptographic architecture", "partly", KEYS, (T_KEYS,),
           "Keep the description of keys, algorithms, protocols, expiry and HSMs current (docs/data-tier.md)."),
        _r("3.6.1.2", "Secret and private keys are stored encrypted, in an HSM, or as key components", "inherited",
           operator="AWS KMS keeps key material in its FIPS 140-3 validated HSMs and never exports it."),
        _r("3.6.1.3", "Access to cleartext key components is restricted to the fewest custodians", "inherited",
           operator="AWS KMS key material is never available in cleartext to anyone."),
        _r("3.6.1.4", "Keys are stored in the fewest possible locations", "inherited",
           operator="AWS KMS: one key per purpose and region, held by the service."),
        _r("3.7.1", "Key-management procedures cover the generation of strong keys", "partly", KEYS, (T_KEYS,),
           "Document that keys are generated by AWS KMS (symmetric AES-256)."),
        _r("3.7.2", "Key-management procedures cover secure key distribution", "inherited",
           operator="AWS KMS keys never leave the service; applications receive data keys through it."),
        _r("3.7.3", "Key-management procedures cover secure key storage", "inherited",
           operator="AWS KMS stores the key material."),
        _r("3.7.4", "Keys are changed at the end of their cryptoperiod", "met", KEY_ROTATION, (T_KEYS,)),
        _r("3.7.5", "Keys are retired or replaced when their integrity is weakened or suspected of compromise",
           "partly", KEYS_PROTECTED, ("GP007", T_KEYS),
           "Write the procedure for a suspected key compromise (new key, re-encryption, disabling the old one)."),
        _r("3.7.6", "Manual cleartext key-management operations use split knowledge and dual control", "inherited",
           operator="No manual cleartext key operation exists with AWS KMS."),
        _r("3.7.7", "Unauthorized substitution of keys is prevented", "partly", KEYS, (T_KEYS, "GP001"),
           "Keep PutKeyPolicy and ScheduleKeyDeletion to the key administrators; review CloudTrail for them."),
        _r("3.7.8", "Key custodians formally acknowledge their responsibilities", "customer",
           operator="Have every key custodian sign the acknowledgement."),
        _r("3.7.9", "Service providers sharing keys with customers give them guidance", "customer",
           operator="No key is shared with customers by this platform."),
    )),
    Group("4", "Protect cardholder data with strong cryptography during transmission over open, public networks", (
        _r("4.1.1", "Policies and procedures for protecting data in transit are documented and known", "customer",
           operator="Publish the transmission-security policy."),
        _r("4.2.1", "Strong cryptography protects PAN over open, public networks, with trusted certificates", "met",
           TLS_OUTSIDE, ("GP015", T_INGRESS, T_SHUB)),
        _r("4.2.1.1", "An inventory of trusted keys and certificates is kept", "customer",
           operator="Keep the inventory of the ACM certificates the ALB and CDN use (issued outside this code)."),
        _r("4.2.1.2", "Wireless networks carrying PAN use strong cryptography", "customer",
           operator="No wireless network is part of the AWS environment."),
        _r("4.2.2", "PAN sent through end-user messaging is protected with strong cryptography", "customer",
           operator="Do not send PAN by e-mail, chat or SMS."),
    )),
    Group("5", "Protect all systems and networks from malicious software", (
        _r("5.1.1", "Policies and procedures for malware protection are documented and known", "customer",
           operator="Publish the anti-malware policy."),
        _r("5.2.1", "An anti-malware solution runs on every component, except those evaluated as not at risk",
           "partly", MALWARE, (T_DETECTOR, "tests/test_detection.py::test_malware_protection_scans_the_regions_data_bucket"),
           "Record why container images, scanned by Inspector and run on GuardDuty-monitored nodes, need no agent."),
        _r("5.2.2", "The anti-malware solution detects, removes, blocks or contains known malware", "partly",
           combine(MALWARE, FINDINGS_ROUTED), (T_DETECTOR, T_FINDINGS),
           "Act on GuardDuty malware findings (docs/runbooks/security-findings.md)."),
        _r("5.2.3", "Components not at risk from malware are evaluated periodically", "customer",
           operator="Re-evaluate the managed services (RDS, ElastiCache, MSK) as not at risk, yearly."),
        _r("5.3.1", "The anti-malware solution is kept current", "inherited", DETECTORS, (T_DETECTOR,),
           "GuardDuty's threat intelligence and malware signatures are updated by AWS."),
        _r("5.3.2", "The anti-malware solution scans periodically or continuously", "partly",
           combine(MALWARE, VULNERABILITY_SCANS), (T_DETECTOR, T_INSPECTOR),
           "Nothing beyond keeping the detectors on."),
        _r("5.3.3", "Removable electronic media is scanned", "customer",
           operator="No removable media exists in AWS; apply this to operators' devices."),
        _r("5.3.4", "Audit logs of the anti-malware solution are enabled and kept", "met",
           combine(DETECTORS, present("aws_securityhub_finding_aggregator", what="Security Hub finding aggregator")),
           (T_DETECTOR, T_FINDINGS)),
        _r("5.3.5", "Users cannot disable or alter the anti-malware mechanisms without authorization", "partly",
           DETECTORS, ("GP011",),
           "Keep guardduty:Delete*/Update* to the security administrators (SCP in the landing zone)."),
        _r("5.4.1", "Mechanisms detect and protect people against phishing attacks", "customer",
           operator="E-mail filtering and training are the company's."),
    )),
    Group("6", "Develop and maintain secure systems and software", (
        _r("6.1.1", "Policies and procedures for secure development are documented and known", "customer",
           operator="Publish the secure development policy."),
        _r("6.2.1", "Bespoke and custom software is developed securely", "customer",
           operator="The services' code follows a secure development life cycle."),
        _r("6.2.2", "Developers are trained in secure software at least yearly", "customer",
           operator="Train the engineers (this repository's included)."),
        _r("6.2.3", "Bespoke software is reviewed before release", "customer",
           operator="Review the services' and this repository's changes in pull requests."),
        _r("6.2.4", "Software engineering techniques prevent common attacks", "customer",
           operator="The services' code prevents injection, XSS and the other common attacks."),
        _r("6.3.1", "Security vulnerabilities are identified and ranked by risk", "partly", VULNERABILITY_RANKING,
           (T_INSPECTOR, T_SHUB), "Rank Inspector and Security Hub findings and follow vendor advisories."),
        _r("6.3.2", "An inventory of bespoke and third-party software components is kept", "customer",
           operator="Keep the SBOM of the container images; this repository pins its own tools (Pipfile.lock, "
                    "package-lock.json, charts)."),
        _r("6.3.3", "Components are protected from known vulnerabilities by installing patches (critical ones "
           "within a month)", "partly", PATCHING,
           (T_UPGRADES, "tests/test_preflight.py::test_the_daily_drift_run_opens_the_patch_issue_when_a_node_ami_is_due"),
           "Act on the issue 'Node AMI patch due: <env>' the daily drift run opens (pin the release it names, "
           "docs/runbooks/upgrade.md) and upgrade add-ons monthly."),
        _r("6.4.1", "Public-facing web applications are protected against known attacks", "met", WEB_FIREWALL,
           (T_WAF, "GP015")),
        _r("6.4.2", "An automated technical solution detects and prevents web-based attacks in front of "
           "public-facing web applications", "met", WEB_FIREWALL, (T_WAF, T_INGRESS, "GP015")),
        _r("6.4.3", "Scripts loaded in the consumer's browser on payment pages are authorized and their integrity "
           "assured", "partly", PAGE_SCRIPTS, (T_CSP,),
           "Keep the inventory of the payment page's scripts and their justification; the CSP on the CDN restricts "
           "their sources."),
        _r("6.5.1", "Changes to system components in production follow change-control procedures", "partly",
           None, (T_PLAN, "tests/test_pipeline.py"),
           "Approve every plan in the pipeline; the synth-time policy and plan review run before it."),
        _r("6.5.2", "Requirements are confirmed in place after a significant change", "partly", None,
           ("tests/test_compliance.py",),
           "Regenerate and review these checklists (`tasks.py compliance`) with every significant change."),
        _r("6.5.3", "Pre-production environments are separated from production", "partly", None,
           ("tests/test_failover.py::test_every_step_validates_in_every_environment",),
           "Deploy staging into its own AWS account."),
        _r("6.5.4", "Roles and functions are separated between production and pre-production", "customer",
           operator="Separate who deploys to staging from who approves production."),
        _r("6.5.5", "Live PANs are not used in pre-production", "customer",
           operator="Use test card numbers in staging."),
        _r("6.5.6", "Test data and accounts are removed before a system goes into production", "customer",
           operator="Remove test data and accounts before release."),
    )),
    Group("7", "Restrict access to system components and cardholder data by business need to know", (
        _r("7.1.1", "Policies and procedures for access control are documented and known", "customer",
           operator="Publish the access-control policy."),
        _r("7.2.1", "An access-control model grants access by need to know and least privilege", "met",
           WORKLOAD_ROLES, ("GP008", "GP009", T_IDENTITY),
           "The model for people lives in the identity provider; the services' model is docs/compliance/access-model.md."),
        _r("7.2.2", "Access, privileged access included, is assigned by job classification and function with the "
           "least privileges needed", "met", WORKLOAD_ROLES, ("GP008", "GP009", T_IDENTITY, T_MASTER)),
        _r("7.2.3", "Required privileges are approved by authorized personnel", "customer",
           operator="Approve each change to the access model in review (it shows as a diff of access-model.md)."),
        _r("7.2.4", "User accounts and their privileges are reviewed at least every six months", "partly",
           ACCESS_ANALYZER, (T_INSPECTOR,),
           "Review the IdP's users and groups every six months; IAM Access Analyzer reports external access."),
        _r("7.2.5", "Application and system accounts have only the privileges they need", "met",
           combine(WORKLOAD_ROLES, SYSTEM_ROLES), ("GP008", "GP009", T_IDENTITY,
                                                   "tests/test_compute.py::test_load_balancer_controller_policy_is_narrowed_below_upstream")),
        _r("7.2.5.1", "Access by application and system accounts is reviewed periodically", "customer",
           operator="Review docs/compliance/access-model.md on the schedule of your risk analysis."),
        _r("7.2.6", "User access to query repositories of stored cardholder data is restricted", "partly",
           DATABASE_ROLES, (T_PG_ROLES, T_MASTER),
           "People query the database only through break-glass (the master login), logged by pgaudit."),
        _r("7.3.1", "An access-control system restricts access by need to know", "met",
           combine(WORKLOAD_ROLES, CLUSTER_ACCESS), ("GP008", T_IDENTITY, T_EKS)),
        _r("7.3.2", "The access-control system enforces the privileges assigned by job function", "met",
           combine(WORKLOAD_ROLES, CLUSTER_ACCESS), ("GP008", T_IDENTITY)),
        _r("7.3.3", "The access-control system denies everything by default", "inherited",
           operator="IAM, Kubernetes RBAC and PostgreSQL deny what no policy allows."),
    )),
    Group("8", "Identify users and authenticate access to system components", (
        _r("8.1.1", "Policies and procedures for identification and authentication are documented and known",
           "customer", operator="Publish the identification and authentication policy."),
        _r("8.2.1", "Every user has a unique ID before access is allowed", "partly", SERVICE_IDENTITIES,
           (T_IDENTITY, T_REDIS_USERS), "Give every person a unique identity in the identity provider."),
        _r("8.2.2", "Shared or generic accounts are used only when necessary, by exception, and attributable",
           "partly", BREAK_GLASS, ("GP009", T_MASTER),
           "Use the master login only through the break-glass procedure, with a ticket and SetSourceIdentity."),
        _r("8.2.3", "Service providers with remote access to customer premises use a unique factor per customer",
           "customer", operator="The platform has no remote access to customer premises."),
        _r("8.2.4", "Adding, removing and changing user IDs and factors is authorized", "customer",
           operator="Manage people's identities in the identity provider, with approvals."),
        _r("8.2.5", "Access of terminated users is revoked at once", "customer",
           operator="Deprovision people in the identity provider on their last day."),
        _r("8.2.6", "Inactive user accounts are removed or disabled within 90 days", "customer",
           operator="Disable inactive identities in the identity provider."),
        _r("8.2.7", "Accounts used by third parties for remote access are enabled only when needed and monitored",
           "customer", operator="No third party reaches the platform through this code; enable any vendor's access "
                                "only for the time needed, and monitor it."),
        _r("8.2.8", "Idle sessions longer than 15 minutes require re-authentication", "customer",
           operator="Set session timeouts in the identity provider and the console federation (max session)."),
        _r("8.3.1", "All access is authenticated with at least one factor", "partly", AUTHENTICATED,
           (T_PG_ROLES, T_REDIS_USERS, "GP002"), IDP_MFA),
        _r("8.3.2", "Strong cryptography renders authentication factors unreadable in transmission and storage",
           "met", combine(SECRETS_ENCRYPTED, TRANSIT_ENCRYPTION), ("GP001", "GP006", T_NO_SECRET)),
        _r("8.3.3", "A user's identity is verified before an authentication factor is changed", "customer",
           operator="The identity provider's reset procedure."),
        _r("8.3.4", "Invalid authentication attempts lock the user ID out after at most ten tries", "customer",
           operator="Set lockout in the identity provider."),
        _r("8.3.5", "First-use and reset passwords are unique and changed at first use", "customer",
           operator="The identity provider's enrolment procedure."),
        _r("8.3.6", "Passwords have at least 12 characters with letters and numbers", "partly", PASSWORD_POLICY,
           (T_PASSWORD,), "The account password policy covers IAM users; set the same in the identity provider."),
        _r("8.3.7", "A new password differs from the last four", "partly", PASSWORD_REUSE, (T_PASSWORD,),
           "Set the same in the identity provider."),
        _r("8.3.8", "Authentication policies are documented and communicated to users", "customer",
           operator="Publish them."),
        _r("8.3.9", "Single-factor passwords change at least every 90 days, or access is evaluated dynamically",
           "partly", PASSWORD_AGE, (T_PASSWORD,), "Set the same in the identity provider, or use MFA everywhere."),
        _r("8.3.10", "Service providers give customers guidance on changing their passwords", "customer",
           operator="Customers have no passwords on this platform's AWS layer."),
        _r("8.3.11", "Physical or logical authentication factors are assigned to one user", "customer",
           operator="Hardware tokens are issued per person."),
        _r("8.4.1", "MFA protects all non-console administrative access into the CDE", "customer", operator=IDP_MFA),
        _r("8.4.2", "MFA protects all access into the CDE", "customer", operator=IDP_MFA),
        _r("8.4.3", "MFA protects all remote network access that could reach the CDE", "customer", operator=IDP_MFA),
        _r("8.5.1", "MFA systems resist replay, cannot be bypassed and need two different factor types", "customer",
           operator="Choose and configure the identity provider's MFA accordingly."),
        _r("8.6.1", "System or application accounts usable interactively are managed and attributable", "partly",
           BREAK_GLASS, ("GP009", T_MASTER),
           "Break-glass use of the master login: approved, time-limited, reviewed afterwards."),
        _r("8.6.2", "Passwords of system and application accounts are not hard-coded in scripts, files or code",
           "met", NO_SECRET_IN_CODE, ("GP006", "GP009", T_NO_SECRET)),
        _r("8.6.3", "Passwords of system and application accounts are protected and changed periodically", "partly",
           SECRETS_ENCRYPTED, ("GP001", T_NO_SECRET),
           "Rotate the operator-filled secrets as docs/runbooks/rotate-secrets.md says."),
    )),
    Group("9", "Restrict physical access to cardholder data", (
        _r("9.1.1", "Policies and procedures for physical security are documented and known", "inherited",
           operator="AWS data centres (AWS PCI DSS Attestation of Compliance, in AWS Artifact); the company's "
                    "offices are its own."),
        _r("9.2.1", "Entry controls restrict physical access to systems in the CDE", "inherited",
           operator="AWS data centres."),
        _r("9.3.1", "Physical access of personnel to sensitive areas is authorized and managed", "inherited",
           operator="AWS data centres."),
        _r("9.4.1", "Media with cardholder data is physically secured", "inherited",
           operator="AWS data centres; the company holds no media with cardholder data."),
        _r("9.4.7", "Media with cardholder data is destroyed when no longer needed", "inherited",
           operator="AWS decommissions storage media."),
        _r("9.5.1", "Point-of-interaction devices are protected from tampering and substitution", "customer",
           operator="The platform has no POI devices; merchants' terminals are theirs."),
    )),
    Group("10", "Log and monitor all access to system components and cardholder data", (
        _r("10.1.1", "Policies and procedures for logging and monitoring are documented and known", "customer",
           operator="Publish the logging policy (docs/detection.md describes the AWS part)."),
        _r("10.2.1", "Audit logs are enabled and active for every system component and for cardholder data",
           "met", AUDIT_LOGS, ("GP010", "GP011", T_TRAIL, T_FLOW)),
        _r("10.2.1.1", "Audit logs capture every individual user access to cardholder data", "partly",
           DATA_ACCESS_LOGS, (T_TRAIL, T_PG_ROLES),
           "The services log which customer's data each request read (application logs)."),
        _r("10.2.1.2", "Audit logs capture every action by anyone with administrative access", "met", ADMIN_LOGS,
           (T_TRAIL, T_EKS)),
        _r("10.2.1.3", "Audit logs capture every access to audit logs", "met", DATA_ACCESS_LOGS, (T_TRAIL,)),
        _r("10.2.1.4", "Audit logs capture invalid logical access attempts", "met", ADMIN_LOGS, (T_TRAIL, T_EKS)),
        _r("10.2.1.5", "Audit logs capture every change to identification and authentication credentials", "met",
           TRAIL, (T_TRAIL,)),
        _r("10.2.1.6", "Audit logs capture initialization, stopping or pausing of the audit logs", "met",
           combine(TRAIL, CONFIG_RECORDING), (T_TRAIL, "GP011")),
        _r("10.2.1.7", "Audit logs capture creation and deletion of system-level objects", "met",
           combine(TRAIL, CONFIG_RECORDING), (T_TRAIL, T_CONFIG)),
        _r("10.2.2", "Each audit log record holds user, event type, time, outcome, origin and affected resource",
           "inherited", TRAIL, (T_TRAIL,), "The record format of CloudTrail, flow logs and EKS logs is AWS's."),
        _r("10.3.1", "Read access to audit log files is limited to those with a job-related need", "partly",
           LOG_READ_ACCESS, ("GP001", T_AUDIT),
           "Grant people read access to logs only through a dedicated IdP role."),
        _r("10.3.2", "Audit log files are protected from modification", "met", WRITE_ONCE_LOGS,
           ("GP010", T_AUDIT, T_APP_RULES)),
        _r("10.3.3", "Audit log files are promptly backed up to a secure, central store that is hard to alter",
           "met", WRITE_ONCE_LOGS, ("GP010", T_AUDIT)),
        _r("10.3.4", "File-integrity monitoring or change detection protects audit logs from change", "met",
           LOG_FILE_VALIDATION, ("GP010", T_TRAIL)),
        _r("10.4.1", "Security events and the logs of critical components are reviewed at least daily", "partly",
           AUTOMATED_REVIEW, (T_FINDINGS, "GP012"),
           "Someone on call reads the security topic's alerts and Security Hub every day."),
        _r("10.4.1.1", "Automated mechanisms perform the audit log reviews", "met", AUTOMATED_REVIEW,
           (T_DETECTOR, T_FINDINGS, "GP011", "GP012")),
        _r("10.4.2", "Logs of all other components are reviewed periodically", "customer",
           operator="Set the frequency in the targeted risk analysis (10.4.2.1) and review."),
        _r("10.4.3", "Exceptions and anomalies found in the review are addressed", "customer",
           operator="docs/runbooks/security-findings.md."),
        _r("10.5.1", "Audit log history is kept at least 12 months, the last three months immediately available",
           "met", RETENTION, ("GP010", "GP013", T_AUDIT, T_FLOW)),
        _r("10.6.1", "System clocks are synchronized with time-synchronization technology", "inherited",
           operator="Amazon Time Sync Service on every node and managed service."),
        _r("10.6.2", "Systems keep the correct and consistent time", "inherited", operator="Amazon Time Sync Service."),
        _r("10.6.3", "Time synchronization settings and data are protected", "inherited",
           operator="Amazon Time Sync Service is reached at a link-local address only inside AWS."),
        _r("10.7.2", "Failures of critical security control systems are detected, alerted and addressed promptly",
           "met", CONTROL_FAILURES, ("GP011", "GP012", T_SUBSCRIBED, T_ALARMS)),
        _r("10.7.3", "Failures of critical security control systems are responded to promptly", "partly",
           FINDINGS_ROUTED, ("GP012", T_FINDINGS),
           "Restore the failed control, find the cause and document it (docs/runbooks/security-findings.md)."),
    )),
    Group("11", "Test security of systems and networks regularly", (
        _r("11.1.1", "Policies and procedures for security testing are documented and known", "customer",
           operator="Publish the security-testing policy."),
        _r("11.2.1", "Authorized and unauthorized wireless access points are managed (quarterly)", "customer",
           operator="No wireless network is part of the AWS environment; apply to the company's sites."),
        _r("11.2.2", "An inventory of authorized wireless access points is kept", "customer",
           operator="As 11.2.1."),
        _r("11.3.1", "Internal vulnerability scans run at least every three months; high-risk and critical ones are "
           "fixed", "partly", VULNERABILITY_SCANS, (T_INSPECTOR,),
           "Fix Inspector's high and critical findings and rescan; keep the quarterly evidence."),
        _r("11.3.1.1", "All other vulnerabilities are managed per the targeted risk analysis", "customer",
           operator="Track the lower findings of Inspector."),
        _r("11.3.1.2", "Internal scans are authenticated", "partly", VULNERABILITY_SCANS, (T_INSPECTOR,),
           "Inspector reads packages from inside EC2 (SSM) and ECR images; document what it cannot reach."),
        _r("11.3.1.3", "Internal scans run after every significant change", "partly", VULNERABILITY_SCANS,
           (T_INSPECTOR,), "Inspector rescans continuously; keep the evidence for each significant change."),
        _r("11.3.2", "External vulnerability scans by a PCI SSC Approved Scanning Vendor run every three months",
           "customer", operator="Book the quarterly ASV scans of the API's and the CDN's public names."),
        _r("11.3.2.1", "External scans run after every significant change", "customer",
           operator="Rescan the public names after significant changes."),
        _r("11.4.1", "A penetration-testing methodology is defined and followed", "customer",
           operator="Define the methodology and have it run by a qualified tester."),
        _r("11.4.2", "Internal penetration tests run yearly and after significant changes", "customer",
           operator="Book them."),
        _r("11.4.3", "External penetration tests run yearly and after significant changes", "customer",
           operator="Book them (AWS allows tests of most services without approval)."),
        _r("11.4.4", "Exploitable vulnerabilities found by penetration tests are fixed and retested", "customer",
           operator="Fix and retest."),
        _r("11.4.5", "Segmentation controls are tested yearly", "customer",
           operator="Test that only the documented paths reach the CDE (security groups, DNS Firewall)."),
        _r("11.4.6", "Service providers test segmentation controls every six months", "customer",
           operator="As 11.4.5, every six months."),
        _r("11.5.1", "Intrusion-detection or -prevention techniques detect and alert on intrusions into the network",
           "met", INTRUSION_DETECTION, ("GP011", T_DETECTOR, T_DNS_FW)),
        _r("11.5.1.1", "Service providers detect and respond to covert malware communication channels", "partly",
           COVERT_CHANNELS, (T_DETECTOR, T_DNS_FW), "Act on GuardDuty's command-and-control findings."),
        _r("11.5.2", "A change-detection mechanism alerts on unauthorized changes to critical files", "partly",
           CHANGE_DETECTION, ("GP011", T_CONFIG),
           "AWS Config watches the AWS configuration and CloudTrail validates the logs; add file-integrity "
           "monitoring for the nodes' critical files if your assessor asks for it."),
        _r("11.6.1", "A change- and tamper-detection mechanism alerts on unauthorized changes to payment pages",
           "customer", operator="Monitor the payment page's HTTP headers and scripts (the CSP reports help)."),
    )),
    Group("12", "Support information security with organizational policies and programs", (
        _r("12.1.1", "An information security policy is established, published, maintained and known", "customer",
           operator="The company's policy."),
        _r("12.3.1", "Targeted risk analyses are performed for requirements that allow a frequency", "customer",
           operator="Write them (10.4.2.1, 11.3.1.1, 5.2.3.1, 7.2.5.1, 8.6.3 ...)."),
        _r("12.5.1", "An inventory of in-scope system components is kept current", "partly", None,
           ("tests/test_inventory.py",),
           "The synthesized JSON and tests/stateful_addresses.json list the AWS components; add the rest."),
        _r("12.5.2", "PCI DSS scope is documented and confirmed at least yearly and after significant change",
           "customer", operator="Confirm the scope yearly; these checklists list the AWS layer."),
        _r("12.6.1", "A security awareness program makes personnel aware of the policy", "customer",
           operator="Run the program."),
        _r("12.8.1", "A list of third-party service providers sharing or affecting account data is kept", "customer",
           operator="AWS is one: keep its Attestation of Compliance and responsibility summary (AWS Artifact)."),
        _r("12.8.5", "Which requirements each third-party service provider manages is documented", "customer",
           operator="This checklist's `inherited` rows are AWS's: confirm them against AWS's responsibility summary."),
        _r("12.10.1", "An incident response plan exists and is ready to be activated", "customer",
           operator="The company's plan; docs/runbooks/security-findings.md is its AWS part."),
        _r("12.10.3", "Specific personnel are available around the clock to respond to suspected incidents",
           "customer", operator="Staff the on-call rotation that receives the security topic."),
        _r("12.10.4", "Incident response personnel are trained", "customer", operator="Train them."),
        _r("12.10.5", "The incident response plan covers alerts from security monitoring systems", "met",
           ALERT_RESPONSE, ("GP012", T_FINDINGS, T_SUBSCRIBED)),
        _r("12.10.6", "The incident response plan is modified from lessons learned", "customer",
           operator="Update the plan after each incident."),
        _r("12.10.7", "Procedures start when PAN is found where it is not expected", "customer",
           operator="Scan for stray PAN (for example Amazon Macie, not deployed here) and respond."),
    )),
    Group("A", "Appendices", (
        _r("A1.1.1", "Multi-tenant service providers separate their customers' environments", "customer",
           operator="The platform hosts no customer environments."),
        _r("A2.1.1", "POS POI terminals using SSL or early TLS are confirmed not vulnerable", "customer",
           operator="No POI terminal connects to this platform directly."),
        _r("A3.1.1", "Designated entities: a compliance program is established (only when designated)", "customer",
           operator="Only if the acquirer or a brand designates the company."),
    )),
)


# --------------------------------------------------------------------------------------------------
# SOC 2: Trust Services Criteria (AICPA 2017, revised points of focus 2022)
# --------------------------------------------------------------------------------------------------

SOC2: tuple[Group, ...] = (
    Group("CC1-CC5", "Control environment, communication, risk assessment, monitoring, control activities", (
        _r("CC1", "The entity shows commitment to integrity, oversight, structure, competence and accountability",
           "customer", operator="The company's governance."),
        _r("CC2", "The entity obtains and communicates the information internal control needs", "customer",
           operator="The company's communication of policies; these pages are part of the system description."),
        _r("CC3", "The entity identifies and assesses risks, fraud risk and significant changes", "customer",
           operator="The company's risk assessment."),
        _r("CC4.1", "The entity runs ongoing and separate evaluations of its controls", "partly",
           CONFIG_AND_VULNERABILITIES, (T_CONFIG, T_SHUB),
           "AWS Config's conformance pack and Security Hub evaluate continuously; add the separate evaluations."),
        _r("CC4.2", "The entity evaluates and communicates deficiencies in time", "customer",
           operator="Track findings to closure."),
        _r("CC5.1", "The entity selects and develops control activities that mitigate risks", "customer",
           operator="The company's control selection; this repository's policy rules are some of them."),
        _r("CC5.2", "The entity selects and develops general controls over technology", "partly", None,
           ("GP001", "GP008", T_PLAN), "Own the synth-time policy and its suppressions (docs/safe-change.md)."),
        _r("CC5.3", "The entity deploys control activities through policies and procedures", "customer",
           operator="Publish the policies."),
    )),
    Group("CC6", "Logical and physical access controls", (
        _r("CC6.1", "Logical access security software, infrastructure and architecture protect information assets",
           "met", ACCESS_SECURITY, ("GP001", "GP004", "GP008", T_IDENTITY, T_KEYS)),
        _r("CC6.2", "Users are registered and authorized before credentials are issued, and removed when no longer "
           "authorized", "customer", operator="The identity provider's joiner-mover-leaver process."),
        _r("CC6.3", "Access is authorized, changed or removed by role, least privilege and segregation of duties",
           "met", combine(WORKLOAD_ROLES, SYSTEM_ROLES), ("GP008", "GP009", T_IDENTITY, T_MASTER),
           "The people's roles are in the identity provider."),
        _r("CC6.4", "Physical access to facilities and protected information assets is restricted", "inherited",
           operator="AWS data centres (AWS SOC 2 report, in AWS Artifact)."),
        _r("CC6.5", "Protections are removed only after the ability to read data from assets is diminished",
           "inherited", operator="AWS decommissions media; KMS-encrypted data is unreadable once its key is deleted."),
        _r("CC6.6", "Logical access measures protect against threats from outside the system boundaries", "met",
           combine(INBOUND, PUBLIC_ENTRY, WEB_FIREWALL, NOT_REACHABLE), ("GP003", "GP004", "GP015", T_WAF)),
        _r("CC6.7", "Transmission, movement and removal of information is restricted and protected", "met",
           combine(TLS_OUTSIDE, TRANSIT_ENCRYPTION, OUTBOUND), ("GP002", "GP014", "GP015", T_ENDPOINTS)),
        _r("CC6.8", "Unauthorized or malicious software is prevented or detected", "partly",
           combine(MALWARE, VULNERABILITY_SCANS), (T_DETECTOR, T_INSPECTOR),
           "Sign and admit only the company's images (admission control) and act on findings."),
    )),
    Group("CC7", "System operations", (
        _r("CC7.1", "Detection and monitoring find configuration changes that introduce vulnerabilities, and new "
           "vulnerabilities", "met", CONFIG_AND_VULNERABILITIES, ("GP011", T_CONFIG, T_INSPECTOR)),
        _r("CC7.2", "System components are monitored for anomalies indicating malicious acts, disasters and errors",
           "met", ANOMALY_MONITORING, ("GP010", "GP011", "GP012", T_DETECTOR, T_TRAIL)),
        _r("CC7.3", "Security events are evaluated to decide whether they are incidents", "partly",
           AUTOMATED_REVIEW, (T_FINDINGS, "GP012"), "Triage the security topic's alerts."),
        _r("CC7.4", "Identified security incidents are responded to with a defined program", "partly",
           FINDINGS_ROUTED, ("GP012", T_FINDINGS), "The incident response plan (PCI DSS 12.10)."),
        _r("CC7.5", "The entity identifies, develops and runs activities to recover from incidents", "partly",
           INCIDENT_RECOVERY, (T_FAILOVER, "GP007"),
           "Run the restore and failover runbooks; review the lessons."),
    )),
    Group("CC8", "Change management", (
        _r("CC8.1", "Changes to infrastructure, data, software and procedures are authorized, designed, tested, "
           "approved and implemented", "partly", None, (T_PLAN, "tests/test_pipeline.py", "tests/test_inventory.py"),
           "Approve every plan in the pipeline; the policy, inventory and plan review refuse unsafe changes."),
    )),
    Group("CC9", "Risk mitigation", (
        _r("CC9.1", "Risk mitigation activities address potential business disruptions", "partly",
           INCIDENT_RECOVERY, (T_FAILOVER,), "The business continuity plan beyond the AWS layer."),
        _r("CC9.2", "Risks from vendors and business partners are assessed and managed", "customer",
           operator="Vendor management; AWS's SOC 2 report (AWS Artifact) for AWS."),
    )),
    Group("A1", "Availability", (
        _r("A1.1", "Processing capacity and use are maintained, monitored and evaluated to meet objectives", "partly",
           CAPACITY, (T_ALARMS,), "Review capacity against growth (the cost and capacity alarms help)."),
        _r("A1.2", "Environmental protections, software, backups and recovery infrastructure are in place",
           "met", BACKUP_AND_RECOVERY, ("GP007", T_FAILOVER,
                                        "tests/test_edge.py::test_every_data_bucket_has_a_copy_in_another_region"),
           "The data centres' environmental protections are AWS's (inherited)."),
        _r("A1.3", "Recovery plan procedures are tested", "partly", RECOVERY_TEST, (T_FAILOVER,),
           "Run the game day (docs/runbooks/game-day.md) and keep its record."),
    )),
)

STANDARDS: dict[str, tuple[Group, ...]] = {"pci-dss": PCI_DSS, "soc2": SOC2}
