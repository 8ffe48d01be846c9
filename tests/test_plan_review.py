"""The offline plan review. Identical trees report no change and exit 0; renaming the RDS identifier
reports a replacement of the database and exits non-zero; moved blocks are honoured."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "plan_review.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("globalpay_plan_review", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


plan_review = _load()


@pytest.fixture
def trees(prod: Synth, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the prod synth: ``old`` stays, tests edit ``new``."""
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(prod.outdir, old)
    shutil.copytree(prod.outdir, new)
    return old, new


def edit(outdir: Path, stack: str, change) -> None:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def a_database(outdir: Path) -> tuple[str, str]:
    """(stack, logical name) of an ``aws_db_instance`` in the prod synth; the data tier's writer if there is one.
    Without any (a configuration without RDS instances), a demo instance is added to both sides."""
    for stack_dir in sorted((outdir / "stacks").iterdir()):
        data = json.loads((stack_dir / "cdk.tf.json").read_text())
        dbs = data.get("resource", {}).get("aws_db_instance", {})
        if dbs:
            writer = next((n for n, c in dbs.items() if "replicate_source_db" not in c), next(iter(dbs)))
            return stack_dir.name, writer
    raise AssertionError("no aws_db_instance in the prod synth")


def run(*args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_identical_trees_report_no_changes_and_exit_0(trees: tuple[Path, Path]) -> None:
    code, out = run(str(trees[0]), str(trees[1]))
    assert code == 0, out
    assert out.strip() == "no changes: the two synth outputs declare the same resources"


def test_renaming_the_rds_identifier_is_a_destructive_replacement(trees: tuple[Path, Path]) -> None:
    old, new = trees
    stack, name = a_database(new)
    edit(new, stack, lambda d: d["resource"]["aws_db_instance"][name].update(identifier="globalpay-prod-renamed"))
    code, out = run(str(old), str(new), "--color", "never")
    assert code == 1, out
    assert f"-/+ aws_db_instance.{name}  [identifier]  DESTRUCTIVE: replaced" in out
    assert "identifier: " in out and "-> 'globalpay-prod-renamed' forces replacement" in out
    assert "refused: destructive changes" in out
    code, _ = run(str(old), str(new), "--allow-destructive")
    assert code == 0


def test_destructive_lines_are_red_on_request(trees: tuple[Path, Path]) -> None:
    old, new = trees
    stack, name = a_database(new)
    edit(new, stack, lambda d: d["resource"]["aws_db_instance"][name].update(kms_key_id="arn:aws:kms:us-east-1:123456789012:key/other"))
    reviews = plan_review.review(plan_review.read_stacks(old), plan_review.read_stacks(new))
    colored = "\n".join(plan_review.render(reviews, color=True))
    plain = "\n".join(plan_review.render(reviews, color=False))
    assert f"{plan_review.RED}  -/+ aws_db_instance.{name}" in colored
    assert "\033[" not in plain and "kms_key_id" in plain


def test_removing_a_bucket_is_destructive_unless_a_moved_block_declares_it(trees: tuple[Path, Path]) -> None:
    old, new = trees
    stack = "globalpay-prod-bootstrap"
    data = json.loads((new / "stacks" / stack / "cdk.tf.json").read_text())
    name = next(iter(data["resource"]["aws_s3_bucket"]))

    def rename(with_move: bool):
        def change(d: dict) -> None:
            d["resource"]["aws_s3_bucket"]["renamed_bucket"] = d["resource"]["aws_s3_bucket"].pop(name)
            if with_move:
                d["moved"] = [{"from": f"aws_s3_bucket.{name}", "to": "aws_s3_bucket.renamed_bucket"}]
        return change

    edit(new, stack, rename(with_move=False))
    code, out = run(str(old), str(new), "--color", "never")
    assert code == 1 and f"- aws_s3_bucket.{name}  DESTRUCTIVE: destroyed" in out and "+ aws_s3_bucket.renamed_bucket" in out

    shutil.rmtree(new)
    shutil.copytree(old, new)
    edit(new, stack, rename(with_move=True))
    code, out = run(str(old), str(new), "--color", "never")
    assert code == 0, out
    assert "-> aws_s3_bucket.renamed_bucket" in out and f"moved from aws_s3_bucket.{name}" in out
    assert "DESTRUCTIVE" not in out

    # Dropped from the code with a removed block that keeps it: forgotten, not destroyed.
    shutil.rmtree(new)
    shutil.copytree(old, new)

    def forget(d: dict) -> None:
        d["resource"]["aws_s3_bucket"].pop(name)
        d["removed"] = [{"from": f"aws_s3_bucket.{name}", "lifecycle": {"destroy": False}}]

    edit(new, stack, forget)
    code, out = run(str(old), str(new), "--color", "never")
    assert code == 0 and "forgotten, not destroyed" in out and "DESTRUCTIVE" not in out, out


def test_in_place_changes_list_their_attributes_and_pass(trees: tuple[Path, Path]) -> None:
    old, new = trees
    stack, name = a_database(new)

    def change(d: dict) -> None:
        db = d["resource"]["aws_db_instance"][name]
        db["backup_retention_period"] = 14
        db.setdefault("tags", {})["Owner"] = "payments"

    edit(new, stack, change)
    code, out = run(str(old), str(new), "--color", "never")
    assert code == 0, out
    assert f"~ aws_db_instance.{name}  [backup_retention_period, tags.Owner]" in out
    assert f"{stack}: 1 update" in out


def test_force_new_inside_a_nested_block() -> None:
    old = {"cluster_name": "k", "encryption_info": [{"encryption_at_rest_kms_key_arn": "a", "encryption_in_transit": [{"client_broker": "TLS"}]}]}
    new = copy.deepcopy(old)
    new["encryption_info"][0]["encryption_in_transit"][0]["client_broker"] = "TLS_PLAINTEXT"
    change = plan_review.diff_resource("aws_msk_cluster.k", old, new)
    assert change.kind == "update" and not change.destructive, "client_broker updates in place"
    new["encryption_info"][0]["encryption_at_rest_kms_key_arn"] = "b"
    change = plan_review.diff_resource("aws_msk_cluster.k", old, new)
    assert change.kind == "replace" and change.destructive
    assert change.attributes == ["encryption_info.encryption_at_rest_kms_key_arn", "encryption_info.encryption_in_transit.client_broker"]


def test_risky_in_place_change_is_a_warning_not_a_failure() -> None:
    change = plan_review.diff_resource("aws_db_instance.x", {"db_subnet_group_name": "a"}, {"db_subnet_group_name": "b"})
    assert change.kind == "update" and not change.destructive
    assert "same VPC" in change.warnings[0]


def test_git_ref_is_synthesized_in_a_temporary_worktree(prod: Synth) -> None:
    """``--git HEAD`` against the working tree's synth: runs, reviews, and leaves no worktree behind."""
    code, out = run("--git", "HEAD", "--new", str(prod.outdir), "--allow-destructive", "--color", "never")
    assert code == 0, out
    assert out.strip().splitlines()[-1].endswith("stateful resource or a node group") or out.startswith("no changes"), out
    worktrees = subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True).stdout
    assert "plan-review-" not in worktrees


