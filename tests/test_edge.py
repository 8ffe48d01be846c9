"""WAF, Shield, alarms, dashboard, tracing, DR, budget, CloudFront and payment events, as a plan
reviewer reads them in the synthesized JSON.

Where they live (regions/app.py): the region's KMS keys in ``<region>-keys`` (read by cross-stack reference),
WAF, alarm topic, regional alarms, X-Ray, DLM, buckets and payment events in the core stack ``<region>``
(``operations/``), and what reads the ingress ALB or another region's bucket (Shield protection, ALB 5xx alarm,
S3 replication) in ``<region>-edge``, applied after the apps stacks' Ingress created the ALB and after the
global stack's Shield subscription.
"""

from __future__ import annotations

import json
import re

import pytest

from constructs_lib.config import load_config
from constructs_lib.validation import validate
from regions import REGION_SPECS
from tests.synth import Synth, by_path, policy, resources, synth, where

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
CORE = [f"globalpay-prod-{r}" for r in REGIONS]
GLOBAL = "globalpay-prod-global"
#: Every workspace of prod, in deploy order (regions/app.py).
ALL_STACKS = [
    "globalpay-prod-bootstrap",
    *(f"globalpay-prod-{r}{kind}" for r in REGIONS for kind in ("-keys", "", "-addons", "-apps")),
    GLOBAL,
    *(f"globalpay-prod-{r}-edge" for r in REGIONS),
]
STATEFUL_LOGS = ("aws_cloudwatch_log_group",)
#: A reference to a KMS key this project manages: in the same stack, or another stack's (``-keys``, bootstrap)
#: through a cdktf cross-stack output of an ``aws_kms_key``. Never an AWS managed key or a literal ARN.
OUR_KEY = re.compile(r"\$\{(aws_kms_key\.|data\.terraform_remote_state\.[^.}]+\.outputs\.cross-stack-output-aws_kms_key)")


def _core(prod: Synth, region: str) -> dict:
    return prod[f"globalpay-prod-{region}"]


def _edge(prod: Synth, region: str) -> dict:
    return prod[f"globalpay-prod-{region}-edge"]


def _region(stack_name: str) -> str:
    return next(r for r in REGIONS if r in stack_name)


def _address(stack: dict, rtype: str, path_suffix: str) -> str:
    """``<rtype>.<logical id>`` of the one resource whose construct path ends with ``path_suffix``: what another
    attribute of the same stack references it by."""
    found = [
        key for key, cfg in resources(stack, rtype).items()
        if cfg.get("//", {}).get("metadata", {}).get("path", "").endswith(path_suffix)
    ]
    assert len(found) == 1, f"{len(found)} {rtype} with path ending {path_suffix!r}"
    return f"{rtype}.{found[0]}"


def _cross(s: Synth, producer: str, rtype: str, path_suffix: str, attr: str = "arn") -> str:
    """How another stack reads ``attr`` of the resource at ``path_suffix`` in stack ``producer``: a cdktf
    cross-stack reference, i.e. the producer's output of that very attribute, through its remote state."""
    address = _address(s[producer], rtype, path_suffix)
    output = f"cross-stack-output-{address.replace('.', '')}{attr}"
    assert s[producer]["output"][output]["value"] == f"${{{address}.{attr}}}", output
    return f"${{data.terraform_remote_state.cross-stack-reference-input-{producer}.outputs.{output}}}"


def _data_key(s: Synth, region: str, env: str = "prod") -> str:
    """The region's data key (``encryption_data_key``), created by its ``-keys`` stack."""
    return _cross(s, f"globalpay-{env}-{region}-keys", "aws_kms_key", "/encryption/data/key")


def _alarm_topic(s: Synth, region: str) -> str:
    """The region's on-call topic, created by its core stack (``operations/alarm-topic``)."""
    return _cross(s, f"globalpay-prod-{region}", "aws_sns_topic", "/alarm-topic/topic")


def _alarm_names(stack: dict) -> set[str]:
    return {a["alarm_name"] for a in resources(stack, "aws_cloudwatch_metric_alarm").values()}


def _dependencies(s: Synth) -> dict[str, set[str]]:
    """``cdktf deploy`` applies a stack after every stack of its manifest ``dependencies``."""
    manifest = json.loads((s.outdir / "manifest.json").read_text())
    return {name: set(stack["dependencies"]) for name, stack in manifest["stacks"].items()}


# ---------------------------------------------------------------------------------------------------
# WAF and Shield
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CORE)
def test_regional_waf_has_the_guide_rate_rule_and_managed_groups(prod: Synth, stack: str) -> None:
    (acl,) = resources(prod[stack], "aws_wafv2_web_acl").values()
    assert acl["name"] == "globalpay-prod-waf"
    assert acl["scope"] == "REGIONAL"
    assert acl["default_action"] == {"allow": {}}
    assert acl["visibility_config"]["sampled_requests_enabled"] is True
    rules = {r["name"]: r for r in acl["rule"]}
    rate = rules["RateLimitRule"]
    assert rate["priority"] == 1 and rate["action"] == {"block": {}}
    assert rate["statement"]["rate_based_statement"] == [{"limit": 2000, "aggregate_key_type": "IP", "evaluation_window_sec": 300}]
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                  "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["statement"]["managed_rule_group_statement"] == [{"vendor_name": "AWS", "name": group}]
        assert rules[group]["override_action"] == {"none": {}}
    for rule in acl["rule"]:
        vis = rule["visibility_config"]
        assert vis["sampled_requests_enabled"] is True and vis["cloudwatch_metrics_enabled"] is True
    assert len({r["priority"] for r in acl["rule"]}) == len(acl["rule"])


