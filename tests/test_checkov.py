"""checkov (pinned, in .venv-checkov) over every synthesized stack of both environments: 0 failed checks.

Suppressions live in checkov/suppressions-*.txt, each scoped to construct paths and carrying a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import Synth

ROOT = Path(__file__).resolve().parent.parent


def _checkov(outdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "checkov.py"), str(outdir)],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_checkov_has_no_failed_check(env: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synth = request.getfixturevalue(env)
    proc = _checkov(synthesized.outdir)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failed" in proc.stdout.splitlines()[0]


def test_every_suppression_has_a_reason_and_a_scope() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import checkov as wrapper  # scripts/checkov.py, not the checkov package (which lives in its own venv)

    for s in wrapper.load_suppressions():
        assert s.check_id.startswith(("CKV_", "CKV2_")), s
        assert len(s.reason) > 20, f"{s.source}: say why in a sentence"
        assert s.path_glob.startswith("globalpay-"), f"{s.source}: scope the suppression to construct paths"
