"""Issue 7: the pinned cdktf CLI runs this app and produces exactly what ``python main.py`` produces.

Operators type ``npx cdktf synth`` / ``cdktf deploy``; reviewers and tests use ``python main.py``. If the
two ever disagreed (another interpreter, another working directory, a context value the CLI injects, an
environment variable it sets), what was reviewed would not be what is deployed. One real CLI run, compared
byte for byte with the session's prod synthesis, rules that out.
"""

from __future__ import annotations

import os
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
    env.update({
        "CHECKPOINT_DISABLE": "1",  # no HashiCorp checkpoint (telemetry) call
        "DISABLE_VERSION_CHECK": "true",  # no `npm view cdktf-cli` on every command
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CI": "1",  # no interactive spinner
    })
    return env


@pytest.fixture(scope="module")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CDKTF.exists():
        pytest.skip("node_modules is missing: run `python3 tasks.py install` (npm ci) to install the pinned cdktf CLI")
    out = tmp_path_factory.mktemp("cdktf-cli") / "out"
    result = subprocess.run(
        [str(CDKTF), "synth", "--output", str(out)],
        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, f"cdktf synth failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out


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
