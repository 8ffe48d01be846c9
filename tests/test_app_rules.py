"""The policy rules that span stacks (constructs_lib/app_rules.py, GP009-GP012).

Each rule refuses a small App whose parts live in two stacks (the violation planted once, the compliant
counterpart accepted), finds the same violation planted into a copy of the synthesized prod JSON, and the prod
synth itself refuses a control removed on purpose: Object Lock taken off one log archive exits 3 with the PCI DSS
requirement in the line.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cdktf import TerraformStack

from constructs_lib import app_rules, identity, policy, secrets
from constructs_lib.common import protected
from constructs_lib.policy import PolicyViolation, suppress, synth
from constructs_lib.providers import aws
from tests.synth import Synth
from tests.test_policy import assert_refused_for, bucket, key, make_app

ACCOUNT = "123456789012"


def refused(tmp_path: Path, *builds: Any) -> PolicyViolation:
    with pytest.raises(PolicyViolation) as caught:
        synth(make_app(tmp_path, *builds))
    return caught.value


def accepted(tmp_path: Path, *builds: Any) -> None:
    app = make_app(tmp_path, *builds)
    report = synth(app)
    assert report is not None and report.whole_app_checked and not report.findings


def test_the_rules_share_the_tags_the_constructs_set() -> None:
    assert app_rules.BREAK_GLASS_TAG in secrets.BREAK_GLASS_TAGS.items()
    assert app_rules.WORKLOAD_TAG == identity.WORKLOAD_TAG == policy.WORKLOAD_TAG
    assert set(app_rules.RULES) == {"GP009", "GP010", "GP011", "GP012"} <= set(policy.RULES)


# ---------------------------------------------------------------------------------------------------
# GP009: no workload reads a break-glass secret
# ---------------------------------------------------------------------------------------------------


def master_secret(stack: TerraformStack, tagged: bool = True) -> Any:
    return aws.secretsmanager_secret.SecretsmanagerSecret(
        stack, "master", name="demo/database/credentials", kms_key_id=key(stack).arn, lifecycle=protected(),
        tags=dict(secrets.BREAK_GLASS_TAGS) if tagged else None)


def reader(resource: str, *, workload: bool = True, action: str = "secretsmanager:GetSecretValue"):
    def build(stack: TerraformStack) -> None:
        role = aws.iam_role.IamRole(stack, "role", name="demo", tags={"Workload": "demo"} if workload else None,
                                    assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                                        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]}))
        aws.iam_role_policy.IamRolePolicy(stack, "policy", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Secrets", "Effect": "Allow", "Action": action, "Resource": resource}]}))
    return build


SECRET_ARN = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:demo/database/credentials-??????"


@pytest.mark.parametrize(("resource", "action"), [
    (SECRET_ARN, "secretsmanager:GetSecretValue"),                                   # by name, in another stack
    (f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:demo/*", "secretsmanager:GetSecretValue"),  # a wildcard that covers it
    (SECRET_ARN, "secretsmanager:Get*"),                                             # an action wildcard
])
def test_a_workload_that_may_read_the_master_secret_is_refused(tmp_path: Path, resource: str, action: str) -> None:
    violation = refused(tmp_path, master_secret, reader(resource, action=action))
    assert_refused_for(violation, "GP009", "demo-2/policy", "break-glass secret demo/database/credentials")
    assert_refused_for(violation, "GP009", "demo-2/policy", "PCI DSS 7.2.2")


def test_a_workload_naming_the_secret_by_reference_is_refused(tmp_path: Path) -> None:
    def build(stack: TerraformStack) -> None:
        secret = master_secret(stack)
        reader(secret.arn)(stack)

    assert_refused_for(refused(tmp_path, build), "GP009", "demo/policy", "break-glass secret")


@pytest.mark.parametrize("build", [
    reader(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:demo/jwt/keys-??????"),  # its own secret
    reader(SECRET_ARN, workload=False),                                                # the role manager (no workload)
    reader(SECRET_ARN, action="secretsmanager:DescribeSecret"),                        # no value read
], ids=["own secret", "platform function", "describe only"])
def test_other_secrets_and_platform_roles_pass(tmp_path: Path, build: Any) -> None:
    accepted(tmp_path, master_secret, build)


# ---------------------------------------------------------------------------------------------------
# GP010: every log bucket is write-once or replicates into a write-once archive
# ---------------------------------------------------------------------------------------------------


def logged_bucket(stack: TerraformStack) -> None:
    """A data bucket whose server access logs go to ``demo-logs`` (another bucket of the stack)."""
    logs = aws.s3_bucket.S3Bucket(stack, "logs", bucket="demo-logs", lifecycle=protected())
    aws.s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
        stack, "logs-sse", bucket=logs.id, rule=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
        stack, "logs-pab", bucket=logs.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True)
    bucket(stack)
    aws.s3_bucket_logging.S3BucketLoggingA(stack, "logging", bucket="demo-bucket", target_bucket=logs.bucket, target_prefix="demo/")


def lock(stack: TerraformStack, bucket_ref: str, id: str = "lock") -> None:
    aws.s3_bucket_object_lock_configuration.S3BucketObjectLockConfigurationA(
        stack, id, bucket=bucket_ref, object_lock_enabled="Enabled",
        rule={"default_retention": {"mode": "COMPLIANCE", "days": 365}}, lifecycle=protected())


def archive(locked: bool = True):
    """A second stack: the archive ``demo-archive`` and the replication of ``demo-logs`` into it (by name)."""
    def build(stack: TerraformStack) -> None:
        target = aws.s3_bucket.S3Bucket(stack, "archive", bucket="demo-archive", lifecycle=protected())
        aws.s3_bucket_server_side_encryption_configuration.S3BucketServerSideEncryptionConfigurationA(
            stack, "archive-sse", bucket=target.id, rule=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            stack, "archive-pab", bucket=target.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True)
        if locked:
            lock(stack, target.id)
        aws.s3_bucket_replication_configuration.S3BucketReplicationConfigurationA(
            stack, "replicate", bucket="demo-logs", role="arn:aws:iam::123456789012:role/replication",
            rule=[{"id": "all", "status": "Enabled", "filter": {"prefix": ""}, "delete_marker_replication": {"status": "Disabled"},
                   "destination": {"bucket": "arn:aws:s3:::demo-archive"}}])
    return build


def test_a_log_bucket_neither_locked_nor_replicated_is_refused(tmp_path: Path) -> None:
    violation = refused(tmp_path, logged_bucket)
    assert_refused_for(violation, "GP010", "demo/logs", "log bucket demo-logs (written by S3 server access logs)")
    assert_refused_for(violation, "GP010", "demo/logs", "PCI DSS 10.3.2, 10.3.3, 10.5.1")


def test_a_log_bucket_replicating_into_an_unlocked_archive_is_refused(tmp_path: Path) -> None:
    assert_refused_for(refused(tmp_path, logged_bucket, archive(locked=False)), "GP010", "demo/logs",
                       "replicates into demo-archive, which has no Object Lock")


def test_a_log_bucket_locked_itself_or_replicated_into_a_locked_archive_passes(tmp_path: Path) -> None:
    accepted(tmp_path / "archive", logged_bucket, archive())
    accepted(tmp_path / "locked", lambda s: (logged_bucket(s), lock(s, "demo-logs")))


# ---------------------------------------------------------------------------------------------------
# GP011: every region has a detector and a recorder
# ---------------------------------------------------------------------------------------------------


def vpc(stack: TerraformStack) -> None:
    aws.vpc.Vpc(stack, "vpc", cidr_block="10.0.0.0/16")


def detection(detector: str = "created", recorder: str = "created"):
    """A -security stack: a detector (created, asserted by the data source, or none) and a recorder (created and
    turned on, created and off, asserted by the conformance pack, or none)."""
    def build(stack: TerraformStack) -> None:
        if detector == "created":
            aws.guardduty_detector.GuarddutyDetector(stack, "detector", enable=True)
        elif detector == "asserted":
            aws.data_aws_guardduty_detector.DataAwsGuarddutyDetector(stack, "detector")
        if recorder in ("created", "off"):
            made = aws.config_configuration_recorder.ConfigConfigurationRecorder(
                stack, "recorder", name="demo", role_arn="arn:aws:iam::123456789012:role/config")
            aws.config_configuration_recorder_status.ConfigConfigurationRecorderStatus(
                stack, "recorder-status", name=made.name, is_enabled=recorder == "created")
        elif recorder == "asserted":
            aws.config_conformance_pack.ConfigConformancePack(stack, "pack", name="demo", template_body="Resources: {}")
    return build


@pytest.mark.parametrize(("detector", "recorder", "missing"), [
    ("none", "created", "no GuardDuty detector"),
    ("created", "none", "no AWS Config recorder turned on"),
    ("created", "off", "no AWS Config recorder turned on"),
])
def test_a_region_without_a_detector_or_a_running_recorder_is_refused(tmp_path: Path, detector: str, recorder: str,
                                                                      missing: str) -> None:
    violation = refused(tmp_path, vpc, detection(detector, recorder))
    assert_refused_for(violation, "GP011", "demo/vpc", f"region us-east-1 runs the platform but has {missing}")


@pytest.mark.parametrize(("detector", "recorder"), [("created", "created"), ("asserted", "asserted")],
                         ids=["account mode", "organization mode"])
def test_a_region_with_both_created_or_asserted_passes(tmp_path: Path, detector: str, recorder: str) -> None:
    accepted(tmp_path, vpc, detection(detector, recorder))


# ---------------------------------------------------------------------------------------------------
# GP012: every alarm topic has a subscription
# ---------------------------------------------------------------------------------------------------


def alarm_topic(subscribed: bool = True, suppressed: bool = False):
    topics: list[Any] = []

    def topic_stack(stack: TerraformStack) -> None:
        topic = aws.sns_topic.SnsTopic(stack, "topic", name="demo-alarms", kms_master_key_id=key(stack).arn, lifecycle=protected())
        topics.append(topic)
        if subscribed:
            aws.sns_topic_subscription.SnsTopicSubscription(stack, "oncall", topic_arn=topic.arn, protocol="email",
                                                            endpoint="oncall@example.com")
        if suppressed:
            suppress(topic, "GP012", reason="the on-call tool subscribes itself, outside Terraform")

    def alarm_stack(stack: TerraformStack) -> None:  # notifies the topic of the other stack: a cross-stack reference
        aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            stack, "alarm", alarm_name="demo", comparison_operator="GreaterThanThreshold", evaluation_periods=1,
            metric_name="CPUUtilization", namespace="AWS/EC2", period=300, statistic="Average", threshold=80,
            alarm_actions=[topics[0].arn])
    return topic_stack, alarm_stack


def test_an_alarm_topic_nobody_subscribes_to_is_refused(tmp_path: Path) -> None:
    violation = refused(tmp_path, *alarm_topic(subscribed=False))
    assert_refused_for(violation, "GP012", "demo/topic", "topic demo-alarms is notified by cloudwatch_metric_alarm but has no subscription")
    assert_refused_for(violation, "GP012", "demo/topic", "PCI DSS 10.7.2, 12.10.5")


def test_a_subscribed_topic_passes_and_a_reasoned_suppression_is_reported(tmp_path: Path) -> None:
    accepted(tmp_path / "subscribed", *alarm_topic())
    app = make_app(tmp_path / "suppressed", *alarm_topic(subscribed=False, suppressed=True))
    report = synth(app)
    assert report is not None and not report.findings
    [(finding, suppression)] = report.suppressed
    assert finding.rule == "GP012" and suppression.path == "demo/topic" and "outside Terraform" in suppression.reason


# ---------------------------------------------------------------------------------------------------
# The same rules on the synthesized prod JSON, with one control removed
# ---------------------------------------------------------------------------------------------------


def _found(stacks: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(rule, path, message) for _, _, path, rule, message in app_rules.check(stacks)]


def test_prod_passes_every_rule_that_spans_stacks(prod: Synth) -> None:
    assert _found(prod.stacks) == []


def _unlock_archive(stacks: dict[str, Any]) -> str:
    stacks["globalpay-prod-eu-west-1"]["resource"].pop("aws_s3_bucket_object_lock_configuration")
    return "globalpay-prod-eu-west-1/operations/access-log-bucket/bucket"


def _unlock_trail(stacks: dict[str, Any]) -> str:
    locks = stacks["globalpay-prod-us-east-1-security"]["resource"]["aws_s3_bucket_object_lock_configuration"]
    del locks[next(k for k in locks if k.startswith("trail_"))]
    return "globalpay-prod-us-east-1-security/trail/bucket/bucket"


def _stop_replication(stacks: dict[str, Any]) -> str:
    for cfg in stacks["globalpay-prod-global"]["resource"]["aws_s3_bucket_replication_configuration"].values():
        cfg["rule"][0]["status"] = "Disabled"
    return "globalpay-prod-global/cdn-log-bucket/bucket"


def _no_detector(stacks: dict[str, Any]) -> str:
    stacks["globalpay-prod-ap-southeast-2-security"]["resource"].pop("aws_guardduty_detector")
    return "globalpay-prod-ap-southeast-2/network/vpc"


def _recorder_off(stacks: dict[str, Any]) -> str:
    for cfg in stacks["globalpay-prod-eu-west-1-security"]["resource"]["aws_config_configuration_recorder_status"].values():
        cfg["is_enabled"] = False
    return "globalpay-prod-eu-west-1/network/vpc"


def _unsubscribe_security_topic(stacks: dict[str, Any]) -> str:
    stacks["globalpay-prod-eu-west-1-security"]["resource"].pop("aws_sns_topic_subscription")
    return "globalpay-prod-eu-west-1-security/security-topic/topic"


def _workload_reads_the_master_secret(stacks: dict[str, Any]) -> str:
    for cfg in stacks["globalpay-prod-eu-west-1"]["resource"]["aws_iam_role_policy"].values():
        document = json.loads(cfg["policy"])
        for statement in document["Statement"]:
            if statement.get("Sid") == "ReadOwnSecrets":
                statement["Resource"].append(
                    statement["Resource"][0].rsplit(":secret:", 1)[0] + ":secret:globalpay/prod/database/credentials-??????")
                cfg["policy"] = json.dumps(document)
                return cfg["//"]["metadata"]["path"]
    raise AssertionError("no workload reads a secret in eu-west-1")


def _external_secret_of_the_master_login(stacks: dict[str, Any]) -> str:
    for cfg in stacks["globalpay-prod-us-east-1-apps"]["resource"]["kubernetes_manifest"].values():
        if cfg["manifest"]["kind"] == "ExternalSecret":
            cfg["manifest"]["spec"]["data"][0]["remoteRef"]["key"] = "globalpay/prod/database/credentials"
            return cfg["//"]["metadata"]["path"]
    raise AssertionError("no ExternalSecret")


@pytest.mark.parametrize(("rule", "plant"), [
    ("GP009", _workload_reads_the_master_secret), ("GP009", _external_secret_of_the_master_login),
    ("GP010", _unlock_archive), ("GP010", _unlock_trail), ("GP010", _stop_replication),
    ("GP011", _no_detector), ("GP011", _recorder_off),
    ("GP012", _unsubscribe_security_topic),
])
def test_a_control_removed_from_the_prod_json_is_found(prod: Synth, rule: str, plant: Any) -> None:
    stacks = copy.deepcopy(prod.stacks)
    path = plant(stacks)
    assert [(r, p) for r, p, _ in _found(stacks)] == [(rule, path)]


def test_removing_object_lock_from_one_archive_refuses_the_prod_synth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The acceptance case, end to end through main.py: the code loses Object Lock on one log archive, the synth
    exits 3 naming the bucket that is no longer write-once and the requirements, and writes nothing."""
    import main
    import regions.app

    build = regions.app.build_app

    def without_one_lock(*args: Any, **kwargs: Any) -> Any:
        spaces = build(*args, **kwargs)
        archive_bucket = spaces.cores["us-east-1"].node.find_child("operations").node.find_child("log-archive").node.find_child("bucket")
        assert archive_bucket.node.try_remove_child("object-lock")
        return spaces

    monkeypatch.setattr(regions.app, "build_app", without_one_lock)
    out = tmp_path / "cdktf.out"
    assert main.main(["--out", str(out), "--quiet"]) == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "policy error: GP010 globalpay-prod-us-east-1/operations/access-log-bucket/bucket: log bucket "
        "globalpay-prod-access-logs-123456789012-us-east-1 (written by S3 server access logs, load balancer access logs) "
        "has no S3 Object Lock default retention and replicates into globalpay-prod-log-archive-123456789012-us-east-1, "
        "which has no Object Lock default retention either: its logs can be deleted or overwritten (PCI DSS 10.3.2, "
        "10.3.3, 10.5.1)"]
    assert not out.exists(), "a refused synth writes nothing"

