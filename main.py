#!/usr/bin/env python
"""Synthesize every GlobalPay workspace of one environment into ``cdktf.out``.

    python main.py                         # prod, every workspace, S3 backends
    python main.py --env staging           # the staging copy
    python main.py --backend local         # local state files (try terraform plan without the bucket)
    python main.py --config overrides.json # override configuration fields (docs/configuration.md)

    python main.py --regions us-east-1,eu-west-1   # a subset of the regions

Every synth first reads the environment's committed configuration, ``environments/<env>.json`` (same format
as ``--config``; the topology every workflow, the cdktf CLI and ``tasks.py`` must agree on: which region
holds the writer), then ``--config`` on top of it. ``--environment-file FILE`` (GLOBALPAY_ENVIRONMENT_FILE)
reads another file in its place, ``--environment-file none`` none (docs/runbooks/pipeline.md).

The same settings come from the environment (GLOBALPAY_ENV, GLOBALPAY_BACKEND, GLOBALPAY_CONFIG_FILE,
GLOBALPAY_REGIONS, GLOBALPAY_AWS_ACCOUNT_ID) or,
when the cdktf CLI runs this file, from cdktf.json's ``context`` (``cdktf synth --context environment=staging``
is not a cdktf flag; use ``GLOBALPAY_ENV=staging cdktf synth``). The configuration is validated before any
construct exists; a refused configuration prints one line per broken rule (every unknown key and wrong type
of an overrides file at once), exits 2 and leaves the previous output untouched. A relative ``--config`` (or
GLOBALPAY_CONFIG_FILE) is read from the folder the command was run in: this process's working directory, or
GLOBALPAY_CALLER_CWD when ``tasks.py`` runs this file from the project root for you.

A good synth is written to a temporary sibling folder ``.<out>.tmp-<pid>`` and swapped in whole. One synth
at a time writes an output folder: a second one waits for the lock file ``.<out>.lock`` next to it (``--wait
SECONDS``, default 300; the kernel releases the lock of a process that dies) or exits 2 with one line, and
temporary folders left by killed runs are removed first. Under the cdktf CLI (CDKTF_OUTDIR) the CLI owns the
output folder and none of this applies.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from constructs_lib.config import ENVIRONMENT_NAMES, apply_overrides, load_config, load_overrides_file
from constructs_lib.errors import ConfigError, ConfigErrors
from constructs_lib.validation import validate
from regions import REGION_SPECS

ROOT = Path(__file__).resolve().parent
EXIT_CONFIG_ERROR = 2
EXIT_BUSY = 2  # another synth holds the output folder
EXIT_POLICY_VIOLATION = 3
EXIT_INTERRUPTED = 130
DEFAULT_WAIT_SECONDS = 300.0
#: Set by tasks.py (which runs this file from the project root): the folder the operator ran the command in.
CALLER_CWD = "GLOBALPAY_CALLER_CWD"
#: The committed configuration of each environment, ``<env>.json`` (an overrides file), read by every synth
#: before ``--config``: the pipeline's plans, drift checks and deploys, ``tasks.py synth`` and the cdktf CLI all
#: synthesize the topology committed there. Next to it, ``<env>.freeze`` stops the pipeline's deploys
#: (docs/runbooks/pipeline.md, "The committed topology and the freeze switch").
ENVIRONMENTS_DIR = ROOT / "environments"


def _cli_context() -> dict:
    """Context the cdktf CLI hands to the app (cdktf.json ``context``)."""
    try:
        return json.loads(os.environ.get("CDKTF_CONTEXT_JSON", "{}")) or {}
    except json.JSONDecodeError:
        return {}


def parse_args(argv: list[str]) -> argparse.Namespace:
    context = _cli_context()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default=os.environ.get("GLOBALPAY_ENV") or context.get("environment") or "prod",
                        help=f"environment to synthesize ({', '.join(ENVIRONMENT_NAMES)}); default prod")
    parser.add_argument("--backend", default=os.environ.get("GLOBALPAY_BACKEND") or context.get("backend"),
                        choices=("s3", "local"), help="state backend of every workspace but bootstrap; default s3")
    parser.add_argument("--config", default=None,
                        help="JSON file of configuration overrides (default: GLOBALPAY_CONFIG_FILE, cdktf.json context configFile)")
    parser.add_argument("--environment-file", default=os.environ.get("GLOBALPAY_ENVIRONMENT_FILE") or None,
                        metavar="FILE", help="the environment's committed configuration (default: environments/<env>.json "
                        "when it exists; 'none' reads none), applied before --config")
    parser.add_argument("--regions", default=os.environ.get("GLOBALPAY_REGIONS") or context.get("regions"),
                        help="comma-separated subset of regions to synthesize (default: all of the environment's)")
    parser.add_argument("--out", default=None, help="output folder; default cdktf.out (or the CLI's CDKTF_OUTDIR)")
    parser.add_argument("--wait", type=_seconds, default=DEFAULT_WAIT_SECONDS, metavar="SECONDS",
                        help=f"while another synth writes the output folder, wait this long for it (default {DEFAULT_WAIT_SECONDS:g}; 0: exit at once)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def config_file(args: argparse.Namespace) -> tuple[str, str | None] | None:
    """The overrides file to read and the folder a relative name is read from (None: this process's cwd)."""
    caller = os.environ.get(CALLER_CWD) or None
    if args.config:
        return args.config, caller
    if os.environ.get("GLOBALPAY_CONFIG_FILE"):
        return os.environ["GLOBALPAY_CONFIG_FILE"], caller
    if _cli_context().get("configFile"):
        return str(_cli_context()["configFile"]), str(ROOT)  # cdktf.json's own folder
    return None


def environment_file(args: argparse.Namespace) -> Path | None:
    """The committed configuration of ``args.env`` to read first, or None."""
    choice = args.environment_file
    if choice == "none":
        return None
    if choice:
        file = Path(choice).expanduser()
        caller = os.environ.get(CALLER_CWD)
        return Path(caller) / file if caller and not file.is_absolute() else file
    default = ENVIRONMENTS_DIR / f"{args.env}.json"
    return default if default.is_file() else None


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _committed_layer(path: Path) -> dict:
    """The overrides of the committed file, errors named after the file instead of ``--config``."""
    try:
        return load_overrides_file(path)
    except ConfigError as error:
        raise ConfigError(_shown(path), error.rule) from None


def load_validated(args: argparse.Namespace):
    """The environment's configuration, or ConfigError(s) describing why it cannot be deployed.

    Layers, each applied on the one before: the defaults of ``args.env``, the committed environment file,
    ``--config``, then GLOBALPAY_AWS_ACCOUNT_ID and ``--regions``.
    """
    committed = environment_file(args)
    layers: list[tuple[str, dict]] = []
    if committed is not None:
        layers.append((_shown(committed), _committed_layer(committed)))
    source = config_file(args)
    overrides = load_overrides_file(*source) if source else {}
    account = os.environ.get("GLOBALPAY_AWS_ACCOUNT_ID")
    if account:
        overrides = {**overrides, "aws_account_id": account}
    if args.regions:
        names = [name.strip() for name in str(args.regions).split(",") if name.strip()]
        overrides = {**overrides, "regions": [{"name": name} for name in names]}
    layers.append(("", overrides))
    config = load_config(args.env, REGION_SPECS)
    for label, layer in layers:
        if not layer:
            continue
        try:
            config = apply_overrides(config, layer)
        except ConfigError as error:
            if not label:
                raise
            raise ConfigErrors([ConfigError(f"{label}: {e.field}", e.rule) for e in error.errors]) from None
    if args.backend:
        from dataclasses import replace

        config = replace(config, state=replace(config.state, backend=args.backend))
    return config, validate(config, REGION_SPECS)


def refuse(errors: list[ConfigError]) -> int:
    for error in errors:
        print(f"config error: {error}", file=sys.stderr)
    return EXIT_CONFIG_ERROR


def synthesize(config, outdir: Path, *, atomic: bool, quiet: bool) -> None:
    """Build every workspace into ``outdir``; with ``atomic``, via a temporary folder swapped in whole."""
    from regions.app import build_app  # imports the provider bindings: only once the config is known good
    from regions.summary import print_summary

    target = outdir.resolve()
    work = target.with_name(f".{target.name}.tmp-{os.getpid()}") if atomic else target
    if atomic and work.exists():
        shutil.rmtree(work)
    started = time.perf_counter()
    try:
        from constructs_lib.policy import synth as synth_with_policy

        spaces = build_app(config, str(work), progress=None if quiet else _progress)
        # Our own synth writes into a private folder (removed if this raises): the policy checks the written JSON.
        synth_with_policy(spaces.app, private_outdir=work if atomic else None)
        # Each stack's committed provider lock file (locks/), which terraform init then holds it to.
        from scripts.ci.locks import install as install_lock_files

        without_lock = install_lock_files(work)
        if without_lock and not quiet:
            print(f"notice: no committed provider lock file for {', '.join(without_lock)} (python3 tasks.py locks --update)",
                  file=sys.stderr)
    except BaseException:
        if atomic:
            shutil.rmtree(work, ignore_errors=True)
        raise
    if atomic:
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            target.rename(backup)
        try:
            work.rename(target)
        except BaseException:  # the previous output comes back; a kill here leaves it to clean_leftovers
            if backup.exists() and not target.exists():
                backup.rename(target)
            shutil.rmtree(work, ignore_errors=True)
            raise
        shutil.rmtree(backup, ignore_errors=True)
    if not quiet:
        print_summary(target, spaces, time.perf_counter() - started)


def _progress(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------------------------------
# One synth at a time per output folder, and no folders left behind by the ones that were killed
# ------------------------------------------------------------------------------------------------------


class Busy(Exception):
    """Another synth held the output folder for longer than ``--wait``, or its lock file cannot be made.
    ``str()`` is the line to print."""


def lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


@contextlib.contextmanager
def output_lock(target: Path, wait: float, notice: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the output folder's lock (``flock`` on ``.<name>.lock``, next to it) for the ``with`` block.

    While another process holds it, wait up to ``wait`` seconds (calling ``notice`` once with a line
    saying so), then raise ``Busy``. The kernel drops the lock of a process that dies, so a killed synth
    never blocks the next one. The holder removes the file before it lets go; a waiter that then finds it
    holds the lock of a removed file tries again on the new one.
    """
    path = lock_path(target)
    with contextlib.suppress(OSError):  # if this fails, os.open below says why
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(wait, 0.0)
    noticed = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise Busy(f"error: cannot create the lock file {path}: {exc.strerror or exc}; nothing was changed") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Busy(f"busy: {target} is being written by another synth ({_holder(path)}); nothing was changed. "
                           f"Run again when it has finished, or wait for it with --wait SECONDS") from None
            if notice is not None and not noticed:
                notice(f"waiting for {_holder(path)}, which is writing {target} (at most {wait:g} s; --wait SECONDS)")
                noticed = True
            time.sleep(min(0.2, left))
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():  # a folder of an earlier process that had our pid: ours does not exist yet
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed synth its parent has not reaped yet is a zombie: dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def clean_leftovers(target: Path) -> list[Path]:
    """Remove the ``.<name>.tmp-<pid>`` / ``.old-<pid>`` folders of synths into ``target`` that died.

    Call it holding the lock. A run killed between its two renames left no output folder but its previous
    output in ``.old-<pid>``: that one is put back instead of removed. Returns what was cleaned.
    """
    pattern = re.compile(re.escape(f".{target.name}.") + r"(tmp|old)-(\d+)")
    cleaned: list[Path] = []
    if not target.parent.is_dir():
        return cleaned
    for entry in sorted(target.parent.iterdir()):
        match = pattern.fullmatch(entry.name)
        if not match or _alive(int(match[2])):
            continue
        if match[1] == "old" and not os.path.lexists(target) and entry.is_dir():
            entry.rename(target)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        cleaned.append(entry)
    return cleaned


def _notice(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: the temporary folder and the lock are cleaned up


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config, errors = load_validated(args)
    except ConfigError as error:
        return refuse(error.errors)
    if errors:
        return refuse(errors)
    cli_outdir = os.environ.get("CDKTF_OUTDIR")
    outdir = Path(args.out or cli_outdir or "cdktf.out")
    # Under the cdktf CLI the CLI owns the output folder; on our own we swap a complete synth in, one at a time.
    atomic = not (cli_outdir and not args.out)
    from constructs_lib.policy import PolicyViolation

    try:
        with output_lock(outdir.resolve(), args.wait, None if args.quiet else _notice) if atomic else contextlib.nullcontext():
            if atomic:
                clean_leftovers(outdir.resolve())
            committed = environment_file(args)
            if committed is not None and not args.quiet:
                extra = config_file(args)
                print(f"configuration: {_shown(committed)} (committed){', then ' + extra[0] if extra else ''}", flush=True)
            synthesize(config, outdir, atomic=atomic, quiet=args.quiet)
    except Busy as busy:
        print(busy, file=sys.stderr)
        return EXIT_BUSY
    except PolicyViolation as violation:
        for line in violation.lines():
            print(line, file=sys.stderr)
        return EXIT_POLICY_VIOLATION
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)  # the temporary folder is gone; the output is the old or the new one, whole
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
