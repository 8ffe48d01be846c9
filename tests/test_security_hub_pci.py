"""Security Hub PCI DSS v4.0.1 read statically on the synthesized prod JSON (scripts/security_hub_pci.py).

Every control of the standard that applies to what the stacks create passes or carries a written exception;
the compliance page is current; and the checks can fail: violations planted into a copy of the JSON are caught.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import security_hub_pci as pci  # noqa: E402

from constructs_lib.synthesis import Synthesis  # noqa: E402


def results(stacks: dict[str, dict[str, Any]]) -> dict[str, pci.Result]:
    return {r.control.id: r for r in pci.evaluate(Synthesis(stacks))}


def test_every_applicable_control_passes_or_has_a_written_exception(prod: Synth) -> None:
    found = results(prod.stacks)
    failing = {cid: r.detail for cid, r in found.items() if r.status == "fail"}
    assert failing == {}
    assert all(len(pci.EXCEPTIONS[cid]) > 40 and "Owner:" in pci.EXCEPTIONS[cid] for cid, r in found.items() if r.status == "exception")
    # the baseline this project builds for the standard passes (not an exception)
    for cid in ("S3.1", "EC2.7", "IAM.7", "IAM.11", "IAM.12", "IAM.14", "IAM.16", "IAM.17", "IAM.18", "EC2.57", "ELB.17",
                "CloudTrail.1", "CloudTrail.2", "CloudTrail.4", "CloudTrail.5", "Config.1", "GuardDuty.1", "Inspector.1", "Inspector.2"):
        assert found[cid].status == "pass", (cid, found[cid].detail)


def test_every_exception_names_a_control_of_the_table() -> None:
    assert set(pci.EXCEPTIONS) <= {c.id for c in pci.CONTROLS}
    assert all(c.check is not None or c.id in pci.EXCEPTIONS for c in pci.CONTROLS)


def test_the_compliance_page_is_current(prod: Synth) -> None:
    assert pci.PAGE.read_text() == pci.page(pci.evaluate(prod)), "python3 scripts/security_hub_pci.py --write"


def _planted(prod: Synth, change) -> dict[str, dict[str, Any]]:
    stacks = copy.deepcopy(prod.stacks)
    change(stacks)
    return stacks


def _drop_type(rtype: str):
    def change(stacks: dict[str, dict[str, Any]]) -> None:
        for stack in stacks.values():
            stack.get("resource", {}).pop(rtype, None)
    return change


def _set_all(rtype: str, attr: str, value: Any):
    def change(stacks: dict[str, dict[str, Any]]) -> None:
        for stack in stacks.values():
            for cfg in stack.get("resource", {}).get(rtype, {}).values():
                cfg[attr] = value
    return change


def _ssl_policy(stacks: dict[str, dict[str, Any]]) -> None:
    for stack in stacks.values():
        for ing in stack.get("resource", {}).get("kubernetes_ingress_v1", {}).values():
            ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/ssl-policy"] = "ELBSecurityPolicy-2016-08"


def _no_ssm_endpoint(stacks: dict[str, dict[str, Any]]) -> None:
    for stack in stacks.values():
        endpoints = stack.get("resource", {}).get("aws_vpc_endpoint", {})
        for name in [n for n, c in endpoints.items() if c["service_name"].endswith(".ssm")]:
            del endpoints[name]


def _ssh_from_anywhere(stacks: dict[str, dict[str, Any]]) -> None:
    stack = next(s for s in stacks.values() if s.get("resource", {}).get("aws_vpc_security_group_ingress_rule"))
    rule = next(iter(stack["resource"]["aws_vpc_security_group_ingress_rule"].values()))
    rule.update({"cidr_ipv4": "0.0.0.0/0", "from_port": 22, "to_port": 22, "ip_protocol": "tcp"})
    rule.pop("referenced_security_group_id", None)


@pytest.mark.parametrize(("control", "change"), [
    ("S3.1", _drop_type("aws_s3_account_public_access_block")),
    ("EC2.7", _drop_type("aws_ebs_encryption_by_default")),
    ("IAM.7", _set_all("aws_iam_account_password_policy", "minimum_password_length", 8)),
    ("IAM.16", _set_all("aws_iam_account_password_policy", "password_reuse_prevention", 4)),
    ("IAM.17", _set_all("aws_iam_account_password_policy", "max_password_age", 180)),
    ("IAM.18", _drop_type("aws_iam_role_policy_attachment")),
    ("EC2.57", _no_ssm_endpoint),
    ("ELB.17", _ssl_policy),
    ("EC2.13", _ssh_from_anywhere),
    ("CloudTrail.1", _set_all("aws_cloudtrail", "is_multi_region_trail", False)),
    ("CloudTrail.4", _set_all("aws_cloudtrail", "enable_log_file_validation", False)),
    ("CloudTrail.3", _drop_type("aws_cloudtrail")),
    ("GuardDuty.7", _drop_type("aws_guardduty_detector_feature")),
    ("Inspector.2", _set_all("aws_inspector2_enabler", "resource_types", ["EC2"])),
    ("KMS.4", _set_all("aws_kms_key", "enable_key_rotation", False)),
    ("EKS.1", lambda stacks: _set_all("aws_eks_cluster", "vpc_config", [{"endpoint_public_access": True}])(stacks)),
])
def test_a_planted_violation_fails_its_control(prod: Synth, control: str, change) -> None:
    found = results(_planted(prod, change))
    assert found[control].status == "fail", (control, found[control])


def test_the_cli_exits_1_on_a_failing_control(prod: Synth, tmp_path: Path) -> None:
    stacks = _planted(prod, _ssl_policy)
    for name, stack in stacks.items():
        (tmp_path / "stacks" / name).mkdir(parents=True)
        (tmp_path / "stacks" / name / "cdk.tf.json").write_text(json.dumps(stack))
    assert pci.main([str(tmp_path)]) == 1
    assert pci.main([str(prod.outdir)]) == 0
