#!/usr/bin/env python
"""Plan rehearsal: Terraform itself checks every AWS stack, offline, against a local AWS API emulator.

    python scripts/rehearse.py                      # prod, staging, Network Firewall on, organization mode, the failover and every failback step
    python scripts/rehearse.py --env prod           # one scenario (prod | staging | egress-firewall | organization | failover | 02-release-origin ...)
    python scripts/rehearse.py --config my.json     # prod with a configuration overrides file
    python scripts/rehearse.py --from cdktf.out     # an existing synth output instead of a fresh synth

For each scenario: synthesize (``main.py --out``, into ``.rehearsal/<scenario>/``), start moto server on
127.0.0.1, create the stand-ins of what the stacks look up (hosted zone, ACM certificates, admin role, the
Ingress's load balancer), then per AWS stack in deploy order: copy, ``terraform init`` (local backend),
``validate`` and ``plan``. One line per stack; exit status 1 when any stack fails, 2 when the rehearsal
cannot run (no terraform, no provider, a configuration the validator refuses). See docs/safe-change.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rehearsal.emulator import STATE_DIR, EmulatorError, MotoServer  # noqa: E402
from rehearsal.provider import ProviderUnavailable  # noqa: E402
from rehearsal.runner import rehearse  # noqa: E402

#: The failover and failback steps operators commit, one overrides file each (docs/runbooks/failover.md).
SWITCH_STEPS = ROOT / "docs" / "runbooks" / "failover"


def switch_scenarios() -> dict[str, tuple[str, dict]]:
    """``failover`` (eu-west-1 promoted, the old writer fenced, Route 53 roles swapped), then every failback step
    by its file name (``02-release-origin`` ... ``09-original``), each on prod."""
    return {("failover" if p.stem == "01-failover" else p.stem): ("prod", json.loads(p.read_text()))
            for p in sorted(SWITCH_STEPS.glob("[0-9][0-9]-*.json"))}


#: The configurations CI rehearses: (environment, configuration overrides).
SCENARIOS: dict[str, tuple[str, dict]] = {
    "prod": ("prod", {}),
    "staging": ("staging", {}),
    # egress.network_firewall switched on: only the core stacks differ from prod's (the others are reused).
    "egress-firewall": ("prod", {"egress": {"network_firewall": True}}),
    # docs/detection.md: the landing zone owns GuardDuty, Security Hub, AWS Config and the trail (only the
    # -security stacks differ from prod's, and only those are planned again).
    "organization": ("prod", {"security": {"mode": "organization"}}),
    **switch_scenarios(),
}
#: Rehearsed when named (--env): the emergency-scaling step of the failover runbook.
OPTIONAL_SCENARIOS: dict[str, tuple[str, dict]] = {
    "emergency-scaling": ("prod", json.loads((SWITCH_STEPS / "emergency-scaling.json").read_text())),
}


def synthesize(scenario: str, env: str, overrides: dict, config_file: str | None, out: Path) -> None:
    args = [sys.executable, str(ROOT / "main.py"), "--env", env, "--out", str(out), "--quiet"]
    if overrides or config_file:
        merged = dict(json.loads(Path(config_file).read_text())) if config_file else {}
        merged.update(overrides)
        path = out.parent / "overrides.json"
        path.write_text(json.dumps(merged))
        args += ["--config", str(path)]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GLOBALPAY_") or k == "GLOBALPAY_AWS_ACCOUNT_ID"}
    done = subprocess.run(args, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"synth of {scenario} failed (exit {done.returncode}):\n{done.stderr.strip()}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default=None,
                        help=f"comma-separated scenarios ({', '.join([*SCENARIOS, *OPTIONAL_SCENARIOS])}); "
                             f"default all but {', '.join(OPTIONAL_SCENARIOS)}")
    parser.add_argument("--config", default=None, help="configuration overrides file (JSON) applied to each scenario")
    parser.add_argument("--from", dest="source", default=None, help="rehearse an existing synth output folder")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="stacks planned side by side (default: 2, or 1 on one core)")
    parser.add_argument("--no-registry", action="store_true", help="never try the Terraform registry for the pinned provider")
    parser.add_argument("--stack", action="append", help="rehearse only this stack (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="list every warning")
    args = parser.parse_args(argv)
    # tasks.py runs this from the project root: a relative --config is read from where the operator was.
    caller = os.environ.get("GLOBALPAY_CALLER_CWD")
    if args.config and caller and not Path(args.config).expanduser().is_absolute():
        args.config = str(Path(caller) / Path(args.config).expanduser())
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which("terraform") is None:
        print("rehearsal: terraform is not on PATH (Terraform >= 1.11 is required)", file=sys.stderr)
        return 2
    if args.source:
        scenarios = [("from " + args.source, None)]
    else:
        known = {**SCENARIOS, **OPTIONAL_SCENARIOS}
        names = args.env.split(",") if args.env else list(SCENARIOS)
        unknown = [n for n in names if n not in known]
        if unknown:
            print(f"rehearsal: unknown scenario(s) {', '.join(unknown)} (choose from {', '.join(known)})", file=sys.stderr)
            return 2
        scenarios = [(n, known[n]) for n in names]

    # SIGTERM ends the run like Ctrl-C: the finally blocks stop terraform and moto.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    started = time.perf_counter()
    failed = []
    reuse: dict = {}  # a stack with the same JSON in two scenarios is planned once
    try:
        with MotoServer() as moto:
            print(f"emulator: moto server pid {moto.pid} on {moto.endpoint}", flush=True)
            provider = None
            for label, scenario in scenarios:
                work = STATE_DIR / (label if scenario else "from")
                if scenario is None:
                    outdir = Path(args.source).resolve()
                else:
                    env, overrides = scenario
                    shutil.rmtree(work, ignore_errors=True)
                    work.mkdir(parents=True)
                    t0 = time.perf_counter()
                    synthesize(label, env, overrides, args.config, work / "cdktf.out")
                    print(f"synthesized {label} in {time.perf_counter() - t0:.0f} s", flush=True)
                    outdir = work / "cdktf.out"
                report = rehearse(outdir, moto=moto, workdir=work / "terraform", label=label, jobs=args.jobs,
                                  provider=provider, registry=not args.no_registry, only=args.stack, reuse=reuse,
                                  progress=lambda line, lbl=label: print(f"  [{lbl}] {line.strip()}", flush=True),
                                  account=os.environ.get("GLOBALPAY_AWS_ACCOUNT_ID", "123456789012"))
                provider = report.provider
                for line in report.lines(verbose=args.verbose):
                    print(line, flush=True)
                if not report.ok:
                    failed.append(label)
    except (EmulatorError, ProviderUnavailable) as error:
        print(f"rehearsal: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rehearsal: interrupted; terraform and moto stopped", file=sys.stderr)
        return 130
    total = time.perf_counter() - started
    print(f"rehearsal: {'FAILED: ' + ', '.join(failed) if failed else 'every AWS stack validates and plans'} "
          f"({len(scenarios)} scenario(s), {total:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