@pytest.mark.parametrize("stack", CORE)
def test_waf_logs_are_kms_encrypted_named_for_waf_and_redact_authorization(prod: Synth, stack: str) -> None:
    s = prod[stack]
    group = by_path(s, "aws_cloudwatch_log_group", "/waf/log-group")
    assert group["name"] == "aws-waf-logs-globalpay-prod"
    assert group["kms_key_id"] == _data_key(prod, _region(stack))
    assert group["retention_in_days"] >= 365
    (logging,) = resources(s, "aws_wafv2_web_acl_logging_configuration").values()
    assert logging["redacted_fields"] == [{"single_header": {"name": "authorization"}}]
    assert logging["log_destination_configs"] == [f"${{{_address(s, 'aws_cloudwatch_log_group', '/waf/log-group')}.arn}}"]
    statement = policy(by_path(s, "aws_cloudwatch_log_resource_policy", "/waf/log-delivery-policy"), "policy_document")["Statement"][0]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}


def test_shield_advanced_protects_each_region_alb_found_by_name(prod: Synth, staging: Synth) -> None:
    """The protection reads the ALB the load balancer controller creates from the apps stack's Ingress, and
    needs the global stack's subscription: it lives in the region's ``-edge`` stack, applied after both."""
    for region in REGIONS:
        s = _edge(prod, region)
        (lb,) = s["data"]["aws_lb"].values()
        assert lb["name"] == "globalpay-prod-api"
        (protection,) = resources(s, "aws_shield_protection").values()
        assert protection["resource_arn"] == "${data.aws_lb.ingress-alb.arn}"
    # (The global stack protects the CloudFront distribution: tests/test_audit.py.)
    assert {name for name in prod if resources(prod[name], "aws_shield_protection")} == {
        *(f"globalpay-prod-{r}-edge" for r in REGIONS), GLOBAL
    }
    (subscription,) = resources(prod[GLOBAL], "aws_shield_subscription").values()
    assert subscription["auto_renew"] == "ENABLED" and subscription["skip_destroy"] is True
    assert subscription["lifecycle"]["prevent_destroy"] is True
    # Staging: no USD 3,000/month commitment, and so nothing to protect with it.
    assert not resources(staging["globalpay-staging-global"], "aws_shield_subscription")
    for name in staging:
        assert not resources(staging[name], "aws_shield_protection"), name


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_only_the_edge_and_global_stacks_read_the_alb(env: str) -> None:
    """The ALB does not exist until the load balancer controller has reconciled the apps stack's Ingress, and a
    data source that finds nothing fails the plan. With no two-phase deploy any more, only the stacks applied
    after every apps stack may read it: the regions' ``-edge`` stacks and the global stack (Route 53 health
    checks, failover records, dashboard)."""
    s = synth(env)
    readers = set()
    for name in s:
        stack = s[name]
        lb_sources = [t for t in stack.get("data", {}) if t.startswith(("aws_lb", "aws_alb"))]
        if lb_sources or "data.aws_lb" in json.dumps(stack) or "data.aws_alb" in json.dumps(stack):
            readers.add(name)
    assert readers == {f"globalpay-{env}-global", *(f"globalpay-{env}-{r}-edge" for r in REGIONS)}
    for region in REGIONS:
        edge = s[f"globalpay-{env}-{region}-edge"]
        assert {k: lb["name"] for k, lb in edge["data"]["aws_lb"].items()} == {"ingress-alb": f"globalpay-{env}-api"}
    assert {lb["name"] for lb in s[f"globalpay-{env}-global"]["data"]["aws_lb"].values()} == {f"globalpay-{env}-api"}


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_alb_and_the_shield_subscription_exist_before_a_stack_reads_them(env: str) -> None:
    """``cdktf deploy '*'`` applies a brand-new environment in one pass only if the manifest orders it: each
    ``-edge`` stack after its region's apps stack (the Ingress and so the ALB) and after the global stack (the
    Shield Advanced subscription a protection needs), the global stack after every apps stack. The ``-edge``
    stacks come last: nothing waits for them."""
    s = synth(env)
    deps = _dependencies(s)
    global_stack = f"globalpay-{env}-global"
    apps = {f"globalpay-{env}-{r}-apps" for r in REGIONS}
    edges = {f"globalpay-{env}-{r}-edge" for r in REGIONS}
    assert set(deps) == set(s)
    assert apps <= deps[global_stack], apps - deps[global_stack]
    for region in REGIONS:
        edge = f"globalpay-{env}-{region}-edge"
        assert {f"globalpay-{env}-{region}-apps", global_stack} <= deps[edge], deps[edge]
        # Applying the apps stack is what makes the ALB exist: its Ingress names the ALB the readers look up,
        # and Terraform waits until the controller reports it.
        (ingress,) = resources(s[f"globalpay-{env}-{region}-apps"], "kubernetes_ingress_v1").values()
        assert ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-name"] == f"globalpay-{env}-api"
        assert ingress["wait_for_load_balancer"] is True
    assert not any(edges & needs for needs in deps.values())


