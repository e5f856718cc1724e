"""The PostgreSQL server the governance tests run on, so a fresh clone skips none of them.

MESHLAKE_TEST_POSTGRES_URL wins when set (``.ci/run`` starts a cluster and sets it). Otherwise the
first test that asks starts a throwaway server from the installed binaries (initdb + pg_ctl on a temporary
folder, 127.0.0.1 and a free port) and the test session stops it at the end. initdb and postgres refuse
to run as root, so under root they run as the ``postgres`` user (or ``nobody``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "MESHLAKE_TEST_POSTGRES_URL"
ENV_BIN = "MESHLAKE_TEST_POSTGRES_BIN"
"""A folder holding initdb and pg_ctl, when they are neither on PATH nor under /usr/lib/postgresql."""

INSTALL_HINT = (
    "PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl): install them "
    "(e.g. apt-get install postgresql) or set MESHLAKE_TEST_POSTGRES_URL to a server's URL"
)

_SUPERUSER = "meshlake"
# A throwaway database: durability buys nothing and costs the tests seconds.
_SERVER_OPTIONS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresStartError(RuntimeError):
    """The binaries are installed but the throwaway server did not start (its log is in the message)."""


def find_binaries() -> Path | None:
    """The folder with initdb and pg_ctl: MESHLAKE_TEST_POSTGRES_BIN, PATH, or the newest
    /usr/lib/postgresql/<version>/bin (Debian keeps the server binaries off PATH)."""
    candidates: list[Path] = []
    if configured := os.environ.get(ENV_BIN):
        candidates.append(Path(configured))
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    versions = Path("/usr/lib/postgresql")
    if versions.is_dir():
        numbered = [p / "bin" for p in versions.iterdir() if re.fullmatch(r"\d+(\.\d+)?", p.name)]
        numbered.sort(key=lambda p: tuple(int(n) for n in p.parent.name.split(".")), reverse=True)
        candidates.extend(numbered)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ThrowawayPostgres:
    """One PostgreSQL server in a temporary folder, owned by this test process."""

    binaries: Path
    folder: Path
    port: int
    account: pwd.struct_passwd | None

    @property
    def url(self) -> str:
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls, binaries: Path) -> ThrowawayPostgres:
        account = _unprivileged_account() if os.geteuid() == 0 else None
        folder = Path(tempfile.mkdtemp(prefix="meshlake-test-pg-"))
        if account is not None:
            os.chown(folder, account.pw_uid, account.pw_gid)
        server = cls(binaries, folder, _free_port(), account)
        try:
            server._run(
                "initdb",
                "-D", str(server.data), "-U", _SUPERUSER, "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-p {server.port}",
                    f"-c unix_socket_directories={folder}",
                    *(f"-c {option}" for option in _SERVER_OPTIONS),
                ]
            )
            server._run(
                "pg_ctl", "-D", str(server.data), "-l", str(server.log), "-w", "-t", "60",
                "-o", options, "start",
            )  # fmt: skip
        except PostgresStartError:
            server.stop()
            raise
        return server

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def stop(self) -> None:
        """Stops the server (fast shutdown: open test connections are cut) and deletes its folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresStartError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *arguments: str) -> None:
        account = self.account
        result = subprocess.run(
            [str(self.binaries / program), *arguments],
            capture_output=True,
            text=True,
            cwd=self.folder,
            timeout=120,
            check=False,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresStartError(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}".strip()
            )


def _unprivileged_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresStartError(
        "running as root, and initdb refuses root: create a 'postgres' or 'nobody' user, "
        "or set MESHLAKE_TEST_POSTGRES_URL"
    )


_server: ThrowawayPostgres | None = None


def postgres_url() -> str | None:
    """The test PostgreSQL server's URL (to its ``postgres`` database, as a superuser), starting
    the throwaway server on first use; None when there is neither a URL nor the binaries."""
    global _server
    if configured := os.environ.get(ENV_URL):
        return configured
    if _server is None:
        binaries = find_binaries()
        if binaries is None:
            return None
        _server = ThrowawayPostgres.start(binaries)
        atexit.register(stop_postgres)
    return _server.url


@contextlib.contextmanager
def database_on(server: str, prefix: str = "meshlake_test") -> Iterator[str]:
    """A new, empty database of its own on ``server`` (a URL to a superuser's database), dropped
    afterwards with whatever is still connected to it."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def stop_postgres() -> None:
    """Stops the throwaway server if this process started one (the session's end calls it)."""
    global _server
    if _server is not None:
        server, _server = _server, None
        server.stop()
