"""Synth-time policy: a check on every stack that refuses to write one that breaks a GlobalPay guardrail.

In the spirit of cdk-nag: the rules are code, they run on every resource of every stack during
``app.synth()``, and a violation stops the synth before the offending stack's JSON is written. A reviewer
never has to spot an unencrypted database or a literal password in a diff: it cannot be synthesized.

How it runs (cdktf 0.21, ``StackSynthesizer.synthesize``): per stack, cdktf invokes the stack's aspects on
every construct, then runs every construct's validations, then writes ``cdk.tf.json``. ``apply_policy(app)``
adds one validation to each stack. It reads the stack's configuration as Terraform will see it
(``stack.to_terraform()``: one jsii call per stack, references already rendered as ``${...}`` expressions,
which is all a rule needs to tell a reference from a literal), checks every resource and AWS provider in it,
then runs the cross-resource rules (buckets, their encryption and public access blocks), and returns every
unsuppressed violation, so cdktf aborts that stack before writing it.

(The resources used to be checked by a cdktf Aspect: one Python callback per construct and one
``to_terraform()`` per resource, ~2,000 jsii round trips and ~1.4 s of a prod synth's ~7 s. Reading each
stack once costs ~0.3 s and sees the final configuration, after every other aspect ran.)

A synth into a private folder (``synth(app, private_outdir=...)``: ``main.py``'s own synth, which writes into a
temporary folder and swaps it in only when the synth succeeds) checks the written ``cdk.tf.json`` files instead:
the same configuration, without a second ``to_terraform()`` of every stack in the kernel (~10% of a prod synth).
A refused synth there never reaches the output folder (the temporary folder is removed), which is the same
guarantee the validation gives a synth into a shared folder (the cdktf CLI's, or a direct ``app.synth()``).

jsii turns a Python exception raised inside a callback into a plain ``RuntimeError``, so the typed error
comes from ``synth(app)`` below: it runs ``app.synth()`` and, when the policy found violations, raises
``PolicyViolation`` listing every violation of every stack (the stacks cdktf did not reach are checked
the same way from Python). ``main.py`` prints ``PolicyViolation.lines()`` and exits 3.

Rules (ids are stable; docs/safe-change.md and the synth summary refer to them):

=======  =====================================================================================================
GP001    encryption at rest with our KMS key: RDS, ElastiCache, MSK, EKS secrets, CloudWatch log groups,
         SNS, SQS, Secrets Manager, ECR, EBS in launch templates; S3 buckets have an SSE configuration.
         An AWS-managed key (``alias/aws/...``) where ours is required is a violation too.
GP002    encryption in transit: ElastiCache ``transit_encryption_enabled``; MSK client-broker TLS only and
         in-cluster encryption.
GP003    not publicly reachable: ``publicly_accessible`` databases, MSK public access, S3 buckets without a
         complete public access block, public bucket ACLs, an EKS public endpoint open to the internet.
GP004    no 0.0.0.0/0 or ::/0 ingress in security groups, except load balancer ingress on 80/443
         (a construct path segment naming a load balancer, see ``LOAD_BALANCER_SEGMENT``) or a suppression.
GP005    cost allocation tags: every AWS provider has ``default_tags`` with Environment, Project, CostCenter.
GP006    no literal secret: password / auth token / secret string / private key attributes (write-only
         ``*_wo`` ones included) must hold a reference or an ephemeral value, and no string anywhere looks
         like an AWS access key, a PEM private key or one of the guide's ``<SECURE_PASSWORD>`` placeholders.
GP007    stateful resources and audit trails (``STATEFUL_TYPES``: data stores, keys, secrets, clusters, log groups,
         SNS topics, SQS queues) carry ``lifecycle.prevent_destroy`` and, where the type has it,
         ``deletion_protection``; buckets and repositories are not ``force_destroy`` / ``force_delete``.
GP008    least privilege of the workloads (PCI DSS 7.2.1, 7.2.2): an IAM role tagged ``Workload`` (one per service,
         ``constructs_lib/identity.py``), its inline policies and every customer-managed policy tagged
         ``Workload`` grant no ``*`` or ``<service>:*`` action, no NotAction/NotResource, and no ``*`` resource
         unless every action of the statement has no narrower resource (``RESOURCE_WILDCARD_ONLY_ACTIONS``);
         no AWS-managed policy is attached to a workload role.
GP013    audit logs are kept a year (PCI DSS 10.5.1): a CloudWatch log group that sets a retention keeps its
         events at least 365 days (unset: never expire, which is longer).
GP014    VPC endpoints carry a policy (PCI DSS 1.3.2, 1.4.2): an interface or gateway endpoint without one, or with
         AWS's default full-access policy, lets any principal reach any resource of any account through it.
GP015    the internet reaches the platform only through the API's ALB and the CDN (PCI DSS 1.3.1, 1.4.1, 1.4.2):
         no internet-facing Kubernetes Service (type LoadBalancer) or Terraform load balancer, no Ingress of
         another class, an internet-facing Ingress only with the WAF web ACL, a certificate and HTTPS, no subnet
         that hands out public IP addresses, no public address on an instance or interface, no Lambda function
         URL without authentication, no public API Gateway.
=======  =====================================================================================================

The rules that need more than one stack (GP009-GP012: a workload reading a break-glass secret, log buckets that
are not write-once, a region without a detector or recorder, an alarm topic nobody subscribes to) are in
``constructs_lib/app_rules.py``: ``synth()`` runs them once after cdktf has synthesized every stack, over the
configurations the stack validations read (no second ``to_terraform()``), and reports them the same way.

The AWS API rules of ``constructs_lib/aws_rules.py`` (AWS001, ...: what AWS refuses at apply time although the
plan rehearsal's emulator accepts it) run in the same pass, read the same configuration and are reported,
suppressed and refused the same way.

Suppressing one rule for one construct (and everything below it) needs a reason:
``suppress(construct, "GP004", reason="...")``. Suppressions are listed in the synth summary, and the
ones no violation used are reported there too, so none outlives the resource it was written for.
"""

