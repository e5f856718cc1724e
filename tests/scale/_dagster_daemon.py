"""What the Dagster daemon tests share: a fresh PostgreSQL database, the small mesh made quick to run
(DuckDB, an every-minute schedule, a latency SLA), `meshlake daemon` as a child process group, run
submission through the Dagster CLI, and waiting on the instance."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import yaml

from tests.postgres_server import database_on, postgres_url

EVERY_MINUTE = "* * * * *"


@contextmanager
def fresh_database() -> Iterator[str | None]:
    """A new, empty database on the test PostgreSQL server (dropped afterwards); None when there is
    no server to create it on."""
    server = postgres_url()
    if server is None:
        yield None
        return
    with database_on(server, "meshlake_dagster") as url:
        yield url


def quick_mesh(project: Path) -> None:
    """The small mesh as the daemon test runs it: both products on DuckDB (no JVM in any run
    process; summary's Python transform rewritten as the same SQL), ``things`` scheduled every
    minute and promising a one-day latency (a freshness policy for the freshness daemon)."""
    products = project / "domains" / "alpha" / "products"
    _set_properties(products / "things" / "product.yaml", engine="duckdb", schedule=EVERY_MINUTE)
    _set_properties(products / "summary" / "product.yaml", engine="duckdb")
    (products / "summary" / "transform.py").unlink()
    (products / "summary" / "transform.sql").write_text(
        "SELECT kind, COUNT(*) AS things, SUM(weight) AS total_weight FROM things GROUP BY kind\n"
    )
    contract_path = products / "things" / "contract.yaml"
    contract = yaml.safe_load(contract_path.read_text())
    contract["slaProperties"] = [{"property": "latency", "value": 1, "unit": "d"}]
    contract_path.write_text(yaml.safe_dump(contract, sort_keys=False))


def _set_properties(path: Path, **values: str) -> None:
    spec = yaml.safe_load(path.read_text())
    properties = [
        item for item in spec.get("customProperties", []) if item["property"] not in values
    ]
    properties += [{"property": name, "value": value} for name, value in values.items()]
    spec["customProperties"] = properties
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def _script(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found is not None, f"{name} is not installed beside {sys.executable}"
    return found


class Daemon:
    """`meshlake daemon` in a process group of its own, its output in ``log``."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self._output = log.open("wb")
        self.process = subprocess.Popen(
            [_script("meshlake"), "daemon"],
            env=env,
            cwd=cwd,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 15.0) -> float:
        """SIGINT (as Ctrl-C), ``grace`` seconds to stop, then kill whatever is left of every
        process it started; the seconds it took. (The daemon's threads may each take many seconds
        to finish an iteration: the suite does not wait for a clean stop.)"""
        started = time.monotonic()
        descendants = _descendants(self.process.pid)
        if self.alive():
            self.process.send_signal(signal.SIGINT)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        took = time.monotonic() - started
        for process in [*descendants, *_descendants(self.process.pid)]:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._output.close()
        return took


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def launch(
    workspace: Path, location: str, job: str, run_id: str, env: dict[str, str], cwd: Path
) -> subprocess.Popen[bytes]:
    """`dagster job launch`: the run is created and handed to the instance's run queue."""
    command = ["job", "launch", "-w", str(workspace), "-l", location, "-j", job]
    return subprocess.Popen(
        [_script("dagster"), *command, "--run-id", run_id],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_all(
    probes: dict[str, Callable[[], object | None]], timeout: float, daemon: Daemon, started: float
) -> dict[str, object]:
    """What each probe returns once every one has returned something, printing when each did
    (seconds since ``started``); fails naming the missing ones after ``timeout`` seconds."""
    seen: dict[str, object] = {}
    deadline = time.monotonic() + timeout
    while True:
        for what, probe in probes.items():
            if what not in seen and (found := probe()) is not None:
                seen[what] = found
                print(f"{what}: after {time.monotonic() - started:.1f} s")
        if len(seen) == len(probes):
            return seen
        assert daemon.alive(), f"the daemon exited:\n{daemon.output()}"
        missing = [what for what in probes if what not in seen]
        assert time.monotonic() < deadline, (
            f"after {timeout:.0f} s still no {'; no '.join(missing)}; daemon output:\n"
            f"{daemon.output()[-6000:]}"
        )
        time.sleep(1.0)
