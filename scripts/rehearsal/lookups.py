"""What the synthesized stacks look up in AWS instead of creating: data sources that find an object by name,
and principals named by literal ARN. The rehearsal creates a stand-in for each in the emulator before planning
(``seed_plan``); the deploy-order test uses the same list to prove each object exists before its reader runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: Data sources that find nothing: the caller, the partition, policy documents, other stacks' outputs.
CONTEXT_DATA = frozenset({
    "aws_caller_identity", "aws_partition", "aws_region", "aws_availability_zones", "aws_iam_policy_document",
    "aws_default_tags", "terraform_remote_state",
})

#: Data sources that find an object by name: type -> (identifying arguments, stand-in kind for the emulator).
BY_NAME: dict[str, tuple[tuple[str, ...], str]] = {
    "aws_route53_zone": (("name",), "route53_zone"),
    "aws_acm_certificate": (("domain",), "acm_certificate"),
    "aws_lb": (("name",), "load_balancer"),
    "aws_iam_role": (("name",), "iam_role"),
    # organization mode: the landing zone's detector in the region (one per account and region, no name)
    "aws_guardduty_detector": ((), "guardduty_detector"),
}

#: Data sources the stacks may only use with a reference (an object of the same plan): no stand-in exists for a
#: literal key, so one is reported as unsupported.
REFERENCE_ONLY: dict[str, tuple[str, ...]] = {
    "aws_secretsmanager_secret_version": ("secret_id",),
}

#: A role ARN spelled from its name; partition and account may be the stack's own data-source tokens.
_ROLE_ARN = re.compile(r"arn:(?:aws[\w-]*|\$\{[^}]+\}):iam::(?:\d{12}|\$\{[^}]+\}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)")


@dataclass(frozen=True)
class Lookup:
    """One object a stack expects to exist when it is planned."""

    stack: str
    #: Terraform address in that stack: ``data.aws_lb.ingress-alb``, or the resource naming a principal.
    address: str
    #: The stand-in kind (``BY_NAME``) or ``"unsupported"``.
    kind: str
    region: str
    #: The identifying arguments: ``{"name": "globalpay-prod-api"}``.
    key: tuple[tuple[str, str], ...]

    @property
    def args(self) -> dict[str, str]:
        return dict(self.key)

    def describe(self) -> str:
        what = ", ".join(f"{k}={v}" for k, v in self.key)
        return f"{self.kind} {what} in {self.region}"


def provider_regions(stack: Mapping[str, Any]) -> dict[str, str]:
    """``{"aws": default region, "aws.<alias>": region}`` of a synthesized stack."""
    regions: dict[str, str] = {}
    for block in stack.get("provider", {}).get("aws", []):
        regions["aws" if "alias" not in block else f"aws.{block['alias']}"] = block.get("region", "")
    return regions


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def find_lookups(stack_name: str, stack: Mapping[str, Any]) -> Iterator[Lookup]:
    """Every by-name lookup of one stack. Lookups whose key is a reference (``${aws_x.y.id}``) resolve against
    an object of the same plan or another stack's outputs and are not listed; unknown types are ``unsupported``."""
    regions = provider_regions(stack)
    for dtype, items in sorted(stack.get("data", {}).items()):
        if dtype in CONTEXT_DATA:
            continue
        for name, config in sorted(items.items()):
            region = regions.get(config.get("provider", "aws"), regions.get("aws", ""))
            args, kind = BY_NAME.get(dtype, (REFERENCE_ONLY.get(dtype, ()), "unsupported"))
            values = {a: config.get(a) for a in args}
            if values and any(_is_reference(v) for v in values.values()):
                continue
            if kind == "unsupported":
                yield Lookup(stack_name, f"data.{dtype}.{name}", kind, region, (("type", dtype),))
                continue
            yield Lookup(stack_name, f"data.{dtype}.{name}", kind, region, tuple((a, str(v)) for a, v in values.items()))
    created_roles = {cfg.get("name") for cfg in stack.get("resource", {}).get("aws_iam_role", {}).values()}
    for name, config in sorted(stack.get("resource", {}).get("aws_eks_access_entry", {}).items()):
        principal = config.get("principal_arn", "")
        match = _ROLE_ARN.fullmatch(principal) if isinstance(principal, str) else None
        if match and match.group(1) not in created_roles:
            yield Lookup(stack_name, f"aws_eks_access_entry.{name}", "iam_role", "us-east-1", (("name", match.group(1)),))


def seed_plan(lookups: list[Lookup]) -> dict[str, Any]:
    """The emulator objects that stand in for ``lookups`` (one per kind, region and key)."""
    objects: dict[tuple, dict[str, str]] = {}
    for lookup in lookups:
        region = "us-east-1" if lookup.kind in ("route53_zone", "iam_role") else lookup.region  # global services
        objects.setdefault((lookup.kind, region, lookup.key), {"kind": lookup.kind, "region": region, **lookup.args})
    return {"objects": [objects[k] for k in sorted(objects)]}
