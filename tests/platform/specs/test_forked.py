"""Work split among forked workers (specs/_forked.py): answers in order, and a stuck worker never
holds the process. Each case runs in a fresh interpreter: the test process has threads, where
``forked_map`` rightly refuses to fork."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

_RUN = """
import json, os, sys, time
from meshlake.platform.specs import _forked

parent = os.getpid()
def square(n):
    if sys.argv[1] == "stuck" and os.getpid() != parent and n == 3:
        time.sleep(3600)
    return (n * n, os.getpid() != parent)
_forked.TIMEOUT_S = 3.0
_forked.MAX_WORKERS = 2
started = time.monotonic()
answers = _forked.forked_map(square, list(range(10)), parallel_from=2)
print(json.dumps({"answers": answers, "seconds": time.monotonic() - started}))
"""


def _run(case: str) -> tuple[list[int], list[bool], float]:
    """The squares, whether each was computed in a worker, and the seconds it all took."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN, case], capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(done.stdout)
    answers = found["answers"]
    return [square for square, _ in answers], [forked for _, forked in answers], found["seconds"]


def test_answers_come_back_in_order_from_the_workers() -> None:
    squares, forked, _ = _run("plain")

    assert squares == [n * n for n in range(10)]
    assert all(forked)


def test_a_stuck_worker_is_killed_and_its_share_done_in_the_process() -> None:
    squares, forked, seconds = _run("stuck")

    assert squares == [n * n for n in range(10)]
    stuck_share = [n for n in range(10) if n % 2 == 3 % 2]  # two workers: every other item
    assert [not forked[n] for n in stuck_share] == [True] * len(stuck_share)
    assert all(forked[n] for n in range(10) if n not in stuck_share)
    assert 3.0 <= seconds < 30
