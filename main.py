#!/usr/bin/env python
"""Synthesize every GlobalPay workspace of one environment into ``cdktf.out``.

    python main.py                         # prod, every workspace, S3 backends
    python main.py --env staging           # the staging copy
    python main.py --backend local         # local state files (try terraform plan without the bucket)
    python main.py --config overrides.json # override configuration fields (docs/configuration.md)

    python main.py --regions us-east-1,eu-west-1   # a subset of the regions

The same settings come from the environment (GLOBALPAY_ENV, GLOBALPAY_BACKEND, GLOBALPAY_CONFIG_FILE,
GLOBALPAY_REGIONS, GLOBALPAY_AWS_ACCOUNT_ID) or,
when the cdktf CLI runs this file, from cdktf.json's ``context`` (``cdktf synth --context environment=staging``
is not a cdktf flag; use ``GLOBALPAY_ENV=staging cdktf synth``). The configuration is validated before any
construct exists; a refused configuration prints one line per broken rule (every unknown key and wrong type
of an overrides file at once), exits 2 and leaves the previous output untouched. A relative ``--config`` (or
GLOBALPAY_CONFIG_FILE) is read from the folder the command was run in: this process's working directory, or
GLOBALPAY_CALLER_CWD when ``tasks.py`` runs this file from the project root for you.

A good synth is written to a temporary folder and swapped in whole.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from constructs_lib.config import ENVIRONMENT_NAMES, load_config, load_overrides_file
from constructs_lib.errors import ConfigError
from constructs_lib.validation import validate
from regions import REGION_SPECS

ROOT = Path(__file__).resolve().parent
EXIT_CONFIG_ERROR = 2
EXIT_POLICY_VIOLATION = 3
#: Set by tasks.py (which runs this file from the project root): the folder the operator ran the command in.
CALLER_CWD = "GLOBALPAY_CALLER_CWD"


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
    parser.add_argument("--regions", default=os.environ.get("GLOBALPAY_REGIONS") or context.get("regions"),
                        help="comma-separated subset of regions to synthesize (default: all of the environment's)")
    parser.add_argument("--out", default=None, help="output folder; default cdktf.out (or the CLI's CDKTF_OUTDIR)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return parser.parse_args(argv)


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


def load_validated(args: argparse.Namespace):
    """The environment's configuration, or ConfigError(s) describing why it cannot be deployed."""
    source = config_file(args)
    overrides = load_overrides_file(*source) if source else {}
    account = os.environ.get("GLOBALPAY_AWS_ACCOUNT_ID")
    if account:
        overrides = {**overrides, "aws_account_id": account}
    if args.regions:
        names = [name.strip() for name in str(args.regions).split(",") if name.strip()]
        overrides = {**overrides, "regions": [{"name": name} for name in names]}
    config = load_config(args.env, REGION_SPECS, overrides)
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
        synth_with_policy(spaces.app)
    except BaseException:
        if atomic:
            shutil.rmtree(work, ignore_errors=True)
        raise
    if atomic:
        backup = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            target.rename(backup)
        work.rename(target)
        shutil.rmtree(backup, ignore_errors=True)
    if not quiet:
        print_summary(target, spaces, time.perf_counter() - started)


def _progress(message: str) -> None:
    print(message, flush=True)


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
    from constructs_lib.policy import PolicyViolation

    try:
        # Under the cdktf CLI the CLI owns the output folder; on our own we swap a complete synth in.
        synthesize(config, outdir, atomic=not (cli_outdir and not args.out), quiet=args.quiet)
    except PolicyViolation as violation:
        for line in violation.lines():
            print(line, file=sys.stderr)
        return EXIT_POLICY_VIOLATION
    return 0


if __name__ == "__main__":
    sys.exit(main())
