#!/usr/bin/env python
"""Bring the Terraform state written to the replica bucket during an outage back to the primary bucket.

    python3 tasks.py state-reconcile --env prod --config environments/prod.json            # report only
    python3 tasks.py state-reconcile --env prod --config environments/prod.json --apply    # and copy back

While ``state.region`` (us-east-1) is down, workspaces keep their state in the replica bucket
(``state.use_replica``, docs/runbooks/failover.md). S3 replication runs one way, primary to replica: whatever was
applied during the outage exists only in the copy. Before anyone plans against the primary bucket again, this
tool compares every S3-backed workspace's state in both buckets, through Terraform's own S3 backend (the same
bucket, key, region and KMS key as the stacks), and decides per workspace:

* ``in sync``: same lineage and serial, same content;
* ``primary newer`` / ``replica empty``: nothing to do (replication carries the primary's versions to the copy);
* ``replica newer`` (same lineage, higher serial) or ``only in replica``: copied back with ``terraform state
  push`` (``--apply``): Terraform takes the workspace's lock in the primary bucket, and refuses an older serial
  or a foreign lineage by itself;
* ``diverged`` (different lineages, or the same serial with different content): both buckets were written;
  nothing is copied, a person decides (exit status 1).

Nothing is ever written to the replica bucket. Exit status: 0 when every workspace is in sync or was copied, 1
when one diverged or a copy failed, 2 when the tool cannot run (configuration refused, no terraform).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from constructs_lib.config import EnvironmentConfig, load_config, load_overrides_file  # noqa: E402
from constructs_lib.errors import ConfigError  # noqa: E402
from constructs_lib.validation import validate  # noqa: E402
from scripts.progress import step  # noqa: E402

TERRAFORM_TIMEOUT = 300.0


@dataclass(frozen=True)
class Bucket:
    """One side of the state: the bucket, its region and the KMS key the backend encrypts with."""

    label: str
    bucket: str
    region: str
    kms_key_id: str


def buckets(config: EnvironmentConfig) -> tuple[Bucket, Bucket]:
    """(primary, replica) exactly as ``regions/base.py`` writes the S3 backends."""
    def side(label: str, bucket: str, region: str) -> Bucket:
        return Bucket(label, bucket, region, f"arn:aws:kms:{region}:{config.aws_account_id}:{config.state_key_alias}")

    return (side("primary", config.state_bucket, config.state.region),
            side("replica", config.state_replica_bucket, config.state.replica_region))


@dataclass
class Workspace:
    """One workspace's state on both sides, and what the tool decided."""

    stack: str
    primary: dict[str, Any] | None = None
    replica: dict[str, Any] | None = None
    verdict: str = ""
    copied: bool = False
    error: str = ""

    @property
    def key(self) -> str:
        return f"{self.stack}/terraform.tfstate"


def _content(state: Mapping[str, Any]) -> str:
    """What a state holds, without the fields Terraform rewrites on every write."""
    return json.dumps({k: v for k, v in state.items() if k not in ("serial", "terraform_version")}, sort_keys=True)


def classify(primary: Mapping[str, Any] | None, replica: Mapping[str, Any] | None) -> str:
    """The verdict for one workspace (``None``: no state object on that side)."""
    if replica is None:
        return "replica empty"
    if primary is None:
        return "only in replica"
    if primary.get("lineage") != replica.get("lineage"):
        return "diverged"
    if replica["serial"] > primary["serial"]:
        return "replica newer"
    if replica["serial"] < primary["serial"]:
        return "primary newer"
    return "in sync" if _content(primary) == _content(replica) else "diverged"


COPY = ("replica newer", "only in replica")
FINE = ("in sync", "primary newer", "replica empty")


class Terraform:
    """``terraform`` on an empty configuration whose only content is the S3 backend of one workspace."""

    def __init__(self, workdir: Path, endpoint: str = "") -> None:
        self.workdir = workdir
        self.endpoint = endpoint
        (workdir / "cli.tfrc").write_text("")  # no user CLI configuration: the same run everywhere
        self.env = {**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "cli.tfrc"), "TF_IN_AUTOMATION": "1",
                    "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}

    def folder(self, side: Bucket, key: str) -> Path:
        """An initialized working directory for ``key`` in ``side``'s bucket."""
        folder = self.workdir / side.label / key.split("/", 1)[0]
        if (folder / ".terraform").is_dir():
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": {}}}}))
        settings: dict[str, Any] = {"bucket": side.bucket, "key": key, "region": side.region, "encrypt": True,
                                    "kms_key_id": side.kms_key_id, "use_lockfile": True}
        if self.endpoint:  # an emulator (the tests): path-style S3 at one endpoint, no AWS account lookups
            settings.update(endpoints={"s3": self.endpoint}, use_path_style=True, skip_credentials_validation=True,
                            skip_requesting_account_id=True, skip_metadata_api_check=True, skip_region_validation=True)
        (folder / "backend.hcl").write_text("".join(f"{k} = {_hcl(v)}\n" for k, v in settings.items()))
        self.run(folder, "init", "-input=false", "-no-color", "-reconfigure", "-backend-config=backend.hcl")
        return folder

    def run(self, folder: Path, *args: str) -> str:
        done = subprocess.run(["terraform", *args], cwd=folder, env=self.env, capture_output=True, text=True,
                              timeout=TERRAFORM_TIMEOUT, check=False)
        if done.returncode != 0:
            message = " ".join((done.stderr or done.stdout).split())
            raise RuntimeError(f"terraform {args[0]} in {folder.name}: {message[-600:]}")
        return done.stdout

    def pull(self, side: Bucket, key: str) -> dict[str, Any] | None:
        """The state object, or None when the bucket holds none for the key (Terraform pulls serial 0, no lineage)."""
        state = json.loads(self.run(self.folder(side, key), "state", "pull") or "{}")
        return state if state.get("lineage") else None

    def push(self, side: Bucket, key: str, state: Mapping[str, Any], *, first: bool = False) -> None:
        """``terraform state push``: Terraform locks the workspace and refuses an older serial or another lineage.

        ``first``: the bucket holds no state for the key yet. Terraform's remote state manager then writes the
        content under a lineage of its own (``PersistState`` in internal/states/remote/state.go generates one
        when it read no snapshot); a second, forced push of the same content, over the object this call has just
        written, gives the workspace its own lineage back."""
        folder = self.folder(side, key)
        path = folder / "replica.tfstate"
        path.write_text(json.dumps(state))
        try:
            self.run(folder, "state", "push", "-no-color", path.name)
            if first:
                self.run(folder, "state", "push", "-no-color", "-force", path.name)
        finally:
            path.unlink(missing_ok=True)  # a state file holds identifiers of everything: not left behind


