"""Terraform is the judge: ``terraform init``, ``validate`` and ``plan`` of every AWS stack against moto server.

The rehearsal (scripts/rehearsal, ``python3 tasks.py rehearse``) runs here on the session's syntheses. The
negative tests prove it can fail: a stack with an unknown argument, one with a reference to a resource that
does not exist, and one with an argument combination the provider refuses only at plan time make the
command exit non-zero with each error. No moto or terraform process outlives a test.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.synth import FAILOVER, Synth, synth

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from rehearsal import emulator, lookups, provider, state_secrets, workspace  # noqa: E402
from rehearsal.runner import SynthOutput, deploy_order, rehearse  # noqa: E402

#: Results by stack content across the scenarios of this module (as ``rehearse.py`` shares them).
_REUSE: dict = {}
BOOTSTRAP = "globalpay-prod-bootstrap"


def _processes_under(path: Path) -> list[tuple[int, str]]:
    """(pid, command) of every process whose command line or working directory is under ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(path) in cmd or cwd.startswith(str(path)):
            found.append((int(entry.name), cmd))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    if not (emulator.VENV / "bin" / "moto_server").exists():
        pytest.fail(f"{emulator.VENV} is missing: `python3 tasks.py install` installs emulator/requirements.txt")
    server = emulator.MotoServer(state_dir=tmp_path_factory.mktemp("moto-state"))
    server.start()
    yield server
    server.stop()
    assert not _alive(server.pid), "moto server still running after stop()"


def _report(result) -> str:
    return "\n".join(result.lines(verbose=True))


# ------------------------------------------------------------------------------------------------------
# The real stacks plan
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prod_rehearsal(prod: Synth, moto, tmp_path_factory: pytest.TempPathFactory):
    """The prod rehearsal, with every plan's JSON kept (what the state would hold): run once for this module."""
    work = tmp_path_factory.mktemp("prod-rehearsal")
    # Stored in _REUSE: the failover scenario reuses what is identical to prod.
    result = rehearse(prod.outdir, moto=moto, workdir=work / "terraform", label="prod", jobs=2, reuse=_REUSE, show_plans=True)
    return result, work


#: What the suite rehearses: prod (every AWS stack) and prod failed over, which reuses the stacks identical to
#: prod's and so costs a third of a scenario. Staging (same constructs, its own names) is rehearsed by
#: ``python3 tasks.py rehearse`` and by the pull-request pipeline; in the suite it would add about 3.5 minutes
#: on the 2-core CI machine (the suite stays under 15).
SUITE_SCENARIOS = ["prod", "failover", "organization"]
#: security.mode organization: only the three -security stacks differ from prod (the core stacks export the same
#: outputs in both modes), so only those are planned again.
ORGANIZATION = {"security": {"mode": "organization"}}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SUITE_SCENARIOS)
def test_every_aws_stack_validates_and_plans(scenario: str, request: pytest.FixtureRequest, moto, tmp_path: Path) -> None:
    overrides = {"failover": FAILOVER, "organization": ORGANIZATION}.get(scenario)
    synthesized: Synth = synth("prod", overrides) if overrides else request.getfixturevalue(scenario)
    if scenario == "prod":
        result, tmp_path = request.getfixturevalue("prod_rehearsal")
    else:
        result = rehearse(synthesized.outdir, moto=moto, workdir=tmp_path / "terraform", label=scenario, jobs=2, reuse=_REUSE)
    report = _report(result)
    print(report)
    assert result.ok, report
    names = [r.name for r in result.results]
    aws_only = [n for n in synthesized if set(synthesized[n]["terraform"]["required_providers"]) == {"aws"}]
    # Stacks with Kubernetes objects too (-apps: each service's database login) are planned on their AWS part.
    mixed = [n for n in synthesized if n not in aws_only and any(t.startswith("aws_") for t in synthesized[n]["resource"])]
    assert mixed and all(n.endswith("-apps") for n in mixed), mixed
    assert sorted(names) == sorted(aws_only + mixed), "every stack with AWS resources is rehearsed"
    for r in result.results:
        assert bool(r.left_out) is (r.name in mixed) and all(not t.startswith("aws_") for t in r.left_out), r.name
    assert all(r.to_add for r in result.results), "every stack plans something to create on an empty account"
    assert not _processes_under(tmp_path), "terraform left running"
    if result.provider.is_fallback:
        # Only the listed attributes were dropped, and the report says so.
        listed = {f"{d.resource_type}.{d.attribute}" for d in provider.COMPAT_DROPS}
        assert {k for r in result.results for k in r.dropped} <= listed
        assert "dropped:" in report


