"""Audit integrity and boundary controls, read from the synthesized JSON as an assessor would.

* write-once logs (PCI DSS 10.3.3, 10.5.1): every log bucket is locked or replicated into a locked archive, with
  the mode and days of its environment, and no lifecycle drops a noncurrent log version before a year;
* bucket names carry the account id (one rule, ``naming.BUCKET_NAME_RULE``) and fit S3's 63 characters;
* Container Insights and transit gateway logs are Terraform's, encrypted and kept a year (10.2, 10.5.1);
* egress (1.3.2, 1.4.2): DNS Firewall on every VPC, Network Firewall behind its switch, endpoint policies on every
  endpoint, the nodes' 0.0.0.0/0 egress only where no endpoint serves;
* the CDN's Content-Security-Policy with reporting (6.4.3, 11.6.1) and its Shield Advanced protection.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from cdktf import App, TerraformStack

from constructs_lib.config import load_config
from constructs_lib.naming import BUCKET_NAME_RULE, Naming, bucket_name_problem, environment_buckets
from constructs_lib.validation import csp_problems, validate
from regions import REGION_SPECS
from tests.synth import Synth, by_path, policy, resources, synth

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ACCOUNT = "123456789012"
#: Where each environment's logs are delivered: construct path segments of the buckets services write logs into.
LOG_BUCKET_PATHS = ("/access-log-bucket/bucket", "/cdn-log-bucket/bucket", "state-access-logs/bucket")
#: The lock each environment's configuration asks for (constructs_lib/config.py, audit_logs).
LOCK = {"prod": ("COMPLIANCE", 365), "staging": ("GOVERNANCE", 365)}
#: Delivery services and S3 cannot write into these: the names before the account-id rule.
OLD_BUCKET_NAMES = ("globalpay-prod-static-assets", "globalpay-prod-cdn-logs", "globalpay-prod-data-us-east-1",
                    "globalpay-prod-access-logs-eu-west-1", "globalpay-prod-data-ap-southeast-2-replica")


def _env(synthesized: Synth) -> str:
    return "prod" if any(name.startswith("globalpay-prod-") for name in synthesized) else "staging"


def _path(cfg: dict[str, Any]) -> str:
    return cfg["//"]["metadata"]["path"]


def _buckets(synthesized: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(stack, logical id): bucket}`` of every bucket of every stack."""
    return {(stack, key): cfg for stack in synthesized for key, cfg in resources(synthesized[stack], "aws_s3_bucket").items()}


def _bucket_of(stack: dict[str, Any], ref: str) -> str:
    """The logical id of the bucket a ``bucket`` argument references (``${aws_s3_bucket.<id>.id}``)."""
    match = re.fullmatch(r"\$\{aws_s3_bucket\.([^.}]+)\.(id|bucket)\}", ref)
    assert match, ref
    return match[1]


@pytest.fixture(scope="module", params=["prod", "staging"])
def env_synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------------------------------------------
# Write-once logs
# ---------------------------------------------------------------------------------------------------


def _locks(synthesized: Synth) -> dict[str, dict[str, Any]]:
    """``{bucket name: object lock configuration}`` of every locked bucket."""
    locks = {}
    for stack_name in synthesized:
        stack = synthesized[stack_name]
        for cfg in resources(stack, "aws_s3_bucket_object_lock_configuration").values():
            name = resources(stack, "aws_s3_bucket")[_bucket_of(stack, cfg["bucket"])]["bucket"]
            locks[name] = cfg
    return locks


