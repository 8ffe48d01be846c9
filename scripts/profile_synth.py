#!/usr/bin/env python
"""Where a whole-app synth spends its time: wall and CPU seconds (Python and node) per phase.

    .venv/bin/python scripts/profile_synth.py [--env prod] [--config overrides.json] [--json]

Runs what ``python main.py --quiet`` runs, in phases, in this one process: imports and configuration,
starting the jsii kernel with cdktf's and constructs' JavaScript (``import cdktf``), loading the provider
JavaScript (``providers.load_derived_bindings``), importing the construct modules, building the constructs
(every jsii round trip counted by kind), the synth (cdktf's aspects, validation including the policy check of each stack,
and writing JSON) and the kernel's shutdown. Node's CPU is read from /proc for each node process (the kernel,
and jsii's runtime wrapper under GLOBALPAY_JSII_WRAPPER=1), Python's from getrusage; "tree MB" is the resident
memory of all of them at the end of the phase. docs/benchmark.md holds a table made with this script.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import collections  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
TICK = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0.0


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0) / 1024
    except OSError:
        return 0.0


class Phases:
    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.last_wall = STARTED
        self.last_py = self._py_cpu()
        self.last_node = 0.0
        self.node_pids: set[int] = set()
        self.cpu_seen: dict[int, float] = {}  # the last CPU seconds read of each node process
        self.labels: dict[int, str] = {}  # its script: lib/program.js (the kernel), bin/jsii-runtime.js (wrapper)

    @staticmethod
    def _py_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def _node_cpu(self) -> float:
        for pid in _descendants(os.getpid()):
            if pid not in self.node_pids:
                self.node_pids.add(pid)
                try:
                    with open(f"/proc/{pid}/cmdline") as f:
                        self.labels[pid] = "/".join(f.read().split("\0")[-2].rsplit("/", 2)[-2:])
                except (OSError, IndexError):
                    self.labels[pid] = str(pid)
        for pid in self.node_pids:
            self.cpu_seen[pid] = max(self.cpu_seen.get(pid, 0.0), _cpu_of(pid))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # node processes that exited and were reaped
        return max(sum(self.cpu_seen.values()), children.ru_utime + children.ru_stime)

    def mark(self, phase: str, **extra) -> None:
        wall, py, node = time.perf_counter(), self._py_cpu(), self._node_cpu()
        rss = _rss_mb(os.getpid()) + sum(_rss_mb(pid) for pid in self.node_pids)
        self.rows.append({"phase": phase, "wall_s": wall - self.last_wall, "python_cpu_s": py - self.last_py,
                          "node_cpu_s": node - self.last_node, "tree_rss_mb": rss, **extra})
        self.last_wall, self.last_py, self.last_node = wall, py, node


class RoundTrips:
    """Counts and times every request Python sends to the jsii kernel, by kind."""

    def __init__(self) -> None:
        from jsii._kernel.providers import process

        self.count: collections.Counter[str] = collections.Counter()
        self.seconds = 0.0
        original = process._NodeProcess.send
        counter = self

        def send(self, request, response_type):
            started = time.perf_counter()
            try:
                return original(self, request, response_type)
            finally:
                counter.seconds += time.perf_counter() - started
                counter.count[type(request).__name__.removesuffix("Request")] += 1

        process._NodeProcess.send = send

    def take(self) -> dict:
        taken = {"round_trips": sum(self.count.values()), "round_trip_s": self.seconds,
                 "by_kind": dict(self.count.most_common())}
        self.count.clear()
        self.seconds = 0.0
        return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="prod")
    parser.add_argument("--config", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    phases = Phases()

    import main as app_main

    trips = RoundTrips()
    config, errors = app_main.load_validated(app_main.parse_args(["--env", args.env, *(["--config", args.config] if args.config else [])]))
    assert not errors, errors
    phases.mark("Python start, imports, configuration and validation")

    import cdktf  # noqa: F401  (starts the kernel, which loads constructs' and cdktf's JavaScript)

    phases.mark("jsii kernel start, cdktf + constructs JavaScript", **trips.take())

    from constructs_lib import providers

    sources = providers.load_derived_bindings()
    derived = sum(source.startswith("derived") for source in sources.values())
    phases.mark(f"provider JavaScript ({derived} of {len(sources)} derived, checks included)", **trips.take())

    from constructs_lib.policy import synth as synth_with_policy
    from regions.app import build_app

    phases.mark("import of the construct modules", **trips.take())
    with tempfile.TemporaryDirectory() as tmp:
        spaces = build_app(config, str(Path(tmp) / "out"))
        phases.mark("building the constructs", **trips.take())
        report = synth_with_policy(spaces.app, private_outdir=Path(tmp) / "out")  # as main.py runs it
        policy_s = report.seconds if report is not None else 0.0
        phases.mark("synth (aspects, JSON) and the policy on the written JSON", policy_s=policy_s, **trips.take())
        stacks = len(list((Path(tmp) / "out" / "stacks").iterdir()))
    import jsii

    jsii.kernel.provider._process.stop()  # what atexit does: the kernel writes nothing more, node exits
    phases.mark("kernel shutdown", **trips.take())
    total = {key: sum(row[key] for row in phases.rows) for key in ("wall_s", "python_cpu_s", "node_cpu_s")}
    total["node_cpu_by_process"] = {phases.labels.get(pid, str(pid)): round(cpu, 2) for pid, cpu in sorted(phases.cpu_seen.items())}
    if args.json:
        print(json.dumps({"stacks": stacks, "phases": phases.rows, "total": total}, indent=2))
        return 0
    print(f"{args.env}: {stacks} stacks (wall time from interpreter start; Python/node CPU per phase)")
    print(f"{'phase':<58} {'wall s':>7} {'py cpu':>7} {'node cpu':>8} {'tree MB':>8} {'jsii calls':>10}")
    for row in phases.rows:
        calls = f"{row['round_trips']:,}" if row.get("round_trips") else ""
        print(f"{row['phase']:<58} {row['wall_s']:7.2f} {row['python_cpu_s']:7.2f} {row['node_cpu_s']:8.2f} "
              f"{row['tree_rss_mb']:8.0f} {calls:>10}")
        if row.get("by_kind"):
            print(f"{'':<4}{', '.join(f'{k} {v:,}' for k, v in row['by_kind'].items())}; "
                  f"{row['round_trip_s']:.2f} s waiting on the kernel" + (f"; policy {row['policy_s']:.2f} s" if "policy_s" in row else ""))
    print(f"{'total':<58} {total['wall_s']:7.2f} {total['python_cpu_s']:7.2f} {total['node_cpu_s']:8.2f}")
    print("node CPU by process (before shutdown): " + ", ".join(f"{k} {v:.2f} s" for k, v in total["node_cpu_by_process"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
