"""One stack's rehearsal copy: the synthesized JSON as is (less the listed compatibility drops) plus one
``rehearsal_override.tf.json`` that Terraform merges over it:

* a local backend in the copy's folder (the real S3 backend needs the state bucket and credentials);
* the aws provider version chosen by ``provider.choose_provider``;
* every aws provider block (each alias, each region) pointed at the emulator: test credentials, no credential
  or account-id validation against real AWS, path-style S3, and an endpoint for every service the stack uses;
* every ``terraform_remote_state`` read from a local state file that the rehearsal writes (``remote_state``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.provider import CompatDrop, apply_drops

OVERRIDE_FILE = "rehearsal_override.tf.json"

#: Resource/data type prefix -> the provider's ``endpoints`` key (longest prefix wins). A type that matches
#: none stops the rehearsal: a new service needs its endpoint here, never a silent call to real AWS.
SERVICE_BY_PREFIX: dict[str, str] = {
    "aws_accessanalyzer_": "accessanalyzer",
    "aws_acm_": "acm",
    "aws_appautoscaling_": "appautoscaling",
    "aws_budgets_": "budgets",
    "aws_cloudfront_": "cloudfront",
    "aws_cloudtrail": "cloudtrail",
    "aws_config_": "configservice",
    "aws_cloudwatch_dashboard": "cloudwatch",
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_cloudwatch_composite_alarm": "cloudwatch",
    "aws_cloudwatch_log_": "logs",
    "aws_cloudwatch_event_": "events",
    "aws_db_": "rds",
    "aws_rds_": "rds",
    "aws_default_security_group": "ec2",
    "aws_default_route_table": "ec2",
    "aws_default_network_acl": "ec2",
    "aws_dlm_": "dlm",
    "aws_ec2_": "ec2",
    "aws_ecr_": "ecr",
    "aws_ebs_": "ec2",
    "aws_eip": "ec2",
    "aws_eks_": "eks",
    "aws_elasticache_": "elasticache",
    "aws_flow_log": "ec2",
    "aws_guardduty_": "guardduty",
    "aws_iam_": "iam",
    "aws_inspector2_": "inspector2",
    "aws_internet_gateway": "ec2",
    "aws_kms_": "kms",
    "aws_lambda_": "lambda",
    "aws_launch_template": "ec2",
    "aws_lb": "elbv2",
    "aws_msk_": "kafka",
    "aws_nat_gateway": "ec2",
    "aws_network_acl": "ec2",
    "aws_networkfirewall_": "networkfirewall",
    "aws_route53_": "route53",
    "aws_route53_resolver_": "route53resolver",
    # ARC's configuration API (the provider sends it to us-west-2 whatever the provider's region).
    "aws_route53recoverycontrolconfig_": "route53recoverycontrolconfig",
    "aws_route_table": "ec2",
    "aws_route": "ec2",
    "aws_s3_": "s3",
    "aws_s3_account_": "s3control",
    "aws_secretsmanager_": "secretsmanager",
    "aws_security_group": "ec2",
    "aws_securityhub_": "securityhub",
    "aws_shield_": "shield",
    "aws_sns_": "sns",
    "aws_sqs_": "sqs",
    "aws_subnet": "ec2",
    "aws_vpc": "ec2",
    "aws_wafv2_": "wafv2",
    "aws_xray_": "xray",
}
#: Called by the provider itself (identity), whatever the stack holds.
ALWAYS = ("sts", "iam")
#: Types that call no service.
NO_SERVICE = frozenset({"aws_partition", "aws_region", "aws_iam_policy_document", "aws_default_tags",
                        "aws_caller_identity"})


class UnknownService(ValueError):
    pass


def service_of(rtype: str) -> str | None:
    if rtype in NO_SERVICE:
        return None
    best = max((p for p in SERVICE_BY_PREFIX if rtype.startswith(p)), key=len, default=None)
    if best is None:
        raise UnknownService(f"{rtype}: no emulator endpoint is mapped for its service (scripts/rehearsal/workspace.py, SERVICE_BY_PREFIX)")
    return SERVICE_BY_PREFIX[best]


def services(stack: Mapping[str, Any]) -> list[str]:
    """The endpoints keys every AWS type of ``stack`` needs (resources, data sources, ephemeral resources)."""
    found = set(ALWAYS)
    for block in ("resource", "data", "ephemeral"):
        for rtype in stack.get(block, {}):
            if rtype.startswith("aws_"):
                service = service_of(rtype)
                if service:
                    found.add(service)
    return sorted(found)


@dataclass
class RemoteStateInput:
    """A ``terraform_remote_state`` of a stack: whose state it reads and which outputs the stack uses."""

    data_name: str
    producer: str
    outputs: list[str] = field(default_factory=list)


def remote_state_inputs(stack: Mapping[str, Any]) -> list[RemoteStateInput]:
    text = json.dumps(stack)
    inputs = []
    for name, config in sorted(stack.get("data", {}).get("terraform_remote_state", {}).items()):
        key = config.get("config", {}).get("key") or config.get("config", {}).get("path", "")
        producer = key.split("/", 1)[0] if "/" in key else Path(key).stem.removeprefix("terraform.")
        used = sorted(set(re.findall(rf"data\.terraform_remote_state\.{re.escape(name)}\.outputs\.([\w-]+)", text)))
        inputs.append(RemoteStateInput(name, producer, used))
    return inputs


def provider_override(stack: Mapping[str, Any], endpoint: str) -> list[dict[str, Any]]:
    endpoints = {service: endpoint for service in services(stack)}
    blocks = []
    for block in stack.get("provider", {}).get("aws", []):
        override: dict[str, Any] = {
            "access_key": "rehearsal",
            "secret_key": "rehearsal",
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
            "s3_use_path_style": True,
            "endpoints": [endpoints],
        }
        if "alias" in block:
            override["alias"] = block["alias"]
        blocks.append(override)
    return blocks


def aws_part(stack: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """A stack that also uses the kubernetes or helm provider, cut to what the emulator can plan: its AWS resources
    and data sources (and the remote state they read), the AWS provider, nothing else. Returns the cut stack and
    ``{type: count}`` of the resources left out. An AWS resource that refers to one left out fails ``validate``,
    as it should: then the cut would hide something."""
    cut = json.loads(json.dumps(stack))
    left_out: dict[str, int] = {}
    for rtype in list(cut.get("resource", {})):
        if not rtype.startswith("aws_"):
            left_out[rtype] = len(cut["resource"].pop(rtype))
    for dtype in list(cut.get("data", {})):
        if not (dtype.startswith("aws_") or dtype == "terraform_remote_state"):
            left_out[f"data.{dtype}"] = len(cut["data"].pop(dtype))
    cut["provider"] = {k: v for k, v in cut.get("provider", {}).items() if k == "aws"}
    required = cut.get("terraform", {}).get("required_providers", {})
    cut.setdefault("terraform", {})["required_providers"] = {k: v for k, v in required.items() if k == "aws"}
    cut.pop("output", None)  # nothing reads an AWS part's outputs in the rehearsal
    return cut, dict(sorted(left_out.items()))


@dataclass
class PreparedStack:
    name: str
    directory: Path
    dropped: dict[str, int]
    remote_inputs: list[RemoteStateInput]
    #: Resources of other providers left out (``aws_part``); empty for an AWS-only stack.
    left_out: dict[str, int] = field(default_factory=dict)


def prepare(name: str, source_dir: Path, workdir: Path, *, provider_version: str, endpoint: str,
            drops: tuple[CompatDrop, ...], remote_state_dir: Path, only_aws_part: bool = False) -> PreparedStack:
    """Copy one synthesized stack into ``workdir/<name>`` and write its override file (``only_aws_part``: the
    copy holds the stack's ``aws_part``)."""
    target = workdir / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source_dir, target, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "*.tfplan", ".terraform.lock.hcl"))
    stack = json.loads((target / "cdk.tf.json").read_text())
    left_out: dict[str, int] = {}
    if only_aws_part:
        stack, left_out = aws_part(stack)
    dropped = apply_drops(stack, drops)
    if dropped or only_aws_part:
        (target / "cdk.tf.json").write_text(json.dumps(stack, indent=2))
    inputs = remote_state_inputs(stack)
    override: dict[str, Any] = {
        "terraform": {
            "backend": {"local": {"path": "terraform.tfstate"}},
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": provider_version}},
        },
        "provider": {"aws": provider_override(stack, endpoint)},
    }
    if inputs:
        override["data"] = {"terraform_remote_state": {
            i.data_name: {"backend": "local", "config": {"path": str(remote_state_dir / f"{i.producer}.tfstate")}}
            for i in inputs
        }}
    (target / OVERRIDE_FILE).write_text(json.dumps(override, indent=2, sort_keys=True))
    return PreparedStack(name, target, dropped, inputs, left_out)


