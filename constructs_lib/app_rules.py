"""Policy rules that need the whole App: a control whose parts live in several stacks.

The per-stack pass (``constructs_lib/policy.py``) reads each stack's configuration once, in the stack's own cdktf
validation, and keeps it. Some controls cannot be judged from one stack: the alarm topic is in the core stack and
the alarms that notify it in the -security and -edge stacks; a log bucket is written by a trail of another stack
and replicates into an archive of yet another; the detector of a region lives in its -security stack, the VPC it
watches in the core stack. ``policy.synth`` therefore runs these rules once, after cdktf has synthesized every
stack, over the configurations the stack validations already read (no second ``to_terraform()``), through the
project's one reader of a synthesis (``constructs_lib/synthesis.py``: regions, cross-stack references). A violation
is reported, suppressed and refused like any other (``main.py`` exits 3, and its output folder is swapped in only
after the policy passed, so a refused synth never replaces the previous output). ``check`` takes plain
``{stack: configuration}``, so a test or a tool can run the same rules on a ``cdktf.out`` folder too.

=======  =====================================================================================================
GP009    no workload may read a break-glass secret (PCI DSS 7.2.2, 7.2.5, 8.2.2, 8.6.1): a secret tagged
         ``Access = break-glass`` (the database master credentials, ``constructs_lib/secrets.py``) is named by no
         statement of a workload's IAM policies (roles and customer-managed policies tagged ``Workload``) that
         allows ``secretsmanager:GetSecretValue`` (a wildcard resource or action that matches it counts), and by
         no ExternalSecret, which would copy it into the cluster.
GP010    every log bucket is write-once (PCI DSS 10.3.2, 10.3.3, 10.5.1): a bucket that a log service writes into
         (S3 server access logging, CloudTrail, AWS Config, CloudWatch Logs vended delivery, VPC flow logs, WAF,
         load balancer access logs, Network Firewall) has an S3 Object Lock default retention, or replicates
         everything it receives (an enabled rule without a narrowing filter) into a bucket that has one.
GP011    every region the platform runs in (a VPC) has a GuardDuty detector and an AWS Config recorder that is
         turned on (PCI DSS 10.2.1, 10.7.2, 11.5.1, 11.5.2): created here (``security.mode = account``), or,
         where the landing zone owns them (organization mode), asserted: the ``aws_guardduty_detector`` data
         source (planning fails without a detector), the PCI DSS conformance pack (AWS Config refuses to create
         one in a region without a recorder).
GP012    every alarm topic has a subscription (PCI DSS 10.7.2, 12.10.5): an SNS topic that a CloudWatch alarm, an
         EventBridge rule, a budget or an RDS event subscription notifies has at least one subscription, in any
         stack. A topic whose endpoint is subscribed outside Terraform carries a suppression saying so.
=======  =====================================================================================================
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from constructs_lib.synthesis import Item, Synthesis

RULES: dict[str, str] = {
    "GP009": "no workload may read a break-glass secret",
    "GP010": "every log bucket is write-once, or replicates into a write-once archive",
    "GP011": "every region has a GuardDuty detector and an AWS Config recorder",
    "GP012": "every alarm topic has a subscription",
}

#: (resource type, logical id, construct path, rule, message): the shape of ``constructs_lib.aws_rules``.
Violation = tuple[str, str, str, str, str]

#: Tag on a secret that only operators (break-glass) and named platform functions read (``constructs_lib.secrets``).
BREAK_GLASS_TAG = ("Access", "break-glass")
#: Tag of the workloads' roles and policies (``constructs_lib.identity.WORKLOAD_TAG``).
WORKLOAD_TAG = "Workload"
#: The actions that return a secret's value (Service Authorization Reference, AWS Secrets Manager).
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue")
#: Secrets Manager appends "-" and six characters to a secret's name in its ARN.
SECRET_ARN_SUFFIX = "-AbCdEf"
TOKEN = re.compile(r"\$\{[^}]*\}")
S3_ARN = re.compile(r"^arn:[^:]*:s3:::([^/]+)")
SNS_ARN = re.compile(r"^arn:[^:]*:sns:([^:]*):[^:]*:(.+)$")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _blocks(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _tags(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    tags = cfg.get("tags")
    return tags if isinstance(tags, Mapping) else {}


def _violation(item: Item, rule: str, message: str) -> Violation:
    return (item.rtype, item.name, item.path, rule, message)


# --------------------------------------------------------------------------------------------------
# GP009: a workload reading a break-glass secret
# --------------------------------------------------------------------------------------------------


def workload_documents(app: Synthesis) -> Iterator[tuple[Item, Any]]:
    """``(item, policy document)`` of every IAM policy a workload holds: the inline policies of a role tagged
    ``Workload`` (``aws_iam_role_policy`` and ``inline_policy`` blocks), customer-managed policies tagged
    ``Workload``, and customer-managed policies of this App attached to a workload role."""
    workload_roles = {(r.stack, r.name) for r in app.of_type("aws_iam_role") if WORKLOAD_TAG in _tags(r.config)}
    for role in app.of_type("aws_iam_role"):
        if (role.stack, role.name) in workload_roles:
            for inline in _blocks(role.config.get("inline_policy")):
                yield role, inline.get("policy")
    for policy in app.of_type("aws_iam_role_policy"):
        role = app.resolve(policy.stack, policy.config.get("role"))
        if role is not None and (role.stack, role.name) in workload_roles:
            yield policy, policy.config.get("policy")
    for policy in app.of_type("aws_iam_policy"):
        if WORKLOAD_TAG in _tags(policy.config):
            yield policy, policy.config.get("policy")
    for attachment in app.of_type("aws_iam_role_policy_attachment"):
        role = app.resolve(attachment.stack, attachment.config.get("role"))
        attached = app.resolve(attachment.stack, attachment.config.get("policy_arn"))
        if (role is not None and (role.stack, role.name) in workload_roles and attached is not None
                and attached.rtype == "aws_iam_policy" and WORKLOAD_TAG not in _tags(attached.config)):
            yield attachment, attached.config.get("policy")


def _statements(document: Any) -> list[Mapping[str, Any]]:
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return []
    return _blocks(parsed.get("Statement")) if isinstance(parsed, Mapping) else []


def _reads_secrets(statement: Mapping[str, Any]) -> bool:
    """Whether an Allow statement lets its holder read a secret's value (a wildcard action counts)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        excluded = [a.lower() for a in _list(statement["NotAction"]) if isinstance(a, str)]
        return any(not any(fnmatch.fnmatchcase(read.lower(), x) for x in excluded) for read in SECRET_READ_ACTIONS)
    actions = [a.lower() for a in _list(statement.get("Action")) if isinstance(a, str)]
    return any(fnmatch.fnmatchcase(read.lower(), pattern) for read in SECRET_READ_ACTIONS for pattern in actions)


