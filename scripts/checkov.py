#!/usr/bin/env python
"""Run the pinned checkov over every synthesized stack and fail on any failed check that is not suppressed.

    python scripts/checkov.py [cdktf.out]

Why a wrapper and not plain ``checkov -d cdktf.out``:
- checkov's ``terraform`` framework does not read ``.tf.json`` files and its ``terraform_json`` parser
  fails on the top-level ``terraform.required_version`` string and on top-level ``moved`` and ``removed``
  blocks. We scan a copy of each stack without those (no check reads them: they only rename or forget state
  entries); every resource, data source and provider block is scanned as synthesized.
- The ``terraform_json`` runner ignores inline ``checkov:skip`` comments, so suppressions live in
  ``checkov/suppressions-*.txt``: ``CHECK_ID  construct-path-glob  reason``. A suppression applies only to
  resources whose construct path (cdktf's ``//.metadata.path``) matches the glob, and needs a reason.
  Unused suppressions are reported, so they do not outlive the resource they were written for.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = Path(os.environ.get("CHECKOV_BIN", ROOT / ".venv-checkov" / "bin" / "checkov"))
SUPPRESSIONS = sorted((ROOT / "checkov").glob("suppressions-*.txt"))


@dataclass(frozen=True)
class Suppression:
    check_id: str
    path_glob: str
    reason: str
    source: str


@dataclass(frozen=True)
class Finding:
    stack: str
    check_id: str
    check_name: str
    resource: str
    path: str


def load_suppressions(files: list[Path] = SUPPRESSIONS) -> list[Suppression]:
    out: list[Suppression] = []
    for file in files:
        for lineno, line in enumerate(file.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3 or not parts[2].strip():
                raise SystemExit(f"{file.name}:{lineno}: a suppression needs CHECK_ID, a construct path glob and a reason")
            out.append(Suppression(parts[0], parts[1], parts[2].strip(), f"{file.name}:{lineno}"))
    return out


def construct_paths(stack_json: dict) -> dict[str, str]:
    """``aws_s3_bucket.logical_name`` -> construct path.

    Some checks (e.g. CKV_AWS_157, CKV_AWS_226 in checkov 3.3.30) report ``resource.<logical_name>``
    without the type; logical names are unique within a cdktf stack, so those resolve by name.
    """
    paths: dict[str, str] = {}
    for block in ("resource", "data"):
        for rtype, items in stack_json.get(block, {}).items():
            for name, cfg in items.items():
                address = f"{rtype}.{name}" if block == "resource" else f"data.{rtype}.{name}"
                path = cfg.get("//", {}).get("metadata", {}).get("path", address)
                paths[address] = path
                if block == "resource":
                    paths[f"resource.{name}"] = path
    return paths


def prepare(outdir: Path, workdir: Path) -> dict[str, dict[str, str]]:
    paths: dict[str, dict[str, str]] = {}
    for stack_dir in sorted((outdir / "stacks").iterdir()):
        data = json.loads((stack_dir / "cdk.tf.json").read_text())
        data.get("terraform", {}).pop("required_version", None)
        data.pop("moved", None)
        data.pop("removed", None)  # like moved blocks: state bookkeeping, nothing a check reads
        target = workdir / stack_dir.name
        target.mkdir(parents=True)
        (target / "cdk.tf.json").write_text(json.dumps(data, indent=2))
        paths[stack_dir.name] = construct_paths(data)
    return paths


def run_checkov(workdir: Path) -> dict:
    if not CHECKOV.exists():
        raise SystemExit(f"checkov not found at {CHECKOV}: run `python3 tasks.py install` (creates .venv-checkov)")
    proc = subprocess.run(
        [str(CHECKOV), "--skip-download", "--framework", "terraform_json", "-d", str(workdir), "--output", "json",
         "--compact"],
        capture_output=True, text=True, check=False, env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"},
    )
    text = proc.stdout.strip()
    if not text:
        raise SystemExit(f"checkov produced no report (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    report = json.loads(text)
    if isinstance(report, list):  # one report per framework
        report = next(r for r in report if r.get("check_type") == "terraform_json")
    return report


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    outdir = Path(argv[0]) if argv else ROOT / "cdktf.out"
    if not (outdir / "stacks").is_dir():
        print(f"{outdir}/stacks not found: synthesize first (python3 tasks.py synth)", file=sys.stderr)
        return 2
    suppressions = load_suppressions()
    used: set[Suppression] = set()
    workdir = Path(tempfile.mkdtemp(prefix="checkov-"))
    try:
        paths = prepare(outdir, workdir)
        report = run_checkov(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary = report.get("summary", {})
    if summary.get("parsing_errors"):
        print(f"checkov could not parse {summary['parsing_errors']} stack(s)")
        return 1
    results = report.get("results", {})
    failures: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    for item in results.get("failed_checks", []):
        stack = item["file_path"].strip("/").split("/")[0]
        path = paths.get(stack, {}).get(item["resource"], item["resource"])
        finding = Finding(stack, item["check_id"], item.get("check_name", ""), item["resource"], path)
        match = next((s for s in suppressions if s.check_id == finding.check_id and fnmatch.fnmatchcase(path, s.path_glob)), None)
        if match:
            used.add(match)
            suppressed.append((finding, match))
        else:
            failures.append(finding)
    passed = len(results.get("passed_checks", []))
    print(f"checkov {summary.get('checkov_version', '')}: {len(paths)} stacks, {passed} passed, "
          f"{len(failures)} failed, {len(suppressed)} suppressed (with reasons in checkov/suppressions-*.txt)")
    per_stack: dict[str, list[int]] = {}
    for stack in paths:
        per_stack[stack] = [0, 0, 0]
    for item in results.get("passed_checks", []):
        per_stack.setdefault(item["file_path"].strip("/").split("/")[0], [0, 0, 0])[0] += 1
    for f in failures:
        per_stack[f.stack][1] += 1
    for f, _ in suppressed:
        per_stack[f.stack][2] += 1
    for stack, (p, f, s) in per_stack.items():
        print(f"  {stack:<40} passed {p:4d}  failed {f:3d}  suppressed {s:3d}")
    for f in failures:
        print(f"FAILED {f.check_id} {f.check_name}\n       {f.stack}: {f.path} ({f.resource})")
    for s in suppressions:
        if s not in used:
            print(f"note: unused suppression {s.source}: {s.check_id} {s.path_glob}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