# ------------------------------------------------------------------------------------------------------
# Outputs of producers, for their consumers' terraform_remote_state
# ------------------------------------------------------------------------------------------------------

_ID_PREFIX = {
    "aws_vpc": "vpc-", "aws_subnet": "subnet-", "aws_security_group": "sg-", "aws_ec2_transit_gateway": "tgw-",
    "aws_route_table": "rtb-", "aws_internet_gateway": "igw-", "aws_nat_gateway": "nat-", "aws_eip": "eipalloc-",
    "aws_ec2_transit_gateway_route_table": "tgw-rtb-", "aws_ec2_transit_gateway_vpc_attachment": "tgw-attach-",
    "aws_kms_key": "", "aws_launch_template": "lt-",
}
_ATTR_PREFIX = {"association_default_route_table_id": "tgw-rtb-", "propagation_default_route_table_id": "tgw-rtb-",
                "vpc_id": "vpc-", "security_group_id": "sg-", "cluster_security_group_id": "sg-"}
_REFERENCE = re.compile(r"^\$\{(aws_[a-z0-9_]+)\.([^.}]+)\.([^}]+)\}$")


def placeholder(expression: str, *, region: str, account: str) -> Any:
    """A value of the right form for an output whose planned value is unknown until apply.

    ``${aws_iam_role.x.arn}`` -> ``arn:aws:iam::<account>:role/rehearsal-x``; ids get their AWS prefix; endpoints
    and addresses a host name; the EKS CA a base64 string. Deterministic: same input, same placeholder.
    """
    digest = hashlib.sha256(str(expression).encode()).hexdigest()[:17]
    match = _REFERENCE.match(expression) if isinstance(expression, str) else None
    if not match:
        return f"rehearsal-{digest[:8]}"
    rtype, name, attr = match.groups()
    attr = re.sub(r"\[\d+\]", "", attr)
    last = attr.split(".")[-1]
    short = re.sub(r"[^a-z0-9-]", "-", name.lower())[:40].strip("-")
    service = service_of(rtype) or "aws"
    if last == "arn" or last.endswith("_arn"):
        if service == "iam":
            return f"arn:aws:iam::{account}:role/rehearsal-{short}"
        if service == "s3":
            return f"arn:aws:s3:::rehearsal-{short}"
        if service == "kms":
            return f"arn:aws:kms:{region}:{account}:key/{digest[:8]}-0000-4000-8000-{digest[:12]}"
        if service == "wafv2":
            return f"arn:aws:wafv2:{region}:{account}:regional/webacl/rehearsal-{short}/{digest[:8]}-0000-4000-8000-{digest[:12]}"
        kind = rtype.removeprefix("aws_").split("_")[-1]
        return f"arn:aws:{service}:{region}:{account}:{kind}/rehearsal-{short}"
    if last == "id" and rtype in _ID_PREFIX:
        return f"{_ID_PREFIX[rtype]}{digest}"
    if last in _ATTR_PREFIX:
        return f"{_ATTR_PREFIX[last]}{digest}"
    if last == "data":  # certificate_authority[0].data
        return "cmVoZWFyc2FsLWNlcnRpZmljYXRlLWF1dGhvcml0eQ=="
    if last.startswith("bootstrap_brokers"):  # MSK's port of each listener: SASL/IAM, SASL/SCRAM, TLS
        port = 9098 if last.endswith("sasl_iam") else 9096 if last.endswith("sasl_scram") else 9094
        return ",".join(f"b-{i}.rehearsal.{digest[:6]}.c2.kafka.{region}.amazonaws.com:{port}" for i in (1, 2, 3))
    if last == "endpoint":
        return f"https://{digest[:32].upper()}.gr7.{region}.eks.amazonaws.com" if rtype == "aws_eks_cluster" else f"rehearsal-{short}.{region}.amazonaws.com"
    if "endpoint" in last or "address" in last or last.endswith("dns_name"):
        return f"rehearsal-{short}.{digest[:6]}.{region}.amazonaws.com"
    if last in ("name", "bucket"):
        return f"rehearsal-{short}"
    return f"rehearsal-{short}-{last}"


def state_with_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """A Terraform state (v4) holding only ``outputs``: what ``terraform_remote_state`` reads."""
    def cty(value: Any) -> Any:
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, (int, float)):
            return "number"
        if isinstance(value, list):
            return ["tuple", [cty(v) for v in value]]
        if isinstance(value, dict):
            return ["object", {k: cty(v) for k, v in value.items()}]
        return "string"

    return {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": "globalpay-rehearsal",
        "outputs": {name: {"value": value, "type": cty(value)} for name, value in sorted(outputs.items())},
        "resources": [],
        "check_results": None,
    }