def test_the_aws_part_of_a_stack_with_kubernetes_objects_keeps_every_aws_resource_and_nothing_else(prod: Synth) -> None:
    apps = prod["globalpay-prod-us-east-1-apps"]
    cut, left_out = workspace.aws_part(apps)
    assert set(cut["resource"]) == {t for t in apps["resource"] if t.startswith("aws_")} == {
        "aws_iam_policy", "aws_iam_role_policy_attachment"}
    assert set(cut["provider"]) == set(cut["terraform"]["required_providers"]) == {"aws"}
    assert left_out == {t: len(v) for t, v in apps["resource"].items() if not t.startswith("aws_")}
    assert "kubernetes" in apps["provider"], "the synthesized stack itself is untouched"


@pytest.mark.slow
def test_no_credential_would_be_stored_in_terraform_state(prod_rehearsal) -> None:
    """The state after apply (each AWS stack's plan, ``terraform show -json``) holds no credential: passwords and
    the RDS/MSK secrets go only to write-only arguments, Redis has none (IAM authentication), and nothing
    reads a secret value back (scripts/rehearsal/state_secrets.py)."""
    result, _ = prod_rehearsal
    plans = {r.name: r.plan_json for r in result.results}
    assert all(plans.values()), f"a plan was not kept: {plans}"
    findings = [f"{name}: {finding}" for name, path in plans.items()
                for finding in state_secrets.secret_findings(json.loads(path.read_text()))]
    assert findings == []
    # What the check would catch: a secret read back from Secrets Manager into a normal argument.
    read_back = {"resource_changes": [
        {"address": "data.aws_secretsmanager_secret_version.token", "mode": "data", "type": "aws_secretsmanager_secret_version",
         "change": {"actions": ["read"], "after": {}, "after_unknown": {"secret_string": True}}},
        {"address": "aws_elasticache_replication_group.redis", "mode": "managed", "type": "aws_elasticache_replication_group",
         "change": {"actions": ["create"], "after": {"auth_token_update_strategy": "ROTATE"}, "after_unknown": {"auth_token": True}}},
        {"address": "aws_db_instance.db", "mode": "managed", "type": "aws_db_instance",
         "change": {"actions": ["create"], "after": {"password": None, "password_wo_version": 1}, "after_unknown": {},
                    "after_sensitive": {"password": True, "password_wo": True}}},
        # Any value the provider marks sensitive, whatever its name, known or known only at apply.
        {"address": "aws_elasticache_user.app", "mode": "managed", "type": "aws_elasticache_user",
         "change": {"actions": ["create"], "after": {"authentication_mode": [{"type": "password", "passwords": ["p4ss"]}]},
                    "after_unknown": {}, "after_sensitive": {"authentication_mode": [{"passwords": True}]}}},
        {"address": "aws_mq_broker.mq", "mode": "managed", "type": "aws_mq_broker",
         "change": {"actions": ["create"], "after": {"user": [{"username": "app"}]}, "after_unknown": {"user": [{"console_secret": True}]},
                    "after_sensitive": {"user": [{"console_secret": True}]}}},
    ]}
    assert state_secrets.secret_findings(read_back) == [
        "aws_elasticache_replication_group.redis: auth_token is stored in state (the write-only auth_token_wo is not)",
        "aws_elasticache_user.app: authentication_mode[0].passwords is marked sensitive and would be stored in state",
        "aws_mq_broker.mq: user[0].console_secret is marked sensitive and would be stored in state",
        "data.aws_secretsmanager_secret_version.token: data.aws_secretsmanager_secret_version keeps its secret value in state",
        "data.aws_secretsmanager_secret_version.token: secret_string is stored in state (the write-only secret_string_wo is not)",
    ]


@pytest.mark.slow
def test_stacks_are_rehearsed_in_deploy_order(prod: Synth, prod_rehearsal) -> None:
    synth_out = SynthOutput.load(prod.outdir)
    position = {name: i for i, name in enumerate(synth_out.order)}
    for name, deps in synth_out.dependencies.items():
        for dep in deps:
            assert position[dep] < position[name], f"{name} is rehearsed before {dep}, which it depends on"
    # And the run itself kept that order: no stack started before every rehearsed stack upstream of it finished.
    result, _ = prod_rehearsal
    ran = {r.name: r for r in result.results}
    assert all(r.finished_at > r.started_at > 0 for r in ran.values())
    for name, r in ran.items():
        for upstream in synth_out.upstream(name) & ran.keys():
            assert ran[upstream].finished_at <= r.started_at, f"{name} started before {upstream} finished"
    with pytest.raises(ValueError, match="cycle"):
        deploy_order({"a": ["b"], "b": ["a"]})