from __future__ import annotations

import json
import re
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsii
from cdktf import App, TerraformProvider, TerraformStack
from constructs import IConstruct, IValidation

from constructs_lib import app_rules, aws_rules

# --------------------------------------------------------------------------------------------------
# Reference tables (shared with scripts/inventory.py and scripts/plan_review.py)
# --------------------------------------------------------------------------------------------------

RULES: dict[str, str] = {
    "GP001": "encryption at rest with a customer-managed KMS key",
    "GP002": "encryption in transit",
    "GP003": "not publicly reachable",
    "GP004": "no 0.0.0.0/0 or ::/0 ingress outside the load balancer",
    "GP005": "cost allocation tags on every AWS provider",
    "GP006": "no literal secret in the configuration",
    "GP007": "stateful resources are protected from destruction",
    "GP008": "workload roles grant no wildcard action or resource",
    **app_rules.RULES,
    "GP013": "log groups keep their events at least a year",
    "GP014": "every VPC endpoint has a policy narrower than full access",
    "GP015": "the internet reaches the platform only through the API's ALB and the CDN",
    **aws_rules.RULES,
}

#: Resource types whose destruction loses data or identity, with the attributes that identify them to AWS
#: (the inventory records these next to the Terraform address).
STATEFUL_TYPES: dict[str, tuple[str, ...]] = {
    "aws_db_instance": ("identifier",),
    "aws_rds_cluster": ("cluster_identifier",),
    "aws_elasticache_replication_group": ("replication_group_id",),
    "aws_msk_cluster": ("cluster_name",),
    "aws_s3_bucket": ("bucket",),
    "aws_kms_key": (),  # no AWS-side name: the address is its only identity (aliases point at it)
    "aws_secretsmanager_secret": ("name",),
    "aws_ecr_repository": ("name",),
    "aws_eks_cluster": ("name",),
    # Audit trails and messages in flight (PCI DSS 10.5): a plan never destroys a log, a topic or a queue.
    "aws_cloudwatch_log_group": ("name",),
    "aws_sns_topic": ("name",),
    "aws_sqs_queue": ("name",),
    # The API's traffic gate: a replaced routing control comes back OFF (ARC holds its state, not Terraform), and
    # the cluster holds every control.
    "aws_route53recoverycontrolconfig_cluster": ("name",),
    "aws_route53recoverycontrolconfig_routing_control": ("name",),
}

#: Stateful types that also have an AWS-side ``deletion_protection`` switch (AWS provider 6.x).
DELETION_PROTECTION_TYPES = frozenset({"aws_db_instance", "aws_rds_cluster", "aws_eks_cluster"})

#: Attributes that must never hold a literal (matched on the attribute name, at any nesting depth).
SECRET_ATTRIBUTE = re.compile(
    r"^(password|passwords|master_password|auth_token|secret_string|secret_binary|private_key|client_secret"
    r"|secret_key|access_key|token|api_key)(_wo)?$"
)
#: Values that are secrets (or the guide's stand-ins for one) wherever they appear.
SECRET_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"<(SECURE_[A-Z_]+|[A-Z_]*(PASSWORD|TOKEN|SECRET|PRIVATE_KEY|STRIPE_KEY|PLAID_KEY))>"),
     "a placeholder from the deployment guide"),
)

#: A construct path segment that marks load balancer ingress (``edge/alb/security-group``,
#: ``ingress-load-balancer/...``): the one place 0.0.0.0/0 may reach, and only on these ports.
LOAD_BALANCER_SEGMENT = re.compile(r"(^|[-_])(alb|nlb|elb|lb|load-?balancer)([-_]|$)", re.IGNORECASE)
LOAD_BALANCER_PORTS = frozenset({80, 443})

#: Tag of the workloads' roles and policies (``constructs_lib.identity.WORKLOAD_TAG``).
WORKLOAD_TAG = "Workload"
#: Actions that take no resource narrower than ``*`` (Service Authorization Reference: no resource type listed),
#: the only ones a workload statement may pair with ``Resource: "*"``.
RESOURCE_WILDCARD_ONLY_ACTIONS = frozenset({
    "sts:GetCallerIdentity", "secretsmanager:GetRandomPassword", "secretsmanager:ListSecrets",
    "s3:ListAllMyBuckets", "kms:ListAliases", "kms:ListKeys", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "xray:GetSamplingRules", "xray:GetSamplingTargets", "cloudwatch:PutMetricData",
})
AWS_MANAGED_POLICY = re.compile(r"^arn:(aws|\$\{[^}]+\}):iam::aws:policy/")
ROLE_REFERENCE = re.compile(r"^\$\{aws_iam_role\.([^.}]+)\.(id|name)\}$")

