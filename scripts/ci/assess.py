#!/usr/bin/env python3
"""Assess one stack's terraform plan for the pipeline: what changes, and whether the run may go on.

    python3 scripts/ci/assess.py --stack S --environment E --mode plan|drift|deploy --exitcode N \
        --plan-json plan.json --plan-log plan.log --plan-text plan.txt --stateful-types types.json --out result.json

Reads ``terraform show -json`` of the plan and the plan's log; writes ``result.json`` (the report's and the
apply's input), the job summary, and ``changes=true`` to GITHUB_OUTPUT when there is something to apply.

Refused (exit 1), whatever the mode:

* a stateful resource destroyed or replaced whose address is not on the environment's reviewed allow-list
  (``environments/<env>.allow-destructive.json``, scripts/ci/allowlist.py);
* an ``aws_db_instance`` that is a standalone writer in its state and would get ``replicate_source_db``
  again: a promoted replica cannot be made a replica (RDS has no demotion; the provider can only fail or
  replace it). That plan comes from a configuration whose topology is not the one running: the committed
  ``environments/<env>.json`` must name the region that holds the writer (docs/runbooks/failover.md).

Also exit 1: a failed plan, and drift (mode drift). A plan that fails only because an upstream stack does not
have an output yet (a pull request that adds a cross-stack output) is reported as "needs upstream apply" in
mode plan, not failed: the deploy applies the upstream stack first (waves).

Mode drift also carries the node AMI patch check of a core stack's region (``--patching``: the output of
``scripts/preflight.py node-ami``, PCI DSS 6.3.3): its failing lines become ``patching`` in the result, and the
report opens the patch issue. They do not fail the stack's job (the plan itself is fine). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from allowlist import AllowList, AllowListError, load

FAILOVER_RUNBOOK = "docs/runbooks/failover.md"
KINDS = ("replace", "destroy", "create", "update")
REMOTE_STATE = re.compile(r"data\.terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9-]+)\.outputs is object")


def action_kind(actions: list[str]) -> str:
    if "create" in actions and "delete" in actions:
        return "replace"
    if "delete" in actions:
        return "destroy"
    if "create" in actions:
        return "create"
    if "update" in actions:
        return "update"
    return ""


def reattaches_replica(rc: dict[str, Any]) -> bool:
    """An existing DB instance without a replication source that the plan gives one."""
    if rc.get("type") != "aws_db_instance" or rc.get("mode") != "managed":
        return False
    change = rc.get("change", {})
    before, after = change.get("before"), change.get("after") or {}
    if not isinstance(before, dict):
        return False
    unknown = (change.get("after_unknown") or {}).get("replicate_source_db") is True
    return not before.get("replicate_source_db") and bool(after.get("replicate_source_db") or unknown)


def missing_upstream_outputs(log: str) -> list[str] | None:
    """The upstream stacks whose outputs the plan lacks, when that is the plan's only kind of error; else None."""
    errors = re.split(r"(?m)^(?:[│╷╵ ]*)Error: ", log)[1:]
    if not errors:
        return None
    upstream = []
    for error in errors:
        if not error.startswith("Unsupported attribute"):
            return None
        found = REMOTE_STATE.search(error)
        if not found or "does not have an attribute named" not in error:
            return None
        upstream.append(found.group(1))
    return sorted(set(upstream))


def patching_due(output: str | None) -> list[str]:
    """The failing lines of ``preflight.py node-ami`` (``FAIL ...``), or its error when it could not ask AWS: a
    check that did not run is reported, never taken as up to date. ``None``: the check was not run."""
    if output is None:
        return []
    lines = [line.strip() for line in output.splitlines()]
    failed = [line.removeprefix("FAIL").strip() for line in lines if line.startswith("FAIL")]
    if failed:
        return failed
    if "preflight node-ami: passed" in lines:
        return []
    return [f"the node AMI check did not complete: {' / '.join(line for line in lines if line) or 'no output'}"]


def assess(*, stack: str, environment: str, mode: str, exitcode: str, plan: dict[str, Any] | None, log: str,
           stateful: set[str], allow: AllowList) -> dict[str, Any]:
    result: dict[str, Any] = {"stack": stack, "environment": environment, "mode": mode, "exitcode": exitcode,
                              "status": "", "add": 0, "change": 0, "destroy": 0, "replace": 0,
                              "addresses": {k: [] for k in KINDS}, "drifted": [], "destructive": [],
                              "allowed_destructive": [], "refusals": [], "upstream": [], "patching": []}
    if exitcode not in ("0", "2") or plan is None:
        upstream = missing_upstream_outputs(log) if exitcode == "1" else None
        result["status"] = "needs upstream apply" if upstream and mode == "plan" else "error"
        result["upstream"] = upstream or []
        return result
    counts = {"create": "add", "update": "change", "destroy": "destroy", "replace": "replace"}
    for rc in plan.get("resource_changes", []):
        if rc.get("mode") != "managed":
            continue
        kind = action_kind(rc.get("change", {}).get("actions", []))
        if not kind:
            continue
        address = rc["address"]
        result[counts[kind]] += 1
        result["addresses"][kind].append(address)
        if kind in ("replace", "destroy") and rc.get("type") in stateful:
            entry = allow.allows(stack, address)
            if entry:
                result["allowed_destructive"].append(f"{address} ({kind}; allowed: {entry.reason})")
            else:
                result["destructive"].append(f"{address} ({kind})")
        if reattaches_replica(rc):
            source = (rc["change"].get("after") or {}).get("replicate_source_db") or "(known after apply)"
            result["refusals"].append(
                f"{address} is a standalone writer (a promoted replica); this plan would make it a replica of {source} "
                f"again, which RDS cannot do (the provider fails or replaces it). The configuration's topology is not "
                f"the one running: commit the topology in force to environments/{environment}.json ({FAILOVER_RUNBOOK})")
    result["drifted"] = sorted(d["address"] for d in plan.get("resource_drift", []) if d.get("mode") == "managed")
    for kind in KINDS:
        result["addresses"][kind].sort()
    if exitcode == "0":
        result["status"] = "no changes"
    else:
        result["status"] = "drift" if mode == "drift" else "changes"
    if result["destructive"] or result["refusals"]:
        result["status"] = "refused"
    return result


