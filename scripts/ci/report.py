#!/usr/bin/env python3
"""One environment's report: every stack's plan result in wave order, and the addresses each one changes.

    python3 scripts/ci/report.py --environment prod --mode plan --outdir cdktf.out --results results \
        --out summary-prod.md [--issue-body drift-prod.md]

Writes the markdown (job summary and the pull request comment's section): a table of every stack (wave,
status, counts), then per stack the changed addresses, the stateful resources destroyed or replaced first.
With ``--issue-body`` in mode drift, also the body of the drift issue (written only when something drifted);
with ``--patch-body``, the body of the patch issue (written only when a region's node AMI release is due,
PCI DSS 6.3.3: docs/runbooks/upgrade.md, "Nodes: monthly patching").
Exit 1 when a stack failed to plan, drifted (mode drift), is due a node AMI patch (mode drift), was refused,
or has no result; a stack that only
needs an upstream stack applied first (mode plan) does not fail the report. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from waves import dependencies, waves

MAX_ADDRESSES = 40
ORDER = ("replace", "destroy", "create", "update")


def load_results(folder: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for path in sorted(folder.rglob("result.json")):
        result = json.loads(path.read_text())
        results[result["stack"]] = result
    return results


def stack_lines(result: dict[str, Any]) -> list[str]:
    """The changed addresses of one stack, stateful destruction first."""
    lines = []
    for item in result.get("destructive", []):
        lines.append(f"- **stateful, not allowed:** `{item}`")
    for item in result.get("allowed_destructive", []):
        lines.append(f"- stateful, on the allow-list: `{item}`")
    stateful = {i.split(" ", 1)[0] for i in (*result.get("destructive", []), *result.get("allowed_destructive", []))}
    shown = 0
    for kind in ORDER:
        for address in result.get("addresses", {}).get(kind, []):
            if address in stateful:
                continue
            if shown == MAX_ADDRESSES:
                lines.append("- ... (the rest is in the stack's job summary)")
                return lines
            symbol = {"replace": "-/+", "destroy": "-", "create": "+", "update": "~"}[kind]
            lines.append(f"- `{symbol}` `{address}`")
            shown += 1
    for address in result.get("drifted", []):
        lines.append(f"- drifted: `{address}`")
    return lines


def report(environment: str, mode: str, outdir: Path, results: dict[str, dict[str, Any]]) -> tuple[str, dict[str, list[str]]]:
    manifest = outdir / "manifest.json"
    deps = dependencies(outdir) if manifest.is_file() else {}
    wave = waves(deps) if deps else {}
    bootstrap = f"globalpay-{environment}-bootstrap"
    problems: dict[str, list[str]] = {"error": [], "drift": [], "refused": [], "missing": [], "upstream": [],
                                      "patching": []}
    rows, details = [], []
    for name in sorted(set(deps) | set(results), key=lambda n: (wave.get(n, 99), n)):
        if name == bootstrap:
            rows.append(f"| 0 | `{name}` | applied by an operator, not by the pipeline | | | | |")
            continue
        r = results.get(name)
        if r is None:
            problems["missing"].append(name)
            rows.append(f"| {wave.get(name, '?')} | `{name}` | **no plan** (its job did not run) | | | | |")
            continue
        status = r["status"]
        if status in ("error", "drift", "refused"):
            problems[status].append(name)
        if status == "needs upstream apply":
            problems["upstream"].append(f"{name} (needs {', '.join(r.get('upstream', []))} applied)")
        problems["patching"] += [f"{name}: {line}" for line in r.get("patching", [])]
        mark = f"**{status}**" if status in ("error", "drift", "refused") else status
        rows.append(f"| {wave.get(name, '?')} | `{name}` | {mark} | {r['add']} | {r['change']} | {r['destroy']} | {r['replace']} |")
        lines = stack_lines(r)
        if lines:
            details += [f"<details><summary><code>{name}</code></summary>", "", *lines, "", "</details>", ""]
    title = {"plan": "terraform plan", "drift": "drift (terraform plan -refresh-only)", "deploy": "deploy"}.get(mode, mode)
    text = [f"### {environment}: {title}", ""]
    if not deps:
        text += ["**The synth failed: no stack was planned.**", ""]
    text += ["| wave | stack | plan | add | change | destroy | replace |", "| --- | --- | --- | --- | --- | --- | --- |", *rows, ""]
    if problems["refused"]:
        text.append("**Refused:** " + ", ".join(f"`{n}`" for n in problems["refused"]) + " (see each stack's job summary)")
    if problems["drift"]:
        text.append(f"**Drifted ({len(problems['drift'])}):** " + ", ".join(f"`{n}`" for n in problems["drift"]))
    if problems["error"]:
        text.append("**Plan failed:** " + ", ".join(f"`{n}`" for n in problems["error"]))
    if problems["patching"]:
        text.append("**Node AMI patch due** (PCI DSS 6.3.3): " + "; ".join(problems["patching"]))
    if problems["upstream"]:
        text.append("**Needs an upstream stack applied first** (not a failure: the deploy applies it in an earlier wave): "
                    + "; ".join(problems["upstream"]))
    if details:
        text += ["", "Changed addresses per stack (stateful resources destroyed or replaced first):", "", *details]
    return "\n".join(text) + "\n", problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environment", required=True)
    parser.add_argument("--mode", required=True, choices=("plan", "drift", "deploy"))
    parser.add_argument("--outdir", type=Path, default=Path("cdktf.out"))
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--issue-body", type=Path, default=None)
    parser.add_argument("--patch-body", type=Path, default=None)
    args = parser.parse_args(argv)
    text, problems = report(args.environment, args.mode, args.outdir, load_results(args.results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as fh:
            fh.write(text)
    if args.issue_body and args.mode == "drift" and problems["drift"]:
        run = f"{os.environ.get('GITHUB_SERVER_URL', '')}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ.get('GITHUB_RUN_ID', '')}"
        args.issue_body.write_text(
            f"The daily drift check found changes made outside Terraform in {len(problems['drift'])} stack(s) of "
            f"{args.environment} ([run]({run})). Revert the manual change, or commit it to the code and deploy "
            f"(docs/runbooks/pipeline.md, Drift).\n\n{text}")
    if args.patch_body and args.mode == "drift" and problems["patching"]:
        args.patch_body.write_text(
            f"A newer EKS-optimized AMI release has been out longer than the patch window in {args.environment} "
            "(PCI DSS 6.3.3, critical patches within a month). Pin the release named below in "
            "`versions.EKS_NODE_AMI_RELEASES` with its evidence and deploy, canary region first "
            "(docs/runbooks/upgrade.md, Nodes: monthly patching).\n\n"
            + "\n".join(f"- {line}" for line in problems["patching"]) + "\n")
    failed = False
    env = args.environment
    if not args.outdir.joinpath("manifest.json").is_file():
        print(f"::error title=synth failed::{env}: no manifest, nothing was planned")
        failed = True
    if problems["drift"]:
        print(f"::error title=drift in {env}::{len(problems['drift'])} stack(s) drifted: {', '.join(problems['drift'])}")
        failed = True
    if problems["patching"]:
        print(f"::error title=node AMI patch due in {env}::{'; '.join(problems['patching'])}")
        failed = True
    if problems["error"]:
        print(f"::error title=plan failed in {env}::{', '.join(problems['error'])}")
        failed = True
    if problems["refused"]:
        print(f"::error title=refused in {env}::{', '.join(problems['refused'])}")
        failed = True
    if problems["missing"] and args.outdir.joinpath("manifest.json").is_file():
        print(f"::error title=not planned in {env}::{', '.join(problems['missing'])}")
        failed = True
    print(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