#: Days an audit log is kept at least (GP013; PCI DSS 10.5.1: twelve months of audit history).
LOG_RETENTION_MIN_DAYS = 365
#: Endpoint types that take an endpoint policy (GP014; Gateway Load Balancer endpoints take none).
POLICY_ENDPOINT_TYPES = ("Interface", "Gateway")
#: Annotations that keep a Kubernetes Service of type LoadBalancer internal (AWS Load Balancer Controller; the
#: in-tree controller's older one).
INTERNAL_SERVICE_ANNOTATIONS = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
                                "service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
ENDPOINT_REFERENCE = re.compile(r"^\$\{aws_vpc_endpoint\.([^.}]+)\.id\}$")

REQUIRED_COST_TAGS = ("Environment", "Project", "CostCenter")
AWS_MANAGED_KEY = re.compile(r"(^|:)alias/aws/")
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
BUCKET_REFERENCE = re.compile(r"^\$\{aws_s3_bucket\.([^.}]+)\.(id|bucket)\}$")
SUPPRESSION_METADATA = "globalpay:policy-suppression"


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One broken rule at one construct."""

    rule: str
    path: str
    message: str

    def line(self) -> str:
        return f"{self.rule} {self.path}: {self.message}"


@dataclass(frozen=True)
class Suppression:
    """An accepted exception to one rule for a construct and everything below it."""

    rule: str
    path: str
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.rule == self.rule and (finding.path == self.path or finding.path.startswith(self.path + "/"))


class PolicyViolation(Exception):
    """The synth was refused: ``lines()`` is one ``rule path: message`` line per violation."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.findings = sorted(set(findings), key=lambda f: (f.path, f.rule, f.message))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"policy error: {f.line()}" for f in self.findings]


@dataclass
class PolicyReport:
    """What the policy saw during one synth of one App (the synth summary prints it)."""

    findings: list[Finding] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    resources_checked: int = 0
    seconds: float = 0.0
    checked_stacks: set[str] = field(default_factory=set)
    #: The rules that span stacks (``app_rules``) ran on this App.
    whole_app_checked: bool = False
    #: The stacks are checked from their written JSON after ``app.synth()`` (``synth(app, private_outdir=...)``),
    #: not by the validation during it.
    deferred: bool = False

    def record(self, finding: Finding) -> bool:
        """Keep ``finding``; True when it counts (no suppression covers it)."""
        match = next((s for s in self.suppressions if s.covers(finding)), None)
        if match is not None:
            self.suppressed.append((finding, match))
            return False
        self.findings.append(finding)
        return True

    @property
    def unused_suppressions(self) -> list[Suppression]:
        used = {s for _, s in self.suppressed}
        return [s for s in self.suppressions if s not in used]


# One report per App. Keyed weakly so that test Apps do not leak into each other or into memory.
_REPORTS: weakref.WeakKeyDictionary[Any, PolicyReport] = weakref.WeakKeyDictionary()
_STACK_CHECKS: weakref.WeakKeyDictionary[Any, list[_StackCheck]] = weakref.WeakKeyDictionary()


def _report_for(root: Any) -> PolicyReport:
    report = _REPORTS.get(root)
    if report is None:
        report = _REPORTS[root] = PolicyReport()
    return report


def policy_report(app: Any) -> PolicyReport | None:
    """The report of ``app``'s synth, or None when ``apply_policy`` was never called on it."""
    return _REPORTS.get(app) if app in _STACK_CHECKS else None


def suppress(construct: IConstruct, rule: str, *, reason: str) -> Suppression:
    """Accept a violation of ``rule`` for ``construct`` and its children. The reason is mandatory and
    shows up in the synth summary: a suppression is a reviewed decision, not a way to silence the build."""
    if rule not in RULES:
        raise ValueError(f"unknown policy rule {rule!r}; rules: {', '.join(RULES)}")
    if not reason or not reason.strip():
        raise ValueError(f"suppressing {rule} at {construct.node.path} needs a reason")
    entry = Suppression(rule=rule, path=construct.node.path, reason=reason.strip())
    construct.node.add_metadata(SUPPRESSION_METADATA, {"rule": rule, "reason": entry.reason})
    _report_for(construct.node.root).suppressions.append(entry)
    return entry


# --------------------------------------------------------------------------------------------------
# Reading a synthesized configuration
# --------------------------------------------------------------------------------------------------


def is_token(value: Any) -> bool:
    """A Terraform expression (``${aws_kms_key.data.arn}``, ``${ephemeral...}``) or an unresolved cdktf token
    (``${TfToken[...]}``): not a literal."""
    return isinstance(value, str) and "${" in value


def blocks(value: Any) -> list[Mapping[str, Any]]:
    """A nested block as a list of dicts, whether cdktf rendered it as one object or a list."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Mapping)]
    return []


def first(cfg: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """``first(cfg, "encryption_info", "encryption_in_transit")``: the first block down a path, or {}."""
    current: Mapping[str, Any] = cfg
    for key in keys:
        found = blocks(current.get(key))
        if not found:
            return {}
        current = found[0]
    return current


def truthy(value: Any) -> bool | None:
    """True/False for a literal boolean (or "true"/"false", as some provider 6 attributes are strings);
    None for a token, whose value only Terraform knows."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if is_token(value):
            return None
        return value.strip().lower() == "true"
    return bool(value) if value is not None else False


def walk_strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (attribute name, string value) in a configuration, at any depth."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k != "//":
                yield from walk_strings(v, k)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from walk_strings(v, key)


