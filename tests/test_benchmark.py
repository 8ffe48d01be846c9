"""The benchmark's measurements (scripts/benchmark.py), on small commands instead of the whole app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import benchmark  # noqa: E402

# A parent that starts a child which starts a grandchild; each burns ~0.3 s of CPU and holds ~60 MB, and the
# grandchild writes the bindings notice to stderr. The parent waits for its child, as python waits for node.
_TREE = """
import subprocess, sys, time
depth = int(sys.argv[1])
block = bytearray(60 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
if depth < 2:
    subprocess.run([sys.executable, "-c", sys.argv[2], str(depth + 1), sys.argv[2]], check=True)
else:
    print("notice: stock provider bindings (test)", file=sys.stderr)
    time.sleep(0.3)
"""


def test_cpu_seconds_and_peak_memory_cover_the_whole_process_tree() -> None:
    run = benchmark.measure([sys.executable, "-c", _TREE, "0", _TREE], dict(os.environ))
    assert run.cpu_s >= 0.85  # three processes of ~0.3 s each, the grandchild's included
    assert run.peak_mb >= 150  # the three ~60 MB blocks are resident together while the grandchild sleeps
    assert run.wall_s >= run.cpu_s * 0.5
    assert "notice: stock provider bindings (test)" in run.stderr


def test_a_failing_command_stops_the_benchmark_with_its_stderr() -> None:
    with pytest.raises(SystemExit, match="boom"):
        benchmark.measure([sys.executable, "-c", "import sys; sys.exit('boom')"], dict(os.environ))


def test_the_goals_are_issue_14s() -> None:
    assert benchmark.RATIO_GOAL == 0.30 and benchmark.MEMORY_GOAL_MB == 400
