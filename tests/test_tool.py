"""The tool itself (main.py, tasks.py, the configuration loader, the test helpers).

* Two synths into one output folder: the second waits for the first (one notice) or exits 2 with one line;
  no traceback, no ``.<out>.tmp-*`` / ``.old-*`` folder left behind, and those of killed runs are cleaned.
* ``--config`` naming a directory, an unreadable file or a file with the wrong top-level type: exit 2, one
  ``config error:`` line.
* A relative ``--config`` is read from the folder the command was typed in, through ``tasks.py`` too.
* One mistake, one message: an unknown region, a negative size; every type error of a file in one run.
* The session's synthesis folder (tests/synth.py) is gone when pytest ends.

The configuration fuzz properties (refusal of known-bad values, and their failure under an accept-all
validator) are in tests/test_config_fuzz.py.
"""

from __future__ import annotations

import dataclasses
import fcntl
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import main
from constructs_lib.config import load_config
from constructs_lib.errors import ConfigError
from constructs_lib.validation import validate
from regions import REGION_SPECS

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
for _name in ("GLOBALPAY_CALLER_CWD", "GLOBALPAY_CONFIG_FILE", "GLOBALPAY_ENV", "GLOBALPAY_REGIONS", "GLOBALPAY_BACKEND",
              "CDKTF_OUTDIR", "CDKTF_CONTEXT_JSON"):
    ENV.pop(_name, None)


def run_main(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**ENV, **(env or {})})