# --------------------------------------------------------------------------------------------------
# Per-resource rules: (type, config) -> [(rule id, message)]
# --------------------------------------------------------------------------------------------------

Issue = tuple[str, str]


def _key_issue(cfg: Mapping[str, Any], attr: str, what: str) -> Iterator[Issue]:
    value = cfg.get(attr)
    if not value:
        yield "GP001", f"{what} is not encrypted with our KMS key ({attr} missing)"
    elif isinstance(value, str) and AWS_MANAGED_KEY.search(value):
        yield "GP001", f"{what} uses the AWS-managed key {value!r}; use the region's data or secrets key"


def _encryption(rtype: str, cfg: Mapping[str, Any]) -> Iterator[Issue]:
    if rtype in ("aws_db_instance", "aws_rds_cluster"):
        # A read replica inherits encryption from its source; whether it names a key depends on its region
        # (AWS001: a same-region one must not, a cross-region one must); a key it names is ours.
        replica = bool(cfg.get("replicate_source_db"))
        if truthy(cfg.get("storage_encrypted")) is False and not replica:
            yield "GP001", "storage_encrypted is not true"
        if not replica or "kms_key_id" in cfg:
            yield from _key_issue(cfg, "kms_key_id", "storage")
    elif rtype == "aws_elasticache_replication_group":
        if truthy(cfg.get("at_rest_encryption_enabled")) is False:
            yield "GP001", "at_rest_encryption_enabled is not true"
        yield from _key_issue(cfg, "kms_key_id", "the cache")
        if truthy(cfg.get("transit_encryption_enabled")) is False:
            yield "GP002", "transit_encryption_enabled is not true (clients and replication in clear text)"
    elif rtype == "aws_msk_cluster":
        info = first(cfg, "encryption_info")
        yield from _key_issue(info, "encryption_at_rest_kms_key_arn", "broker storage")
        transit = first(info, "encryption_in_transit")
        client_broker = transit.get("client_broker", "TLS")
        if client_broker != "TLS" and not is_token(client_broker):
            yield "GP002", f"encryption_in_transit.client_broker is {client_broker!r}; only TLS is allowed"
        if truthy(transit.get("in_cluster", True)) is False:
            yield "GP002", "encryption_in_transit.in_cluster is false"
    elif rtype == "aws_eks_cluster":
        config = first(cfg, "encryption_config")
        if not config or "secrets" not in (config.get("resources") or []):
            yield "GP001", "Kubernetes secrets are not envelope-encrypted (encryption_config with resources [\"secrets\"])"
        else:
            yield from _key_issue(first(config, "provider"), "key_arn", "Kubernetes secrets")
    elif rtype == "aws_cloudwatch_log_group":
        yield from _key_issue(cfg, "kms_key_id", "the log group")
    elif rtype in ("aws_sns_topic", "aws_sqs_queue"):
        yield from _key_issue(cfg, "kms_master_key_id", "the " + ("topic" if rtype == "aws_sns_topic" else "queue"))
    elif rtype == "aws_secretsmanager_secret":
        yield from _key_issue(cfg, "kms_key_id", "the secret")
    elif rtype == "aws_ecr_repository":
        enc = first(cfg, "encryption_configuration")
        if enc.get("encryption_type") != "KMS":
            yield "GP001", "images are not encrypted with KMS (encryption_configuration.encryption_type = KMS)"
        else:
            yield from _key_issue(enc, "kms_key", "the repository")
    elif rtype == "aws_launch_template":
        mappings = [m for m in blocks(cfg.get("block_device_mappings")) if blocks(m.get("ebs"))]
        if not mappings:
            yield "GP001", "no block_device_mappings: EBS volumes would use the AMI's unencrypted defaults"
        for mapping in mappings:
            ebs = first(mapping, "ebs")
            device = mapping.get("device_name", "?")
            if truthy(ebs.get("encrypted")) is not True and not is_token(ebs.get("encrypted")):
                yield "GP001", f"EBS volume {device} is not encrypted"
            yield from _key_issue(ebs, "kms_key_id", f"EBS volume {device}")


def _public(rtype: str, cfg: Mapping[str, Any]) -> Iterator[Issue]:
    if rtype in ("aws_db_instance", "aws_rds_cluster_instance") and truthy(cfg.get("publicly_accessible")):
        yield "GP003", "publicly_accessible is true"
    elif rtype == "aws_msk_cluster":
        access = first(cfg, "broker_node_group_info", "connectivity_info", "public_access")
        kind = access.get("type", "DISABLED")
        if kind != "DISABLED" and not is_token(kind):
            yield "GP003", f"broker public access is {kind!r}"
    elif rtype == "aws_s3_bucket_acl":
        acl = cfg.get("acl", "")
        if isinstance(acl, str) and acl.startswith(("public-", "authenticated-read")):
            yield "GP003", f"bucket ACL {acl!r} grants access outside the account"
    elif rtype == "aws_eks_cluster":
        vpc = first(cfg, "vpc_config")
        if truthy(vpc.get("endpoint_public_access", True)):
            cidrs = vpc.get("public_access_cidrs") or ["0.0.0.0/0"]
            if any(c in OPEN_CIDRS for c in cidrs if isinstance(c, str)):
                yield "GP003", "the Kubernetes API endpoint is public to 0.0.0.0/0"