# ---------------------------------------------------------------------------------------------------
# Observability
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", CORE)
def test_alarm_topic_is_encrypted_with_the_data_key(prod: Synth, stack: str) -> None:
    (topic,) = where(prod[stack], "aws_sns_topic", name="globalpay-prod-alarms")
    assert topic["kms_master_key_id"] == _data_key(prod, _region(stack))
    doc = policy(by_path(prod[stack], "aws_sns_topic_policy", "/alarm-topic/policy"))
    publish = next(s for s in doc["Statement"] if s["Sid"] == "CloudWatchAlarmsOfThisAccount")
    assert "cloudwatch.amazonaws.com" in publish["Principal"]["Service"]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_every_alarm_notifies_on_alarm_and_on_ok(env: str) -> None:
    s = synth(env)
    count = 0
    for name in s:
        for alarm in resources(s[name], "aws_cloudwatch_metric_alarm").values():
            count += 1
            assert alarm["alarm_actions"], alarm["alarm_name"]
            assert alarm["ok_actions"] == alarm["alarm_actions"], alarm["alarm_name"]
    assert count >= 30


def test_the_guide_alarms_with_metrics_that_exist(prod: Synth) -> None:
    s = _core(prod, "us-east-1")
    (cpu,) = where(s, "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-high-cpu")
    # AWS/EKS publishes no CPUUtilization: Container Insights node CPU of the cluster.
    assert (cpu["namespace"], cpu["metric_name"]) == ("ContainerInsights", "node_cpu_utilization")
    assert cpu["dimensions"] == {"ClusterName": "globalpay-prod-cluster"}
    assert (cpu["threshold"], cpu["period"], cpu["evaluation_periods"]) == (80, 300, 2)
    assert cpu["comparison_operator"] == "GreaterThanThreshold"
    # The ALB 5xx alarm reads the ALB: the edge stack's (test_edge_stack_alb_5xx_alarm_pages_the_region_on_call).
    (api,) = where(_edge(prod, "us-east-1"), "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-api-5xx-errors")
    assert (api["namespace"], api["metric_name"], api["statistic"]) == ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum")
    assert (api["threshold"], api["period"], api["evaluation_periods"]) == (50, 300, 1)
    assert "data.aws_lb.ingress-alb.arn_suffix" in api["dimensions"]["LoadBalancer"]
    (db,) = where(s, "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-primary-connections")
    assert (db["namespace"], db["metric_name"]) == ("AWS/RDS", "DatabaseConnections")
    assert db["dimensions"] == {"DBInstanceIdentifier": "globalpay-prod-primary"}
    assert db["threshold"] == 800  # 80 % of max_connections 1000


@pytest.mark.parametrize("region", REGIONS)
def test_edge_stack_alb_5xx_alarm_pages_the_region_on_call(prod: Synth, region: str) -> None:
    """The guide's ALB 5xx alarm finds the region's ALB by its fixed name and notifies the same topic as the
    region's other alarms: the core stack's, by cross-stack reference (no second topic to subscribe to)."""
    s = _edge(prod, region)
    assert s["data"]["aws_lb"]["ingress-alb"]["name"] == "globalpay-prod-api"
    api = by_path(s, "aws_cloudwatch_metric_alarm", f"{region}-edge/api-5xx")
    assert api["alarm_name"] == "globalpay-prod-api-5xx-errors"
    assert api["dimensions"] == {"LoadBalancer": "${data.aws_lb.ingress-alb.arn_suffix}"}
    assert api["alarm_actions"] == api["ok_actions"] == [_alarm_topic(prod, region)]
    assert not where(_core(prod, region), "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-api-5xx-errors")


def test_on_call_alarms_follow_what_each_region_runs(prod: Synth) -> None:
    core = {r: _alarm_names(_core(prod, r)) for r in REGIONS}
    edge = {r: _alarm_names(_edge(prod, r)) for r in REGIONS}
    names = {r: core[r] | edge[r] for r in REGIONS}
    common = {"globalpay-prod-high-cpu", "globalpay-prod-eks-failed-nodes", "globalpay-prod-api-5xx-errors",
              "globalpay-prod-payment-events-dlq"}
    for region in REGIONS:
        assert common <= names[region]
        # What reads the ALB or the peer bucket is the edge stack's; the rest, the core stack's.
        assert "globalpay-prod-api-5xx-errors" in edge[region] and "globalpay-prod-api-5xx-errors" not in core[region]
    assert {"globalpay-prod-replica-1-replica-lag", "globalpay-prod-primary-free-storage"} <= names["us-east-1"]
    assert "globalpay-prod-replica-eu-replica-lag" in names["eu-west-1"]
    replication = {"globalpay-prod-data-replication-failed", "globalpay-prod-data-replication-latency"}
    for region in REGIONS:  # every region's data bucket replicates (edge stack), none from a core stack
        assert replication <= edge[region]
    assert not replication & set().union(*core.values())
    # An alarm for every database, Redis group and Kafka cluster that exists in the stack, and none for others.
    for region in REGIONS:
        s = _core(prod, region)
        for db in resources(s, "aws_db_instance").values():
            assert f"{db['identifier']}-connections" in names[region]
            assert f"{db['identifier']}-free-storage" in names[region]
            assert (f"{db['identifier']}-replica-lag" in names[region]) == ("replicate_source_db" in db)
        for group in resources(s, "aws_elasticache_replication_group").values():
            assert {f"{group['replication_group_id']}-memory", f"{group['replication_group_id']}-evictions"} <= names[region]
        for cluster in resources(s, "aws_msk_cluster").values():
            assert f"{cluster['cluster_name']}-disk-used" in names[region]
        db_alarms = {n for n in names[region] if "-connections" in n}
        assert len(db_alarms) == len(resources(s, "aws_db_instance"))


