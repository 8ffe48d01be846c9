#!/usr/bin/env python
"""The checked-in inventory of stateful Terraform addresses, and the check that keeps them stable.

    python3 tasks.py inventory --update          # synthesize prod, rewrite tests/stateful_addresses.json
    python3 tasks.py inventory --check           # synthesize prod, compare (exit 1 on a lost address)
    python3 tasks.py inventory --check --from cdktf.out    # compare an existing synth output instead

Why: a Terraform address (``aws_db_instance.database_primary_1A2B3C4D``) is derived from the construct path.
Renaming a construct id, or moving a construct under another parent, silently changes it, and the next
``terraform apply`` destroys the database and creates an empty one. The inventory lists the address of every
stateful resource (``constructs_lib.policy.STATEFUL_TYPES``) of every prod stack, with the attributes that
identify it to AWS (identifier, bucket, name...). The check fails when an address disappears or its
identity changes, unless the synthesized JSON declares the move (a ``moved`` block from the old address to
the new one: cdktf ``move_from_id`` / ``move_to``, docs/safe-change.md). New addresses are reported and
allowed; ``--update`` records them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from constructs_lib.policy import STATEFUL_TYPES  # noqa: E402  (after the sys.path entry above)
from scripts.progress import step  # noqa: E402

INVENTORY = ROOT / "tests" / "stateful_addresses.json"
ENVIRONMENT = "prod"

#: ``{stack: {address: {identity attribute: value}}}``
Inventory = dict[str, dict[str, dict[str, Any]]]


# --------------------------------------------------------------------------------------------------
# Reading synthesized stacks
# --------------------------------------------------------------------------------------------------


def stack_inventory(stack_json: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every stateful address of one synthesized stack, with its identity attributes."""
    out: dict[str, dict[str, Any]] = {}
    for rtype, identity in STATEFUL_TYPES.items():
        for name, cfg in (stack_json.get("resource", {}).get(rtype) or {}).items():
            out[f"{rtype}.{name}"] = {attr: cfg[attr] for attr in identity if attr in cfg}
    return dict(sorted(out.items()))


def moved_blocks(stack_json: Mapping[str, Any]) -> dict[str, str]:
    """``{from: to}`` of every ``moved`` block the stack declares."""
    return {m["from"]: m["to"] for m in stack_json.get("moved", []) or [] if "from" in m and "to" in m}


def retired_addresses(stack_json: Mapping[str, Any]) -> set[str]:
    """Addresses a ``removed`` block with ``lifecycle.destroy = false`` forgets: Terraform drops them from state
    and leaves the objects in AWS (Terraform >= 1.7). Not lost: retired, on purpose and in review."""
    return {r["from"] for r in stack_json.get("removed", []) or []
            if "from" in r and (r.get("lifecycle") or {}).get("destroy") is False}


def read_stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    """Parsed ``cdk.tf.json`` of every stack in a synth output folder."""
    stacks_dir = outdir / "stacks"
    if not stacks_dir.is_dir():
        raise SystemExit(f"{outdir} is not a synth output (no stacks/ folder)")
    return {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in sorted(stacks_dir.iterdir())
            if (d / "cdk.tf.json").is_file()}


def inventory_of(stacks: Mapping[str, Mapping[str, Any]]) -> Inventory:
    return {name: stack_inventory(data) for name, data in sorted(stacks.items())}


def synthesize(outdir: Path, env: str = ENVIRONMENT) -> Path:
    """Synthesize ``env`` (every region, default configuration) into ``outdir``."""
    from constructs_lib.config import load_config
    from regions import REGION_SPECS
    from regions.app import build_app

    build_app(load_config(env, REGION_SPECS), str(outdir)).app.synth()
    return outdir


