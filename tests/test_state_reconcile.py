"""State written to the replica bucket during an outage goes back to the primary bucket by a tool, not by hand.

``scripts/state_reconcile.py`` against moto server's S3 (127.0.0.1, stopped by PID) with Terraform's own S3
backend: two buckets shaped like the state bucket and its replica, workspaces in every situation an outage
leaves (in sync, applied during the outage, created during the outage, applied on both sides, untouched), and
what the tool reports, copies and refuses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib.config import load_config
from regions import REGION_SPECS

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from rehearsal import emulator  # noqa: E402

from scripts import state_reconcile  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform (>= 1.11) is required")

CONFIG = load_config("prod", REGION_SPECS, {"state": {"use_replica": True}})
PRIMARY, REPLICA = state_reconcile.buckets(CONFIG)
#: The workspaces of a small synth output: every situation, one workspace each (names as the stacks have them).
SITUATIONS = {
    "globalpay-prod-us-east-1": "in sync",
    "globalpay-prod-eu-west-1": "replica newer",  # applied during the outage (the promotion)
    "globalpay-prod-eu-west-1-apps": "only in replica",  # first state written during the outage
    "globalpay-prod-ap-southeast-2-apps": "diverged",  # applied to both buckets
    "globalpay-prod-global": "primary newer",  # applied after the region came back, before the tool ran
    "globalpay-prod-us-east-1-edge": "replica empty",
}


def state(lineage: str, serial: int, marker: str) -> dict[str, Any]:
    """A state Terraform accepts to push: an output makes it non-empty."""
    return {"version": 4, "terraform_version": "1.11.4", "serial": serial, "lineage": lineage,
            "outputs": {"marker": {"value": marker, "type": "string"}}, "resources": [], "check_results": None}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    server = emulator.MotoServer(state_dir=tmp_path_factory.mktemp("moto-state"))
    server.start()
    yield server
    server.stop()


def s3_call(moto: emulator.MotoServer, code: str) -> str:
    """Run boto3 (the emulator's virtual environment has it) against moto; returns stdout."""
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true",
           "PATH": "/usr/bin:/bin"}
    prelude = ("import boto3, json, sys\n"
               f"def s3(region): return boto3.client('s3', region_name=region, endpoint_url={moto.endpoint!r})\n")
    done = subprocess.run([str(emulator.VENV / "bin" / "python"), "-c", prelude + code], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def buckets(moto: emulator.MotoServer, tmp_path: Path) -> Path:
    """Both buckets, emptied, holding the states of ``SITUATIONS``; a synth output naming the workspaces."""
    moto.reset()
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for stack, situation in SITUATIONS.items():
        key = f"{stack}/terraform.tfstate"
        before = state(f"lineage-{stack}", 10, "before the outage")
        if situation == "in sync":
            objects[PRIMARY.bucket, key] = objects[REPLICA.bucket, key] = before
        elif situation == "replica newer":
            objects[PRIMARY.bucket, key], objects[REPLICA.bucket, key] = before, state(f"lineage-{stack}", 14, "during")
        elif situation == "only in replica":
            objects[REPLICA.bucket, key] = state(f"lineage-{stack}", 3, "during")
        elif situation == "diverged":
            objects[PRIMARY.bucket, key], objects[REPLICA.bucket, key] = before, state("another-lineage", 11, "elsewhere")
        elif situation == "primary newer":
            objects[PRIMARY.bucket, key], objects[REPLICA.bucket, key] = state(f"lineage-{stack}", 12, "after"), before
        elif situation == "replica empty":
            objects[PRIMARY.bucket, key] = before
    code = (f"s3({PRIMARY.region!r}).create_bucket(Bucket={PRIMARY.bucket!r})\n"
            f"s3({REPLICA.region!r}).create_bucket(Bucket={REPLICA.bucket!r}, "
            f"CreateBucketConfiguration={{'LocationConstraint': {REPLICA.region!r}}})\n")
    for (bucket, key), body in objects.items():
        code += f"s3('us-east-1').put_object(Bucket={bucket!r}, Key={key!r}, Body={json.dumps(body)!r})\n"
    s3_call(moto, code)
    outdir = tmp_path / "cdktf.out"
    manifest: dict[str, Any] = {"stacks": {}}
    for stack in [*SITUATIONS, "globalpay-prod-bootstrap"]:
        backend = {"local": {"path": "x"}} if stack.endswith("bootstrap") else {"s3": {"bucket": REPLICA.bucket}}
        (outdir / "stacks" / stack).mkdir(parents=True)
        (outdir / "stacks" / stack / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))
        manifest["stacks"][stack] = {"synthesizedStackPath": f"stacks/{stack}/cdk.tf.json"}
    (outdir / "manifest.json").write_text(json.dumps(manifest))
    return outdir