def test_replica_lag_alarm_measures_the_one_minute_rpo(prod: Synth) -> None:
    (lag,) = where(_core(prod, "eu-west-1"), "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-replica-eu-replica-lag")
    assert (lag["metric_name"], lag["threshold"], lag["treat_missing_data"]) == ("ReplicaLag", 60, "breaching")


def test_redis_and_kafka_alarms_watch_every_node(prod: Synth) -> None:
    s = _core(prod, "us-east-1")
    (mem,) = where(s, "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-redis-memory")
    members = [q["metric"]["dimensions"]["CacheClusterId"] for q in mem["metric_query"] if "metric" in q]
    assert members == ["globalpay-prod-redis-001", "globalpay-prod-redis-002", "globalpay-prod-redis-003"]
    (disk,) = where(s, "aws_cloudwatch_metric_alarm", alarm_name="globalpay-prod-kafka-disk-used")
    brokers = [q["metric"]["dimensions"]["Broker ID"] for q in disk["metric_query"] if "metric" in q]
    assert brokers == [str(b) for b in range(1, 7)]
    assert next(q for q in disk["metric_query"] if q.get("return_data"))["expression"].startswith("MAX(")


def test_dashboard_is_named_for_the_environment_and_shows_every_region(prod: Synth, staging: Synth) -> None:
    (dash,) = resources(prod[GLOBAL], "aws_cloudwatch_dashboard").values()
    assert dash["dashboard_name"] == "GlobalPay-Production"
    body = json.loads(dash["dashboard_body"])
    assert {w["properties"].get("region") for w in body["widgets"] if w["type"] == "metric"} == set(REGIONS)
    # No two widgets share a grid cell (CloudWatch would shuffle overlapping widgets out of their rows).
    cells: set[tuple[int, int]] = set()
    for w in body["widgets"]:
        mine = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not mine & cells, w["properties"].get("title") or w["properties"].get("markdown")
        cells |= mine
    (staging_dash,) = resources(staging["globalpay-staging-global"], "aws_cloudwatch_dashboard").values()
    assert staging_dash["dashboard_name"] == "GlobalPay-Staging"
    for name in prod:  # dashboards are account-global: none in the regional stacks
        assert name == GLOBAL or not resources(prod[name], "aws_cloudwatch_dashboard"), name


@pytest.mark.parametrize("stack", CORE)
def test_container_insights_addon_and_xray_in_every_region(prod: Synth, stack: str) -> None:
    s = prod[stack]
    assert where(s, "aws_eks_addon", addon_name="amazon-cloudwatch-observability")
    (xray,) = resources(s, "aws_xray_encryption_config").values()
    assert xray["type"] == "KMS" and xray["key_id"] == _data_key(prod, _region(stack))
    (rule,) = resources(s, "aws_xray_sampling_rule").values()
    assert len(rule["rule_name"]) <= 32 and rule["fixed_rate"] == 0.05 and rule["reservoir_size"] == 1


# ---------------------------------------------------------------------------------------------------
# Disaster recovery
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_dlm_snapshots_cluster_volumes_daily_with_its_own_role(prod: Synth, region: str) -> None:
    s = _core(prod, region)
    (dlm,) = resources(s, "aws_dlm_lifecycle_policy").values()
    details = dlm["policy_details"]
    assert details["resource_types"] == ["VOLUME"]
    assert details["target_tags"] == {"kubernetes.io/cluster/globalpay-prod-cluster": "owned"}
    (schedule,) = details["schedule"]
    assert schedule["create_rule"]["interval"] == 24 and schedule["retain_rule"]["count"] == 14
    assert schedule["copy_tags"] is True
    assert dlm["execution_role_arn"] == f"${{{_address(s, 'aws_iam_role', '/ebs-snapshots/role')}.arn}}"
    assert "ACCOUNT_ID" not in json.dumps(dlm)
    role = by_path(s, "aws_iam_role", "/ebs-snapshots/role")
    trust = policy(role, "assume_role_policy")["Statement"][0]
    assert trust["Principal"] == {"Service": "dlm.amazonaws.com"}
    # DLM does not document aws:SourceAccount on AssumeRole; a condition on a missing key would deny it.
    assert "Condition" not in trust
    attachment = by_path(s, "aws_iam_role_policy_attachment", "/ebs-snapshots/managed-policy")
    assert attachment["policy_arn"].endswith(":iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole")


