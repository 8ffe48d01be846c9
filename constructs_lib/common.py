"""Small helpers every construct shares: IAM documents, lifecycle protection, the caller's account."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from constructs_lib.providers import aws


def policy_document(statements: Iterable[Mapping[str, Any]]) -> str:
    """An IAM/resource policy as the JSON string Terraform expects (stable key order: deterministic synth)."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role_policy(service: str, *, source_account: str | None = None) -> str:
    """Trust policy for an AWS service principal, optionally pinned to our account (confused deputy)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return policy_document([statement])


def log_group_delivery_policy(sid: str, log_group_arn: str, account: AccountContext, region: str) -> str:
    """Resource policy of a CloudWatch Logs group written by the log delivery service (WAF, Network Firewall):
    ``delivery.logs.amazonaws.com`` may write into that group only, for this account's deliveries in ``region``
    (CloudWatch Logs User Guide, "Logs sent to CloudWatch Logs", with the confused-deputy conditions)."""
    return policy_document([{
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "delivery.logs.amazonaws.com"},
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"{log_group_arn}:*",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account.account_id},
            "ArnLike": {"aws:SourceArn": account.arn("logs", region, "*")},
        },
    }])


def protected(*, ignore_changes: list[str] | None = None) -> TerraformResourceLifecycle:
    """Lifecycle of a stateful resource: Terraform refuses to destroy it (DESIGN.md, "nothing lost")."""
    if ignore_changes:
        return TerraformResourceLifecycle(prevent_destroy=True, ignore_changes=ignore_changes)
    return TerraformResourceLifecycle(prevent_destroy=True)


class AccountContext(Construct):
    """The account id and partition at apply time (never hard-coded in resources)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        caller = aws.data_aws_caller_identity.DataAwsCallerIdentity(self, "caller")
        partition = aws.data_aws_partition.DataAwsPartition(self, "partition")
        self.account_id: str = caller.account_id
        self.partition: str = partition.partition
        self.dns_suffix: str = partition.dns_suffix

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"


def security_group_rule(
    scope: Construct,
    id: str,
    *,
    security_group_id: str,
    description: str,
    ports: int | tuple[int, int] | None,
    peer_group_id: str | None = None,
    cidr: str | None = None,
    prefix_list_id: str | None = None,
    egress: bool = False,
) -> Any:
    """One ingress (or egress) rule as its own resource: TCP on ``ports`` (one port or a range; ``None`` is
    all traffic), to or from exactly one peer, a security group, a CIDR or a managed prefix list, always with a
    description."""
    if sum(peer is not None for peer in (peer_group_id, cidr, prefix_list_id)) != 1:
        raise ValueError(f"{id}: give exactly one of peer_group_id, cidr and prefix_list_id")
    kwargs: dict[str, Any] = {"security_group_id": security_group_id, "description": description}
    if ports is None:
        kwargs["ip_protocol"] = "-1"
    else:
        low, high = (ports, ports) if isinstance(ports, int) else ports
        kwargs.update(ip_protocol="tcp", from_port=low, to_port=high)
    if peer_group_id is not None:
        kwargs["referenced_security_group_id"] = peer_group_id
    elif prefix_list_id is not None:
        kwargs["prefix_list_id"] = prefix_list_id
    else:
        kwargs["cidr_ipv4"] = cidr
    rule = aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule if egress else aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
    return rule(scope, id, **kwargs)