def one_error_line(proc: subprocess.CompletedProcess, prefix: str) -> str:
    """The single stderr line of a refused run (exit 2, nothing on stdout, no traceback)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def siblings(out: Path) -> list[str]:
    """What a synth into ``out`` may leave next to it: temporary folders, backups, lock files."""
    return sorted(p.name for p in out.parent.glob(f".{out.name}.*"))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@contextmanager
def held_lock(out: Path) -> Iterator[Path]:
    """Hold the output folder's lock as a running synth does: ``flock`` on ``.<name>.lock`` next to it."""
    path = out.with_name(f".{out.name}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    """An output folder from an earlier synth (its content does not matter to these tests)."""
    out = tmp_path / "cdktf.out"
    (out / "stacks" / "globalpay-prod-bootstrap").mkdir(parents=True)
    (out / "stacks" / "globalpay-prod-bootstrap" / "cdk.tf.json").write_text("{}")
    (out / "manifest.json").write_text("{}")
    return out


# ---------------------------------------------------------------------------------------------------
# 1. Two synths into the same output folder
# ---------------------------------------------------------------------------------------------------


def test_a_second_synth_into_a_busy_folder_exits_2_with_one_line(previous_output: Path) -> None:
    before = snapshot(previous_output)
    with held_lock(previous_output):
        started = time.monotonic()
        proc = run_main("--out", str(previous_output), "--wait", "0")
        line = one_error_line(proc, "busy: ")
        assert time.monotonic() - started < 60, "--wait 0 must not wait (nor synthesize)"
    assert f"process {os.getpid()}" in line and "--wait" in line, line
    assert proc.stdout == ""
    assert snapshot(previous_output) == before, "the running synth's folder is not touched"
    assert siblings(previous_output) == [], "no temporary folder left behind"


@pytest.mark.slow
def test_a_second_synth_waits_for_the_first_and_cleans_up_after_killed_runs(previous_output: Path) -> None:
    """The second synth says once that it waits, starts when the lock is free, and swaps in a whole output;
    folders of killed runs (a dead pid) are removed, and nothing is left next to the output folder."""
    (previous_output / "stale-file").write_text("from an older synth")
    dead = dead_pid()
    for kind in ("tmp", "old"):
        leftover = previous_output.with_name(f".{previous_output.name}.{kind}-{dead}")
        (leftover / "stacks").mkdir(parents=True)
    with held_lock(previous_output):
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--out", str(previous_output), "--wait", "600",
             "--regions", "us-east-1,eu-west-1"],
            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            notice = proc.stderr.readline()  # type: ignore[union-attr]
            assert notice.startswith(f"waiting for process {os.getpid()}, which is writing {previous_output}"), notice
            time.sleep(1)
            assert proc.poll() is None, "it waits while the lock is held"
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr and stderr.strip() == "", stderr
    assert "synthesized" in stdout
    assert not (previous_output / "stale-file").exists(), "the new output replaces the old one whole"
    assert sorted(p.name for p in (previous_output / "stacks").iterdir()) == sorted(
        ["globalpay-prod-bootstrap", "globalpay-prod-global", "globalpay-prod-mesh"]
        + [f"globalpay-prod-{r}{s}" for r in ("us-east-1", "eu-west-1") for s in ("", "-keys", "-security", "-addons", "-apps", "-edge")])
    assert siblings(previous_output) == [], "temporary folders of dead runs and the lock file are gone"


@pytest.mark.slow
def test_a_killed_synth_leaves_no_lock_and_the_next_one_removes_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    temp = tmp_path / "tmp"  # a killed process cannot remove the jsii runtime it unpacked there either
    temp.mkdir()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--out", str(out), "--quiet"], cwd=ROOT,
                            env={**ENV, "TMPDIR": str(temp)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = tmp_path / f".cdktf.out.tmp-{proc.pid}"
    try:
        deadline = time.monotonic() + 120
        while not work.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert work.exists(), "the synth writes into its temporary folder"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert work.exists(), "SIGKILL cannot clean up: the next synth must"
    with main.output_lock(out, wait=5):  # the kernel released the dead process's lock
        assert main.clean_leftovers(out) == [work]
    assert siblings(out) == []


@pytest.mark.slow
def test_sigterm_removes_the_temporary_folder_and_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--out", str(out), "--quiet"], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    work = tmp_path / f".cdktf.out.tmp-{proc.pid}"
    try:
        deadline = time.monotonic() + 120
        while not work.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert work.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stderr, stderr
    assert siblings(out) == [] and not out.exists()


def test_leftovers_of_dead_runs_are_removed_and_a_lost_output_is_put_back(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    dead, alive = dead_pid(), os.getppid()
    for name in (f".cdktf.out.tmp-{dead}", f".cdktf.out.tmp-{alive}", f".cdktf.out.old-{dead}", ".other.tmp-1"):
        (tmp_path / name / "stacks").mkdir(parents=True)
    (tmp_path / f".cdktf.out.old-{dead}" / "stacks" / "marker").write_text("previous output")
    # A run killed between its two renames: no output folder, the previous one in .old-<pid>.
    cleaned = main.clean_leftovers(out)
    assert sorted(p.name for p in cleaned) == sorted([f".cdktf.out.old-{dead}", f".cdktf.out.tmp-{dead}"])
    assert (out / "stacks" / "marker").read_text() == "previous output", "the previous output is put back"
    assert siblings(out) == [f".cdktf.out.tmp-{alive}"], "a live process's folder is not touched"
    assert (tmp_path / ".other.tmp-1").exists(), "another output folder's temporary folder is not ours"
    # With an output folder in place, a dead run's backup is only removed.
    (tmp_path / f".cdktf.out.old-{dead}").mkdir()
    main.clean_leftovers(out)
    assert siblings(out) == [f".cdktf.out.tmp-{alive}"] and (out / "stacks" / "marker").exists()


def test_the_lock_serializes_and_its_file_goes_with_its_holder(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    notices: list[str] = []
    with main.output_lock(out, wait=0):
        assert main.lock_path(out).read_text().strip() == str(os.getpid())
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import sys; sys.path.insert(0, {str(ROOT)!r})
            import main
            from pathlib import Path
            try:
                with main.output_lock(Path({str(out)!r}), wait=0.5, notice=print):
                    print("acquired")
            except main.Busy as busy:
                print(busy)
            """)], capture_output=True, text=True, timeout=120, check=False, env=ENV)
        lines = probe.stdout.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("waiting for process") and lines[1].startswith("busy:"), probe
    assert not main.lock_path(out).exists()
    with main.output_lock(out, wait=0, notice=notices.append):
        pass
    assert notices == [] and siblings(out) == []


# ---------------------------------------------------------------------------------------------------
# 2. --config that is not a JSON object file
# ---------------------------------------------------------------------------------------------------