@pytest.mark.parametrize("region", REGIONS)
def test_data_bucket_is_secure_protected_and_logs_access(prod: Synth, region: str) -> None:
    s = _core(prod, region)
    name = f"globalpay-prod-data-123456789012-{region}"
    (bucket,) = where(s, "aws_s3_bucket", bucket=name)
    assert bucket["lifecycle"]["prevent_destroy"] is True
    enc = by_path(s, "aws_s3_bucket_server_side_encryption_configuration", "/data-bucket/encryption")
    rule = enc["rule"][0]["apply_server_side_encryption_by_default"]
    assert rule["sse_algorithm"] == "aws:kms" and rule["kms_master_key_id"] == _data_key(prod, region)
    assert by_path(s, "aws_s3_bucket_versioning", "/data-bucket/versioning")["versioning_configuration"]["status"] == "Enabled"
    pab = by_path(s, "aws_s3_bucket_public_access_block", "/data-bucket/public-access-block")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    lifecycle = by_path(s, "aws_s3_bucket_lifecycle_configuration", "/data-bucket/lifecycle")["rule"][0]
    assert [t["storage_class"] for t in lifecycle["transition"]] == ["STANDARD_IA", "GLACIER_IR"]
    logging = by_path(s, "aws_s3_bucket_logging", "/data-bucket/access-logging")
    (log_bucket,) = [k for k, b in resources(s, "aws_s3_bucket").items() if b["bucket"] == f"globalpay-prod-access-logs-123456789012-{region}"]
    assert logging["target_bucket"].startswith(f"${{aws_s3_bucket.{log_bucket}.")
    doc = policy(by_path(s, "aws_s3_bucket_policy", "/access-log-bucket/policy"))
    writer = next(st for st in doc["Statement"] if st["Sid"] == "S3ServerAccessLogs")
    assert writer["Principal"] == {"Service": "logging.s3.amazonaws.com"}


#: The ELB account of each region (AWS "Enable access logs for your Application Load Balancer").
ELB_ACCOUNTS = {"us-east-1": "127311923021", "eu-west-1": "156460612806", "ap-southeast-2": "783225319266"}


