"""The throwaway PostgreSQL server that lets a fresh clone run the PostgreSQL tests without set-up."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest

from tests import postgres_server
from tests.postgres_server import ThrowawayPostgres, find_binaries

pytestmark = pytest.mark.integration

BINARIES = find_binaries()
needs_binaries = pytest.mark.skipif(BINARIES is None, reason=postgres_server.INSTALL_HINT)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@needs_binaries
def test_a_throwaway_server_serves_sql_on_loopback_and_leaves_nothing_behind() -> None:
    assert BINARIES is not None
    server = ThrowawayPostgres.start(BINARIES)
    try:
        with psycopg.connect(server.url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT current_setting('server_version_num')::int, "
                "rolsuper, pg_encoding_to_char(encoding), current_setting('listen_addresses') "
                "FROM pg_roles, pg_database WHERE rolname = current_user AND datname = 'postgres'"
            ).fetchone()
            assert row is not None
            version, superuser, encoding, listen = row
            assert version >= 120000
            assert superuser is True  # the tests create and drop a database per module
            assert encoding == "UTF8"
            assert listen == "127.0.0.1"
            connection.execute("CREATE DATABASE meshlake_probe")
            connection.execute("DROP DATABASE meshlake_probe")
        if os.geteuid() == 0:
            # initdb refuses root: the data folder belongs to the unprivileged account.
            assert server.data.stat().st_uid != 0
    finally:
        server.stop()
    assert not server.folder.exists()
    assert not _port_open(server.port)


def test_the_configured_url_wins_and_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres_server.ENV_URL, "postgresql://someone@127.0.0.1:1/postgres")
    monkeypatch.setattr(postgres_server, "_server", None)
    assert postgres_server.postgres_url() == "postgresql://someone@127.0.0.1:1/postgres"
    assert postgres_server._server is None


def test_a_folder_without_the_server_binaries_is_not_taken(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> None:
    monkeypatch.setenv(postgres_server.ENV_BIN, str(tmp_path))
    assert find_binaries() != tmp_path