# --------------------------------------------------------------------------------------------------
# Comparing
# --------------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What changed between the recorded inventory and a synth. ``ok`` unless something was lost."""

    missing: list[str] = field(default_factory=list)  # "stack: address" gone without a moved block
    changed: list[str] = field(default_factory=list)  # identity attributes changed (a replacement)
    moved: list[str] = field(default_factory=list)  # declared moves ("stack: from -> to")
    retired: list[str] = field(default_factory=list)  # forgotten, not destroyed (a removed block, destroy = false)
    added: list[str] = field(default_factory=list)  # new addresses (allowed; record with --update)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.changed

    def report(self) -> list[str]:
        lines = [f"LOST     {m}" for m in self.missing]
        lines += [f"CHANGED  {c}" for c in self.changed]
        lines += [f"moved    {m}" for m in self.moved]
        lines += [f"retired  {r} (removed block: Terraform forgets it, AWS keeps it)" for r in self.retired]
        lines += [f"added    {a}" for a in self.added]
        if not self.ok:
            lines.append(
                "A stateful address disappeared or changed identity: Terraform would destroy it. Keep the construct id, "
                "or declare the move (new_resource.move_from_id('<old address>'), docs/safe-change.md). If the "
                "removal is intended and reviewed, run `python3 tasks.py inventory --update`."
            )
        elif self.added or self.retired:
            lines.append("New or retired stateful addresses: run `python3 tasks.py inventory --update` and commit "
                         "tests/stateful_addresses.json.")
        return lines


def compare(recorded: Inventory, stacks: Mapping[str, Mapping[str, Any]]) -> Comparison:
    """Compare the recorded inventory with synthesized stacks (their resources and their moved blocks)."""
    result = Comparison()
    current = inventory_of(stacks)
    for stack, addresses in sorted(recorded.items()):
        now = current.get(stack)
        if now is None:
            result.missing.extend(f"{stack}: {address} (the whole stack is gone)" for address in addresses)
            continue
        moves = moved_blocks(stacks[stack])
        retired = retired_addresses(stacks[stack])
        for address, identity in addresses.items():
            target = address if address in now else moves.get(address)
            if (target is None or target not in now) and address in retired:
                result.retired.append(f"{stack}: {address} {_identity(identity)}".rstrip())
                continue
            if target is None or target not in now:
                result.missing.append(f"{stack}: {address} {_identity(identity)}".rstrip())
                continue
            if target != address:
                result.moved.append(f"{stack}: {address} -> {target}")
            changed = {k: (v, now[target].get(k)) for k, v in identity.items() if now[target].get(k) != v}
            if changed:
                detail = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
                result.changed.append(f"{stack}: {target}: {detail}")
        claimed = set(addresses) | {moves[a] for a in addresses if a in moves}
        result.added.extend(f"{stack}: {a}" for a in now if a not in claimed)
    for stack in sorted(set(current) - set(recorded)):
        result.added.extend(f"{stack}: {a}" for a in current[stack])
    return result


def _identity(identity: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in identity.items()) + ")" if identity else ""


# --------------------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------------------


def load(path: Path = INVENTORY) -> Inventory:
    data = json.loads(path.read_text())
    return data["stacks"]


def dump(inventory: Inventory, path: Path = INVENTORY, env: str = ENVIRONMENT) -> None:
    """Rewrite the addresses; the hand-written ``switch_steps`` (what each failover and failback step destroys
    or replaces, read by ``plan_review.py --switch-step``) are kept as they are."""
    kept = json.loads(path.read_text()).get("switch_steps") if path.exists() else None
    data = {
        "//": "Stateful Terraform addresses of every prod stack (scripts/inventory.py --update). "
              "A test fails when one disappears without a moved block: docs/safe-change.md.",
        "environment": env,
        "stacks": inventory,
    }
    if kept is not None:
        data["switch_steps"] = kept
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--update", action="store_true", help="rewrite the inventory from a synth")
    mode.add_argument("--check", action="store_true", help="compare a synth with the inventory")
    parser.add_argument("--from", dest="source", help="an existing synth output folder (default: synthesize prod)")
    parser.add_argument("--inventory", default=str(INVENTORY), help="inventory file (default: %(default)s)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="inventory-") as tmp:
        if args.source:
            outdir = Path(args.source)
        else:
            with step(f"inventory: synthesizing {ENVIRONMENT} (about 10 s)"):
                outdir = synthesize(Path(tmp) / "cdktf.out")
        stacks = {name: data for name, data in read_stacks(outdir).items() if f"-{ENVIRONMENT}-" in name}
    path = Path(args.inventory)
    if args.update:
        inventory = inventory_of(stacks)
        dump(inventory, path)
        total = sum(len(a) for a in inventory.values())
        print(f"wrote {total} stateful addresses of {len(inventory)} stacks to {path}")
        return 0
    result = compare(load(path), stacks)
    for line in result.report():
        print(line)
    if result.ok:
        print(f"inventory ok: {sum(len(a) for a in load(path).values())} stateful addresses unchanged")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
