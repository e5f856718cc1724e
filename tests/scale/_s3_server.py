"""A local S3-compatible server for the object-storage tests: moto's server from PyPI on 127.0.0.1.

It runs in a process of its own (its own process group, stopped with it): moto's in-process
threaded server deadlocks with delta-rs, whose calls such as ``DeltaTable.history`` hold the GIL
while they wait for the server's answer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

ACCESS_KEY = "meshlake-test"
SECRET_KEY = "meshlake-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def environment(self) -> dict[str, str]:
        """What a meshlake process needs to reach this server (``MESHLAKE_S3_*`` settings)."""
        return {
            "MESHLAKE_S3_ENDPOINT": self.endpoint,
            "MESHLAKE_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "MESHLAKE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "MESHLAKE_S3_REGION": REGION,
        }

    def client(self) -> Any:
        """A boto3 client on this server (for the tests' own look at the bucket)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under ``prefix``, sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def s3_server(timeout: float = 60.0) -> Iterator[S3Server]:
    """A moto S3 server on a free port of 127.0.0.1, stopped (with its children) on exit."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the moto server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the moto server did not answer on {endpoint}") from None
                time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
