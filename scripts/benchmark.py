#!/usr/bin/env python
"""Synth benchmark: the whole prod app against a bare import of the three provider packages.

    python scripts/benchmark.py [--runs 3] [--json]

Both commands run warm (one untimed run first), ``--runs`` times each, interleaved so that machine noise hits
both alike; the figure is the median wall time. Peak memory is the largest sum of resident memory of the
command's process tree (python + the jsii node process), sampled from /proc every 20 ms.
Goal (issue 2): synth median <= 35% of the import median, peak memory < 1.2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
IMPORT_ALL = [PYTHON, "-c", "import cdktf_cdktf_provider_aws, cdktf_cdktf_provider_kubernetes, cdktf_cdktf_provider_helm"]
RATIO_GOAL = 0.35
MEMORY_GOAL_MB = 1200


def _tree_rss_kb(root_pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            with open(f"/proc/{entry.name}/status") as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry.name)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = kb
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak MB of the process tree)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, peak / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("GLOBALPAY_EAGER_PROVIDERS", None)
    with tempfile.TemporaryDirectory() as tmp:
        synth = [PYTHON, "main.py", "--quiet", "--out", str(Path(tmp) / "cdktf.out")]
        measure(IMPORT_ALL, env)  # warm the page cache and the .pyc files
        measure(synth, env)
        imports, synths = [], []
        for _ in range(args.runs):
            imports.append(measure(IMPORT_ALL, env))
            synths.append(measure(synth, env))
        stacks = len(list((Path(tmp) / "cdktf.out" / "stacks").iterdir()))
    import_median = statistics.median(t for t, _ in imports)
    synth_median = statistics.median(t for t, _ in synths)
    figures = {
        "stacks": stacks,
        "runs": args.runs,
        "import_all_providers_median_s": round(import_median, 2),
        "synth_all_stacks_median_s": round(synth_median, 2),
        "ratio": round(synth_median / import_median, 3),
        "ratio_goal": RATIO_GOAL,
        "synth_peak_mb": round(max(m for _, m in synths)),
        "import_peak_mb": round(max(m for _, m in imports)),
        "memory_goal_mb": MEMORY_GOAL_MB,
        "cpus": os.cpu_count(),
    }
    ok = figures["ratio"] <= RATIO_GOAL and figures["synth_peak_mb"] < MEMORY_GOAL_MB
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"import of the three provider packages: median {import_median:.2f} s, peak {figures['import_peak_mb']} MB")
        print(f"python main.py ({stacks} prod stacks):  median {synth_median:.2f} s, peak {figures['synth_peak_mb']} MB")
        print(f"ratio {figures['ratio']:.0%} (goal <= {RATIO_GOAL:.0%}), memory goal < {MEMORY_GOAL_MB} MB: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
