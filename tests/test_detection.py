"""Detection and response (docs/detection.md): read the synthesized JSON as an assessor reads the plan.

Account mode (the default) builds every service in every region, the account-wide singletons once; organization
mode builds none of the organization's services and asserts them instead. Every alarm and security topic has a
subscription, and the rules AWS enforces but the emulator does not (the EventBridge grant in the key policy, no
Object Lock under AWS Config) are checked here.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from constructs_lib.config import load_config
from constructs_lib.detection import FSBP_STANDARD, GUARDDUTY_FEATURES, PCI_DSS_STANDARD
from constructs_lib.resource_recording import (
    PCI_PACK_WITH_GLOBAL,
    PCI_PACK_WITHOUT_GLOBAL,
    TEMPLATE_BODY_MAX_BYTES,
    conformance_pack,
)
from constructs_lib.validation import validate
from regions import REGION_SPECS
from tests.synth import Synth, by_path, policy, resources, synth

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ORIGIN = "us-east-1"
ORGANIZATION = {"security": {"mode": "organization"}}


def security(s: Synth, region: str, env: str = "prod") -> dict[str, Any]:
    return s[f"globalpay-{env}-{region}-security"]


def everywhere(s: Synth, rtype: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(name, logical, cfg) for name in s for logical, cfg in resources(s[name], rtype).items()]


@pytest.fixture(scope="module")
def organization() -> Synth:
    return synth("prod", ORGANIZATION)


# ------------------------------------------------------------------------------------------------------
# Account mode: every service in every region
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_guardduty_detector_has_the_five_protections(prod: Synth, region: str) -> None:
    stack = security(prod, region)
    (detector,) = resources(stack, "aws_guardduty_detector").values()
    assert detector["enable"] is True
    features = {f["name"]: f for f in resources(stack, "aws_guardduty_detector_feature").values()}
    assert set(features) == set(GUARDDUTY_FEATURES) == {
        "EKS_AUDIT_LOGS", "RUNTIME_MONITORING", "RDS_LOGIN_EVENTS", "S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION"}
    assert all(f["status"] == "ENABLED" for f in features.values())
    assert features["RUNTIME_MONITORING"]["additional_configuration"] == [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}]


@pytest.mark.parametrize("region", REGIONS)
def test_malware_protection_scans_the_regions_data_bucket(prod: Synth, region: str) -> None:
    stack = security(prod, region)
    (plan,) = resources(stack, "aws_guardduty_malware_protection_plan").values()
    assert plan["protected_resource"][0]["s3_bucket"][0]["bucket_name"] == f"globalpay-prod-data-123456789012-{region}"
    assert plan["actions"][0]["tagging"][0]["status"] == "ENABLED"
    role = by_path(stack, "aws_iam_role", "guardduty/malware-protection-role")
    trust = policy(role, "assume_role_policy")["Statement"][0]
    assert trust["Principal"] == {"Service": "malware-protection-plan.guardduty.amazonaws.com"}
    # The bucket sends its object events to EventBridge, which is how GuardDuty sees new objects.
    core = prod[f"globalpay-prod-{region}"]
    notifications = [n for n in resources(core, "aws_s3_bucket_notification").values() if "data-bucket" in n["bucket"]]
    assert notifications and notifications[0]["eventbridge"] is True


@pytest.mark.parametrize("region", REGIONS)
def test_security_hub_runs_pci_dss_v4_and_fsbp(prod: Synth, region: str) -> None:
    stack = security(prod, region)
    (hub,) = resources(stack, "aws_securityhub_account").values()
    assert hub["enable_default_standards"] is False and hub["control_finding_generator"] == "SECURITY_CONTROL"
    arns = sorted(s["standards_arn"] for s in resources(stack, "aws_securityhub_standards_subscription").values())
    assert [a.split("::", 1)[1] for a in arns] == sorted([FSBP_STANDARD, PCI_DSS_STANDARD])
    assert all(f":securityhub:{region}::" in a for a in arns)
    aggregators = list(resources(stack, "aws_securityhub_finding_aggregator").values())
    if region == ORIGIN:
        assert aggregators[0]["linking_mode"] == "SPECIFIED_REGIONS"
        assert sorted(aggregators[0]["specified_regions"]) == sorted(r for r in REGIONS if r != ORIGIN)
    else:
        assert not aggregators


@pytest.mark.parametrize("region", REGIONS)
def test_inspector_and_access_analyzer(prod: Synth, region: str) -> None:
    stack = security(prod, region)
    (inspector,) = resources(stack, "aws_inspector2_enabler").values()
    assert sorted(inspector["resource_types"]) == ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
    (analyzer,) = resources(stack, "aws_accessanalyzer_analyzer").values()
    assert analyzer["type"] == "ACCOUNT" and analyzer["analyzer_name"] == f"globalpay-prod-access-analyzer-{region}"


@pytest.mark.parametrize("region", REGIONS)
def test_config_records_every_resource_and_runs_the_pci_pack(prod: Synth, region: str) -> None:
    stack = security(prod, region)
    (recorder,) = resources(stack, "aws_config_configuration_recorder").values()
    group = recorder["recording_group"]
    assert group["all_supported"] is True
    # Global resource types (IAM) in one region only.
    assert group["include_global_resource_types"] is (region == ORIGIN)
    (channel,) = resources(stack, "aws_config_delivery_channel").values()
    assert channel["s3_bucket_name"] == "globalpay-prod-config-123456789012-us-east-1" and channel["s3_kms_key_arn"]
    (status,) = resources(stack, "aws_config_configuration_recorder_status").values()
    assert status["is_enabled"] is True
    (pack,) = resources(stack, "aws_config_conformance_pack").values()
    deployed = json.loads(pack["template_body"])
    expected = conformance_pack(PCI_PACK_WITH_GLOBAL if region == ORIGIN else PCI_PACK_WITHOUT_GLOBAL)
    # The rules deployed are exactly the pinned template's rules, parameters at the template's defaults.
    assert deployed == expected["template"]
    rules = {r["Properties"]["Source"]["SourceIdentifier"] for r in deployed["Resources"].values()}
    assert {"MULTI_REGION_CLOUD_TRAIL_ENABLED", "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS", "EKS_SECRETS_ENCRYPTED"} <= rules
    assert len(pack["template_body"].encode()) <= TEMPLATE_BODY_MAX_BYTES


def test_conformance_packs_record_their_pinned_source() -> None:
    """Each pack names the repository, path and commit it was derived from (scripts/conformance_pack.py), and
    only holds AWS Config rules."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "conformance_pack.py"
    spec = importlib.util.spec_from_file_location("conformance_pack_script", script)
    assert spec and spec.loader
    text = script.read_text()
    for name in (PCI_PACK_WITH_GLOBAL, PCI_PACK_WITHOUT_GLOBAL):
        source = conformance_pack(name)["source"]
        assert source["repository"] == "https://github.com/awslabs/aws-config-rules"
        assert source["commit"] in text and len(source["commit"]) == 40
        assert source["path"].startswith("aws-config-conformance-packs/Operational-Best-Practices-for-PCI-DSS-v4.0-")
        assert len(source["sha256"]) == 64
        types = {r["Type"] for r in conformance_pack(name)["template"]["Resources"].values()}
        assert types == {"AWS::Config::ConfigRule"}