def _names_secret(app: Synthesis, stack: str, resource: Any, secret: Item) -> bool:
    """Whether ``resource`` (an IAM policy's Resource entry) covers the break-glass ``secret``."""
    if not isinstance(resource, str):
        return False
    if resource == "*":
        return True
    found = app.resolve(stack, resource)
    if found is not None:
        return (found.stack, found.rtype, found.name) == (secret.stack, secret.rtype, secret.name)
    if ":secret:" not in resource:
        return False
    pattern = TOKEN.sub("*", resource.split(":secret:", 1)[1])
    return fnmatch.fnmatchcase(f"{secret.config['name']}{SECRET_ARN_SUFFIX}", pattern)


def _external_secret_keys(manifest: Mapping[str, Any]) -> Iterator[str]:
    spec = manifest.get("spec") if isinstance(manifest.get("spec"), Mapping) else {}
    for entry in _blocks(spec.get("data")):
        ref = entry.get("remoteRef") if isinstance(entry.get("remoteRef"), Mapping) else {}
        if isinstance(ref.get("key"), str):
            yield ref["key"]
    for entry in _blocks(spec.get("dataFrom")):
        extract = entry.get("extract") if isinstance(entry.get("extract"), Mapping) else {}
        if isinstance(extract.get("key"), str):
            yield extract["key"]


