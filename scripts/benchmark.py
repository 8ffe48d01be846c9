#!/usr/bin/env python
"""Synth benchmark: the whole prod app against a bare import of the three provider packages.

    python scripts/benchmark.py [--runs 3] [--json] [--stock-bindings] [--synth-only]

Both commands run warm (one untimed run first), ``--runs`` times each, interleaved so that machine noise hits
both alike; each run is printed as it finishes. Per command: the median wall time, the median CPU seconds
(user + sys) of the whole process tree (Python, jsii's runtime wrapper and the kernel's node process, as
``wait4`` reports them once every process has been reaped: steadier than wall time on a shared machine) and
the peak memory, the largest sum of resident memory of the process tree, sampled from /proc every 20 ms.
The synth must run on the derived provider bindings (scripts/lazy_bindings.py): a synth that printed the
stock-bindings notice fails the benchmark, unless ``--stock-bindings`` asks for the stock ones.
Goal: synth median <= 30% of the import median in the same run, peak memory < 400 MB.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
IMPORT_ALL = [PYTHON, "-c", "import cdktf_cdktf_provider_aws, cdktf_cdktf_provider_kubernetes, cdktf_cdktf_provider_helm"]
RATIO_GOAL = 0.30
MEMORY_GOAL_MB = 400
STOCK_NOTICE = "notice: stock provider bindings"


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float  # user + sys of the process and every descendant it reaped
    peak_mb: float
    stderr: str


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


def measure(cmd: list[str], env: dict[str, str]) -> Run:
    """Wall seconds, CPU seconds of the process tree, peak MB of the process tree."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peak = 0
        while True:
            # wait4, not poll: its rusage covers the child and every descendant it waited for (python waits
            # for jsii's runtime wrapper, which waits for the kernel), i.e. the whole tree's CPU.
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-2000:]}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, peak / 1024, stderr)


def _median(runs: list[Run], key: str) -> float:
    return statistics.median(getattr(run, key) for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (runs are still printed to stderr)")
    parser.add_argument("--stock-bindings", action="store_true",
                        help="synthesize with the stock provider JavaScript (GLOBALPAY_STOCK_BINDINGS=1), for comparison")
    parser.add_argument("--synth-only", action="store_true", help="skip the import baseline (no ratio)")
    args = parser.parse_args()
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("GLOBALPAY_EAGER_PROVIDERS", None)
    env.pop("GLOBALPAY_STOCK_BINDINGS", None)
    synth_env = {**env, "GLOBALPAY_STOCK_BINDINGS": "1"} if args.stock_bindings else env
    log = sys.stderr if args.json else sys.stdout

    def report(label: str, run: Run) -> None:
        print(f"  {label:<7} {run.wall_s:6.2f} s wall  {run.cpu_s:6.2f} s cpu  {run.peak_mb:6.0f} MB peak", file=log, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        synth = [PYTHON, "main.py", "--quiet", "--out", str(Path(tmp) / "cdktf.out")]
        print("warm-up (not counted): import, synth", file=log, flush=True)
        if not args.synth_only:
            measure(IMPORT_ALL, env)  # warm the page cache and the .pyc files
        warm = measure(synth, synth_env)  # and jsii's package cache
        imports: list[Run] = []
        synths: list[Run] = []
        for number in range(1, args.runs + 1):
            print(f"run {number} of {args.runs}", file=log, flush=True)
            if not args.synth_only:
                imports.append(measure(IMPORT_ALL, env))
                report("import", imports[-1])
            synths.append(measure(synth, synth_env))
            report("synth", synths[-1])
        stacks = len(list((Path(tmp) / "cdktf.out" / "stacks").iterdir()))
    notices = sorted({line for run in [warm, *synths] for line in run.stderr.splitlines() if line.startswith(STOCK_NOTICE)})
    derived = not notices and not args.stock_bindings
    synth_median = _median(synths, "wall_s")
    figures = {
        "stacks": stacks,
        "runs": args.runs,
        "bindings": "derived" if derived else "stock",
        "synth_all_stacks_median_s": round(synth_median, 2),
        "synth_cpu_median_s": round(_median(synths, "cpu_s"), 2),
        "synth_peak_mb": round(max(run.peak_mb for run in synths)),
        "memory_goal_mb": MEMORY_GOAL_MB,
        "cpus": os.cpu_count(),
    }
    if imports:
        import_median = _median(imports, "wall_s")
        figures.update({
            "import_all_providers_median_s": round(import_median, 2),
            "import_cpu_median_s": round(_median(imports, "cpu_s"), 2),
            "import_peak_mb": round(max(run.peak_mb for run in imports)),
            "ratio": round(synth_median / import_median, 3),
            "cpu_ratio": round(figures["synth_cpu_median_s"] / _median(imports, "cpu_s"), 3),
            "ratio_goal": RATIO_GOAL,
        })
    ok = (derived or args.stock_bindings) and figures["synth_peak_mb"] < MEMORY_GOAL_MB and \
        (not imports or figures["ratio"] <= RATIO_GOAL)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0 if ok else 1
    for line in notices:
        print(f"the synth did not run on the derived bindings: {line}")
    if imports:
        print(f"import of the three provider packages: median {figures['import_all_providers_median_s']:.2f} s, "
              f"cpu {figures['import_cpu_median_s']:.2f} s, peak {figures['import_peak_mb']} MB")
    print(f"python main.py ({stacks} prod stacks, {figures['bindings']} bindings):  median {synth_median:.2f} s, "
          f"cpu {figures['synth_cpu_median_s']:.2f} s, peak {figures['synth_peak_mb']} MB")
    if imports:
        print(f"ratio {figures['ratio']:.1%} (goal <= {RATIO_GOAL:.0%}; cpu ratio {figures['cpu_ratio']:.1%}), "
              f"memory goal < {MEMORY_GOAL_MB} MB: {'met' if ok else 'NOT met'}")
    else:
        print(f"memory goal < {MEMORY_GOAL_MB} MB: {'met' if ok else 'NOT met'} (no import baseline: --synth-only)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
