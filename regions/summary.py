"""The synth summary: per stack the resources by type, the policy's verdict and suppressions, and where the
output is. It must fit one screen, so types are shortened (``aws_`` dropped) and only the most common are
named; the full picture is the JSON itself (or ``python3 tasks.py plan-review`` for what changed)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: Resource types named per stack, as many as fit the line; the rest are counted.
TOP_TYPES = 4
LINE_WIDTH = 118
#: Suppressions listed one per line; more are counted (the full list is in constructs_lib/policy.py's report).
MAX_SUPPRESSION_LINES = 10
#: What a reviewer runs next, as typed in the project root (tasks.py entries: no virtual environment needed).
REVIEW_COMMANDS = ("python3 tasks.py plan-review --git <base-ref>", "python3 tasks.py inventory --check")


def stack_resources(stack_json: dict) -> Counter:
    """Resources of one synthesized stack, counted by type."""
    counts: Counter = Counter()
    for rtype, items in stack_json.get("resource", {}).items():
        counts[rtype] += len(items)
    return counts


def _short(rtype: str) -> str:
    return rtype.removeprefix("aws_")


def stack_line(name: str, counts: Counter, moved: int = 0) -> str:
    head = f"  {name:<36} {sum(counts.values()):4d} resources"
    moves = f"; {moved} moved" if moved else ""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown: list[str] = []
    for rtype, n in ranked[:TOP_TYPES]:
        candidate = [*shown, f"{_short(rtype)} {n}"]
        more = f", +{len(ranked) - len(candidate)} types" if len(ranked) > len(candidate) else ""
        if shown and len(f"{head}  ({', '.join(candidate)}{more}{moves})") > LINE_WIDTH:
            break
        shown = candidate
    more = f", +{len(ranked) - len(shown)} types" if len(ranked) > len(shown) else ""
    return f"{head}  ({', '.join(shown)}{more}{moves})" if ranked else head


def policy_lines(app: Any) -> Iterator[str]:
    """The policy's verdict for this synth: rules, resources checked, suppressions with reasons."""
    from constructs_lib.policy import RULES, policy_report

    report = policy_report(app)
    if report is None:
        yield "policy: not applied (constructs_lib.policy.apply_policy was not called on this app)"
        return
    families: dict[str, list[str]] = {}
    for rule in RULES:  # GP001-GP015, AWS001-AWS005: one range per family, in the table's order
        families.setdefault(rule.rstrip("0123456789"), []).append(rule)
    rules = ", ".join(f"{min(ids)}-{max(ids)}" for ids in families.values())
    yield (f"policy: {rules} passed on {report.resources_checked} resources ({report.seconds:.2f} s); "
           f"{len(report.suppressed)} finding(s) suppressed")
    by_suppression: dict[Any, int] = Counter(s for _, s in report.suppressed)
    listed = sorted(by_suppression.items(), key=lambda kv: (kv[0].rule, kv[0].path))
    for suppression, hits in listed[:MAX_SUPPRESSION_LINES]:
        yield f"  suppressed {suppression.rule} x{hits} at {suppression.path}: {suppression.reason}"
    if len(listed) > MAX_SUPPRESSION_LINES:
        yield f"  ... and {len(listed) - MAX_SUPPRESSION_LINES} more suppressions"
    for suppression in report.unused_suppressions:
        yield f"  unused suppression {suppression.rule} at {suppression.path} (nothing to suppress: remove it)"


def summary_lines(outdir: Path, spaces: Any, seconds: float) -> Iterator[str]:
    stacks_dir = outdir / "stacks"
    yield f"synthesized {len(spaces.stacks)} workspaces in {seconds:.1f} s -> {stacks_dir}"
    total = 0
    for stack in spaces.stacks:
        name = stack.node.id
        data = json.loads((stacks_dir / name / "cdk.tf.json").read_text())
        counts = stack_resources(data)
        total += sum(counts.values())
        yield stack_line(name, counts, moved=len(data.get("moved", []) or []))
    yield f"  {'total':<36} {total:4d} resources"
    yield from policy_lines(spaces.app)
    yield f"before terraform plan: {REVIEW_COMMANDS[0]}; {REVIEW_COMMANDS[1]}"


def print_summary(outdir: Path, spaces: Any, seconds: float) -> None:
    for line in summary_lines(outdir, spaces, seconds):
        print(line)