def break_glass_secret_readers(app: Synthesis) -> Iterator[Violation]:
    secrets = [s for s in app.of_type("aws_secretsmanager_secret")
               if _tags(s.config).get(BREAK_GLASS_TAG[0]) == BREAK_GLASS_TAG[1] and isinstance(s.config.get("name"), str)]
    if not secrets:
        return
    for item, document in workload_documents(app):
        for index, statement in enumerate(_statements(document)):
            if not _reads_secrets(statement):
                continue
            sid = statement.get("Sid") or f"statement {index + 1}"
            resources = _list(statement.get("Resource")) or (["*"] if "NotResource" in statement else [])
            for secret in secrets:
                hits = [r for r in resources if _names_secret(app, item.stack, r, secret)]
                if hits:
                    yield _violation(item, "GP009", f"{sid}: a workload may read the break-glass secret "
                                     f"{secret.config['name']} (through {hits[0]}); it is for operators and the role "
                                     "manager only (PCI DSS 7.2.2, 7.2.5, 8.2.2)")
    for manifest in app.of_type("kubernetes_manifest"):
        body = manifest.config.get("manifest") if isinstance(manifest.config.get("manifest"), Mapping) else {}
        if body.get("kind") != "ExternalSecret":
            continue
        for key in _external_secret_keys(body):
            for secret in secrets:
                if key == secret.config["name"] or key.split(":secret:", 1)[-1].startswith(secret.config["name"]):
                    yield _violation(manifest, "GP009", f"the ExternalSecret copies the break-glass secret {key} into "
                                     "the cluster, where pods read it (PCI DSS 7.2.2, 7.2.5, 8.2.2)")


# --------------------------------------------------------------------------------------------------
# GP010: log buckets are write-once
# --------------------------------------------------------------------------------------------------


def _buckets_by_name(app: Synthesis) -> dict[str, Item]:
    return {b.config["bucket"]: b for b in app.of_type("aws_s3_bucket") if isinstance(b.config.get("bucket"), str)}


def bucket_named(app: Synthesis, stack: str, value: Any, by_name: Mapping[str, Item] | None = None) -> Item | None:
    """The bucket of this App that ``value`` names: a reference (in-stack or cross-stack), a bucket name or an
    ``arn:...:s3:::name[/prefix]``. None for a bucket this App does not create."""
    if not isinstance(value, str) or not value:
        return None
    found = app.resolve(stack, value)
    if found is not None:
        return found if found.rtype == "aws_s3_bucket" else None
    by_name = _buckets_by_name(app) if by_name is None else by_name
    match = S3_ARN.match(value)
    return by_name.get(match.group(1) if match else value)


def log_destinations(app: Synthesis) -> Iterator[tuple[Item, Any, str]]:
    """``(writer, bucket expression, what writes)`` for every log delivery into S3 the App configures."""
    for item in app.of_type("aws_s3_bucket_logging"):
        yield item, item.config.get("target_bucket"), "S3 server access logs"
    for item in app.of_type("aws_cloudtrail"):
        yield item, item.config.get("s3_bucket_name"), "CloudTrail"
    for item in app.of_type("aws_config_delivery_channel"):
        yield item, item.config.get("s3_bucket_name"), "AWS Config"
    for item in app.of_type("aws_cloudwatch_log_delivery_destination"):
        for block in _blocks(item.config.get("delivery_destination_configuration")):
            yield item, block.get("destination_resource_arn"), "CloudWatch Logs vended delivery"
    for item in app.of_type("aws_flow_log"):
        if item.config.get("log_destination_type") == "s3":
            yield item, item.config.get("log_destination"), "VPC flow logs"
    for item in app.of_type("aws_wafv2_web_acl_logging_configuration"):
        for destination in _list(item.config.get("log_destination_configs")):
            yield item, destination, "WAF logs"
    for rtype in ("aws_lb", "aws_alb"):
        for item in app.of_type(rtype):
            for block in _blocks(item.config.get("access_logs")):
                yield item, block.get("bucket"), "load balancer access logs"
    for item in app.of_type("aws_networkfirewall_logging_configuration"):
        for logging in _blocks(item.config.get("logging_configuration")):
            for destination in _blocks(logging.get("log_destination_config")):
                target = destination.get("log_destination") if isinstance(destination.get("log_destination"), Mapping) else {}
                yield item, target.get("bucketName"), "Network Firewall logs"
    for item in app.of_type("kubernetes_ingress_v1"):
        metadata = _blocks(item.config.get("metadata"))
        annotations = metadata[0].get("annotations") if metadata and isinstance(metadata[0].get("annotations"), Mapping) else {}
        for attribute in str(annotations.get("alb.ingress.kubernetes.io/load-balancer-attributes", "")).split(","):
            if attribute.startswith("access_logs.s3.bucket="):
                yield item, attribute.split("=", 1)[1], "load balancer access logs"