def test_every_log_bucket_is_locked_or_replicated_within_minutes_into_a_locked_archive(env_synth: Synth) -> None:
    """S3 server access logs cannot go into an Object Lock bucket, ALB and CloudFront log delivery are not documented
    to: each log bucket replicates every new version (RTC 15 minutes, no delete markers) into a bucket locked in
    the environment's mode for its days."""
    env = _env(env_synth)
    mode, days = LOCK[env]
    locks = _locks(env_synth)
    assert locks, "no bucket is locked"
    for name, lock in locks.items():
        assert lock["object_lock_enabled"] == "Enabled", name
        assert lock["rule"]["default_retention"] == {"mode": mode, "days": days}, name
    log_buckets = {(s, k): b for (s, k), b in _buckets(env_synth).items() if _path(b).endswith(LOG_BUCKET_PATHS)}
    # Regional access logs (3), CDN logs (1), the state buckets' access logs (2).
    assert len(log_buckets) == 6, sorted(b["bucket"] for b in log_buckets.values())
    for (stack_name, key), bucket in log_buckets.items():
        stack = env_synth[stack_name]
        if bucket["bucket"] in locks:
            continue
        rules = [rule for cfg in resources(stack, "aws_s3_bucket_replication_configuration").values()
                 if _bucket_of(stack, cfg["bucket"]) == key for rule in cfg["rule"]]
        assert len(rules) == 1, f"{bucket['bucket']} is neither locked nor replicated into a locked archive"
        (rule,) = rules
        archive = rule["destination"]["bucket"].rsplit(":", 1)[-1]
        assert archive in locks, f"{bucket['bucket']} replicates into {archive}, which is not locked"
        assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
        assert rule["delete_marker_replication"] == {"status": "Disabled"}, "a delete must not reach the archive"
        assert rule["destination"]["replication_time"] == {"status": "Enabled", "time": {"minutes": 15}}


def test_no_server_access_log_target_is_locked(env_synth: Synth) -> None:
    """S3 cannot deliver server access logs into a bucket with Object Lock (S3 User Guide, "Object Lock
    considerations"); the emulator would accept it and AWS would drop the logs."""
    locks = _locks(env_synth)
    targets = set()
    for stack_name in env_synth:
        stack = env_synth[stack_name]
        names = {k: b["bucket"] for k, b in resources(stack, "aws_s3_bucket").items()}
        for logging in resources(stack, "aws_s3_bucket_logging").values():
            target = logging["target_bucket"]
            targets.add(names[_bucket_of(stack, target)] if target.startswith("${") else target)
    assert targets and not targets & set(locks), targets & set(locks)


def test_object_lock_is_switched_on_by_configuration_never_by_the_force_new_bucket_argument(prod: Synth) -> None:
    """aws_s3_bucket.object_lock_enabled is ForceNew in the AWS provider: setting it would replace an existing bucket
    and its data. PutObjectLockConfiguration enables Object Lock on any versioned bucket, after its versioning."""
    for stack_name in prod:
        stack = prod[stack_name]
        for bucket in resources(stack, "aws_s3_bucket").values():
            assert "object_lock_enabled" not in bucket and "object_lock_configuration" not in bucket, _path(bucket)
        for lock in resources(stack, "aws_s3_bucket_object_lock_configuration").values():
            assert any(d.startswith("aws_s3_bucket_versioning.") for d in lock["depends_on"]), _path(lock)
            assert lock["lifecycle"]["prevent_destroy"] is True, "removing the lock would end the default retention"


def test_no_log_lifecycle_deletes_a_noncurrent_version_before_a_year(env_synth: Synth) -> None:
    """Where logs land and in their archives, an overwritten or deleted log stays a year at least (PCI DSS 10.5.1);
    in the archives at least as long as the lock."""
    _, days = LOCK[_env(env_synth)]
    locks = _locks(env_synth)
    checked = 0
    for stack_name in env_synth:
        stack = env_synth[stack_name]
        names = {k: b["bucket"] for k, b in resources(stack, "aws_s3_bucket").items()}
        for lifecycle in resources(stack, "aws_s3_bucket_lifecycle_configuration").values():
            key = _bucket_of(stack, lifecycle["bucket"])
            bucket = resources(stack, "aws_s3_bucket")[key]
            if not (_path(bucket).endswith(LOG_BUCKET_PATHS) or names[key] in locks):
                continue
            checked += 1
            for rule in lifecycle["rule"]:
                for expiry in rule.get("noncurrent_version_expiration", []):
                    assert expiry["noncurrent_days"] >= max(365, days), (names[key], rule["id"])
    assert checked == 6 + len(locks)