def test_one_multi_region_trail_with_validation_kms_logs_and_data_events(prod: Synth) -> None:
    trails = everywhere(prod, "aws_cloudtrail")
    assert [t[0] for t in trails] == [f"globalpay-prod-{ORIGIN}-security"]
    trail = trails[0][2]
    assert trail["is_multi_region_trail"] is True and trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["kms_key_id"] and trail["cloud_watch_logs_group_arn"].endswith(":*") and trail["cloud_watch_logs_role_arn"]
    selectors = trail["advanced_event_selector"]
    management = [s for s in selectors if {"field": "eventCategory", "equals": ["Management"]} in s["field_selector"]]
    assert management and len(management[0]["field_selector"]) == 1  # read and write, every service
    (data,) = [s for s in selectors if {"field": "eventCategory", "equals": ["Data"]} in s["field_selector"]]
    prefixes = next(f["starts_with"] for f in data["field_selector"] if f["field"] == "resources.ARN")
    buckets = {p.split(":::", 1)[1].rstrip("/") for p in prefixes}
    assert {"globalpay-prod-terraform-state-123456789012", "globalpay-prod-terraform-state-123456789012-eu-west-1",
            *(f"globalpay-prod-data-123456789012-{r}" for r in REGIONS)} <= buckets
    stack = security(prod, ORIGIN)
    bucket = by_path(stack, "aws_s3_bucket", "trail/bucket/bucket")
    assert "object_lock_enabled" not in bucket and bucket["lifecycle"]["prevent_destroy"] is True  # never ForceNew
    lock = by_path(stack, "aws_s3_bucket_object_lock_configuration", "trail/bucket/object-lock")
    assert lock["object_lock_enabled"] == "Enabled" and lock["rule"]["default_retention"] == {"mode": "COMPLIANCE", "days": 365}
    log_group = by_path(stack, "aws_cloudwatch_log_group", "trail/log-group")
    assert log_group["lifecycle"]["prevent_destroy"] is True and log_group["retention_in_days"] >= 365