@pytest.mark.parametrize("region", REGIONS)
def test_alb_access_logs_go_to_the_regions_sse_s3_log_bucket_that_admits_elb_delivery(prod: Synth, region: str) -> None:
    """PCI DSS 10.2: the Ingress turns the ALB's access logs on, into the region's access-log bucket under
    ``alb/``; that bucket is SSE-S3 (ELB log delivery cannot use a KMS key), keeps logs 400 days, and its policy
    lets the region's ELB account and the log-delivery service (this account only) write under
    ``alb/AWSLogs/<account>/``."""
    ingress = next(iter(resources(prod[f"globalpay-prod-{region}-apps"], "kubernetes_ingress_v1").values()))
    attributes = dict(
        pair.split("=", 1)
        for pair in ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-attributes"].split(",")
    )
    log_bucket = _cross(prod, f"globalpay-prod-{region}", "aws_s3_bucket", "/access-log-bucket/bucket", "bucket")
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == log_bucket
    assert attributes["access_logs.s3.prefix"] == "alb"
    assert attributes["deletion_protection.enabled"] == "true"

    s = _core(prod, region)
    bucket = by_path(s, "aws_s3_bucket", "/access-log-bucket/bucket")
    assert bucket["bucket"] == f"globalpay-prod-access-logs-123456789012-{region}" and bucket["lifecycle"]["prevent_destroy"] is True
    enc = by_path(s, "aws_s3_bucket_server_side_encryption_configuration", "/access-log-bucket/encryption")
    assert enc["rule"][0]["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    lifecycle = by_path(s, "aws_s3_bucket_lifecycle_configuration", "/access-log-bucket/lifecycle")["rule"]
    assert [r["expiration"][0]["days"] for r in lifecycle if r["status"] == "Enabled"] == [400]

    statements = {st["Sid"]: st for st in policy(by_path(s, "aws_s3_bucket_policy", "/access-log-bucket/policy"))["Statement"]}
    prefix = f"arn:aws:s3:::globalpay-prod-access-logs-123456789012-{region}/alb/AWSLogs/${{data.aws_caller_identity."
    regional, service = statements["ElbAccessLogsRegionalAccount"], statements["ElbAccessLogsDeliveryService"]
    assert regional["Principal"] == {"AWS": f"arn:aws:iam::{ELB_ACCOUNTS[region]}:root"}
    assert service["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert service["Condition"]["StringEquals"]["aws:SourceAccount"].startswith("${data.aws_caller_identity.")
    for statement in (regional, service):
        assert statement["Effect"] == "Allow" and statement["Action"] == "s3:PutObject"
        assert statement["Resource"].startswith(prefix) and statement["Resource"].endswith(".account_id}/*")


def test_primary_replicates_to_secondary_with_rtc_and_the_destination_data_key(prod: Synth) -> None:
    """The replication writes into another region's bucket: it lives in the region's ``-edge`` stack, applied
    after both regions' core stacks, so the versioned source and the destination bucket exist. The source
    bucket is named literally (no reference orders it): the manifest dependency on the core stack does."""
    # (The bootstrap stack replicates the state bucket: foundation, tests/test_foundation.py.)
    # (Every stack that receives logs replicates them into its write-once archive: tests/test_audit.py.)
    assert {name for name in prod if resources(prod[name], "aws_s3_bucket_replication_configuration")} == {
        *(f"globalpay-prod-{r}-edge" for r in REGIONS), *(f"globalpay-prod-{r}" for r in REGIONS),
        "globalpay-prod-bootstrap", GLOBAL, "globalpay-prod-us-east-1-security",
    }
    s = _edge(prod, "us-east-1")
    assert {"globalpay-prod-us-east-1", "globalpay-prod-eu-west-1"} <= _dependencies(prod)["globalpay-prod-us-east-1-edge"]
    (repl,) = resources(s, "aws_s3_bucket_replication_configuration").values()
    assert repl["bucket"] == "globalpay-prod-data-123456789012-us-east-1"
    assert repl["role"] == f"${{{_address(s, 'aws_iam_role', '/data-replication/role')}.arn}}"
    (rule,) = repl["rule"]
    dest = rule["destination"]
    assert dest["bucket"].endswith(":s3:::globalpay-prod-data-123456789012-eu-west-1")
    assert dest["encryption_configuration"]["replica_kms_key_id"].endswith(":kms:eu-west-1:${data.aws_caller_identity.account_caller_1C5BE04F.account_id}:alias/globalpay-prod-data")
    assert dest["replication_time"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert dest["metrics"] == {"status": "Enabled", "event_threshold": {"minutes": 15}}
    assert rule["delete_marker_replication"] == {"status": "Enabled"}
    assert rule["source_selection_criteria"]["sse_kms_encrypted_objects"] == {"status": "Enabled"}
    doc = policy(by_path(s, "aws_iam_role_policy", "/data-replication/policy"))
    statements = {st["Sid"]: st for st in doc["Statement"]}
    source_arn = _cross(prod, "globalpay-prod-us-east-1", "aws_s3_bucket", "/data-bucket/bucket")
    assert statements["ReadSourceConfiguration"]["Resource"] == source_arn
    assert statements["ReadSourceVersions"]["Resource"] == f"{source_arn}/*"
    encrypt = statements["EncryptReplicasWithDestinationDataKey"]
    assert encrypt["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": "alias/globalpay-prod-data"}
    # Both buckets use S3 Bucket Keys, whose KMS encryption context is the bucket ARN, not the object ARN: a
    # condition on "<bucket>/*" alone denies every Decrypt/Encrypt and no object ever replicates.
    decrypt = statements["DecryptSourceThroughS3"]
    assert decrypt["Resource"] == _data_key(prod, "us-east-1")
    assert decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [source_arn, f"{source_arn}/*"]
    dest_context = encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    assert [c.rsplit(":", 1)[-1] for c in dest_context] == ["globalpay-prod-data-123456789012-eu-west-1", "globalpay-prod-data-123456789012-eu-west-1/*"]
    enc = by_path(_core(prod, "us-east-1"), "aws_s3_bucket_server_side_encryption_configuration", "/data-bucket/encryption")
    assert enc["rule"][0]["bucket_key_enabled"] is True
    assert "*" not in [st["Resource"] for st in doc["Statement"]]
    # Its alarms page the primary's on-call topic, like every other alarm of the region.
    for cid in ("replication-failed", "replication-latency"):
        alarm = by_path(s, "aws_cloudwatch_metric_alarm", f"/data-replication/{cid}")
        assert alarm["alarm_actions"] == alarm["ok_actions"] == [_alarm_topic(prod, "us-east-1")]
        assert alarm["dimensions"] == {"SourceBucket": "globalpay-prod-data-123456789012-us-east-1",
                                       "DestinationBucket": "globalpay-prod-data-123456789012-eu-west-1",
                                       "RuleId": "replicate-to-eu-west-1"}


def _replication_target(synthesized: Synth, env: str, region: str) -> tuple[str, str]:
    (repl,) = resources(synthesized[f"globalpay-{env}-{region}-edge"], "aws_s3_bucket_replication_configuration").values()
    (rule,) = repl["rule"]
    key = rule["destination"]["encryption_configuration"]["replica_kms_key_id"]
    return rule["destination"]["bucket"].rsplit(":", 1)[-1], key.split(":kms:", 1)[1].split(":", 1)[0]


def test_every_data_bucket_has_a_copy_in_another_region(prod: Synth, staging: Synth) -> None:
    """Primary and secondary replicate into each other's data bucket (either side's writes survive the other's
    loss); every other region into a copy bucket in the origin region (us-east-1). Each destination exists in
    a core stack the edge stack depends on, in the destination region, encrypted with that region's key."""
    for synthesized, env in ((prod, "prod"), (staging, "staging")):
        buckets = {cfg["bucket"]: name for name in synthesized if not name.endswith(("-edge", "bootstrap"))
                   for cfg in resources(synthesized[name], "aws_s3_bucket").values()}
        deps = _dependencies(synthesized)
        expected = {"us-east-1": (f"globalpay-{env}-data-123456789012-eu-west-1", "eu-west-1"),
                    "eu-west-1": (f"globalpay-{env}-data-123456789012-us-east-1", "us-east-1"),
                    "ap-southeast-2": (f"globalpay-{env}-data-123456789012-ap-southeast-2-replica", "us-east-1")}
        for region in REGIONS:
            bucket, key_region = _replication_target(synthesized, env, region)
            assert (bucket, key_region) == expected[region]
            owner = buckets[bucket]
            assert owner == f"globalpay-{env}-{key_region}", f"{bucket} lives in {owner}"
            assert owner in deps[f"globalpay-{env}-{region}-edge"], "the destination exists before the rule"
    copy = by_path(_core(prod, "us-east-1"), "aws_s3_bucket", "/data-copy-ap-southeast-2/bucket")
    assert copy["bucket"] == "globalpay-prod-data-123456789012-ap-southeast-2-replica" and copy["lifecycle"] == {"prevent_destroy": True}
    enc = by_path(_core(prod, "us-east-1"), "aws_s3_bucket_server_side_encryption_configuration", "/data-copy-ap-southeast-2/encryption")
    assert enc["rule"][0]["apply_server_side_encryption_by_default"]["kms_master_key_id"] == _data_key(prod, "us-east-1")


def test_api_failover_records_health_checks_and_their_alarms(prod: Synth) -> None:
    g = prod[GLOBAL]
    assert g["data"]["aws_route53_zone"]["hosted-zone"]["name"] == "globalpay.com"
    lbs = g["data"]["aws_lb"]
    assert {lb["name"] for lb in lbs.values()} == {"globalpay-prod-api"}
    assert {lb["provider"] for lb in lbs.values()} == {f"aws.{r.replace('-', '_')}" for r in REGIONS}
    # Per region its load balancer's; per failover region the gate's and the two ANDed (tests/test_failover.py).
    # (The CDN's error-rate check, for Shield, is tests/test_audit.py's.)
    checks = {k: c for k, c in resources(g, "aws_route53_health_check").items() if not k.startswith("cdn-")}
    assert sorted(c["type"] for c in checks.values()) == ["CALCULATED"] * 2 + ["HTTPS"] * 3 + ["RECOVERY_CONTROL"] * 2
    for check in checks.values():
        if check["type"] == "HTTPS":
            assert (check["port"], check["resource_path"]) == (443, "/health")
    records = {r["set_identifier"]: r for r in where(g, "aws_route53_record", name="api.globalpay.com")}
    assert records["us-east-1"]["failover_routing_policy"] == {"type": "PRIMARY"}
    assert records["eu-west-1"]["failover_routing_policy"] == {"type": "SECONDARY"}
    for region, record in records.items():
        assert f"data.aws_lb.alb-{region}.dns_name" in record["alias"]["name"]
        assert record["alias"]["evaluate_target_health"] is True
        assert f"gated-health-check-{region}" in record["health_check_id"]
    assert len(where(g, "aws_cloudwatch_metric_alarm", namespace="AWS/Route53")) == 3


@pytest.mark.parametrize("region", REGIONS)
def test_route53_health_checks_reach_the_api_gateway_through_the_ingress(prod: Synth, region: str) -> None:
    """Route 53 sends the checked FQDN (the ALB's DNS name) as Host; the ALB's listener rules come from the
    Ingress. A rule without ``host`` for the health check path is what lets the probe reach the service."""
    ingresses = resources(prod[f"globalpay-prod-{region}-apps"], "kubernetes_ingress_v1").values()
    assert ingresses
    path = load_config("prod", REGION_SPECS).edge.health_check_path
    assert any(
        "host" not in rule and any(p["path"] in ("/", path) for p in rule["http"]["path"])
        for ing in ingresses
        for rule in ing["spec"]["rule"]
    )


# ---------------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------------


def test_budget_alerts_at_80_and_100_percent_actual_and_forecast(prod: Synth, staging: Synth) -> None:
    (budget,) = resources(prod[GLOBAL], "aws_budgets_budget").values()
    assert (budget["budget_type"], budget["time_unit"], budget["limit_unit"]) == ("COST", "MONTHLY", "USD")
    assert budget["limit_amount"] == "5920"
    assert budget["cost_filter"] == [{"name": "TagKeyValue", "values": ["user:Project$GlobalPay"]}]
    alerts = {(n["threshold"], n["notification_type"]) for n in budget["notification"]}
    assert alerts == {(80, "ACTUAL"), (100, "ACTUAL"), (80, "FORECASTED"), (100, "FORECASTED")}
    assert all(n["subscriber_email_addresses"] == ["platform-finops@globalpay.com"] for n in budget["notification"])
    (staging_budget,) = resources(staging["globalpay-staging-global"], "aws_budgets_budget").values()
    assert staging_budget["limit_amount"] == "7500"


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_cost_allocation_tags_on_every_provider(prod: Synth, stack: str) -> None:
    assert prod[stack]["provider"]["aws"]
    for provider in prod[stack]["provider"]["aws"]:
        tags = provider["default_tags"][0]["tags"]
        assert {"Environment", "Project", "CostCenter"} <= set(tags)


# ---------------------------------------------------------------------------------------------------
# CloudFront and messaging
# ---------------------------------------------------------------------------------------------------


def test_cloudfront_serves_private_assets_over_tls12_behind_the_cdn_waf(prod: Synth) -> None:
    g = prod[GLOBAL]
    (dist,) = resources(g, "aws_cloudfront_distribution").values()
    cert = dist["viewer_certificate"]
    assert cert["minimum_protocol_version"] == "TLSv1.2_2021" and cert["ssl_support_method"] == "sni-only"
    assert "data.aws_acm_certificate.cdn-certificate.arn" in cert["acm_certificate_arn"]
    assert dist["default_cache_behavior"]["viewer_protocol_policy"] == "redirect-to-https"
    assert "aws_cloudfront_origin_access_control" in dist["origin"][0]["origin_access_control_id"]
    assert "aws_wafv2_web_acl.cdn-waf_acl" in dist["web_acl_id"]
    (cdn_acl,) = where(g, "aws_wafv2_web_acl", scope="CLOUDFRONT")
    assert "AWSManagedRulesCommonRuleSet" in {r["name"] for r in cdn_acl["rule"]}
    assert g["provider"]["aws"][0]["region"] == "us-east-1" and "alias" not in g["provider"]["aws"][0]
    oac = next(iter(resources(g, "aws_cloudfront_origin_access_control").values()))
    assert (oac["signing_behavior"], oac["signing_protocol"]) == ("always", "sigv4")
    (source,) = resources(g, "aws_cloudwatch_log_delivery_source").values()
    assert source["log_type"] == "ACCESS_LOGS"
    (dest,) = resources(g, "aws_cloudwatch_log_delivery_destination").values()
    assert "cdn-log-bucket" in dest["delivery_destination_configuration"][0]["destination_resource_arn"]
    (delivery,) = resources(g, "aws_cloudwatch_log_delivery").values()
    assert any(d.startswith("aws_s3_bucket_policy.cdn-log-bucket_policy") for d in delivery["depends_on"])
    log_doc = policy(by_path(g, "aws_s3_bucket_policy", "/cdn-log-bucket/policy"))
    writer = next(st for st in log_doc["Statement"] if st["Sid"] == "VendedLogDelivery")
    assert writer["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    doc = policy(by_path(g, "aws_s3_bucket_policy", "/static-assets-bucket/policy"))
    read = next(s for s in doc["Statement"] if s["Sid"] == "CloudFrontOriginAccessControl")
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"


@pytest.mark.parametrize("stack", CORE)
def test_payment_events_fan_out_to_an_encrypted_queue_with_a_dlq(prod: Synth, stack: str) -> None:
    s = prod[stack]
    (queue,) = where(s, "aws_sqs_queue", name="globalpay-prod-payment-events")
    (dlq,) = where(s, "aws_sqs_queue", name="globalpay-prod-payment-events-dlq")
    assert queue["message_retention_seconds"] == 4 * 86400 and dlq["message_retention_seconds"] == 14 * 86400
    assert queue["visibility_timeout_seconds"] > 60
    redrive = json.loads(queue["redrive_policy"])
    dlq_address = _address(s, "aws_sqs_queue", "/payment-events/dlq")
    assert redrive["deadLetterTargetArn"] == f"${{{dlq_address}.arn}}" and redrive["maxReceiveCount"] == 5
    data_key = _data_key(prod, _region(stack))
    for q in (queue, dlq):
        assert q["kms_master_key_id"] == data_key
    (topic,) = where(s, "aws_sns_topic", name="globalpay-prod-payment-events")
    assert topic["kms_master_key_id"] == data_key
    topic_address = _address(s, "aws_sns_topic", "/payment-events/topic")
    (sub,) = where(s, "aws_sns_topic_subscription", protocol="sqs")
    assert sub["topic_arn"] == f"${{{topic_address}.arn}}"
    assert sub["endpoint"] == f"${{{_address(s, 'aws_sqs_queue', '/payment-events/queue')}.arn}}"
    doc = policy(by_path(s, "aws_sqs_queue_policy", "/payment-events/queue-policy"))
    allow = next(st for st in doc["Statement"] if st["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "sns.amazonaws.com"}
    assert f"{topic_address}.arn" in allow["Condition"]["ArnEquals"]["aws:SourceArn"]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_every_topic_queue_bucket_and_log_group_is_encrypted_with_our_keys(env: str) -> None:
    s = synth(env)
    for name in s:
        stack = s[name]
        for topic in resources(stack, "aws_sns_topic").values():
            assert OUR_KEY.match(topic.get("kms_master_key_id", "")), (name, topic["name"])
        for queue in resources(stack, "aws_sqs_queue").values():
            assert OUR_KEY.match(queue.get("kms_master_key_id", "")), (name, queue["name"])
        for group in resources(stack, "aws_cloudwatch_log_group").values():
            assert OUR_KEY.match(group.get("kms_key_id", "")), (name, group["name"])
        for enc in resources(stack, "aws_s3_bucket_server_side_encryption_configuration").values():
            default = enc["rule"][0]["apply_server_side_encryption_by_default"]
            path = enc["//"]["metadata"]["path"]
            if "access-log" in path or path.endswith(("/log-archive/bucket/encryption", "state-log-archive/bucket/encryption")):
                # S3 server access logging only delivers to SSE-S3 buckets; their archives receive SSE-S3 replicas
                assert default["sse_algorithm"] == "AES256"
            else:
                assert default["sse_algorithm"] == "aws:kms" and OUR_KEY.match(default["kms_master_key_id"]), path


def test_no_lambda_or_fargate_resource_exists_without_a_job(prod: Synth) -> None:
    """The one Lambda function is the role manager of each database region (docs/data-tier.md); no Fargate."""
    for name in prod:
        functions = [f["function_name"] for f in resources(prod[name], "aws_lambda_function").values()]
        assert functions == (["globalpay-prod-role-manager"] if name in ("globalpay-prod-us-east-1", "globalpay-prod-eu-west-1") else []), name
        assert not resources(prod[name], "aws_eks_fargate_profile")


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"edge": {"static_hostname": "static.example.org"}}, "edge.static_hostname"),
        ({"edge": {"cdn_certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"}}, "edge.cdn_certificate_arn"),
        ({"edge": {"cdn_price_class": "PriceClass_Cheap"}}, "edge.cdn_price_class"),
        ({"observability": {"cpu_alarm_threshold_percent": 120}}, "observability.cpu_alarm_threshold_percent"),
        ({"observability": {"tracing_sample_percent": 101}}, "observability.tracing_sample_percent"),
        ({"cost": {"budget_alert_percents": [80, 80]}}, "cost.budget_alert_percents"),
        ({"cost": {"budget_alert_percents": [10, 20, 30, 40, 50, 60]}}, "cost.budget_alert_percents"),
    ],
)
def test_validator_refuses_edge_values_aws_would_reject(overrides: dict, field: str) -> None:
    errors = validate(load_config("prod", REGION_SPECS, overrides), REGION_SPECS)
    assert field in {e.field for e in errors}
