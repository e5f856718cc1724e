"""The governance service as the benchmarks start it: `meshlake governance serve` in a process of
its own on 127.0.0.1, as a deployment runs it (a client in the same interpreter would share its
GIL with the server and measure both at once)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def governance_process(env: dict[str, str], timeout: float = 60) -> Iterator[str]:
    """The service's base URL once it is healthy; stopped (SIGTERM) when the block ends."""
    port = free_port()
    command = [shutil.which("meshlake") or "meshlake", "governance", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the governance service did not start: {' '.join(command)}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