def read(moto: emulator.MotoServer, bucket: str, stack: str) -> dict[str, Any] | None:
    out = s3_call(moto, f"""
try:
    body = s3('us-east-1').get_object(Bucket={bucket!r}, Key={stack + '/terraform.tfstate'!r})['Body'].read()
    print(body.decode())
except s3('us-east-1').exceptions.NoSuchKey:
    print('null')
""")
    return json.loads(out)


def run(moto: emulator.MotoServer, outdir: Path, *args: str, monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = state_reconcile.main(["--env", "prod", "--from", str(outdir), "--endpoint", moto.endpoint, *args])
    return code, capsys.readouterr().out


def verdicts(out: str) -> dict[str, str]:
    found = {}
    for stack, situation in SITUATIONS.items():
        line = next(line for line in out.splitlines() if line.strip().startswith(stack + " "))
        found[stack] = situation if f" {situation} " in line + " " else line
    return found


def test_the_report_names_every_situation_and_copies_nothing(moto, buckets: Path, monkeypatch, capsys) -> None:
    code, out = run(moto, buckets, monkeypatch=monkeypatch, capsys=capsys)
    assert verdicts(out) == SITUATIONS
    assert "globalpay-prod-bootstrap" not in out  # local state: never in the bucket
    assert code == 1  # the diverged workspace needs a person
    assert "STOP: both buckets were written" in out
    assert read(moto, PRIMARY.bucket, "globalpay-prod-eu-west-1")["serial"] == 10  # nothing written


def test_apply_copies_the_replicas_newer_states_back_and_nothing_else(moto, buckets: Path, monkeypatch, capsys) -> None:
    code, out = run(moto, buckets, "--apply", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 1, out  # still: the diverged one is left to a person
    promoted = read(moto, PRIMARY.bucket, "globalpay-prod-eu-west-1")
    assert promoted["lineage"] == "lineage-globalpay-prod-eu-west-1" and promoted["serial"] >= 14
    assert promoted["outputs"]["marker"]["value"] == "during"
    created = read(moto, PRIMARY.bucket, "globalpay-prod-eu-west-1-apps")
    assert created["outputs"]["marker"]["value"] == "during"
    assert created["lineage"] == "lineage-globalpay-prod-eu-west-1-apps"  # its own lineage, not a new one
    # Untouched: the diverged one, the newer primary, the ones in sync; and the replica bucket entirely.
    assert read(moto, PRIMARY.bucket, "globalpay-prod-ap-southeast-2-apps")["lineage"] == "lineage-globalpay-prod-ap-southeast-2-apps"
    assert read(moto, PRIMARY.bucket, "globalpay-prod-global")["serial"] == 12
    assert read(moto, REPLICA.bucket, "globalpay-prod-eu-west-1")["serial"] == 14
    assert read(moto, REPLICA.bucket, "globalpay-prod-us-east-1-edge") is None
    # A second run finds them in sync (Terraform's push adds one to the serial: the primary is the newer).
    code, out = run(moto, buckets, "--stack", "globalpay-prod-eu-west-1", "--stack", "globalpay-prod-eu-west-1-apps",
                    monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0, out
    assert "0 to copy, 0 need a person" in out


def test_a_push_over_a_foreign_lineage_is_refused_by_terraform(moto, buckets: Path, tmp_path: Path, monkeypatch) -> None:
    """The tool never forces: even when called to copy a diverged state, Terraform's lineage check refuses it."""
    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(name, value)
    terraform = state_reconcile.Terraform(tmp_path, endpoint=moto.endpoint)
    key = "globalpay-prod-ap-southeast-2-apps/terraform.tfstate"
    with pytest.raises(RuntimeError, match="lineage"):
        terraform.push(PRIMARY, key, terraform.pull(REPLICA, key))


@pytest.mark.parametrize(("primary", "replica", "verdict"), [
    (None, None, "replica empty"),
    (state("a", 1, "x"), None, "replica empty"),
    (None, state("a", 1, "x"), "only in replica"),
    (state("a", 2, "x"), state("a", 2, "x"), "in sync"),
    (state("a", 2, "x"), state("a", 2, "y"), "diverged"),
    (state("a", 2, "x"), state("b", 5, "x"), "diverged"),
    (state("a", 2, "x"), state("a", 5, "y"), "replica newer"),
    (state("a", 5, "x"), state("a", 2, "y"), "primary newer"),
])
def test_classify(primary, replica, verdict: str) -> None:
    assert state_reconcile.classify(primary, replica) == verdict


def test_the_buckets_are_the_backends_the_stacks_use() -> None:
    assert PRIMARY.bucket == "globalpay-prod-terraform-state-123456789012" and PRIMARY.region == "us-east-1"
    assert REPLICA.bucket == "globalpay-prod-terraform-state-123456789012-eu-west-1" and REPLICA.region == "eu-west-1"
    assert REPLICA.kms_key_id == "arn:aws:kms:eu-west-1:123456789012:alias/globalpay-prod-terraform-state"