def failed(result: dict[str, Any]) -> bool:
    return result["status"] in ("error", "drift", "refused")


def summary(result: dict[str, Any], plan_text: str) -> str:
    stack, status = result["stack"], result["status"]
    lines = [f"### {stack}: {status}", ""]
    if status == "needs upstream apply":
        lines.append(f"The plan reads outputs that {', '.join(f'`{u}`' for u in result['upstream'])} does not have yet: "
                     "they appear when the deploy applies that stack first (it runs in an earlier wave).")
    elif status != "error":
        lines.append(f"{result['add']} to add, {result['change']} to change, {result['destroy']} to destroy, "
                     f"{result['replace']} to replace")
    lines.append("")
    lines += [f"- **refused:** {r}" for r in result["refusals"]]
    lines += [f"- **stateful resource destroyed or replaced, not on the allow-list:** `{d}`" for d in result["destructive"]]
    lines += [f"- stateful resource destroyed or replaced, allowed: `{d}`" for d in result["allowed_destructive"]]
    if result["drifted"]:
        lines += ["", "Drifted (changed outside Terraform): " + ", ".join(f"`{a}`" for a in result["drifted"])]
    if plan_text:
        if len(plan_text) > 60000:
            plan_text = plan_text[:60000] + "\n... (cut)\n"
        lines += ["", "<details><summary>terraform plan</summary>", "", "```", plan_text.rstrip(), "```", "</details>"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--mode", required=True, choices=("plan", "drift", "deploy"))
    parser.add_argument("--exitcode", default="")
    parser.add_argument("--plan-json", type=Path, required=True)
    parser.add_argument("--plan-log", type=Path, required=True)
    parser.add_argument("--plan-text", type=Path, default=None)
    parser.add_argument("--stateful-types", type=Path, required=True)
    parser.add_argument("--allow-list", type=Path, default=None, help="default: environments/<env>.allow-destructive.json")
    parser.add_argument("--patching", type=Path, default=None,
                        help="output of preflight.py node-ami for the stack's region (mode drift, core stacks)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    try:
        allow = load(args.environment, args.allow_list)
    except AllowListError as error:
        print(f"::error title=allow-list::{error}")
        return 1
    if not args.stateful_types.is_file() and args.exitcode in ("0", "2"):
        print(f"::error::{args.stateful_types} missing (written by the synth job): cannot tell stateful resources")
        args.exitcode = "no stateful types"
    stateful = set(json.loads(args.stateful_types.read_text())) if args.stateful_types.is_file() else set()
    plan = json.loads(args.plan_json.read_text()) if args.exitcode in ("0", "2") and args.plan_json.is_file() else None
    log = args.plan_log.read_text(errors="replace") if args.plan_log.is_file() else ""
    result = assess(stack=args.stack, environment=args.environment, mode=args.mode, exitcode=args.exitcode,
                    plan=plan, log=log, stateful=stateful, allow=allow)
    if args.patching is not None:
        result["patching"] = patching_due(args.patching.read_text(errors="replace") if args.patching.is_file() else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    text = args.plan_text.read_text(errors="replace") if args.plan_text and args.plan_text.is_file() else ""
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as fh:
            fh.write(summary(result, text))
    if result["status"] in ("changes", "drift") and os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a") as fh:
            fh.write("changes=true\n")
    stack = args.stack
    if result["status"] == "error":
        print(f"::error title=terraform plan failed::{stack}: no plan (exit code {args.exitcode or 'none'})")
    if result["status"] == "needs upstream apply":
        print(f"::notice title=needs upstream apply::{stack} reads outputs {', '.join(result['upstream'])} does not "
              "have yet; the deploy applies it first")
    if result["status"] == "drift":
        print(f"::error title=drift::{stack}: {len(result['drifted'])} resource(s) changed outside Terraform")
    for refusal in result["refusals"]:
        print(f"::error title=refused: topology::{stack}: {refusal}")
    for d in result["destructive"]:
        print(f"::error title=stateful resource destroyed or replaced::{stack}: {d} (not on environments/"
              f"{args.environment}.allow-destructive.json)")
    for d in result["allowed_destructive"]:
        print(f"::warning title=allowed destructive change::{stack}: {d}")
    for line in result["patching"]:
        print(f"::warning title=node AMI patch due (PCI DSS 6.3.3)::{stack}: {line}")
    print(f"{stack}: {result['status']}; " + ", ".join(f"{result[k]} {k}" for k in ("add", "change", "destroy", "replace")))
    return 1 if failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
