"""Stateful Terraform addresses never change by accident.

The real check compares tests/stateful_addresses.json with the prod synth. The rename tests use a small
purpose-built stack (a database under ``database/primary``) so that they do not depend on the data tier's
construct ids: renaming the construct without a declared move fails the check; with cdktf's ``move_to`` /
``move_from_id`` it passes and the synthesized JSON carries the ``moved`` block.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from cdktf import App, TerraformStack
from constructs import Construct

from constructs_lib.common import protected
from constructs_lib.providers import aws
from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent


def _load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"globalpay_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


inventory = _load_script("inventory")

STACK = "globalpay-prod-demo"


def demo_synth(outdir: Path, *, construct_id: str = "primary", identifier: str = "globalpay-prod-primary",
               move: str = "", extra_bucket: bool = False) -> dict[str, Any]:
    """Synthesize the demo stack; ``move`` is "", "move_to" or "move_from_id" (how the rename is declared)."""
    app = App(outdir=str(outdir), stack_traces=False)
    stack = TerraformStack(app, STACK)
    aws.provider.AwsProvider(stack, "aws", region="us-east-1")
    database = Construct(stack, "database")

    def instance(id: str) -> Any:
        return aws.db_instance.DbInstance(
            database, id, identifier=identifier, engine="postgres", instance_class="db.r6g.large",
            allocated_storage=100, username="globalpay_admin", manage_master_user_password=True,
            storage_encrypted=True, deletion_protection=True, lifecycle=protected(),
        )

    if move == "move_to":
        # cdktf's moveTo: the old construct stays in the code, marked as moved to the new one's target
        # string; it disappears from the JSON and a moved block takes its place.
        instance("primary").move_to("renamed-database")
        instance(construct_id).add_move_target("renamed-database")
    else:
        db = instance(construct_id)
        if move == "move_from_id":
            db.move_from_id(old_address(outdir.parent))
    if extra_bucket:
        aws.s3_bucket.S3Bucket(stack, "new-bucket", bucket="globalpay-prod-new", lifecycle=protected())
    app.synth()
    return inventory.read_stacks(outdir)


def old_address(root: Path) -> str:
    """The address of the original database (synthesized once, to read it rather than hard-code the hash)."""
    recorded = json.loads((root / "recorded.json").read_text())
    [address] = [a for a in recorded[STACK] if a.startswith("aws_db_instance.")]
    return address


@pytest.fixture
def recorded(tmp_path: Path) -> dict[str, Any]:
    """The inventory of the original demo stack, as ``--update`` would record it."""
    recorded = inventory.inventory_of(demo_synth(tmp_path / "before"))
    (tmp_path / "recorded.json").write_text(json.dumps(recorded))
    return recorded


# ---------------------------------------------------------------------------------------------------
# The rename scenarios
# ---------------------------------------------------------------------------------------------------


def test_original_stack_matches_its_inventory(recorded: dict, tmp_path: Path) -> None:
    [address] = recorded[STACK]
    assert address.startswith("aws_db_instance.database_primary_")
    assert recorded[STACK][address] == {"identifier": "globalpay-prod-primary"}
    result = inventory.compare(recorded, demo_synth(tmp_path / "again"))
    assert result.ok and not result.added and not result.moved


def test_renaming_the_database_construct_without_a_move_fails(recorded: dict, tmp_path: Path) -> None:
    result = inventory.compare(recorded, demo_synth(tmp_path / "after", construct_id="writer"))
    assert not result.ok
    [lost] = result.missing
    assert lost.startswith(f"{STACK}: aws_db_instance.database_primary_") and "globalpay-prod-primary" in lost
    assert any(a.startswith(f"{STACK}: aws_db_instance.database_writer_") for a in result.added)
    assert any("move_from_id" in line for line in result.report())


@pytest.mark.parametrize("move", ["move_to", "move_from_id"])
def test_renaming_with_a_declared_move_passes_and_synthesizes_a_moved_block(move: str, recorded: dict, tmp_path: Path) -> None:
    stacks = demo_synth(tmp_path / "after", construct_id="writer", move=move)
    result = inventory.compare(recorded, stacks)
    assert result.ok, result.report()
    [old] = recorded[STACK]
    [new] = stacks[STACK]["resource"]["aws_db_instance"]
    assert new.startswith("database_writer_")
    assert stacks[STACK]["moved"] == [{"from": old, "to": f"aws_db_instance.{new}"}]
    assert result.moved == [f"{STACK}: {old} -> aws_db_instance.{new}"]
    assert not result.added, "the moved resource is not reported as new"


def test_changing_the_identifier_at_the_same_address_fails(recorded: dict, tmp_path: Path) -> None:
    result = inventory.compare(recorded, demo_synth(tmp_path / "after", identifier="globalpay-prod-writer"))
    assert not result.ok
    [changed] = result.changed
    assert "identifier 'globalpay-prod-primary' -> 'globalpay-prod-writer'" in changed


def test_a_removed_block_that_keeps_the_object_retires_an_address_instead_of_losing_it(recorded: dict, tmp_path: Path) -> None:
    """Dropping a stateful resource from the code is LOST, unless a ``removed`` block with ``destroy = false``
    declares that Terraform forgets it and AWS keeps it (how the SASL/SCRAM secrets left: constructs_lib/streaming.py)."""
    stacks = demo_synth(tmp_path / "after", construct_id="writer")
    [old] = recorded[STACK]
    stacks[STACK]["removed"] = [{"from": old, "lifecycle": {"destroy": True}}]
    assert not inventory.compare(recorded, stacks).ok, "a removed block that destroys is still a loss"
    stacks[STACK]["removed"] = [{"from": old, "lifecycle": {"destroy": False}}]
    result = inventory.compare(recorded, stacks)
    assert result.ok and result.retired == [f"{STACK}: {old} (identifier=globalpay-prod-primary)"]
    assert "inventory --update" in result.report()[-1]


def test_new_stateful_resources_are_reported_but_allowed(recorded: dict, tmp_path: Path) -> None:
    result = inventory.compare(recorded, demo_synth(tmp_path / "after", extra_bucket=True))
    assert result.ok
    assert result.added == [f"{STACK}: aws_s3_bucket.new-bucket"]
    assert "python3 tasks.py inventory --update" in result.report()[-1]


def test_cli_update_then_check(tmp_path: Path) -> None:
    """``--update`` and ``--check`` against existing synth outputs (what CI runs after a synth)."""
    before = tmp_path / "before"
    demo_synth(before)
    file = tmp_path / "inventory.json"
    assert inventory.main(["--update", "--from", str(before), "--inventory", str(file)]) == 0
    assert json.loads(file.read_text())["stacks"][STACK]
    assert inventory.main(["--check", "--from", str(before), "--inventory", str(file)]) == 0
    demo_synth(tmp_path / "renamed", construct_id="writer")
    assert inventory.main(["--check", "--from", str(tmp_path / "renamed"), "--inventory", str(file)]) == 1


def test_check_without_an_output_folder_shows_progress(monkeypatch: pytest.MonkeyPatch, prod: Synth,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``inventory --check`` synthesizes prod first (tens of seconds): one line when it starts and one
    with the time when it ends, on stderr; the verdict on stdout."""
    calls = []
    monkeypatch.setattr(inventory, "synthesize", lambda outdir: calls.append(outdir) or prod.outdir)
    assert inventory.main(["--check"]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert len(calls) == 1 and err[0] == "inventory: synthesizing prod (about 10 s) ..."
    assert err[1].startswith("inventory: synthesizing prod (about 10 s): ") and err[1].endswith(" s")
    assert captured.out.splitlines()[-1].startswith("inventory ok: ")


# ---------------------------------------------------------------------------------------------------
# The real inventory
# ---------------------------------------------------------------------------------------------------


def test_recorded_prod_addresses_are_all_still_synthesized(prod: Synth) -> None:
    recorded = inventory.load()
    result = inventory.compare(recorded, {name: prod[name] for name in prod if "-prod-" in name})
    assert result.ok, "\n".join(result.report())
    if result.added:
        warnings.warn("\n".join(result.report()), stacklevel=1)


def test_a_workspace_applied_before_the_layer_constructs_keeps_its_stateful_resources(prod: Synth) -> None:
    """A core stack applied before the compute and operations layers became constructs holds its cluster,
    buckets, logs, topics and queues under their old addresses: the moved blocks carry every one of them."""
    from regions.core import LAYER_RENAMES

    core_stacks = [name for name in prod if name.count("-") == 4 and name.startswith("globalpay-prod-")]
    assert len(core_stacks) == 3, core_stacks
    before = {name: {old: {} for old in LAYER_RENAMES.values()} for name in core_stacks}
    result = inventory.compare(before, {name: prod[name] for name in core_stacks})
    assert not result.missing, "\n".join(result.report())
    assert len(result.moved) == len(LAYER_RENAMES) * len(core_stacks)
    for name in core_stacks:
        paths = {a: r["//"]["metadata"]["path"] for t, rs in prod[name]["resource"].items() for a, r in
                 ((f"{t}.{k}", v) for k, v in rs.items())}
        assert inventory.moved_blocks(prod[name]) == {old: new for new, old in LAYER_RENAMES.items()}
        for new, old in LAYER_RENAMES.items():  # same resource type, and the old id's path below a layer
            layer, below = paths[new].split("/", 2)[1:]
            assert layer in ("compute", "operations") and new.split(".")[0] == old.split(".")[0]
            assert old.split(".")[1].startswith(below.split("/")[0] + "_"), (new, old)


def test_inventory_covers_every_stateful_type_of_the_data_tier() -> None:
    """The recorded file is the generator's output (sorted, every prod core stack), not a hand edit."""
    data = json.loads(inventory.INVENTORY.read_text())
    assert data["environment"] == "prod"
    for stack, addresses in data["stacks"].items():
        assert list(addresses) == sorted(addresses), f"{stack} is not sorted: run python3 tasks.py inventory --update"
    core = data["stacks"]["globalpay-prod-us-east-1"]
    types = {a.split(".")[0] for a in core}
    assert {"aws_db_instance", "aws_eks_cluster", "aws_s3_bucket", "aws_secretsmanager_secret"} <= types
    # The keys live in their own workspace per region (docs/safe-change.md, "Where each stateful resource lives").
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        assert {a.split(".")[0] for a in data["stacks"][f"globalpay-prod-{region}-keys"]} == {"aws_kms_key"}


# ---------------------------------------------------------------------------------------------------
# The same on the real thing: the prod primary database of the data tier
# ---------------------------------------------------------------------------------------------------


def _synth_prod_with_writer_renamed(outdir: Path, monkeypatch: pytest.MonkeyPatch, *, declare_move: str = "",
                                    recorded_logs: tuple[str, ...] = ()) -> dict[str, Any]:
    """Prod, with the origin writer's construct id changed from ``primary`` to ``writer`` (what a refactoring
    of constructs_lib/database.py would do); ``declare_move`` is the old address to move from, or ""."""
    import dataclasses

    from constructs_lib import database
    from constructs_lib.config import load_config
    from regions import REGION_SPECS, core
    from regions.app import build_app

    original = database.database_topology

    def renamed(*args: Any, **kwargs: Any) -> Any:
        return tuple(dataclasses.replace(s, construct_id="writer") if s.construct_id == "primary" else s
                     for s in original(*args, **kwargs))

    monkeypatch.setattr(core, "database_topology", renamed)
    spaces = build_app(load_config("prod", REGION_SPECS), str(outdir))
    if declare_move:
        # the lines a developer adds next to the rename: the new constructs take over the old addresses (the
        # instance and its export log groups, audit trails that must not be destroyed either)
        database_construct = spaces.cores["us-east-1"].node.find_child("data").node.find_child("database")
        database_construct.instances["writer"].move_from_id(declare_move)
        for log in ("postgresql", "upgrade"):
            [previous] = [a for a in recorded_logs if f"_primary-log-{log}_" in a]
            database_construct.node.find_child(f"writer-log-{log}").move_from_id(previous)
    spaces.app.synth()
    return inventory.read_stacks(outdir)


def test_renaming_the_prod_primary_database_needs_a_declared_move(prod: Synth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = inventory.inventory_of(inventory.read_stacks(prod.outdir))
    [old] = [a for a in recorded["globalpay-prod-us-east-1"] if a.startswith("aws_db_instance.data_database_primary_")]

    undeclared = inventory.compare(recorded, _synth_prod_with_writer_renamed(tmp_path / "undeclared", monkeypatch))
    assert not undeclared.ok
    assert any(old in line and "globalpay-prod-primary" in line for line in undeclared.missing)

    logs = tuple(a for a in recorded["globalpay-prod-us-east-1"] if a.startswith("aws_cloudwatch_log_group.data_database_primary-log-"))
    assert len(logs) == 2
    stacks = _synth_prod_with_writer_renamed(tmp_path / "declared", monkeypatch, declare_move=old, recorded_logs=logs)
    declared = inventory.compare(recorded, stacks)
    assert declared.ok, declared.report()
    [new] = [n for n in stacks["globalpay-prod-us-east-1"]["resource"]["aws_db_instance"] if n.startswith("data_database_writer_")]
    assert {"from": old, "to": f"aws_db_instance.{new}"} in stacks["globalpay-prod-us-east-1"]["moved"]