def locked_buckets(app: Synthesis, by_name: Mapping[str, Item]) -> set[tuple[str, str]]:
    """(stack, logical id) of every bucket with an S3 Object Lock default retention."""
    locked: set[tuple[str, str]] = set()
    for lock in app.of_type("aws_s3_bucket_object_lock_configuration"):
        rules = _blocks(lock.config.get("rule"))
        if lock.config.get("object_lock_enabled", "Enabled") != "Enabled" or not any(
                _blocks(rule.get("default_retention")) for rule in rules):
            continue
        bucket = bucket_named(app, lock.stack, lock.config.get("bucket"), by_name)
        if bucket is not None:
            locked.add((bucket.stack, bucket.name))
    for bucket in app.of_type("aws_s3_bucket"):  # the inline block of provider 3.x, still accepted
        for inline in _blocks(bucket.config.get("object_lock_configuration")):
            if any(_blocks(rule.get("default_retention")) for rule in _blocks(inline.get("rule"))):
                locked.add((bucket.stack, bucket.name))
    return locked


def _replicates_everything(rule: Mapping[str, Any]) -> bool:
    if rule.get("status") != "Enabled":
        return False
    if rule.get("prefix"):
        return False
    for narrowing in _blocks(rule.get("filter")):
        if narrowing.get("prefix") or narrowing.get("tag") or narrowing.get("and"):
            return False
    return True


def archives(app: Synthesis, by_name: Mapping[str, Item]) -> dict[tuple[str, str], list[Item]]:
    """(stack, logical id) of a bucket -> the buckets it replicates everything into."""
    out: dict[tuple[str, str], list[Item]] = {}
    for replication in app.of_type("aws_s3_bucket_replication_configuration"):
        source = bucket_named(app, replication.stack, replication.config.get("bucket"), by_name)
        if source is None:
            continue
        for rule in _blocks(replication.config.get("rule")):
            if not _replicates_everything(rule):
                continue
            for destination in _blocks(rule.get("destination")):
                target = bucket_named(app, replication.stack, destination.get("bucket"), by_name)
                if target is not None:
                    out.setdefault((source.stack, source.name), []).append(target)
    return out


def unlocked_log_buckets(app: Synthesis) -> Iterator[Violation]:
    by_name = _buckets_by_name(app)
    writers: dict[tuple[str, str], set[str]] = {}
    buckets: dict[tuple[str, str], Item] = {}
    for writer, expression, what in log_destinations(app):
        bucket = bucket_named(app, writer.stack, expression, by_name)
        if bucket is not None:
            writers.setdefault((bucket.stack, bucket.name), set()).add(what)
            buckets[(bucket.stack, bucket.name)] = bucket
    locked = locked_buckets(app, by_name)
    copies = archives(app, by_name)
    for key in sorted(writers):
        if key in locked:
            continue
        bucket, written_by = buckets[key], ", ".join(sorted(writers[key]))
        targets = copies.get(key, [])
        if any((t.stack, t.name) in locked for t in targets):
            continue
        where = (f"replicates into {', '.join(sorted(t.config.get('bucket', t.name) for t in targets))}, which has no "
                 "Object Lock default retention either" if targets else "replicates into no locked archive")
        yield _violation(bucket, "GP010", f"log bucket {bucket.config.get('bucket')} (written by {written_by}) has no "
                         f"S3 Object Lock default retention and {where}: its logs can be deleted or overwritten "
                         "(PCI DSS 10.3.2, 10.3.3, 10.5.1)")


# --------------------------------------------------------------------------------------------------
# GP011: detection and recording in every region
# --------------------------------------------------------------------------------------------------


def _enabled_recorders(app: Synthesis) -> set[str]:
    """Regions with a configuration recorder that a recorder status turns on."""
    on: set[str] = set()
    for status in app.of_type("aws_config_configuration_recorder_status"):
        if status.config.get("is_enabled") is not True:
            continue
        name = status.config.get("name")
        recorder = app.resolve(status.stack, name)
        if recorder is None:
            recorder = next((r for r in app.of_type("aws_config_configuration_recorder")
                             if r.config.get("name") == name and r.region == status.region), None)
        if recorder is not None and recorder.rtype == "aws_config_configuration_recorder":
            on.add(recorder.region)
    return on


