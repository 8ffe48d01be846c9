"""The pinned cdktf CLI runs this app and produces exactly what ``python main.py`` produces.

Operators type ``npx cdktf synth`` / ``cdktf deploy``; reviewers and tests use ``python main.py``. If the
two ever disagreed (another interpreter, another working directory, a context value the CLI injects, an
environment variable it sets), what was reviewed would not be what is deployed. One real CLI run, compared
byte for byte with the session's prod synthesis, rules that out.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"

#: Variables that would select another environment or configuration than the session's plain prod synth.
_APP_SETTINGS = ("GLOBALPAY_ENV", "GLOBALPAY_BACKEND", "GLOBALPAY_CONFIG_FILE", "GLOBALPAY_AWS_ACCOUNT_ID",
                 "CDKTF_OUTDIR", "CDKTF_CONTEXT_JSON")


def cli_env() -> dict[str, str]:
    """The environment docs/runbooks/deploy.md tells operators to use: no telemetry, no version check."""
    env = {k: v for k, v in os.environ.items() if k not in _APP_SETTINGS}
    if env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).exists():
        # A machine-wide setting naming a file that does not exist (this CI image sets one): terraform, and the
        # CLI after it, would print a red "Unable to open CLI configuration file" that is about the machine.
        del env["TF_CLI_CONFIG_FILE"]
    env.update({
        "CHECKPOINT_DISABLE": "1",  # no HashiCorp checkpoint (telemetry) call
        "DISABLE_VERSION_CHECK": "true",  # no `npm view cdktf-cli` on every command
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CI": "1",  # no interactive spinner
    })
    return env


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One ``cdktf synth`` the way the README runs it: its output folder and everything it printed."""
    if not CDKTF.exists():
        pytest.skip("node_modules is missing: run `python3 tasks.py install` (npm ci) to install the pinned cdktf CLI")
    out = tmp_path_factory.mktemp("cdktf-cli") / "out"
    result = subprocess.run(
        [str(CDKTF), "synth", "--output", str(out)],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, f"cdktf synth failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out, result.stdout + result.stderr


@pytest.fixture(scope="module")
def cli_synth(cli_run: tuple[Path, str]) -> Path:
    return cli_run[0]


@pytest.mark.slow
def test_cli_is_the_pinned_version() -> None:
    """package.json pins cdktf-cli exactly; the installed CLI must be that one (npm ci, not a global)."""
    if not CDKTF.exists():
        pytest.skip("node_modules is missing: run `python3 tasks.py install` (npm ci) to install the pinned cdktf CLI")
    import json

    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["cdktf-cli"]
    installed = json.loads((ROOT / "node_modules" / "cdktf-cli" / "package.json").read_text())["version"]
    assert pinned == installed == "0.21.0"


@pytest.mark.slow
def test_cdktf_synth_produces_the_same_stacks_as_main_py(cli_synth: Path, prod: Synth) -> None:
    cli_stacks = sorted(p.name for p in (cli_synth / "stacks").iterdir())
    assert cli_stacks == sorted(prod), "the CLI and main.py synthesize different sets of workspaces"
    for name in cli_stacks:
        ours = (prod.outdir / "stacks" / name / "cdk.tf.json").read_bytes()
        theirs = (cli_synth / "stacks" / name / "cdk.tf.json").read_bytes()
        assert theirs == ours, f"{name}: cdktf synth and python main.py differ"


@pytest.mark.slow
def test_cli_manifest_lists_every_stack_with_its_dependencies(cli_synth: Path, prod: Synth) -> None:
    """``cdktf deploy '*'`` orders stacks by this manifest: it must be the one main.py writes."""
    assert (cli_synth / "manifest.json").read_bytes() == (prod.outdir / "manifest.json").read_bytes()


@pytest.mark.slow
def test_cli_offline_prints_no_checkpoint_error(cli_run: tuple[Path, str]) -> None:
    """Run as the README says, the CLI makes no telemetry call: without CHECKPOINT_DISABLE it would print
    "Could not send telemetry data" in red on a machine without HashiCorp's checkpoint service."""
    printed = cli_run[1]
    assert "telemetry" not in printed.lower() and "checkpoint" not in printed.lower(), printed[-2000:]
    assert "ERROR" not in printed, printed[-2000:]


def test_readme_and_deploy_runbook_set_what_the_cli_needs_offline() -> None:
    """The README shows the CLI command with the variables the test above uses, and the deploy runbook exports
    them before its first ``npx cdktf``."""
    readme = (ROOT / "README.md").read_text()
    assert "CHECKPOINT_DISABLE=1 DISABLE_VERSION_CHECK=true npx cdktf" in readme
    runbook = (ROOT / "docs" / "runbooks" / "deploy.md").read_text()
    first_cli = next(m.start() for m in re.finditer(r"^\s*npx cdktf", runbook, re.M))
    for name, value in (("CHECKPOINT_DISABLE", "1"), ("DISABLE_VERSION_CHECK", "true")):
        assert cli_env()[name] == value
        assert -1 < runbook.find(f"export {name}={value}") < first_cli, f"deploy.md must export {name}={value} first"