def _hcl(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_hcl(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def s3_workspaces(outdir: Path) -> list[str]:
    """The workspaces of a synth output whose state lives in the S3 bucket (every one but the bootstrap)."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found = []
    for name, entry in manifest["stacks"].items():
        stack = json.loads((outdir / entry["synthesizedStackPath"]).read_text())
        if "s3" in stack.get("terraform", {}).get("backend", {}):
            found.append(name)
    return sorted(found)


def reconcile(stacks: Iterable[str], primary: Bucket, replica: Bucket, terraform: Terraform, *, apply: bool) -> list[Workspace]:
    results = []
    for stack in stacks:
        ws = Workspace(stack)
        try:
            ws.primary, ws.replica = terraform.pull(primary, ws.key), terraform.pull(replica, ws.key)
            ws.verdict = classify(ws.primary, ws.replica)
            if apply and ws.verdict in COPY and ws.replica is not None:
                terraform.push(primary, ws.key, ws.replica, first=ws.primary is None)
                ws.copied = True
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
            ws.error = str(error)
        results.append(ws)
    return results


def report(results: list[Workspace], primary: Bucket, replica: Bucket, *, apply: bool) -> Iterable[str]:
    width = max((len(w.stack) for w in results), default=10)
    yield f"state: {primary.label} s3://{primary.bucket} ({primary.region}), {replica.label} s3://{replica.bucket} ({replica.region})"
    for w in results:
        serials = "/".join(str(s["serial"]) if s else "-" for s in (w.primary, w.replica))
        action = ("copied to the primary bucket" if w.copied else
                  "to copy: run again with --apply" if w.verdict in COPY and not apply else
                  "STOP: both buckets were written; compare them and decide (docs/runbooks/failover.md)" if w.verdict == "diverged" else "")
        line = f"  {w.stack:<{width}}  {w.verdict or 'error':<15} serial primary/replica {serials:<9} {action}"
        yield line.rstrip() if not w.error else f"  {w.stack:<{width}}  error: {w.error}"
    bad = [w for w in results if w.error or w.verdict == "diverged" or (apply and w.verdict in COPY and not w.copied)]
    pending = [w for w in results if w.verdict in COPY and not w.copied]
    yield (f"state-reconcile: {len(results)} workspace(s); {sum(w.copied for w in results)} copied, "
           f"{len(pending)} to copy, {len(bad)} need a person")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="prod", help="environment (default prod)")
    parser.add_argument("--config", help="the environment's overrides file (the committed topology)")
    parser.add_argument("--from", dest="source", help="an existing synth output folder (default: synthesize the environment)")
    parser.add_argument("--apply", action="store_true", help="copy the replica's newer states back (default: report only)")
    parser.add_argument("--stack", action="append", help="only this workspace (repeatable)")
    parser.add_argument("--endpoint", default=os.environ.get("GLOBALPAY_STATE_S3_ENDPOINT", ""),
                        help=argparse.SUPPRESS)  # an S3 emulator, for the tests
    args = parser.parse_args(argv)
    if shutil.which("terraform") is None:
        print("state-reconcile: terraform is not on PATH (Terraform >= 1.11)", file=sys.stderr)
        return 2
    try:
        caller = os.environ.get("GLOBALPAY_CALLER_CWD")
        overrides = load_overrides_file(args.config, caller) if args.config else {}
        from regions import REGION_SPECS

        config = load_config(args.env, REGION_SPECS, overrides)
        errors = validate(config, REGION_SPECS)
    except ConfigError as error:
        errors = [error]
    if errors:
        for error in errors:
            print(f"config error: {error}", file=sys.stderr)
        return 2
    primary, replica = buckets(config)
    with tempfile.TemporaryDirectory(prefix="state-reconcile-") as tmp:
        if args.source:
            outdir = Path(args.source)
        else:
            from regions.app import build_app

            with step(f"state-reconcile: synthesizing {args.env} for its workspaces (about 10 s)"):
                outdir = Path(tmp) / "cdktf.out"
                build_app(config, str(outdir)).app.synth()
        stacks = [s for s in s3_workspaces(outdir) if not args.stack or s in args.stack]
        terraform = Terraform(Path(tmp), endpoint=args.endpoint)
        results = reconcile(stacks, primary, replica, terraform, apply=args.apply)
    for line in report(results, primary, replica, apply=args.apply):
        print(line)
    failed = [w for w in results if w.error or w.verdict == "diverged" or (args.apply and w.verdict in COPY and not w.copied)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
