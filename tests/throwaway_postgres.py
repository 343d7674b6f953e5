"""A PostgreSQL cluster of its own, started from Debian's `postgresql` binaries in a temporary
folder (initdb + pg_ctl, trust auth, a free local port) and removed when stopped.

For the tests on a machine without a server (tests/postgres.py) and for the benchmarks
(bench/cluster.py), which add their own server options.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

MISSING = (
    "Debian's postgresql binaries are missing: run scripts/bootstrap.sh --for-tests"
    " (make test does), or point at a running server"
)


class ThrowawayCluster:
    def __init__(self, prefix: str = "golive-pg-") -> None:
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError(MISSING)
        self._bin = Path(binaries[-1]).parent
        self._folder = Path(tempfile.mkdtemp(prefix=prefix))
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root; Debian's package adds this user
            shutil.chown(self._folder, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._data = self._folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, options: Sequence[str] = ()) -> str:
        """Start the server with `options` (``-c name=value`` pairs) added; its URL."""
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust")
        server_options = " ".join(
            (
                f"-p {self.port} -k {self._folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                *options,
            )
        )
        # -l: the server's output goes to a file; on pg_ctl's pipes it would keep them open.
        log = str(self._folder / "server.log")
        self._run("pg_ctl", "-D", str(self._data), "-o", server_options, "-l", log, "-w", "start")
        return self.url

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self._folder, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries of Debian's package, no outside input
            [*self._as_user, str(self._bin / program), *args], check=check, capture_output=True
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
