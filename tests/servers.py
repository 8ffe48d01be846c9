"""Real PostgreSQL 15 (with pgaudit) and Redis 7 servers for the tests: started on 127.0.0.1 in a temporary folder
on a free port, stopped by PID when the session ends.

The servers come from the machine's packages (``python3 tasks.py install`` installs ``postgresql-15``,
``postgresql-15-pgaudit`` and ``redis-server`` when they are missing). They are started the way the plan
rehearsal starts moto (``scripts/rehearsal/emulator.py``): own process group, SIGTERM from the kernel when the
test process dies (``PR_SET_PDEATHSIG``), stopped by PID (SIGTERM to the group, SIGKILL after a grace period).
PostgreSQL refuses to run as root: under root its processes run as the ``postgres`` user the Debian package
creates, in a folder that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from rehearsal.emulator import _die_with_parent, _kill_group, free_port  # noqa: E402

POSTGRES_BIN = Path(os.environ.get("GLOBALPAY_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
PGAUDIT_LIBRARY = Path("/usr/lib/postgresql/15/lib/pgaudit.so")
REDIS_SERVER = os.environ.get("GLOBALPAY_REDIS_SERVER", "redis-server")
#: The bootstrap superuser of a test cluster (RDS's ``rdsadmin``: nobody logs in as it in production).
SUPERUSER = "postgres_boot"


class ServerError(RuntimeError):
    pass


def _run_as() -> tuple[int, int] | None:
    """``(uid, gid)`` of the ``postgres`` user when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError("running as root and there is no `postgres` user to run PostgreSQL as "
                          "(the postgresql-15 package creates it)") from None
    return user.pw_uid, user.pw_gid


def _preexec(ids: tuple[int, int] | None) -> Callable[[], None]:
    def run() -> None:  # in the child, between fork and exec
        if ids is not None:
            os.setgid(ids[1])
            os.setuid(ids[0])
        _die_with_parent()  # after the uid change, which would clear it
    return run


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"server exited with {proc.returncode} at start:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise ServerError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


class PostgresServer:
    """One PostgreSQL 15 cluster: ``initdb`` into a temporary folder, ``postgres`` on 127.0.0.1:<free port>.

    ``settings``: ``-c name=value`` options of the server (the parameter group under test). ``hba``: extra
    ``pg_hba.conf`` lines, read before the default (trust for local TCP). ``data_dir``: an existing folder to
    run instead of a fresh ``initdb`` (a standby made with ``base_backup``)."""

    def __init__(self, *, settings: dict[str, str] | None = None, hba: tuple[str, ...] = (),
                 data_dir: Path | None = None, base: Path | None = None) -> None:
        for tool in ("initdb", "postgres", "pg_basebackup"):
            if not (POSTGRES_BIN / tool).exists():
                raise ServerError(f"{POSTGRES_BIN / tool} is missing: `python3 tasks.py install` installs postgresql-15")
        if not PGAUDIT_LIBRARY.exists():
            raise ServerError(f"{PGAUDIT_LIBRARY} is missing: `python3 tasks.py install` installs postgresql-15-pgaudit")
        self.ids = _run_as()
        self.base = base or Path(tempfile.mkdtemp(prefix="globalpay-postgres-"))
        self.owns_base = base is None
        self.data_dir = data_dir or self.base / "data"
        self.log_path = self.base / f"{self.data_dir.name}.log"
        self.settings = dict(settings or {})
        self.hba = hba
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def _chown(self, path: Path) -> None:
        if self.ids is not None:
            for p in (path, *path.rglob("*")):
                os.chown(p, *self.ids)

    def _tool(self, *args: str) -> None:
        done = subprocess.run([str(POSTGRES_BIN / args[0]), *args[1:]], capture_output=True, text=True,
                              preexec_fn=_preexec(self.ids), timeout=120, check=False, cwd=self.base)
        if done.returncode != 0:
            raise ServerError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> PostgresServer:
        self.base.mkdir(parents=True, exist_ok=True)
        self._chown(self.base)
        if not (self.data_dir / "PG_VERSION").exists():
            self._tool("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "--no-sync",
                       "-E", "UTF8", "--locale=C")
            hba = self.data_dir / "pg_hba.conf"
            hba.write_text("\n".join((*self.hba, "local all all trust", "host all all 127.0.0.1/32 trust",
                                      "host replication all 127.0.0.1/32 trust", "")))
            self._chown(hba)
        self.port = free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.base),
                   "fsync": "off", "logging_collector": "off", "log_destination": "stderr", **self.settings}
        args = [str(POSTGRES_BIN / "postgres"), "-D", str(self.data_dir)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=_preexec(self.ids), cwd=self.base)
        log.close()
        _wait_for_port(self.port, self.proc, self.log_path)
        # Accepting connections is later than listening during startup/recovery.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.connect(SUPERUSER, "postgres").close()
                return self
            except Exception:
                time.sleep(0.1)
        raise ServerError(f"PostgreSQL does not accept connections:\n{self.log_path.read_text()[-3000:]}")

    def connect(self, user: str, database: str, **kwargs: Any) -> Any:
        import pg8000.native

        return pg8000.native.Connection(user, host="127.0.0.1", port=self.port, database=database, timeout=30, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def base_backup(self, name: str) -> Path:
        """A streaming standby's data folder (``pg_basebackup -R``), next to this server's."""
        target = self.base / name
        self._tool("pg_basebackup", "-D", str(target), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
                   "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
        return target

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc.pid, proc=self.proc)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        if self.owns_base:
            shutil.rmtree(self.base, ignore_errors=True)


class RedisServer:
    """One Redis 7 server on 127.0.0.1:<free port>, nothing persisted, in a temporary folder."""

    def __init__(self) -> None:
        if shutil.which(REDIS_SERVER) is None:
            raise ServerError(f"{REDIS_SERVER} is missing: `python3 tasks.py install` installs redis-server")
        self.base = Path(tempfile.mkdtemp(prefix="globalpay-redis-"))
        self.log_path = self.base / "redis.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.port = free_port()
        args = [shutil.which(REDIS_SERVER) or REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.base), "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--protected-mode", "yes"]
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=_die_with_parent, cwd=self.base)
        log.close()
        _wait_for_port(self.port, self.proc, self.log_path)
        return self

    def version(self) -> str:
        return subprocess.run([shutil.which(REDIS_SERVER) or REDIS_SERVER, "--version"], capture_output=True,
                              text=True, check=True).stdout

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc is not None:
            _kill_group(self.proc.pid, proc=self.proc)
            self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class RedisError(Exception):
    """An error reply (``-NOPERM ...``, ``-ERR ...``)."""


class RedisClient:
    """Enough RESP2 to send commands and read replies: the tests need no client library."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def command(self, *args: str | bytes) -> Any:
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(payload)
        return self._reply()

    def _reply(self) -> Any:
        line = self.reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)[:-2]
            return data.decode(errors="replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._reply() for _ in range(count)]
        raise ConnectionError(f"unexpected reply {line!r}")