def test_config_naming_a_directory_exits_2_with_one_config_error_line(tmp_path: Path) -> None:
    (tmp_path / "overrides.json").mkdir()
    proc = run_main("--config", str(tmp_path / "overrides.json"), "--out", str(tmp_path / "out"))
    line = one_error_line(proc, "config error: --config: ")
    assert "is a directory" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, kind", [
    ("[1, 2]", "an array"), ('"database"', "a string"), ("42", "a number"), ("null", "null"), ("true", "a boolean"),
])
def test_config_of_the_wrong_top_level_type_exits_2_with_one_config_error_line(content: str, kind: str, tmp_path: Path) -> None:
    (tmp_path / "overrides.json").write_text(content)
    proc = run_main("--config", str(tmp_path / "overrides.json"), "--out", str(tmp_path / "out"))
    assert one_error_line(proc, "config error: --config: ").endswith(f"must hold a JSON object, not {kind}")


@pytest.mark.parametrize("content", [b"\xc3\x28 not utf-8", b"[" * 100_000 + b"]" * 100_000, b""])
def test_config_that_is_not_json_text_exits_2_with_one_config_error_line(content: bytes, tmp_path: Path) -> None:
    (tmp_path / "overrides.json").write_bytes(content)
    proc = run_main("--config", str(tmp_path / "overrides.json"), "--out", str(tmp_path / "out"))
    assert "is not valid JSON" in one_error_line(proc, "config error: --config: ")


