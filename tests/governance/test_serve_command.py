"""`meshlake governance serve` as users start it: a real process, one or several workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

BOOTSTRAP = "mlk_serve_test_token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Several workers need PostgreSQL (SQLite is refused): tests/governance/test_scale_workers.py.
@pytest.mark.parametrize("workers", [1])
def test_serve_answers_and_every_worker_shares_the_database(tmp_path: Path, workers: int) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "MESHLAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'governance.db'}",
        "MESHLAKE_BOOTSTRAP_TOKEN": BOOTSTRAP,
    }
    command = [str(Path(sys.executable).parent / "meshlake"), "governance", "serve"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"{url}/api/v1/health", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the service did not answer in 180 s"
                time.sleep(0.5)
        headers = {"Authorization": f"Bearer {BOOTSTRAP}"}
        names = [f"svc-{index}" for index in range(8)]
        for name in names:
            # A new connection each time, so the requests spread over the workers.
            response = httpx.post(
                f"{url}/api/v1/principals",
                json={"name": name, "kind": "service"},
                headers=headers,
                timeout=30,
            )
            assert response.status_code in (200, 201), response.text
        audit = httpx.get(f"{url}/api/v1/audit", headers=headers, timeout=30).json()
        assert {entry["target"] for entry in audit} >= set(names)
        denied = httpx.get(f"{url}/api/v1/audit", timeout=30)
        assert denied.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode is not None
