"""The local AWS API emulator: moto server, pinned in ``emulator/requirements.txt`` and installed in ``.venv-moto``.

One server per rehearsal, bound to 127.0.0.1 on a free port, started and stopped by PID:

* the server runs in its own process group and gets SIGTERM from the kernel if the process that started it
  dies (``PR_SET_PDEATHSIG``), so not even a ``kill -9`` of the harness leaves it running;
* a pid file under ``.rehearsal/`` records server and owner; a later run stops a server whose owner is gone;
* every ``terraform`` process the harness starts is tracked too (``ProcessTracker``): its process group is
  killed when the harness stops, however it stops (exception, Ctrl-C, SIGTERM), and gets SIGTERM from the
  kernel if the thread that started it dies.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("GLOBALPAY_MOTO_VENV", ROOT / ".venv-moto"))
REQUIREMENTS = ROOT / "emulator" / "requirements.txt"
#: Work folders, moto log and pid files (``GLOBALPAY_REHEARSAL_DIR`` moves them, e.g. for tests).
STATE_DIR = Path(os.environ.get("GLOBALPAY_REHEARSAL_DIR", ROOT / ".rehearsal"))
PR_SET_PDEATHSIG = 1

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux: no parent-death signal, the pid file and atexit still clean up
    _LIBC = None


def _die_with_parent() -> None:  # runs in the child between fork and exec: one foreign call, no Python locks
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def moto_version() -> str:
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("moto"):
            return line.split("==", 1)[1].strip()
    return "unknown"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _kill_group(pid: int, grace: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``grace`` seconds.

    ``proc``: our ``Popen`` of the leader, reaped while waiting (a zombie leader keeps its group alive).
    """
    def gone() -> bool:
        if proc is not None:
            proc.poll()
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        return False

    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if gone():
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc is not None:
        proc.wait()


class ProcessTracker:
    """Every child process group the harness starts; ``stop`` ends what is running and refuses new ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen] = {}
        self._stopping = False

    def run(self, args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        with self._lock:
            if self._stopping:
                return subprocess.CompletedProcess(args, -signal.SIGTERM, "", "(not started: the rehearsal is stopping)")
        # Own process group (killed whole, provider plugins included), and SIGTERM from the kernel if the
        # thread that started it goes away: a killed harness leaves no terraform behind either.
            proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
            self._running[proc.pid] = proc
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, grace=2, proc=proc)
            out, err = proc.communicate()
            err += f"\n(timed out after {timeout:.0f} s and was stopped)"
        except BaseException:
            _kill_group(proc.pid, grace=2, proc=proc)
            raise
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
        return subprocess.CompletedProcess(args, proc.returncode, out, err)

    def stop(self) -> None:
        """Stop every running process group; later ``run`` calls start nothing."""
        with self._lock:
            self._stopping = True
            running = list(self._running.values())
        for proc in running:
            _kill_group(proc.pid, grace=2, proc=proc)


class EmulatorError(RuntimeError):
    pass


class MotoServer:
    """``with MotoServer() as moto: ... moto.endpoint ...``: a moto server for the duration of the block."""

    def __init__(self, *, venv: Path = VENV, state_dir: Path = STATE_DIR, start_timeout: float = 90.0) -> None:
        self.venv = venv
        self.state_dir = state_dir
        self.start_timeout = start_timeout
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = state_dir / "moto.log"

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"moto-{os.getpid()}.pid"

    def start(self) -> MotoServer:
        binary = self.venv / "bin" / "moto_server"
        if not binary.exists():
            raise EmulatorError(f"{binary} is missing: run `python3 tasks.py install` (installs {REQUIREMENTS.relative_to(ROOT)})")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stop_orphans(self.state_dir)
        self.port = free_port()
        log = self.log_path.open("w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        log.close()
        self.pid_file.write_text(json.dumps({"pid": self.proc.pid, "owner": os.getpid(), "port": self.port}))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text()[-2000:]
                self.stop()
                raise EmulatorError(f"moto server exited with {self.proc.returncode} at start:\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise EmulatorError(f"moto server did not answer on {self.endpoint} within {self.start_timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc.pid, proc=self.proc)
        self.pid_file.unlink(missing_ok=True)

    def reset(self) -> None:
        """Forget every object (between environments of one run)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_orphans(state_dir: Path = STATE_DIR) -> list[int]:
    """Stop moto servers left by rehearsals whose owner process is gone (a killed run). Returns their PIDs."""
    stopped = []
    for pid_file in state_dir.glob("moto-*.pid"):
        try:
            record = json.loads(pid_file.read_text())
        except (OSError, json.JSONDecodeError):
            pid_file.unlink(missing_ok=True)
            continue
        if _alive(record.get("owner", 0)):
            continue  # another rehearsal is running right now: its server is its own business
        pid = int(record.get("pid", 0))
        if pid and _alive(pid) and "moto_server" in _cmdline(pid):
            _kill_group(pid)
            stopped.append(pid)
        pid_file.unlink(missing_ok=True)
    return stopped


def seed(moto: MotoServer, plan: dict, *, timeout: float = 300.0) -> dict:
    """Create the lookups' stand-ins in the emulator (``seed.py`` runs with the moto venv's boto3)."""
    script = Path(__file__).with_name("seed.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal", "AWS_EC2_METADATA_DISABLED": "true"})
    done = subprocess.run([str(moto.venv / "bin" / "python"), str(script), moto.endpoint], input=json.dumps(plan),
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        raise EmulatorError(f"seeding the emulator failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout or "{}")