def test_unreadable_config_exits_2_with_one_config_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "overrides.json"
    config.write_text("{}")
    config.chmod(0)
    if os.access(config, os.R_OK):  # root reads anything: make opening it fail as it does for everyone else
        real = Path.open

        def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
            if self == config:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", open_)
    monkeypatch.delenv("GLOBALPAY_CALLER_CWD", raising=False)
    assert main.main(["--config", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"config error: --config: file {str(config)!r} cannot be read: permission denied"]


# ---------------------------------------------------------------------------------------------------
# 3. A relative --config is read from where the command was run, through tasks.py too
# ---------------------------------------------------------------------------------------------------

#: A configuration with one value error: refused (exit 2) with a line that proves the file was read.
ONE_VALUE_ERROR = {"database": {"port": 80}}
ONE_VALUE_ERROR_LINE = "config error: database.port: RDS ports are 1150-65535"

TASKS = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(ROOT)!r})
    import tasks
    tasks.install = lambda: None  # the installs are the operator's machine's business, not this test's
    sys.exit(tasks.main(sys.argv[1:]))
    """)


@pytest.mark.parametrize("cwd, config", [("", "my.json"), ("docs", "../my.json"), ("docs/deep", "../../my.json")])
def test_tasks_py_synth_reads_a_relative_config_from_the_callers_folder(cwd: str, config: str, tmp_path: Path) -> None:
    (tmp_path / "my.json").write_text(json.dumps(ONE_VALUE_ERROR))
    (tmp_path / cwd).mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", TASKS, "synth", "--config", config, "--out", str(tmp_path / "out")],
                          cwd=tmp_path / cwd, capture_output=True, text=True, timeout=300, check=False, env=ENV)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ONE_VALUE_ERROR_LINE


def test_tasks_py_synth_reads_a_relative_config_file_variable_from_the_callers_folder(tmp_path: Path) -> None:
    (tmp_path / "my.json").write_text(json.dumps(ONE_VALUE_ERROR))
    proc = subprocess.run([sys.executable, "-c", TASKS, "synth", "--out", str(tmp_path / "out")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False, env={**ENV, "GLOBALPAY_CONFIG_FILE": "my.json"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ONE_VALUE_ERROR_LINE


def test_main_py_reads_a_relative_config_from_its_working_directory(tmp_path: Path) -> None:
    (tmp_path / "my.json").write_text(json.dumps(ONE_VALUE_ERROR))
    proc = run_main("--config", "my.json", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert one_error_line(proc, "config error: ") == ONE_VALUE_ERROR_LINE


def test_a_missing_relative_config_names_where_it_was_looked_for(tmp_path: Path) -> None:
    proc = run_main("--config", "nope.json", cwd=ROOT, env={"GLOBALPAY_CALLER_CWD": str(tmp_path)})
    line = one_error_line(proc, "config error: --config: ")
    assert line == f"config error: --config: file 'nope.json' does not exist (looked for {tmp_path / 'nope.json'})"


def _load_rehearse() -> Any:
    spec = importlib.util.spec_from_file_location("rehearse_cli", ROOT / "scripts" / "rehearse.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tasks_py_rehearse_reads_a_relative_config_from_the_callers_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasks

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks, "install", lambda: None)
    fake = SimpleNamespace(run=lambda cmd, **kwargs: calls.append({"cmd": cmd, **kwargs}),
                           CalledProcessError=subprocess.CalledProcessError)
    monkeypatch.setattr(tasks, "subprocess", fake)
    monkeypatch.chdir(tmp_path)
    assert tasks.main(["rehearse", "--config", "my.json", "--env", "prod"]) == 0
    (call,) = calls
    assert call["cwd"] == ROOT and call["cmd"][1:] == ["scripts/rehearse.py", "--config", "my.json", "--env", "prod"]
    assert call["env"]["GLOBALPAY_CALLER_CWD"] == str(tmp_path)
    # ... and scripts/rehearse.py, run from the project root with that variable, reads the caller's file.
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("GLOBALPAY_CALLER_CWD", str(tmp_path))
    rehearse = _load_rehearse()
    assert rehearse.parse_args(["--config", "my.json"]).config == str(tmp_path / "my.json")
    assert rehearse.parse_args(["--config", "/abs/my.json"]).config == "/abs/my.json"
    monkeypatch.delenv("GLOBALPAY_CALLER_CWD")
    assert rehearse.parse_args(["--config", "my.json"]).config == "my.json"


# ---------------------------------------------------------------------------------------------------
# 4. One mistake, one message
# ---------------------------------------------------------------------------------------------------


def errors_of(overrides: dict[str, Any], env: str = "prod") -> list[str]:
    return [str(e) for e in validate(load_config(env, REGION_SPECS, overrides), REGION_SPECS)]


@pytest.mark.parametrize("env", ["prod", "staging"])
@pytest.mark.parametrize("names, index", [
    (["us-east-2", "eu-west-1", "ap-southeast-2"], 0),  # the primary, state, registry and database region
    (["us-east-1", "eu-west-3", "ap-southeast-2"], 1),  # the secondary region
    (["eu-west-3", "us-east-1"], 0),
    (["mars-north-1", "eu-west-1"], 0),  # not even a region name
])
def test_an_unknown_region_is_one_error(names: list[str], index: int, env: str) -> None:
    errors = errors_of({"regions": [{"name": n} for n in names],
                        "edge": {"certificate_arns": {"us-east-1": f"arn:aws:acm:us-east-1:123456789012:certificate/{'0' * 36}"}}}, env)
    assert len(errors) == 1 and errors[0].startswith(f"regions[{index}].name: "), errors


def test_a_region_reference_is_its_own_error_when_it_is_the_mistake() -> None:
    # Every region fine, the primary names one that is not configured: that is the mistake.
    assert errors_of({"regions": [{"name": "us-east-1"}, {"name": "eu-west-1"}], "primary_region": "ap-southeast-2"}) == [
        "primary_region: 'ap-southeast-2' is not one of the configured regions (us-east-1, eu-west-1)"]
    # A region with no network data can never be configured: a mistake of its own next to the unknown region.
    errors = errors_of({"regions": [{"name": "us-east-2"}, {"name": "eu-west-1"}], "primary_region": "us-west-2"})
    assert [e.split(":")[0] for e in errors] == ["regions[0].name", "primary_region"], errors


@pytest.mark.parametrize("overrides, field", [
    ({"primary_region": "us-west-2"}, "primary_region"),  # not also "database.origin_region must be primary or secondary"
    ({"primary_region": "eu-west-1"}, "secondary_region"),  # the same as the secondary: not also the origin
])
def test_a_role_mistake_is_not_also_a_database_origin_error(overrides: dict[str, Any], field: str) -> None:
    errors = errors_of(overrides)
    assert len(errors) == 1 and errors[0].startswith(f"{field}: "), errors


def _int_fields(obj: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _int_fields(value, (*prefix, f.name))
        elif isinstance(value, int) and not isinstance(value, bool):
            yield (*prefix, f.name)


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_a_negative_size_is_at_most_one_error(env: str) -> None:
    """Every integer field set to -5: one rule (not also "at least one day", nor an IOPS rule at "-5 GiB")."""
    doubled = {}
    for path in _int_fields(load_config(env, REGION_SPECS)):
        overrides: Any = -5
        for key in reversed(path):
            overrides = {key: overrides}
        errors = errors_of(overrides, env)
        if len(errors) > 1:
            doubled[".".join(path)] = errors
    assert not doubled, doubled


def test_every_type_error_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    overrides = {
        "database": {"port": "5432", "instance_klass": "db.r6g.large"},
        "cache": 3,
        "regions": {"eu-west-1": {"azs": ["eu-west-1a", 2, "eu-west-1c"]}},
        "cluster": {"node_instance_types": ["m6i.large", None]},
        "single_nat_gateway": "yes",
    }
    (tmp_path / "overrides.json").write_text(json.dumps(overrides))
    proc = run_main("--config", str(tmp_path / "overrides.json"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == "", proc.stderr
    fields = [line.removeprefix("config error: ").split(": ")[0] for line in proc.stderr.strip().splitlines()]
    assert fields == ["database.port", "database.instance_klass", "cache", "regions.eu-west-1.azs[1]",
                      "cluster.node_instance_types[1]", "single_nat_gateway"], proc.stderr
    with pytest.raises(ConfigError) as raised:
        load_config("prod", REGION_SPECS, overrides)
    assert [e.field for e in raised.value.errors] == fields
    assert str(raised.value) == str(raised.value.errors[0]), "a caller that prints one error prints the first"


# ---------------------------------------------------------------------------------------------------
# 6. Tests remove the temporary folders they create
# ---------------------------------------------------------------------------------------------------


def test_the_session_synthesis_folder_is_removed_when_pytest_ends(tmp_path: Path) -> None:
    """A pytest session with the suite's conftest whose test uses the synthesis folder (tests/synth.py):
    afterwards no ``globalpay-synth-*`` folder is left in the temporary directory."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    record = tmp_path / "root.txt"
    probe = tmp_path / "probe" / "test_probe.py"
    probe.parent.mkdir()
    probe.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from tests import synth

        def test_uses_the_synthesis_folder():
            root = synth.synth_root() if hasattr(synth, "synth_root") else synth._ROOT
            (root / "synth-0").mkdir()
            Path({str(record)!r}).write_text(str(root))
        """))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", str(probe)],
        cwd=probe.parent, capture_output=True, text=True, timeout=300, check=False,
        env={**ENV, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    root = Path(record.read_text())
    assert root.parent == temp
    assert not root.exists() and not list(temp.glob("globalpay-synth-*")), "the session left its synthesis folder"


# ---------------------------------------------------------------------------------------------------------
# The commands the synth summary prints work as printed, from a shell without the virtual environment
# ---------------------------------------------------------------------------------------------------------


def run_task(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python3 tasks.py ...`` as a newcomer types it: the system interpreter, no virtual environment active."""
    env = {k: v for k, v in ENV.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT / ".venv")))
    return subprocess.run(["python3", str(ROOT / "tasks.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False, env=env)


def test_the_review_commands_of_the_synth_summary_run_as_printed(prod, tmp_path: Path) -> None:
    """The summary's last line names ``python3 tasks.py plan-review`` and ``python3 tasks.py inventory``: both
    run from a plain shell (tasks.py finds the project's Python), with the arguments the summary shows."""
    from regions.summary import REVIEW_COMMANDS  # the summary prints exactly these (tests/test_policy.py)

    plan_review, inventory = (command.split() for command in REVIEW_COMMANDS)
    assert plan_review[:3] == ["python3", "tasks.py", "plan-review"] and plan_review[3] == "--git"
    assert inventory == ["python3", "tasks.py", "inventory", "--check"]

    # Both from another folder than the project root, as an operator might.
    helped = run_task("plan-review", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--git REF" in helped.stdout, helped.stderr[-2000:]
    same = run_task("plan-review", str(prod.outdir), str(prod.outdir), "--color", "never", cwd=tmp_path)
    assert same.returncode == 0, same.stdout[-2000:] + same.stderr[-2000:]
    checked = run_task(*inventory[2:], "--from", str(prod.outdir), cwd=tmp_path)
    assert checked.returncode == 0 and "inventory ok:" in checked.stdout, checked.stdout[-2000:] + checked.stderr[-2000:]


def test_install_shows_each_step_it_runs_with_its_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A first install runs for minutes; it says which step runs (k of n) and how long each took. A step
    runs when its stamp is older than its inputs or than a step that runs before it; up-to-date steps are silent."""
    spec = importlib.util.spec_from_file_location("globalpay_tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, tasks)  # dataclasses look their module up there
    spec.loader.exec_module(tasks)
    ran: list[str] = []
    lock = tmp_path / "lock"
    lock.write_text("pins")
    stamps = {name: tmp_path / f"{name}.stamp" for name in ("venv", "bindings", "checkov")}
    stamps["checkov"].touch()  # up to date: newer than the lock
    steps = [
        tasks.Step("packages", stamps["venv"], (lock,), lambda: ran.append("packages")),
        tasks.Step("bindings", stamps["bindings"], (stamps["venv"],), lambda: ran.append("bindings")),
        tasks.Step("checkov", stamps["checkov"], (lock,), lambda: ran.append("checkov")),
    ]
    os.utime(lock, (time.time() - 60, time.time() - 60))
    os.utime(stamps["checkov"], (time.time(), time.time()))
    monkeypatch.setattr(tasks, "install_steps", lambda: steps)

    tasks.install()
    err = capsys.readouterr().err.splitlines()
    assert ran == ["packages", "bindings"]
    assert err[0] == "install [1/2] packages ..." and re.fullmatch(r"install \[1/2\] packages: \d+ s", err[1])
    assert err[2] == "install [2/2] bindings ..." and re.fullmatch(r"install \[2/2\] bindings: \d+ s", err[3])
    assert re.fullmatch(r"install: 2 step\(s\) in \d+ s", err[4]) and len(err) == 5

    ran.clear()
    tasks.install()  # everything is stamped now
    assert ran == [] and capsys.readouterr().err == ""


def test_install_runs_apt_get_only_for_missing_test_server_packages_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The real servers of the suite (tests/servers.py) come from system packages: a machine that has them is left
    alone (no apt-get, no root needed); on one that lacks some, exactly those are installed, with a line saying so."""
    spec = importlib.util.spec_from_file_location("globalpay_tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, tasks)
    spec.loader.exec_module(tasks)
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(tasks, "run", lambda *cmd, **kwargs: ran.append(tuple(str(c) for c in cmd)))
    present = tmp_path / "present"
    present.touch()
    monkeypatch.setattr(tasks, "SYSTEM_PACKAGES", {"postgresql-15": str(present), "postgresql-15-pgaudit": str(present)})
    tasks.system_packages()
    assert ran == [] and capsys.readouterr().err == ""

    monkeypatch.setattr(tasks, "SYSTEM_PACKAGES", {"postgresql-15": str(present),
                                                   "postgresql-15-pgaudit": str(tmp_path / "missing.so")})
    monkeypatch.setattr(tasks.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(tasks.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(tasks, "_apt_candidate", lambda package: True)
    tasks.system_packages()
    apt = ("sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get")
    assert ran == [(*apt, "update"), (*apt, "install", "-y", "--no-install-recommends", "postgresql-15-pgaudit")]
    assert "missing: postgresql-15-pgaudit (apt-get)" in capsys.readouterr().err

    # Ubuntu 24.04 (CI) has no postgresql-15 in its own archive: the PGDG repository is added first, by the script
    # and key of postgresql-common (installed for it when absent).
    ran.clear()
    monkeypatch.setattr(tasks, "_apt_candidate", lambda package: False)
    monkeypatch.setattr(tasks, "PGDG_SCRIPT", str(tmp_path / "apt.postgresql.org.sh"))
    tasks.system_packages()
    assert ran == [(*apt, "update"), (*apt, "install", "-y", "--no-install-recommends", "postgresql-common"),
                   ("sudo", "-n", "sh", str(tmp_path / "apt.postgresql.org.sh"), "-y"), (*apt, "update"),
                   (*apt, "install", "-y", "--no-install-recommends", "postgresql-15-pgaudit")]
    assert "adding apt.postgresql.org (PGDG)" in capsys.readouterr().err


def test_apt_candidate_reads_apt_cache_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the PGDG decision rests on, asked of this machine's apt: a package it cannot offer has no candidate."""
    if shutil.which("apt-cache") is None:
        pytest.skip("no apt on this machine")
    spec = importlib.util.spec_from_file_location("globalpay_tasks_apt", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, tasks)
    spec.loader.exec_module(tasks)
    assert tasks._apt_candidate("globalpay-no-such-package") is False
    assert tasks._apt_candidate("postgresql-15") is True  # installed by tasks.py install (or from PGDG on Ubuntu)