def test_staging_locks_the_trail_in_governance_mode(staging: Synth) -> None:
    lock = by_path(security(staging, ORIGIN, "staging"), "aws_s3_bucket_object_lock_configuration", "trail/bucket/object-lock")
    assert lock["rule"]["default_retention"]["mode"] == "GOVERNANCE"


def test_account_wide_singletons_exist_once(prod: Synth) -> None:
    for rtype in ("aws_cloudtrail", "aws_iam_account_password_policy", "aws_s3_account_public_access_block",
                  "aws_iam_service_linked_role", "aws_securityhub_finding_aggregator"):
        found = everywhere(prod, rtype)
        assert len(found) == 1 and found[0][0] == f"globalpay-prod-{ORIGIN}-security", (rtype, found)
    support = [cfg for *_, cfg in everywhere(prod, "aws_iam_role_policy_attachment") if cfg["policy_arn"].endswith(":iam::aws:policy/AWSSupportAccess")]
    assert len(support) == 1
    # per region: EBS encryption by default with the region's data key
    for region in REGIONS:
        stack = security(prod, region)
        assert [e["enabled"] for e in resources(stack, "aws_ebs_encryption_by_default").values()] == [True]
        (key,) = resources(stack, "aws_ebs_default_kms_key").values()
        assert f"{region}-keys" in key["key_arn"]


def test_password_policy_meets_pci_dss_8_3(prod: Synth) -> None:
    ((_, _, pp),) = everywhere(prod, "aws_iam_account_password_policy")
    assert pp["minimum_password_length"] >= 12  # PCI DSS 8.3.6
    assert all(pp[k] is True for k in ("require_uppercase_characters", "require_lowercase_characters", "require_numbers", "require_symbols"))
    assert pp["password_reuse_prevention"] >= 4 and pp["max_password_age"] <= 90  # 8.3.7, 8.3.9


# ------------------------------------------------------------------------------------------------------
# Findings and alarms reach people
# ------------------------------------------------------------------------------------------------------


def test_every_alarm_and_security_topic_has_a_subscription(prod: Synth, staging: Synth) -> None:
    for synthesized in (prod, staging):
        topics = [(name, logical, cfg) for name, logical, cfg in everywhere(synthesized, "aws_sns_topic")
                  if "payment-events" not in cfg["name"]]
        assert len(topics) == 7  # an alarm topic per region, the global one, a security topic per region
        for name, logical, cfg in topics:
            subscribed = [s for s in resources(synthesized[name], "aws_sns_topic_subscription").values()
                          if s["topic_arn"] == f"${{aws_sns_topic.{logical}.arn}}"]
            assert subscribed, f"{name}: {cfg['name']} has no subscription"
            assert {s["endpoint"] for s in subscribed} == {"platform-oncall@globalpay.com"}
            assert all(s["protocol"] == "email" for s in subscribed)


def test_every_alarm_notifies_a_subscribed_topic(prod: Synth) -> None:
    for name, _, alarm in everywhere(prod, "aws_cloudwatch_metric_alarm"):
        assert alarm["alarm_actions"], f"{name}: {alarm['alarm_name']} notifies nobody"