def unmonitored_regions(app: Synthesis) -> Iterator[Violation]:
    detectors = {d.region for d in app.of_type("aws_guardduty_detector") if d.config.get("enable", True) is not False}
    detectors |= {d.region for d in app.of_type("aws_guardduty_detector", "data")}
    created_recorders = {r.region for r in app.of_type("aws_config_configuration_recorder")}
    recorders = _enabled_recorders(app)
    recorders |= {p.region for p in app.of_type("aws_config_conformance_pack") if p.region not in created_recorders}
    seen: set[str] = set()
    for vpc in app.of_type("aws_vpc"):
        if vpc.region in seen:
            continue
        seen.add(vpc.region)
        if vpc.region not in detectors:
            yield _violation(vpc, "GP011", f"region {vpc.region} runs the platform but has no GuardDuty detector, created "
                             "here or asserted by the aws_guardduty_detector data source (PCI DSS 11.5.1, 10.7.2)")
        if vpc.region not in recorders:
            yield _violation(vpc, "GP011", f"region {vpc.region} runs the platform but has no AWS Config recorder turned on, "
                             "created here or asserted by the PCI DSS conformance pack (PCI DSS 10.2.1, 11.5.2, 10.7.2)")


# --------------------------------------------------------------------------------------------------
# GP012: alarm topics are subscribed
# --------------------------------------------------------------------------------------------------


def topic_named(app: Synthesis, stack: str, value: Any) -> Item | None:
    """The SNS topic of this App that a reference or an ``arn:...:sns:<region>:<account>:<name>`` names."""
    found = app.resolve(stack, value)
    if found is not None:
        return found if found.rtype == "aws_sns_topic" else None
    match = SNS_ARN.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    region, name = match.groups()
    return next((t for t in app.of_type("aws_sns_topic") if t.config.get("name") == name
                 and (t.region == region or region.startswith("${"))), None)


def alarm_notifications(app: Synthesis) -> Iterator[tuple[Item, Any]]:
    """``(notifier, topic expression)`` of everything that pages through a topic."""
    for rtype in ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"):
        for alarm in app.of_type(rtype):
            for attribute in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
                for action in _list(alarm.config.get(attribute)):
                    yield alarm, action
    for target in app.of_type("aws_cloudwatch_event_target"):
        yield target, target.config.get("arn")
    for budget in app.of_type("aws_budgets_budget"):
        for notification in _blocks(budget.config.get("notification")):
            for topic in _list(notification.get("subscriber_sns_topic_arns")):
                yield budget, topic
    for subscription in app.of_type("aws_db_event_subscription"):
        yield subscription, subscription.config.get("sns_topic")


def unsubscribed_alarm_topics(app: Synthesis) -> Iterator[Violation]:
    notified: dict[tuple[str, str], tuple[Item, set[str]]] = {}
    for notifier, expression in alarm_notifications(app):
        topic = topic_named(app, notifier.stack, expression)
        if topic is not None:
            notified.setdefault((topic.stack, topic.name), (topic, set()))[1].add(notifier.rtype.removeprefix("aws_"))
    subscribed = {(t.stack, t.name) for s in app.of_type("aws_sns_topic_subscription")
                  if (t := topic_named(app, s.stack, s.config.get("topic_arn"))) is not None}
    for key in sorted(notified):
        if key in subscribed:
            continue
        topic, kinds = notified[key]
        yield _violation(topic, "GP012", f"topic {topic.config.get('name')} is notified by {', '.join(sorted(kinds))} but has "
                         "no subscription: an alarm or finding nobody receives is a defect (PCI DSS 10.7.2, 12.10.5); "
                         "subscribe an endpoint (observability.alert_endpoints)")


CHECKS = (break_glass_secret_readers, unlocked_log_buckets, unmonitored_regions, unsubscribed_alarm_topics)


def check(configs: Mapping[str, Mapping[str, Any]] | Synthesis) -> Iterator[Violation]:
    """Every violation of the whole-App rules in ``{stack name: configuration}`` (or an already loaded synthesis)."""
    app = configs if isinstance(configs, Synthesis) else Synthesis(dict(configs))  # type: ignore[arg-type]
    for rule in CHECKS:
        yield from rule(app)