def _ingress_rules(rtype: str, cfg: Mapping[str, Any]) -> Iterator[tuple[set[str], int | None, int | None]]:
    """(open CIDRs, from_port, to_port) of every ingress permission the resource declares."""
    if rtype == "aws_security_group":
        for rule in blocks(cfg.get("ingress")):
            cidrs = set(rule.get("cidr_blocks") or []) | set(rule.get("ipv6_cidr_blocks") or [])
            yield cidrs & OPEN_CIDRS, rule.get("from_port"), rule.get("to_port")
    elif rtype == "aws_security_group_rule" and cfg.get("type") == "ingress":
        cidrs = set(cfg.get("cidr_blocks") or []) | set(cfg.get("ipv6_cidr_blocks") or [])
        yield cidrs & OPEN_CIDRS, cfg.get("from_port"), cfg.get("to_port")
    elif rtype == "aws_vpc_security_group_ingress_rule":
        cidrs = {cfg.get("cidr_ipv4"), cfg.get("cidr_ipv6")}
        yield {c for c in cidrs if c in OPEN_CIDRS}, cfg.get("from_port"), cfg.get("to_port")


def _open_ingress(rtype: str, cfg: Mapping[str, Any], path: str) -> Iterator[Issue]:
    load_balancer = any(LOAD_BALANCER_SEGMENT.search(segment) for segment in path.split("/")[1:])
    for cidrs, low, high in _ingress_rules(rtype, cfg):
        if not cidrs:
            continue
        ports = f"{low}-{high}" if low != high else f"{low}"
        web_only = isinstance(low, int) and low == high and low in LOAD_BALANCER_PORTS
        if load_balancer and web_only:
            continue
        where = "load balancer ingress is limited to ports 80/443" if load_balancer else "only the load balancer may be reached from the internet"
        yield "GP004", f"ingress from {', '.join(sorted(cidrs))} on port {ports}: {where}"


def _protection(rtype: str, cfg: Mapping[str, Any]) -> Iterator[Issue]:
    if rtype not in STATEFUL_TYPES:
        return
    lifecycle = first(cfg, "lifecycle")
    if truthy(lifecycle.get("prevent_destroy")) is not True:
        yield "GP007", f"stateful {rtype} lacks lifecycle.prevent_destroy (use constructs_lib.common.protected())"
    if rtype in DELETION_PROTECTION_TYPES and truthy(cfg.get("deletion_protection")) is False:
        yield "GP007", f"stateful {rtype} lacks deletion_protection = true"
    if rtype == "aws_s3_bucket" and truthy(cfg.get("force_destroy")):
        yield "GP007", "force_destroy would delete every object with the bucket"
    if rtype == "aws_ecr_repository" and truthy(cfg.get("force_delete")):
        yield "GP007", "force_delete would delete every image with the repository"


def _secrets(cfg: Mapping[str, Any]) -> Iterator[Issue]:
    for name, value in walk_strings(cfg):
        if not value:
            continue
        for pattern, what in SECRET_VALUE_PATTERNS:
            if pattern.search(value):
                yield "GP006", f"{name or 'a value'} holds {what}"
                break
        else:
            if SECRET_ATTRIBUTE.match(name) and not is_token(value):
                yield "GP006", f"{name} holds a literal; pass an ephemeral or referenced value (write-only argument)"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def workload_statement_issues(document: Any) -> Iterator[Issue]:
    """GP008 on one policy document (a JSON string or a parsed one) of a workload."""
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        yield "GP008", "the policy is not a JSON document the policy can read"
        return
    for statement in _as_list(parsed.get("Statement", [])) if isinstance(parsed, Mapping) else []:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid") or "a statement"
        for key in ("NotAction", "NotResource"):
            if key in statement:
                yield "GP008", f"{sid}: {key} grants everything but a list (PCI DSS 7.2.2): name what is allowed"
        actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
        wide = [a for a in actions if a == "*" or a.endswith(":*")]
        if wide:
            yield "GP008", f"{sid}: action {', '.join(wide)} grants every action of a service (PCI DSS 7.2.2)"
        resources = _as_list(statement.get("Resource", []))
        if "*" in resources and not set(actions) <= RESOURCE_WILDCARD_ONLY_ACTIONS:
            narrow = sorted(set(actions) - RESOURCE_WILDCARD_ONLY_ACTIONS)
            yield "GP008", f"{sid}: Resource \"*\" for {', '.join(narrow)}, which take a narrower ARN (PCI DSS 7.2.1)"


def _cost_tags(cfg: Mapping[str, Any]) -> Iterator[Issue]:
    tags = first(cfg, "default_tags").get("tags") or {}
    missing = [t for t in REQUIRED_COST_TAGS if not (isinstance(tags, Mapping) and tags.get(t))]
    if missing:
        yield "GP005", f"the AWS provider's default_tags lack {', '.join(missing)}"


def _log_retention(rtype: str, cfg: Mapping[str, Any]) -> Iterator[Issue]:
    if rtype != "aws_cloudwatch_log_group":
        return
    days = cfg.get("retention_in_days")
    if isinstance(days, int) and 0 < days < LOG_RETENTION_MIN_DAYS:  # 0 or unset: never expire
        yield "GP013", (f"events are kept {days} days: audit history is kept at least {LOG_RETENTION_MIN_DAYS} "
                        "(PCI DSS 10.5.1); set retention_in_days to 365 or more")