# ------------------------------------------------------------------------------------------------------
# The rehearsal can fail
# ------------------------------------------------------------------------------------------------------


def _broken_outdir(prod: Synth, target: Path) -> dict[str, str]:
    """Three copies of the bootstrap stack, each broken one way; returns {stack: the error it must show}."""
    source = json.loads((prod.outdir / "stacks" / BOOTSTRAP / "cdk.tf.json").read_text())
    bucket = next(iter(source["resource"]["aws_s3_bucket"]))
    breakages = {}

    unknown = copy.deepcopy(source)
    unknown["resource"]["aws_s3_bucket"][bucket]["no_such_argument"] = True
    breakages["broken-unknown-argument"] = (unknown, 'No argument or block type is named "no_such_argument"')

    missing = copy.deepcopy(source)
    missing["resource"]["aws_s3_bucket"][bucket]["tags"] = {"Owner": "${aws_s3_bucket.does_not_exist.id}"}
    breakages["broken-missing-reference"] = (missing, "Reference to undeclared resource")

    combination = copy.deepcopy(source)
    combination["resource"]["aws_db_instance"] = {"replica": {
        "identifier": "broken-replica", "instance_class": "db.r6g.large", "replicate_source_db": "globalpay-prod-primary",
        "db_subnet_group_name": "globalpay-prod-db", "skip_final_snapshot": True,
    }}
    breakages["broken-plan-combination"] = (combination, '"replicate_source_db" must be an ARN when "db_subnet_group_name" is set')

    manifest = {"version": "0.21.0", "stacks": {}}
    for name, (stack, _) in breakages.items():
        folder = target / "stacks" / name
        folder.mkdir(parents=True)
        stack["terraform"]["backend"] = {"local": {"path": "terraform.tfstate"}}
        (folder / "cdk.tf.json").write_text(json.dumps(stack, indent=2))
        manifest["stacks"][name] = {"name": name, "dependencies": [], "synthesizedStackPath": f"stacks/{name}/cdk.tf.json",
                                    "workingDirectory": f"stacks/{name}"}
    (target / "manifest.json").write_text(json.dumps(manifest))
    return {name: error for name, (_, error) in breakages.items()}


