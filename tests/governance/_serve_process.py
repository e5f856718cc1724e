"""`meshlake governance serve` as a real process for the scale tests: started, awaited, stopped,
with its stderr kept in a file (a pipe left unread would block a chatty server)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

MESHLAKE = str(Path(sys.executable).parent / "meshlake")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    stderr: Path

    def lines(self) -> list[str]:
        return [line for line in self.stderr.read_text().splitlines() if line.strip()]

    def json_lines(self) -> list[dict[str, Any]]:
        """Every stderr line as JSON; a line that is not JSON fails the test, naming it."""
        parsed = []
        for line in self.lines():
            try:
                parsed.append(json.loads(line))
            except ValueError as exc:
                raise AssertionError(f"not a JSON line: {line!r}") from exc
        return parsed


def environment(database_url: str, token: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MESHLAKE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {
        **env,
        "MESHLAKE_DATABASE_URL": database_url,
        "MESHLAKE_BOOTSTRAP_TOKEN": token,
        **extra,
    }


@contextmanager
def serving(
    tmp_path: Path, env: dict[str, str], *options: str, timeout: float = 180
) -> Iterator[Served]:
    """The server running until the block ends (then SIGTERM, and its exit awaited)."""
    port = free_port()
    stderr = tmp_path / f"serve-{port}.stderr"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [MESHLAKE, "governance", "serve", "--port", str(port), *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    served = Served(f"http://127.0.0.1:{port}", process, stderr)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, f"serve exited: {stderr.read_text()}"
            assert time.monotonic() < deadline, f"not ready in {timeout:g} s: {stderr.read_text()}"
            time.sleep(0.3)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def run_serve(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """``serve`` expected to refuse at once (never left running)."""
    return subprocess.run(
        [MESHLAKE, "governance", "serve", "--port", str(free_port()), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
