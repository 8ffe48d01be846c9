"""The compliance pages are what the synthesized JSON says, and a removed control shows as a requirement not met.

docs/compliance/pci-dss.md, docs/compliance/soc2.md and docs/compliance/access-model.md are regenerated from the
session's prod synthesis (no synth of their own) and compared byte for byte, as `tasks.py compliance --check` and
`tasks.py access-model --check` do. A control removed on purpose from a copy of that JSON (Object Lock taken off one
log archive) turns the PCI DSS requirements it proves into "not met" and fails the check; the same removal refuses
the synth with exit 3 (tests/test_app_rules.py::test_removing_object_lock_from_one_archive_refuses_the_prod_synth).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import app_rules, aws_rules, policy
from constructs_lib.synthesis import Synthesis
from scripts import access_model, compliance
from scripts.compliance_catalogue import NOT_MET, STANDARDS, STATUSES
from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "docs" / "compliance"
#: The sub-requirements the checklist must cite (those of PCI DSS v4.0.1 that reach the AWS layer).
PCI_AWS_LAYER = ("1.2", "1.3", "1.4", "2.2", "3.5", "3.6", "3.7", "4.2", "5.2", "5.3", "6.3", "6.4", "7.2", "8.2",
                 "8.3", "8.4", "8.5", "8.6", "10.2", "10.3", "10.4", "10.5", "10.6", "10.7", "11.3", "11.4", "11.5",
                 "11.6", "12.10")
ALL_RULES = {*policy.RULES, *app_rules.RULES, *aws_rules.RULES}


def _without_object_lock_on_one_archive(prod: Synth) -> tuple[Synthesis, str]:
    """A copy of the prod JSON whose us-east-1 log archive lost its Object Lock configuration (the only thing that
    made the region's access-log bucket write-once), and that archive's bucket name."""
    stacks = dict(prod.stacks)
    core = stacks["globalpay-prod-us-east-1"] = copy.deepcopy(prod.stacks["globalpay-prod-us-east-1"])
    locks = core["resource"]["aws_s3_bucket_object_lock_configuration"]
    [name] = [k for k in locks if k.startswith("operations_log-archive_")]
    bucket = core["resource"]["aws_s3_bucket"][re.search(r"aws_s3_bucket\.([^.]+)\.", locks[name]["bucket"]).group(1)]
    del locks[name]
    return Synthesis(stacks), bucket["bucket"]


def test_the_checklists_and_the_access_model_are_what_the_json_says(prod: Synth) -> None:
    for path, text in compliance.pages(prod).items():
        assert path.read_text() == text, f"{path} is stale: run `python3 tasks.py synth` and `python3 tasks.py compliance`"
    assert compliance.check(prod) == []
    assert (PAGES / "access-model.md").read_text() == access_model.render(prod), \
        "docs/compliance/access-model.md is stale: run `python3 tasks.py access-model`"


def test_every_claim_holds_on_prod_and_the_aws_layer_is_cited(prod: Synth) -> None:
    pci = compliance.evaluate_all("pci-dss", prod)
    rows = [row for _, rows in pci for row in rows]
    assert [row.requirement.id for row in rows if row.status == NOT_MET] == []
    ids = [row.requirement.id for row in rows]
    assert len(ids) == len(set(ids))
    for prefix in PCI_AWS_LAYER:
        assert any(i.startswith(prefix + ".") for i in ids), f"PCI DSS {prefix}.x is not in the checklist"
    for row in rows:
        if row.requirement.status == "met":  # a claim the project makes alone carries evidence and a guard
            assert row.evidence.items and row.requirement.guard, row.requirement.id
        if row.evidence.items:  # evidence is found in this synthesis: every address is one of its resources
            for item in row.evidence.items:
                assert prod.find(item.rtype, item.name, item.stack) is item
    soc2 = {row.requirement.id for _, rows in compliance.evaluate_all("soc2", prod) for row in rows}
    assert {"CC6.1", "CC6.3", "CC6.6", "CC6.7", "CC6.8", "CC7.1", "CC7.2", "CC7.3", "CC7.4", "CC7.5", "CC8.1",
            "A1.1", "A1.2", "A1.3"} <= soc2


def test_every_entry_has_a_known_status_and_guards_that_exist() -> None:
    tests_dir = ROOT / "tests"
    for groups in STANDARDS.values():
        for group in groups:
            for requirement in group.requirements:
                assert requirement.status in STATUSES, requirement.id
                assert requirement.wording and not requirement.wording.endswith("."), requirement.id
                if requirement.status in ("customer", "partly"):
                    assert requirement.operator, f"{requirement.id}: say what the operator must do"
                for guard in requirement.guard:
                    if re.fullmatch(r"(GP|AWS)\d{3}", guard):
                        assert guard in ALL_RULES, f"{requirement.id}: no rule {guard}"
                        continue
                    file, _, name = guard.partition("::")
                    source = (ROOT / file).read_text() if (ROOT / file).is_file() else ""
                    assert file.startswith("tests/") and source, f"{requirement.id}: no test file {file}"
                    assert not name or f"def {name}(" in source, f"{requirement.id}: no test {guard}"
    assert (tests_dir / "test_compliance.py").is_file()


def _cited(text: str) -> dict[str, set[str]]:
    """``{rule: {requirement ids}}``: the PCI DSS requirements each rule's paragraph (or table row) cites."""
    cited: dict[str, set[str]] = {}
    parts = re.split(r"(?m)^(?:\| )?(GP\d{3})\b", text)
    for rule, body in zip(parts[1::2], parts[2::2], strict=True):
        found = re.search(r"PCI DSS ([0-9]+(?:\.[0-9]+)+(?:, [0-9]+(?:\.[0-9]+)+)*)", body)
        if found:
            cited.setdefault(rule, set()).update(found.group(1).split(", "))
    return cited


def test_each_rule_guards_the_requirements_it_cites_and_the_docs_cite_the_same() -> None:
    """A rule's message names its PCI DSS requirements; the checklist lists the rule as a guard of each one, and
    docs/safe-change.md cites the same requirements as the rule's module."""
    from_code = {**_cited(policy.__doc__ or ""), **_cited(app_rules.__doc__ or "")}
    assert {"GP008", "GP009", "GP010", "GP011", "GP012", "GP013", "GP014", "GP015"} <= set(from_code)
    guards = {r.id: set(r.guard) for group in STANDARDS["pci-dss"] for r in group.requirements}
    for rule, requirements in from_code.items():
        for requirement in requirements:
            assert rule in guards.get(requirement, set()), f"{rule} cites PCI DSS {requirement}, whose row does not name it"
    documented = _cited((ROOT / "docs" / "safe-change.md").read_text().split("## 2.")[0])
    assert {rule: documented.get(rule) for rule in from_code} == from_code


def test_removing_object_lock_from_one_archive_turns_the_requirements_not_met_and_fails_the_check(prod: Synth) -> None:
    unlocked, archive = _without_object_lock_on_one_archive(prod)
    problems = compliance.check(unlocked)
    failed = sorted({line.split(" not met:")[0] for line in problems if " not met:" in line})
    assert failed == ["pci-dss 10.3.2", "pci-dss 10.3.3", "pci-dss 10.3.4", "pci-dss 10.5.1"]
    assert all("GP010 globalpay-prod-us-east-1/operations/access-log-bucket/bucket" in line and archive in line
               for line in problems if " not met:" in line)
    page = compliance.render("pci-dss", unlocked)
    assert "Status: **not met** (claimed: met)" in page
    assert any(line.endswith("is stale: run `python3 tasks.py compliance`") for line in problems)
    # the evidence of the requirement no longer lists the removed configuration
    assert "operations_log-archive_" not in page.split('<a id="r-10-3-2">')[1].split("Missing:")[0]


def test_a_requirement_without_its_evidence_is_not_met(prod: Synth) -> None:
    stacks = {name: (copy.deepcopy(stack) if name.endswith("-security") else stack) for name, stack in prod.stacks.items()}
    for name, stack in stacks.items():
        if name.endswith("-security"):
            stack["resource"].pop("aws_inspector2_enabler", None)
    rows = {row.requirement.id: row for _, rows in compliance.evaluate_all("pci-dss", Synthesis(stacks)) for row in rows}
    assert rows["11.3.1"].status == NOT_MET and rows["11.3.1"].evidence.gaps[0] == "no Amazon Inspector"
    assert rows["10.5.1"].status == "met"


def test_the_access_model_lists_every_role_and_calls_out_wildcards_and_foreign_trusts(prod: Synth) -> None:
    page = (PAGES / "access-model.md").read_text()
    regions = prod.regions()
    roles = prod.of_type("aws_iam_role")
    for role in roles:
        name = role.config["name"]
        for region in regions:
            name = name.replace(region, "<region>")
        assert f"#### `{name}`" in page, name
    assert f"{len(roles)} roles in" in page
    for account in prod.of_type("kubernetes_service_account_v1"):
        assert f"| `globalpay/{account.config['metadata']['name']}` |" in page
    called_out = page.split("## Wildcard and cross-account grants")[1]
    assert "`globalpay-prod-aws-support` | us-east-1 | trusts `arn:aws:iam::<account>:root` without a condition" in called_out
    assert not any(f"`globalpay-prod-{s}-<region>`" in called_out for s in ("api-gateway", "payment-processor"))

    # plant a wildcard grant on a workload and a trust of another account: both are called out
    stacks = dict(prod.stacks)
    core = stacks["globalpay-prod-eu-west-1"] = copy.deepcopy(prod.stacks["globalpay-prod-eu-west-1"])
    for cfg in core["resource"]["aws_iam_role_policy"].values():
        document = json.loads(cfg["policy"])
        if any(s.get("Sid") == "ReadOwnSecrets" for s in document["Statement"]):
            document["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
            cfg["policy"] = json.dumps(document)
            break
    for cfg in core["resource"]["aws_iam_role"].values():
        if cfg["name"].startswith("globalpay-prod-dlm-"):
            trust = json.loads(cfg["assume_role_policy"])
            trust["Statement"].append({"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Principal": {"AWS": "arn:aws:iam::210987654321:root"}})
            cfg["assume_role_policy"] = json.dumps(trust)
    planted = access_model.render_roles(Synthesis(stacks))
    text = "\n".join(planted[planted.index("## Wildcard and cross-account grants"):])
    assert re.search(r"`globalpay-prod-[a-z-]+-<region>` \| eu-west-1 \| Allow s3:\* on \* \| wildcard", text)
    assert "`globalpay-prod-dlm-<region>` | eu-west-1 | trusts `arn:aws:iam::210987654321:root` without a condition" in text


@pytest.mark.parametrize("tool", [compliance, access_model])
def test_the_check_commands_fail_on_a_stale_page(tool: Any, prod: Synth, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    if tool is compliance:
        for path, text in compliance.pages(prod, tmp_path).items():
            path.write_text(text)
        assert compliance.main(["--synth-dir", str(prod.outdir), "--output-dir", str(tmp_path), "--check"]) == 0
        (tmp_path / "pci-dss.md").write_text((tmp_path / "pci-dss.md").read_text().replace("**met**", "**partly**", 1))
        assert compliance.main(["--synth-dir", str(prod.outdir), "--output-dir", str(tmp_path), "--check"]) == 1
    else:
        output = tmp_path / "access-model.md"
        output.write_text(access_model.render(prod))
        assert access_model.main(["--synth-dir", str(prod.outdir), "--output", str(output), "--check"]) == 0
        output.write_text(output.read_text().replace("kms:Decrypt", "kms:*", 1))
        assert access_model.main(["--synth-dir", str(prod.outdir), "--output", str(output), "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