# ------------------------------------------------------------------------------------------------------
# What plans cleanly and fails at apply; the failover and failback steps' documented destruction
# ------------------------------------------------------------------------------------------------------


def test_turning_apply_immediately_off_alone_fails_at_apply() -> None:
    """RDS refuses a ModifyDBInstance that requests nothing when ApplyImmediately is false (accepted when true)."""
    on = {"identifier": "db", "apply_immediately": True, "tags": {"Role": "writer"}}
    off = {**on, "apply_immediately": False, "tags": {"Role": "writer", "Note": "x"}}
    assert plan_review.diff_resource("aws_db_instance.x", on, off).fails_at_apply
    assert not plan_review.diff_resource("aws_db_instance.x", off, on).fails_at_apply
    resized = {**off, "instance_class": "db.r6g.4xlarge"}
    assert not plan_review.diff_resource("aws_db_instance.x", on, resized).fails_at_apply  # with a real change
    assert not plan_review.diff_resource("aws_elasticache_replication_group.x", on, off).fails_at_apply  # no call


def test_a_master_password_without_its_secret_is_refused() -> None:
    def stack(db_version: int | None, secret_version: int, role: str = "writer") -> dict:
        db = {"identifier": "db", "tags": {"Role": role}, **({"password_wo_version": db_version} if db_version else {})}
        return {"resource": {"aws_db_instance": {"db": db},
                             "aws_secretsmanager_secret_version": {"v": {"secret_string_wo_version": secret_version}}}}

    review = plan_review.review_stack
    assert review("s", stack(1, 1), stack(2, 2)).refusals == []  # a rotation: both in one apply
    assert "no secret holds" in review("s", stack(1, 1), stack(2, 1)).refusals[0]
    assert "no database has" in review("s", stack(1, 1), stack(1, 2)).refusals[0]
    assert review("s", stack(None, 1), stack(2, 2)).refusals == []  # the re-seeded writer's first password
    assert "fenced former writer" in review("s", stack(1, 1, "fenced"), stack(2, 2, "fenced")).refusals[0]


def test_username_of_a_former_replica_is_not_a_replacement() -> None:
    """A replica inherits username and db_name from its source and the provider reads them back: naming them later
    (the failback's last step) is a warning to check in ``terraform plan``, not a replacement."""
    change = plan_review.diff_resource("aws_db_instance.x", {"identifier": "db"}, {"identifier": "db", "username": "u", "db_name": "d"})
    assert change.kind == "update" and not change.destructive and len(change.warnings) == 2
    change = plan_review.diff_resource("aws_db_instance.x", {"identifier": "db", "db_name": "a"}, {"identifier": "db", "db_name": "b"})
    assert change.kind == "replace" and change.destructive


def test_a_switch_step_allows_exactly_its_documented_destruction(trees: tuple[Path, Path]) -> None:
    old, new = trees
    stack = "globalpay-prod-us-east-1"
    documented = plan_review.documented_destruction("03-retire-origin")["destroys"]["us-east-1"]
    edit(new, stack, lambda d: [d["resource"]["aws_db_instance"].pop(a.split(".", 1)[1]) for a in documented])
    code, out = run(str(old), str(new), "--color", "never", "--switch-step", "03-retire-origin")
    assert code == 0, out
    assert "2 destroy(s) or replacement(s), each documented for step 03-retire-origin" in out
    code, out = run(str(old), str(new), "--color", "never", "--switch-step", "02-release-origin")
    assert code == 1 and "step 02-release-origin does not document it" in out
    code, out = run(str(old), str(new), "--color", "never", "--switch-step", "no-such-step")
    assert code == 1 and "not documented" in out