@pytest.mark.slow
def test_a_broken_stack_fails_the_rehearsal_with_its_error(prod: Synth, tmp_path: Path) -> None:
    broken = tmp_path / "out"
    expected = _broken_outdir(prod, broken)
    env = {**os.environ, "GLOBALPAY_REHEARSAL_DIR": str(tmp_path / "work")}
    done = subprocess.run([sys.executable, str(SCRIPTS / "rehearse.py"), "--from", str(broken), "--no-registry"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode == 1, output
    lines = output.splitlines()
    for name, error in expected.items():
        row = next(line for line in lines if line.strip().startswith(name))
        if name == "broken-plan-combination":
            assert "validate ok" in row and "plan failed" in row, row
        else:
            assert "validate failed" in row, row
        assert error in output, f"{name}: expected {error!r} in the report"
    assert "FAILED" in lines[-1]
    assert not _processes_under(tmp_path), "terraform or moto left running"


def test_an_unlisted_unknown_attribute_is_never_dropped() -> None:
    stack = {"resource": {"aws_eks_cluster": {"c": {"name": "x", "deletion_protection": True, "no_such_argument": 1}}}}
    dropped = provider.apply_drops(stack, provider.COMPAT_DROPS)
    assert dropped == {"aws_eks_cluster.deletion_protection": 1}
    assert stack["resource"]["aws_eks_cluster"]["c"] == {"name": "x", "no_such_argument": 1}


def _mirror(root: Path, *versions: str) -> Path:
    for version in versions:
        folder = root / provider.PROVIDER / version / provider.PLATFORM
        folder.mkdir(parents=True)
        (folder / f"terraform-provider-aws_v{version}_x5").write_text("")
    return root


def test_the_pinned_provider_wins_and_a_fallback_lists_its_drops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "IMPLIED_MIRRORS", ())
    monkeypatch.delenv("GLOBALPAY_TF_PROVIDER_MIRROR", raising=False)
    old = _mirror(tmp_path / "old", "5.90.0", "5.100.0")
    choice = provider.choose_provider("6.25.0", tmp_path / "cache", registry=False, mirrors=[old])
    assert choice.version == "5.100.0" and choice.is_fallback and choice.mirror == old
    assert [d.attribute for d in choice.drops] == ["deletion_protection"]
    assert "pinned 6.25.0" in choice.describe()

    new = _mirror(tmp_path / "new", "6.25.0")
    choice = provider.choose_provider("6.25.0", tmp_path / "cache", registry=False, mirrors=[old, new])
    assert choice.version == "6.25.0" and not choice.is_fallback and choice.drops == ()

    # A fallback that already knows an attribute drops nothing for it.
    mid = _mirror(tmp_path / "mid", "6.10.0")
    choice = provider.choose_provider("6.25.0", tmp_path / "cache", registry=False, mirrors=[mid])
    assert choice.version == "6.10.0" and choice.drops == ()

    with pytest.raises(provider.ProviderUnavailable, match="GLOBALPAY_TF_PROVIDER_MIRROR"):
        provider.choose_provider("6.25.0", tmp_path / "cache", registry=False, mirrors=[])


def test_every_service_a_stack_uses_has_an_emulator_endpoint(prod: Synth, staging: Synth) -> None:
    for synthesized in (prod, staging):
        for name in synthesized:
            workspace.services(synthesized[name])  # raises UnknownService for an unmapped type
    with pytest.raises(workspace.UnknownService):
        workspace.service_of("aws_appsync_api")


def test_every_aws_provider_block_points_at_the_emulator(prod: Synth) -> None:
    stack = prod["globalpay-prod-global"]
    blocks = workspace.provider_override(stack, "http://127.0.0.1:1")
    assert len(blocks) == len(stack["provider"]["aws"]) > 1
    assert {b.get("alias") for b in blocks} == {b.get("alias") for b in stack["provider"]["aws"]}
    for block in blocks:
        assert block["skip_credentials_validation"] and block["s3_use_path_style"]
        assert set(block["endpoints"][0]) >= {"sts", "route53", "cloudfront", "wafv2", "s3"}


def test_lookups_are_prerequisites_or_controller_objects(prod: Synth) -> None:
    found = [lk for name in prod for lk in lookups.find_lookups(name, prod[name])]
    assert not [lk for lk in found if lk.kind == "unsupported"]
    kinds = {lk.kind for lk in found}
    assert {"route53_zone", "acm_certificate", "load_balancer", "iam_role"} <= kinds


def test_placeholders_have_the_form_of_their_attribute() -> None:
    p = workspace.placeholder
    assert p("${aws_iam_role.irsa_role_1.arn}", region="eu-west-1", account="123456789012").startswith("arn:aws:iam::123456789012:role/")
    assert p("${aws_vpc.network_vpc_1.id}", region="eu-west-1", account="1").startswith("vpc-")
    assert p("${aws_ec2_transit_gateway.tgw.association_default_route_table_id}", region="r", account="1").startswith("tgw-rtb-")
    assert p("${aws_eks_cluster.c.endpoint}", region="eu-west-1", account="1").startswith("https://")
    assert p("${aws_vpc.v.id}", region="r", account="1") == p("${aws_vpc.v.id}", region="r", account="1")


# ------------------------------------------------------------------------------------------------------
# Nothing left running
# ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_interrupted_rehearsal_stops_terraform_and_moto(prod: Synth, tmp_path: Path) -> None:
    state = tmp_path / "state"
    env = {**os.environ, "GLOBALPAY_REHEARSAL_DIR": str(state)}
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / "rehearse.py"), "--from", str(prod.outdir), "--no-registry"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline()
    assert first.startswith("emulator: moto server pid"), first
    moto_pid = int(first.split("pid")[1].split()[0])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any("terraform" in cmd for _, cmd in _processes_under(state)):
        time.sleep(0.2)
    assert any("terraform" in cmd for _, cmd in _processes_under(state)), "no terraform process started"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    time.sleep(0.5)
    assert not _alive(moto_pid), "moto server survived the interruption"
    assert not _processes_under(state), _processes_under(state)


@pytest.mark.slow
def test_a_killed_rehearsal_leaves_no_moto_behind(tmp_path: Path) -> None:
    """Even ``kill -9`` of the harness: the server dies with its parent, and a stale pid file is cleaned up."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path; from rehearsal.emulator import MotoServer;"
        "m = MotoServer(state_dir=Path(sys.argv[2])).start(); print(m.pid, flush=True); time.sleep(600)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(SCRIPTS), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    moto_pid = int(proc.stdout.readline())
    assert _alive(moto_pid)
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _alive(moto_pid):
        time.sleep(0.1)
    assert not _alive(moto_pid), "moto server outlived the harness"
    assert list(tmp_path.glob("moto-*.pid")), "the dead run's pid file is still there for the next run to clean"
    emulator.stop_orphans(tmp_path)
    assert not list(tmp_path.glob("moto-*.pid"))
