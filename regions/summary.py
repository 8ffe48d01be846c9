"""The synth summary: per stack, resources by type and where the output is; one screen."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path


def stack_resources(stack_json: dict) -> Counter:
    counts: Counter = Counter()
    for rtype, items in stack_json.get("resource", {}).items():
        counts[rtype] += len(items)
    return counts


def print_summary(outdir: Path, spaces, seconds: float) -> None:
    stacks_dir = outdir / "stacks"
    print(f"synthesized {len(spaces.stacks)} workspaces in {seconds:.1f} s -> {stacks_dir}")
    for stack in spaces.stacks:
        name = stack.node.id
        data = json.loads((stacks_dir / name / "cdk.tf.json").read_text())
        counts = stack_resources(data)
        top = ", ".join(f"{t.removeprefix('aws_')} {n}" for t, n in counts.most_common(4))
        print(f"  {name:<36} {sum(counts.values()):4d} resources  ({top}{', ...' if len(counts) > 4 else ''})")