def full_access_policy(document: Any) -> bool:
    """Whether an endpoint policy allows every action on every resource to every principal without a condition:
    the policy AWS attaches when none is given (VPC User Guide, "Control access to VPC endpoints using endpoint
    policies")."""
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    for statement in _as_list(parsed.get("Statement", [])) if isinstance(parsed, Mapping) else []:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        anyone = principal == "*" or (isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS")))
        if anyone and "*" in _as_list(statement.get("Action")) and "*" in _as_list(statement.get("Resource")):
            return True
    return False


def _endpoint_policy_issues(document: Any) -> Iterator[Issue]:
    if full_access_policy(document):
        yield "GP014", ("the endpoint policy allows every action on every resource to anyone: name this account's "
                        "(or organization's) principals and resources (PCI DSS 1.3.2, 1.4.2)")


def _annotations(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    annotations = first(cfg, "metadata").get("annotations")
    return annotations if isinstance(annotations, Mapping) else {}


def _public_entry(rtype: str, cfg: Mapping[str, Any]) -> Iterator[Issue]:
    """GP015: an entry from the internet other than the API's ALB (its Ingress) and the CDN."""
    why = "the internet reaches the platform only through the API's ALB and the CDN (PCI DSS 1.3.1, 1.4.2)"
    if rtype in ("kubernetes_service_v1", "kubernetes_service"):
        annotations = _annotations(cfg)
        internal = any(str(annotations.get(k, "")).lower() == v for k, v in INTERNAL_SERVICE_ANNOTATIONS.items())
        if first(cfg, "spec").get("type") == "LoadBalancer" and not internal:
            yield "GP015", f"a Service of type LoadBalancer gets an internet-facing load balancer of its own, outside the WAF: {why}"
    elif rtype in ("kubernetes_ingress_v1", "kubernetes_ingress"):
        annotations = _annotations(cfg)
        kind = first(cfg, "spec").get("ingress_class_name") or annotations.get("kubernetes.io/ingress.class")
        if kind != "alb":
            yield "GP015", f"an Ingress of class {kind!r}: only the AWS Load Balancer Controller's class alb serves an entry: {why}"
        elif annotations.get("alb.ingress.kubernetes.io/scheme") == "internet-facing":
            missing = []
            if not annotations.get("alb.ingress.kubernetes.io/wafv2-acl-arn"):
                missing.append("the WAF web ACL (wafv2-acl-arn)")
            if not annotations.get("alb.ingress.kubernetes.io/certificate-arn"):
                missing.append("a certificate (certificate-arn)")
            if '"HTTP"' in str(annotations.get("alb.ingress.kubernetes.io/listen-ports", "")) and \
                    not annotations.get("alb.ingress.kubernetes.io/ssl-redirect"):
                missing.append("HTTP redirected to HTTPS (ssl-redirect)")
            if missing:
                yield "GP015", f"an internet-facing Ingress without {', '.join(missing)}: {why}"
    elif rtype in ("aws_lb", "aws_alb", "aws_elb") and truthy(cfg.get("internal")) is not True:
        yield "GP015", f"an internet-facing load balancer outside the API's Ingress (set internal = true): {why}"
    elif rtype == "aws_subnet" and truthy(cfg.get("map_public_ip_on_launch")):
        yield "GP015", f"the subnet gives every instance launched in it a public IPv4 address: {why}"
    elif rtype == "aws_instance" and truthy(cfg.get("associate_public_ip_address")):
        yield "GP015", f"the instance gets a public IPv4 address: {why}"
    elif rtype == "aws_launch_template" and any(truthy(n.get("associate_public_ip_address"))
                                                 for n in blocks(cfg.get("network_interfaces"))):
        yield "GP015", f"instances launched from the template get a public IPv4 address: {why}"
    elif (rtype == "aws_eip" and (cfg.get("instance") or cfg.get("network_interface"))) or rtype == "aws_eip_association":
        yield "GP015", f"a public IP address on an instance or network interface (only NAT gateways hold one): {why}"
    elif rtype == "aws_lambda_function_url" and cfg.get("authorization_type") == "NONE":
        yield "GP015", f"a function URL anyone can call without authentication: {why}"
    elif rtype == "aws_apigatewayv2_api":
        yield "GP015", f"an HTTP or WebSocket API (API Gateway v2 endpoints are public): {why}"
    elif rtype == "aws_api_gateway_rest_api":
        types = first(cfg, "endpoint_configuration").get("types") or ["EDGE"]
        if "PRIVATE" not in _as_list(types):
            yield "GP015", f"a public REST API (endpoint {', '.join(_as_list(types))}): {why}"


# --------------------------------------------------------------------------------------------------
# The aspect and the per-stack validation
# --------------------------------------------------------------------------------------------------


@dataclass
class _Bucket:
    path: str
    name: Any


class _StackCheck:
    """The policy's view of one stack: its configuration, the bucket index and the findings."""

    def __init__(self, stack: TerraformStack, report: PolicyReport) -> None:
        self.stack = stack
        self.report = report
        self.name = stack.node.id
        self.buckets: dict[str, _Bucket] = {}
        self.encrypted_buckets: set[str] = set()
        self.blocked_buckets: set[str] = set()
        #: GP008: workload roles (logical id -> path), and every inline policy / attachment by the role it names.
        self.workload_roles: dict[str, str] = {}
        self.role_policies: list[tuple[str, str, Any]] = []  # (role reference, path, document)
        self.role_attachments: list[tuple[str, str, Any]] = []  # (role reference, path, policy ARN)
        #: GP014: endpoints that take a policy and have none inline (logical id -> path), and the endpoints an
        #: ``aws_vpc_endpoint_policy`` gives one.
        self.endpoints_without_policy: dict[str, str] = {}
        self.endpoints_with_policy_resource: set[str] = set()
        #: The stack's configuration as read, kept for the rules that span stacks (``app_rules``, ``check_app``).
        self.config: Mapping[str, Any] | None = None
        #: The configuration as written (``cdk.tf.json``), when the stack is checked after a private synth.
        self.written: Mapping[str, Any] | None = None
        self.findings: list[Finding] = []
        self.done = False

    def add(self, path: str, issues: Iterable[Issue]) -> None:
        for rule, message in issues:
            finding = Finding(rule, path, message)
            if self.report.record(finding):
                self.findings.append(finding)

    def check_stack(self) -> None:
        """Every resource and AWS provider of the stack, as ``cdk.tf.json`` would hold them."""
        config = self.config = self.written if self.written is not None else self.stack.to_terraform()
        self.written = None
        for rtype, items in (config.get("resource") or {}).items():
            for fid, cfg in items.items():
                self.report.resources_checked += 1
                path = cfg.get("//", {}).get("metadata", {}).get("path") or f"{self.name}/{fid}"
                self.check_resource(rtype, fid, cfg, path)
        for _, _, path, rule, message in aws_rules.check(config):
            self.add(path, [(rule, message)])
        providers = blocks((config.get("provider") or {}).get("aws"))
        issues = [(cfg.get("alias"), [*_cost_tags(cfg), *_secrets(cfg)]) for cfg in providers]
        if any(found for _, found in issues):
            paths = self.provider_paths()
            for alias, found in issues:
                self.add(paths.get(alias, f"{self.name}/aws"), found)

    def provider_paths(self) -> dict[Any, str]:
        """Construct path of each AWS provider by alias (the JSON does not carry it; only asked on a finding)."""
        return {
            node.alias: node.node.path
            for node in self.stack.node.find_all()
            if isinstance(node, TerraformProvider) and node.terraform_resource_type == "aws"
        }

    def check_resource(self, rtype: str, fid: str, cfg: Mapping[str, Any], path: str) -> None:
        self.add(path, _encryption(rtype, cfg))
        self.add(path, _public(rtype, cfg))
        self.add(path, _open_ingress(rtype, cfg, path))
        self.add(path, _protection(rtype, cfg))
        self.add(path, _secrets(cfg))
        self.add(path, _log_retention(rtype, cfg))
        self.add(path, _public_entry(rtype, cfg))
        self.index(rtype, fid, cfg, path)

    def index(self, rtype: str, fid: str, cfg: Mapping[str, Any], path: str) -> None:
        """Remember what the bucket rules (GP001 SSE present, GP003 public access block) and the workload rule
        (GP008) need."""
        tags = cfg.get("tags") if isinstance(cfg.get("tags"), Mapping) else {}
        if rtype == "aws_iam_role" and WORKLOAD_TAG in tags:
            self.workload_roles[fid] = path
        elif rtype == "aws_iam_role_policy":
            self.role_policies.append((cfg.get("role"), path, cfg.get("policy")))
        elif rtype == "aws_iam_role_policy_attachment":
            self.role_attachments.append((cfg.get("role"), path, cfg.get("policy_arn")))
        elif rtype == "aws_iam_policy" and WORKLOAD_TAG in tags:
            self.add(path, workload_statement_issues(cfg.get("policy")))
        elif rtype == "aws_vpc_endpoint" and (cfg.get("vpc_endpoint_type") or "Gateway") in POLICY_ENDPOINT_TYPES:
            if cfg.get("policy"):
                self.add(path, _endpoint_policy_issues(cfg.get("policy")))
            else:
                self.endpoints_without_policy[fid] = path
        elif rtype == "aws_vpc_endpoint_policy":
            match = ENDPOINT_REFERENCE.match(str(cfg.get("vpc_endpoint_id", "")))
            if match:
                self.endpoints_with_policy_resource.add(match.group(1))
            self.add(path, _endpoint_policy_issues(cfg.get("policy")))
        if rtype == "aws_s3_bucket":
            self.buckets[fid] = _Bucket(path, cfg.get("bucket"))
            if blocks(cfg.get("server_side_encryption_configuration")):
                self.encrypted_buckets.add(fid)
        elif rtype == "aws_s3_bucket_server_side_encryption_configuration":
            self.encrypted_buckets.add(self.bucket_key(cfg.get("bucket")))
            for rule in blocks(cfg.get("rule")):
                default = first(rule, "apply_server_side_encryption_by_default")
                key = default.get("kms_master_key_id")
                if isinstance(key, str) and AWS_MANAGED_KEY.search(key):
                    self.add(path, [("GP001", f"bucket encryption uses the AWS-managed key {key!r}")])
        elif rtype == "aws_s3_bucket_public_access_block":
            flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
            if all(truthy(cfg.get(f)) is not False and f in cfg for f in flags):
                self.blocked_buckets.add(self.bucket_key(cfg.get("bucket")))
            else:
                self.add(path, [("GP003", "the public access block does not set all four flags to true")])

    def workload_role(self, ref: Any) -> bool:
        match = ROLE_REFERENCE.match(ref) if isinstance(ref, str) else None
        return bool(match and match.group(1) in self.workload_roles)

    def bucket_key(self, ref: Any) -> str:
        """The bucket's logical id for a reference (``${aws_s3_bucket.x.id}``) or its literal name."""
        match = BUCKET_REFERENCE.match(ref) if isinstance(ref, str) else None
        if match:
            return match.group(1)
        return next((fid for fid, b in self.buckets.items() if b.name == ref), f"name:{ref}")

    def finish(self) -> list[Finding]:
        """Check the stack once: its resources and providers, then the cross-resource rules."""
        if not self.done:
            self.done = True
            started = time.perf_counter()
            self.check_stack()
            for role, path, document in self.role_policies:
                if self.workload_role(role):
                    self.add(path, workload_statement_issues(document))
            for role, path, arn in self.role_attachments:
                if self.workload_role(role) and isinstance(arn, str) and AWS_MANAGED_POLICY.match(arn):
                    self.add(path, [("GP008", f"AWS-managed policy {arn.rsplit('/', 1)[-1]} on a workload role: "
                                              "its permissions are AWS's to widen (PCI DSS 7.2.2)")])
            for fid, path in sorted(self.endpoints_without_policy.items()):
                if fid not in self.endpoints_with_policy_resource:
                    self.add(path, [("GP014", "no endpoint policy: AWS's default lets any principal reach any resource of "
                                              "any account through it (PCI DSS 1.3.2, 1.4.2)")])
            for fid, bucket in sorted(self.buckets.items()):
                if fid not in self.encrypted_buckets:
                    self.add(bucket.path, [("GP001", "the bucket has no server-side encryption configuration")])
                if fid not in self.blocked_buckets:
                    self.add(bucket.path, [("GP003", "the bucket has no S3 public access block")])
            self.report.checked_stacks.add(self.name)
            self.report.seconds += time.perf_counter() - started
        return self.findings


@jsii.implements(IValidation)
class _PolicyValidation:
    """Runs after the aspects of its stack: cdktf refuses to write the stack when this returns anything."""

    def __init__(self, check: _StackCheck) -> None:
        self._check = check

    def validate(self) -> list[str]:
        if self._check.report.deferred:
            return []  # checked from the written JSON after the synth (``synth(app, private_outdir=...)``)
        return [f.line() for f in self._check.finish()]


def apply_policy(app: App) -> PolicyReport:
    """Register the policy on every stack of ``app`` (call once, after every stack exists)."""
    report = _report_for(app)
    checks = _STACK_CHECKS.setdefault(app, [])
    known = {c.name for c in checks}
    for child in app.node.children:
        if TerraformStack.is_stack(child) and child.node.id not in known:
            check = _StackCheck(child, report)
            child.node.add_validation(_PolicyValidation(check))
            checks.append(check)
    return report


def check_unvisited(app: App) -> list[Finding]:
    """Run the policy in Python over the stacks cdktf did not reach (it stops at the first refused one)."""
    findings: list[Finding] = []
    for check in _STACK_CHECKS.get(app, []):
        findings.extend(check.finish())
    return findings


def check_app(app: App) -> list[Finding]:
    """Run the rules that span stacks (``constructs_lib/app_rules.py``) once, over the configuration every stack
    validation read (a stack cdktf did not reach is read now), and return their unsuppressed findings."""
    report = _report_for(app)
    checks = _STACK_CHECKS.get(app, [])
    if report.whole_app_checked or not checks:
        return []
    for check in checks:
        check.finish()
    started = time.perf_counter()
    found: list[Finding] = []
    configs = {check.name: check.config for check in checks if check.config is not None}
    for _, _, path, rule, message in app_rules.check(configs):
        finding = Finding(rule, path, message)
        if report.record(finding):
            found.append(finding)
    for check in checks:
        check.config = None  # read once; the App's report outlives the synth
    report.whole_app_checked = True
    report.seconds += time.perf_counter() - started
    return found


def synth(app: App, *, private_outdir: Path | None = None) -> PolicyReport | None:
    """``app.synth()`` that raises ``PolicyViolation`` (every violation of every stack, and of the rules that span
    stacks) when the policy refuses it. Without ``apply_policy`` it is a plain synth and returns None.

    ``private_outdir``: the App's outdir, a folder nobody else reads and the caller removes when this raises
    (``main.py``'s temporary folder). The stacks are then checked from their written ``cdk.tf.json``."""
    report = policy_report(app)
    if report is not None and private_outdir is not None:
        report.deferred = True
        app.synth()
        for check in _STACK_CHECKS.get(app, []):
            written = private_outdir / "stacks" / check.name / "cdk.tf.json"
            check.written = json.loads(written.read_text())
            check.finish()
        check_app(app)
        if report.findings:
            raise PolicyViolation(report.findings)
        return report
    try:
        app.synth()
    except Exception:
        if report is not None and report.findings:
            raise PolicyViolation([*check_unvisited(app), *check_app(app)]) from None
        raise
    if report is not None:
        check_app(app)  # the rules that span stacks, once every stack is synthesized
        if report.findings:  # also refuses a caller that disabled cdktf validation
            raise PolicyViolation(report.findings)
    return report


__all__ = [
    "DELETION_PROTECTION_TYPES", "RULES", "STATEFUL_TYPES", "Finding", "PolicyReport",
    "PolicyViolation", "Suppression", "apply_policy", "check_app", "check_unvisited", "policy_report", "suppress", "synth",
]