@pytest.mark.parametrize("region", REGIONS)
def test_findings_route_to_the_encrypted_security_topic(prod: Synth, region: str) -> None:
    stack = security(prod, region)
    (topic_logical, topic), = resources(stack, "aws_sns_topic").items()
    assert topic["name"] == "globalpay-prod-security-findings" and "keys" in topic["kms_master_key_id"]
    rules = {r["name"].removeprefix("globalpay-prod-findings-"): json.loads(r["event_pattern"])
             for r in resources(stack, "aws_cloudwatch_event_rule").values()}
    assert {"guardduty", "securityhub-critical-high", "securityhub-pci-failed", "inspector-critical"} <= set(rules)
    assert rules["guardduty"]["detail"]["severity"] == [{"numeric": [">=", 4]}]
    assert rules["securityhub-pci-failed"]["detail"]["findings"]["Compliance"]["AssociatedStandards"]["StandardsId"] == [PCI_DSS_STANDARD]
    assert rules["securityhub-critical-high"]["detail"]["findings"]["Region"] == [region]
    assert rules["inspector-critical"]["detail"]["severity"] == ["CRITICAL"]
    targets = resources(stack, "aws_cloudwatch_event_target").values()
    assert len(targets) == len(rules)
    assert all(t["arn"] == f"${{aws_sns_topic.{topic_logical}.arn}}" for t in targets)
    failed = [a for a in resources(stack, "aws_cloudwatch_metric_alarm").values() if a["metric_name"] == "FailedInvocations"]
    assert len(failed) == len(rules)


def test_deleted_evidence_pages_in_the_buckets_region(prod: Synth) -> None:
    """Every bucket that sends its events to EventBridge is either scanned (data) or watched for deletions in a
    rule of its own region's security stack."""
    watched: dict[str, set[str]] = {}
    for region in REGIONS:
        for rule in resources(security(prod, region), "aws_cloudwatch_event_rule").values():
            pattern = json.loads(rule["event_pattern"])
            if pattern.get("detail-type") == ["Object Deleted"]:
                watched[region] = set(pattern["detail"]["bucket"]["name"])
                assert pattern["detail"]["reason"] == [{"anything-but": ["Lifecycle Expiration"]}]
    assert {"globalpay-prod-trail-123456789012-us-east-1", "globalpay-prod-config-123456789012-us-east-1",
            "globalpay-prod-cdn-logs-123456789012-us-east-1",
            "globalpay-prod-terraform-state-123456789012"} <= watched[ORIGIN]
    assert "globalpay-prod-terraform-state-123456789012-eu-west-1" in watched["eu-west-1"]
    for name in prod:
        stack = prod[name]
        region = stack["provider"]["aws"][0]["region"]
        for notification in resources(stack, "aws_s3_bucket_notification").values():
            bucket_ref = notification["bucket"].split(".")[1]
            bucket = stack["resource"]["aws_s3_bucket"][bucket_ref]
            provider = notification.get("provider", "aws")
            regions = {b.get("alias", ""): b["region"] for b in stack["provider"]["aws"]}
            bucket_region = regions[provider.removeprefix("aws.")] if provider != "aws" else region
            if bucket["bucket"].startswith("globalpay-prod-data-"):
                continue
            assert bucket["bucket"] in watched.get(bucket_region, set()), f"{name}: {bucket['bucket']} sends events nobody reads"


# ------------------------------------------------------------------------------------------------------
# Organization mode
# ------------------------------------------------------------------------------------------------------


def test_organization_mode_asserts_instead_of_creating(organization: Synth) -> None:
    for rtype in ("aws_guardduty_detector", "aws_guardduty_detector_feature", "aws_securityhub_account",
                  "aws_securityhub_standards_subscription", "aws_config_configuration_recorder",
                  "aws_config_delivery_channel", "aws_cloudtrail", "aws_iam_service_linked_role"):
        assert not everywhere(organization, rtype), rtype
    for region in REGIONS:
        stack = security(organization, region)
        assert list(stack["data"]["aws_guardduty_detector"])  # planning fails without the organization's detector
        asserted = {r["source"]["source_identifier"] for r in resources(stack, "aws_config_config_rule").values()}
        assert {"GUARDDUTY_ENABLED_CENTRALIZED", "SECURITYHUB_ENABLED"} <= asserted
        # the PCI pack (which reports the organization trail: MULTI_REGION_CLOUD_TRAIL_ENABLED) still runs
        (pack,) = resources(stack, "aws_config_conformance_pack").values()
        assert "MULTI_REGION_CLOUD_TRAIL_ENABLED" in pack["template_body"]
        # what the organization does not own is still built here; findings still reach people
        assert resources(stack, "aws_inspector2_enabler") and resources(stack, "aws_accessanalyzer_analyzer")
        assert resources(stack, "aws_guardduty_malware_protection_plan") and resources(stack, "aws_cloudwatch_event_rule")