def test_archive_replication_role_reads_retention_and_legal_hold_and_never_replicates_deletes(prod: Synth) -> None:
    """S3 User Guide, "Using Object Lock with S3 Replication": the role needs s3:GetObjectRetention and
    s3:GetObjectLegalHold on the source; without s3:ReplicateDelete no delete marker reaches the archive."""
    roles = 0
    for stack_name in prod:
        stack = prod[stack_name]
        for cfg in resources(stack, "aws_iam_role_policy").values():
            if cfg.get("name") != "replicate-into-archive":
                continue
            roles += 1
            statements = {s["Sid"]: s for s in policy(cfg)["Statement"]}
            assert {"s3:GetObjectRetention", "s3:GetObjectLegalHold"} <= set(statements["ReadSourceVersions"]["Action"])
            actions = {a for s in statements.values() for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
            assert "s3:ReplicateDelete" not in actions
    assert roles == 3 + 1 + 2 + 1  # a regional archive per core stack, the CDN logs', one per state region, Config's history


def test_the_cdn_log_archive_replicates_sse_kms_objects_with_the_edge_key(prod: Synth) -> None:
    stack = prod["globalpay-prod-global"]
    (replication,) = resources(stack, "aws_s3_bucket_replication_configuration").values()
    (rule,) = replication["rule"]
    assert rule["source_selection_criteria"] == {"sse_kms_encrypted_objects": {"status": "Enabled"}}
    assert rule["destination"]["encryption_configuration"]["replica_kms_key_id"].startswith("${aws_kms_key.edge-key_")


def test_secure_bucket_refuses_a_lifecycle_that_expires_locked_versions_early_and_a_bad_lock() -> None:
    from constructs_lib.storage import LifecycleRule, ObjectLockRetention, SecureBucket, SecureBucketProps

    with pytest.raises(ValueError, match="not 'WORM'"):
        ObjectLockRetention(mode="WORM", days=365)
    with pytest.raises(ValueError, match="1-36500 days"):
        ObjectLockRetention(mode="COMPLIANCE", days=0)
    stack = TerraformStack(App(), "test")
    with pytest.raises(ValueError, match="before their 365-day Object Lock"):
        SecureBucket(stack, "logs", SecureBucketProps(
            bucket_name="globalpay-test-logs-123456789012-us-east-1", kms_key_arn="",
            lifecycle_rules=(LifecycleRule(id="short", noncurrent_version_expiration_days=30),),
            object_lock=ObjectLockRetention(mode="COMPLIANCE", days=365),
        ))


# ---------------------------------------------------------------------------------------------------
# Bucket names
# ---------------------------------------------------------------------------------------------------


def test_every_bucket_name_carries_the_account_id_and_fits_s3(env_synth: Synth) -> None:
    env = _env(env_synth)
    config = load_config(env, REGION_SPECS)
    names = sorted(b["bucket"] for b in _buckets(env_synth).values())
    for name in names:
        assert not bucket_name_problem(name, ACCOUNT), bucket_name_problem(name, ACCOUNT)
        assert BUCKET_NAME_RULE.match(name)["env"] == env  # type: ignore[index]
    # The validator checks exactly what the stacks create (plus the copies a failover could add).
    listed = set(environment_buckets(config).values())
    assert set(names) <= listed
    # The copy of the secondary's data bucket exists only after a failover makes it a region without a partner.
    assert listed - set(names) == {Naming(env, account_id=ACCOUNT).data_copy_bucket("eu-west-1")}


@pytest.mark.parametrize("old", OLD_BUCKET_NAMES)
def test_the_names_before_the_rule_are_refused(old: str) -> None:
    assert "does not follow" in bucket_name_problem(old, ACCOUNT)


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_a_bucket_name_over_63_characters_is_refused_before_synth_for_every_region(env: str) -> None:
    """The longest name of the rule (a data copy or archive of ap-southeast-2) decides how long an environment
    name may be; the validator names the field and the bucket."""
    config = dataclasses.replace(load_config(env, REGION_SPECS), name=f"{env}-0123456789"[:16])
    errors = [e for e in validate(config, REGION_SPECS) if e.field == "name"]
    assert errors and "S3 allows 63" in errors[0].rule
    fitting = load_config(env, REGION_SPECS)
    assert all(len(n) <= 63 for n in environment_buckets(fitting).values())
    assert {r for r in REGIONS if any(r in n for n in environment_buckets(fitting).values())} == set(REGIONS)


# ---------------------------------------------------------------------------------------------------
# Logs Terraform owns: Container Insights, transit gateway
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_container_insights_log_groups_exist_encrypted_before_the_observability_add_on(prod: Synth, region: str) -> None:
    stack = prod[f"globalpay-prod-{region}"]
    groups = {cfg["name"]: (key, cfg) for key, cfg in resources(stack, "aws_cloudwatch_log_group").items()
              if cfg["name"].startswith("/aws/containerinsights/")}
    expected = {f"/aws/containerinsights/globalpay-prod-cluster/{kind}" for kind in ("application", "dataplane", "host", "performance")}
    assert set(groups) == expected
    (addon,) = [a for a in resources(stack, "aws_eks_addon").values() if a["addon_name"] == "amazon-cloudwatch-observability"]
    for key, cfg in groups.values():
        assert cfg["retention_in_days"] == 365 and cfg["lifecycle"]["prevent_destroy"] is True
        assert "cross-stack-output-aws_kms_key" in cfg["kms_key_id"]
        assert f"aws_cloudwatch_log_group.{key}" in addon["depends_on"]


@pytest.mark.parametrize("region", REGIONS)
def test_transit_gateway_traffic_is_flow_logged_to_an_encrypted_group_kept_a_year(prod: Synth, region: str) -> None:
    """EC2 refuses a traffic type and any aggregation interval but 60 s on a transit gateway flow log (Transit
    Gateway guide, "Create and manage flow logs using the API or CLI"): an AWS rule the emulator does not check."""
    stack = prod[f"globalpay-prod-{region}"]
    (tgw_log,) = [f for f in resources(stack, "aws_flow_log").values() if "transit_gateway_id" in f]
    assert tgw_log["transit_gateway_id"].startswith("${aws_ec2_transit_gateway.network_tgw")
    assert "traffic_type" not in tgw_log and tgw_log["max_aggregation_interval"] == 60
    group = by_path(stack, "aws_cloudwatch_log_group", "network/tgw-flow-log-group")
    assert tgw_log["log_destination"] == f"${{aws_cloudwatch_log_group.{group['//']['metadata']['uniqueId']}.arn}}"
    assert group["retention_in_days"] == 365 and group["lifecycle"]["prevent_destroy"] is True
    assert "cross-stack-output-aws_kms_key" in group["kms_key_id"]
    role_policy = policy(by_path(stack, "aws_iam_role_policy", "network/flow-log-policy"))
    assert f"${{aws_cloudwatch_log_group.{group['//']['metadata']['uniqueId']}.arn}}:*" in role_policy["Statement"][0]["Resource"]


# ---------------------------------------------------------------------------------------------------
# Egress: DNS Firewall, Network Firewall, endpoint policies, node egress
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_dns_firewall_on_every_vpc_blocks_threats_then_allows_the_list_then_blocks_everything(prod: Synth, region: str) -> None:
    stack = prod[f"globalpay-prod-{region}"]
    config = load_config("prod", REGION_SPECS)
    (association,) = resources(stack, "aws_route53_resolver_firewall_rule_group_association").values()
    assert re.fullmatch(r"\$\{aws_vpc\.network_vpc_[0-9A-F]{8}\.id\}", association["vpc_id"])
    assert association["mutation_protection"] == "ENABLED"
    assert 101 <= association["priority"] <= 9900  # AssociateFirewallRuleGroup refuses any other priority
    (fail_closed,) = resources(stack, "aws_route53_resolver_firewall_config").values()
    assert fail_closed["firewall_fail_open"] == "DISABLED"
    lists = {key: cfg for key, cfg in resources(stack, "aws_route53_resolver_firewall_domain_list").items()}
    rules = sorted(resources(stack, "aws_route53_resolver_firewall_rule").values(), key=lambda r: r["priority"])
    assert [(r["name"], r["action"]) for r in rules] == [("block-threats", "BLOCK"), ("allow-listed", "ALLOW"), ("block-unlisted", "BLOCK")]
    assert rules[0]["firewall_domain_list_id"] == REGION_SPECS[region].dns_firewall_threat_list_id

    def domains(rule: dict[str, Any]) -> list[str]:
        return lists[rule["firewall_domain_list_id"].split(".")[1]]["domains"]

    assert domains(rules[1]) == sorted(config.egress.allowed_domains)
    assert domains(rules[2]) == ["*"]


def test_network_firewall_is_off_by_default_and_routes_private_egress_through_its_endpoints_when_on(prod: Synth) -> None:
    assert not any(resources(prod[s], "aws_networkfirewall_firewall") for s in prod)
    nfw = synth("prod", {"egress": {"network_firewall": True}})
    for region in REGIONS:
        stack = nfw[f"globalpay-prod-{region}"]
        (firewall,) = resources(stack, "aws_networkfirewall_firewall").values()
        assert firewall["delete_protection"] is True and len(firewall["subnet_mapping"]) == 3
        assert firewall["encryption_configuration"]["type"] == "CUSTOMER_KMS"
        (fw_policy,) = resources(stack, "aws_networkfirewall_firewall_policy").values()
        assert fw_policy["firewall_policy"]["stateful_default_actions"] == ["aws:drop_established", "aws:alert_established"]
        groups = {g["name"].rsplit("-", 2)[-2] + "-" + g["name"].rsplit("-", 1)[-1]: g for g in resources(stack, "aws_networkfirewall_rule_group").values()}
        targets = groups["allowed-domains"]["rule_group"]["rules_source"]["rules_source_list"]["targets"]
        assert ".amazonaws.com" in targets and "api.stripe.com" in targets and not any("internal" in t for t in targets)
        routes = {_path(r).rsplit("/", 1)[-1]: r for r in resources(stack, "aws_route").values()}
        for i, az in enumerate(REGION_SPECS[region].azs):
            assert routes[f"private-default-route-{i}"]["vpc_endpoint_id"].endswith(f'["{az}"]}}')
            assert routes[f"nat-return-route-{i}"]["vpc_endpoint_id"].endswith(f'["{az}"]}}')
            assert "nat_gateway_id" in routes[f"firewall-default-route-{i}"]
        # The load balancers' public subnets keep routing straight to the pods: no route of theirs crosses it.
        assert [k for k in routes if k.startswith("public")] == ["public-default-route"]
        nats = resources(stack, "aws_nat_gateway").values()
        assert all("network_nat-subnet" in n["subnet_id"] for n in nats)
        alert = by_path(stack, "aws_cloudwatch_log_group", "network-firewall/alert-log-group")
        assert alert["retention_in_days"] == 365 and alert["lifecycle"]["prevent_destroy"] is True


def _statements(endpoint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(endpoint["policy"])["Statement"]}


@pytest.mark.parametrize("region", REGIONS)
def test_every_vpc_endpoint_admits_only_this_accounts_principals_and_resources(prod: Synth, region: str) -> None:
    stack = prod[f"globalpay-prod-{region}"]
    endpoints = resources(stack, "aws_vpc_endpoint")
    assert len(endpoints) >= 16
    account = "${data.aws_caller_identity.account_caller_1C5BE04F.account_id}"
    for endpoint in endpoints.values():
        statements = _statements(endpoint)
        assert statements["PerimeterPrincipalsToPerimeterResources"]["Condition"] == {
            "StringEquals": {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}}
        for sid, statement in statements.items():
            assert statement["Effect"] == "Allow"
            if statement["Action"] == "*":
                assert statement.get("Condition"), f"{endpoint['service_name']}: {sid} allows everything unconditionally"
    by_service = {e["service_name"].rsplit(".", 1)[-1]: e for e in endpoints.values()}
    web_identity = _statements(by_service["sts"])["WebIdentityToPerimeterRoles"]
    assert web_identity["Action"] == "sts:AssumeRoleWithWebIdentity" and web_identity["Resource"].endswith(f":iam::{account}:role/*")
    s3_owned = _statements(by_service["s3"])["ServiceOwnedObjectsReadOnly"]
    assert s3_owned["Action"] == "s3:GetObject"
    assert f"arn:${{data.aws_partition.account_partition_32ACE770.partition}}:s3:::prod-{region}-starport-layer-bucket/*" in s3_owned["Resource"]


def test_endpoint_policies_can_admit_the_organization_instead() -> None:
    org = synth("prod", {"egress": {"endpoint_policy_scope": "organization", "organization_id": "o-a1b2c3d4e5"}})
    for endpoint in resources(org["globalpay-prod-us-east-1"], "aws_vpc_endpoint").values():
        condition = _statements(endpoint)["PerimeterPrincipalsToPerimeterResources"]["Condition"]
        assert condition == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5", "aws:ResourceOrgID": "o-a1b2c3d4e5"}}


def _node_egress(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
            if "node-security-group" in r["security_group_id"] and r.get("from_port") == 443]


def test_node_https_egress_uses_the_vpc_and_the_s3_prefix_list_and_0_0_0_0_only_for_listed_outside_names(prod: Synth) -> None:
    stack = prod["globalpay-prod-us-east-1"]
    rules = {_path(r).rsplit("/", 1)[-1]: r for r in _node_egress(stack)}
    assert rules["sg-egress-https-vpc"]["cidr_ipv4"] == "10.0.0.0/16"
    assert re.fullmatch(r"\$\{aws_vpc_endpoint\.network_s3-endpoint_[0-9A-F]{8}\.prefix_list_id\}", rules["sg-egress-https-s3"]["prefix_list_id"])
    assert rules["sg-egress-https"]["cidr_ipv4"] == "0.0.0.0/0"  # the payment partners and public registries
    aws_only = synth("prod", {"egress": {"allowed_domains": ["*.amazonaws.com", "*.compute.internal", "ec2.internal", "*.ec2.internal"]}})
    narrowed = {_path(r).rsplit("/", 1)[-1] for r in _node_egress(aws_only["globalpay-prod-us-east-1"])}
    assert narrowed == {"sg-egress-https-vpc", "sg-egress-https-s3"}


#: Characters EC2 accepts in security group and rule descriptions (EC2 API reference, AuthorizeSecurityGroupEgress,
#: IpRange.Description: "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"); the emulator accepts anything.
SG_DESCRIPTION = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}$")


