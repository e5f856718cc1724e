"""Real Spark computes for the scale tests, started from the pyspark wheel on 127.0.0.1.

``standalone_cluster`` starts a Master and Workers with ``spark-class``; ``connect_server`` starts a
Spark Connect server with ``spark-submit`` and the Delta package. Each process runs in a process
group of its own (a Worker's executors are its children), and the whole group is stopped on exit,
whatever happened in between.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyspark

from meshlake.platform._spark import DELTA_CATALOG, DELTA_EXTENSION, delta_artifact

SPARK_HOME = Path(pyspark.__file__).parent
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def spark_env(work: Path) -> dict[str, str]:
    """The environment of every Spark process here: loopback only, the tests' Python."""
    return {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(work / "logs"),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


@contextmanager
def _process(
    command: list[str], log: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield process
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (the JVM and what it started), SIGKILL what outlives 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


def _wait_for(
    ready: object, what: str, processes: list[subprocess.Popen[bytes]], log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{what}: a process exited ({process.returncode}); see {log}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready after {START_TIMEOUT:.0f} s; see {log}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def master_state(web_port: int) -> dict[str, Any]:
    """The standalone Master's JSON state (workers, running and completed applications)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/json/", timeout=5) as response:
        state: dict[str, Any] = json.load(response)
    return state


@dataclass(frozen=True)
class Cluster:
    url: str
    web_port: int
    worker_dirs: tuple[Path, ...]
    """Each Worker's work folder: ``app-*/<executor>/stderr`` is an executor's log."""


@contextmanager
def standalone_cluster(
    work: Path, workers: int = 2, cores: int = 1, memory: str = "1g"
) -> Iterator[Cluster]:
    """A Master and ``workers`` Workers, registered before this yields."""
    env = spark_env(work)
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, web = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    with ExitStack() as stack:
        master_log = work / "logs" / "master.log"
        master = stack.enter_context(
            _process(
                [
                    spark_class,
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--webui-port",
                    str(web),
                ],
                master_log,
                env,
            )
        )
        _wait_for(lambda: _accepts(web), "the Spark master", [master], master_log)
        started = [master]
        for index in range(workers):
            log = work / "logs" / f"worker-{index}.log"
            started.append(
                stack.enter_context(
                    _process(
                        [
                            spark_class,
                            "org.apache.spark.deploy.worker.Worker",
                            url,
                            "--host",
                            "127.0.0.1",
                            "--webui-port",
                            str(free_port()),
                            "--cores",
                            str(cores),
                            "--memory",
                            memory,
                            "--work-dir",
                            str(work / f"worker-{index}"),
                        ],
                        log,
                        env,
                    )
                )
            )

        def registered() -> bool:
            try:  # the UI answers 404 for a moment after its port opens
                return len(master_state(web).get("workers", [])) >= workers
            except OSError:  # urllib's HTTPError and URLError
                return False

        _wait_for(registered, f"{workers} Spark workers", started, master_log)
        yield Cluster(url, web, tuple(work / f"worker-{index}" for index in range(workers)))


@dataclass(frozen=True)
class ConnectServer:
    url: str
    wait: Callable[[], None]
    """Returns once the server accepts connections (raises if it died or is too slow)."""


@contextmanager
def connect_server(work: Path) -> Iterator[ConnectServer]:
    """A Spark Connect server (local[2] inside, Delta configured), started and not waited for:
    call ``wait()`` before use (so that other processes can start meanwhile)."""
    port = free_port()
    log = work / "logs" / "connect.log"
    command = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master",
        "local[2]",
        "--packages",
        delta_artifact(),
        "--conf",
        f"spark.sql.extensions={DELTA_EXTENSION}",
        "--conf",
        f"spark.sql.catalog.spark_catalog={DELTA_CATALOG}",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.driver.memory=1g",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        f"spark.sql.warehouse.dir={work / 'warehouse'}",
        "--conf",
        f"spark.driver.extraJavaOptions=-Dderby.system.home={work / 'derby'}",
    ]
    with _process(command, log, spark_env(work)) as server:

        def wait() -> None:
            _wait_for(lambda: _accepts(port), "the Spark Connect server", [server], log)

        yield ConnectServer(f"sc://127.0.0.1:{port}", wait)