def test_organization_mode_lists_the_detector_as_a_prerequisite() -> None:
    from regions.prerequisites import prerequisites

    config = load_config("prod", REGION_SPECS, ORGANIZATION)
    assert {p.region for p in prerequisites(config) if p.kind == "guardduty_detector"} == set(REGIONS)
    assert not [p for p in prerequisites(load_config("prod", REGION_SPECS)) if p.kind == "guardduty_detector"]


# ------------------------------------------------------------------------------------------------------
# Rules AWS enforces and the emulator does not (docs/safe-change.md)
# ------------------------------------------------------------------------------------------------------


def key_statements_granting_eventbridge(stack: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key in resources(stack, "aws_kms_key").values():
        for statement in policy(key)["Statement"]:
            services = statement.get("Principal", {}).get("Service", [])
            if "events.amazonaws.com" in ([services] if isinstance(services, str) else services):
                out.append(statement)
    return out


def eventbridge_grant_problems(statements: list[dict[str, Any]]) -> list[str]:
    """Amazon SNS Developer Guide, "Key management" ("Configure AWS KMS permissions"): "Adding the
    aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported for EventBridge-to-encrypted
    topics". With one, EventBridge's deliveries fail and only the rule's FailedInvocations metric says so."""
    problems = []
    for s in statements:
        keys = {k.lower() for condition in s.get("Condition", {}).values() for k in condition}
        if keys & {"aws:sourceaccount", "aws:sourcearn"}:
            problems.append(f"{s.get('Sid')}: aws:SourceAccount/aws:SourceArn on events.amazonaws.com")
        actions = set(s["Action"]) if isinstance(s["Action"], list) else {s["Action"]}
        if not {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions:
            problems.append(f"{s.get('Sid')}: EventBridge needs kms:Decrypt and kms:GenerateDataKey*")
    return problems


@pytest.mark.parametrize("region", REGIONS)
def test_eventbridge_may_use_the_key_of_the_topics_it_delivers_to(prod: Synth, region: str) -> None:
    keys = prod[f"globalpay-prod-{region}-keys"]
    statements = key_statements_granting_eventbridge(keys)
    assert statements and eventbridge_grant_problems(statements) == []


def test_the_eventbridge_rule_fails_on_a_source_condition() -> None:
    """The grant the key policy had before: events.amazonaws.com next to CloudWatch, under aws:SourceAccount."""
    old = {"Sid": "ServicePrincipalsOfThisAccount", "Effect": "Allow",
           "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com"]},
           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
           "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    assert eventbridge_grant_problems([old]) == ["ServicePrincipalsOfThisAccount: aws:SourceAccount/aws:SourceArn on events.amazonaws.com"]


def config_delivery_problems(s: Synth) -> list[str]:
    """AWS CloudFormation template reference, AWS::Config::DeliveryChannel: "AWS Config does not support the
    delivery channel to an Amazon S3 bucket where object lock is enabled"."""
    locked = set()
    for name in s:  # a bucket is locked by its aws_s3_bucket_object_lock_configuration (constructs_lib/storage.py)
        buckets = s[name].get("resource", {}).get("aws_s3_bucket", {})
        for lock in s[name].get("resource", {}).get("aws_s3_bucket_object_lock_configuration", {}).values():
            ref = lock["bucket"].removeprefix("${aws_s3_bucket.").split(".")[0]
            locked.add(buckets[ref]["bucket"] if ref in buckets else lock["bucket"])
    return [f"{name}: delivery channel into {cfg['s3_bucket_name']}, an Object Lock bucket"
            for name, _, cfg in everywhere(s, "aws_config_delivery_channel") if cfg["s3_bucket_name"] in locked]


def test_config_never_delivers_into_an_object_lock_bucket(prod: Synth) -> None:
    assert everywhere(prod, "aws_config_delivery_channel")
    assert config_delivery_problems(prod) == []


def test_the_config_delivery_rule_fails_on_a_locked_bucket(prod: Synth) -> None:
    trail_bucket = by_path(security(prod, ORIGIN), "aws_s3_bucket", "trail/bucket/bucket")["bucket"]
    planted = json.loads(json.dumps(prod[f"globalpay-prod-{ORIGIN}-security"]))
    for channel in planted["resource"]["aws_config_delivery_channel"].values():
        channel["s3_bucket_name"] = trail_bucket

    class One(dict):
        def __iter__(self):  # a Synth-like view of one planted stack
            return iter(self.keys())

    assert config_delivery_problems(One({"planted": planted})) != []  # type: ignore[arg-type]


def test_the_configuration_bucket_denies_deleting_history(prod: Synth) -> None:
    bucket_policy = next(p for p in resources(security(prod, ORIGIN), "aws_s3_bucket_policy").values()
                         if "config-bucket" in p["bucket"])
    deny = [s for s in policy(bucket_policy)["Statement"] if s["Effect"] == "Deny" and s["Principal"] == "*"
            and "s3:DeleteObjectVersion" in s["Action"]]
    assert deny


# ------------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "field", "rule"), [
    ({"observability": {"alert_endpoints": []}}, "observability.alert_endpoints", "prod needs at least one alert endpoint"),
    ({"observability": {"alert_endpoints": ["http://oncall.globalpay.com/sns"]}}, "observability.alert_endpoints[0]", "HTTPS only"),
    ({"observability": {"alert_endpoints": ["https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"]}},
     "observability.alert_endpoints[0]", "integration key"),
    ({"observability": {"alert_endpoints": ["https://hooks.example.com/sns?apiKey=x"]}}, "observability.alert_endpoints[0]", "query string"),
    ({"observability": {"alert_endpoints": ["on-call"]}}, "observability.alert_endpoints[0]", "neither an e-mail address"),
    ({"observability": {"alert_endpoints": ["a@globalpay.com", "a@globalpay.com"]}}, "observability.alert_endpoints", "twice"),
    ({"security": {"mode": "landing-zone"}}, "security.mode", "not a mode"),
    ({"security": {"mode": "organization", "organization_services": []}}, "security.organization_services", "at least one"),
    ({"security": {"organization_services": ["macie"]}}, "security.organization_services[0]", "not a service"),
    ({"security": {"guardduty_min_severity": 7}}, "security.guardduty_min_severity", "medium findings"),
    ({"security": {"trail_retention_days": 90}}, "security.trail_retention_days", "365"),
])
def test_bad_security_configuration_is_refused(overrides: dict, field: str, rule: str) -> None:
    errors = validate(load_config("prod", REGION_SPECS, overrides), REGION_SPECS)
    assert any(e.field == field and rule in e.rule for e in errors), [str(e) for e in errors]


def test_staging_may_run_without_endpoints_and_good_endpoints_pass() -> None:
    assert validate(load_config("staging", REGION_SPECS, {"observability": {"alert_endpoints": []}}), REGION_SPECS) == []
    good = {"observability": {"alert_endpoints": ["platform-oncall@globalpay.com", "https://oncall.globalpay.com/aws/sns"]}}
    assert validate(load_config("prod", REGION_SPECS, good), REGION_SPECS) == []


def test_https_endpoints_are_subscribed_as_https() -> None:
    endpoints = ["platform-oncall@globalpay.com", "https://oncall.globalpay.com/aws/sns"]
    s = synth("prod", {"observability": {"alert_endpoints": endpoints}, "regions": [{"name": "us-east-1"}, {"name": "eu-west-1"}]})
    subs = [cfg for *_, cfg in everywhere(s, "aws_sns_topic_subscription") if cfg["protocol"] != "sqs"]
    assert Counter(s_["protocol"] for s_ in subs) == Counter({"email": len(subs) // 2, "https": len(subs) // 2})