def test_security_group_descriptions_use_only_the_characters_ec2_accepts(env_synth: Synth) -> None:
    for stack_name in env_synth:
        stack = env_synth[stack_name]
        for rtype in ("aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
            for cfg in resources(stack, rtype).values():
                description = cfg.get("description", "")
                assert "${" in description or SG_DESCRIPTION.match(description), (_path(cfg), description)


# ---------------------------------------------------------------------------------------------------
# CDN: Content-Security-Policy and Shield
# ---------------------------------------------------------------------------------------------------


def test_static_assets_carry_the_content_security_policy_with_reporting(env_synth: Synth) -> None:
    env = _env(env_synth)
    config = load_config(env, REGION_SPECS)
    (headers,) = resources(env_synth[f"globalpay-{env}-global"], "aws_cloudfront_response_headers_policy").values()
    csp = headers["security_headers_config"]["content_security_policy"]
    assert csp == {"content_security_policy": config.edge.csp_header(), "override": True}
    assert f"report-uri https://{config.edge.api_hostname}/csp-report" in csp["content_security_policy"]
    assert "script-src 'self';" in csp["content_security_policy"]
    (reporting,) = headers["custom_headers_config"]["items"]
    assert reporting == {"header": "Reporting-Endpoints", "value": f'csp-endpoint="https://{config.edge.api_hostname}/csp-report"', "override": True}


@pytest.mark.parametrize(("policy_text", "problem"), [
    ("default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'", "PCI DSS 6.4.3"),
    ("script-src 'self'; frame-ancestors 'none'", "default-src is required"),
    ("default-src 'self'; frame-ancestors 'none'; report-uri https://x.example", "added from edge.csp_report_uri"),
    ("default-src 'self'; frame-ancestors 'none'; img-src 'none' data:", "'none' cannot be combined"),
    ("default-src 'self'; frame-ancestors 'none'; script-src 'self", "not a CSP source expression"),
    ("default-src 'self'; frame-ancestors 'none'; scrpt-src 'self'", "not a CSP directive"),
    ("default-src 'self'", "frame-ancestors is required"),
])
def test_a_content_security_policy_that_is_invalid_or_unsafe_is_refused(policy_text: str, problem: str) -> None:
    assert any(problem in p for p in csp_problems(policy_text)), csp_problems(policy_text)
    errors = validate(load_config("prod", REGION_SPECS, {"edge": {"content_security_policy": policy_text}}), REGION_SPECS)
    assert any(e.field == "edge.content_security_policy" and problem in e.rule for e in errors)


def test_a_policy_longer_than_cloudfront_accepts_is_refused() -> None:
    long_policy = "default-src 'self'; frame-ancestors 'none'; img-src " + " ".join(f"https://a{i}.example.com" for i in range(80))
    errors = validate(load_config("prod", REGION_SPECS, {"edge": {"content_security_policy": long_policy}}), REGION_SPECS)
    assert any("CloudFront allows 1783" in e.rule for e in errors)


def test_shield_advanced_protects_the_distribution_with_health_based_detection(prod: Synth, staging: Synth) -> None:
    stack = prod["globalpay-prod-global"]
    (protection,) = resources(stack, "aws_shield_protection").values()
    assert protection["resource_arn"] == "${aws_cloudfront_distribution.cdn_distribution_0B80AA6B.arn}"
    assert protection["depends_on"] == ["aws_shield_subscription.shield-advanced"]
    (association,) = resources(stack, "aws_shield_protection_health_check_association").values()
    health = resources(stack, "aws_route53_health_check")["cdn-health-check"]
    assert association["health_check_arn"] == "${aws_route53_health_check.cdn-health-check.arn}"
    assert health["type"] == "CLOUDWATCH_METRIC" and health["cloudwatch_alarm_region"] == "us-east-1"
    alarm = resources(stack, "aws_cloudwatch_metric_alarm")["cdn-5xx-rate"]
    assert alarm["namespace"] == "AWS/CloudFront" and alarm["metric_name"] == "5xxErrorRate"
    assert alarm["dimensions"] == {"DistributionId": "${aws_cloudfront_distribution.cdn_distribution_0B80AA6B.id}", "Region": "Global"}
    assert not resources(staging["globalpay-staging-global"], "aws_shield_protection")
