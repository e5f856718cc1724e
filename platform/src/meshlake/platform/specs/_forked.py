"""Independent work over a large mesh, split among forked worker processes.

Validating a mesh of a thousand products is mostly parsing: some 3,000 YAML files and 1,500
transforms, each independent of the others. Worker processes forked from the loader inherit what
it has loaded (the mesh, the file list) instead of receiving it; only the results travel back,
pickled. Forking is safe only in a process with no other Python thread (a lock another thread
holds stays held in the child), so a threaded caller (a server, a Dagster process, a test run)
does the work in its own process, as does a small mesh, where forking costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
TIMEOUT_S = 300.0
"""A worker that has not answered by then is given up on and its share done in this process."""

# What the forked workers run, set in the parent just before the fork.
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def forked_map(function: Callable[[T], R], items: Sequence[T], *, parallel_from: int) -> list[R]:
    """``[function(item) for item in items]``, in forked workers when there are at least
    ``parallel_from`` items, several cores and no other thread; in this process otherwise (also
    when no worker can be had). ``function`` must not raise: it returns its findings."""
    if not forks(len(items), parallel_from):
        return [function(item) for item in items]
    workers = _workers(len(items))
    global _WORK
    _WORK = (function, items)
    shares = [range(start, len(items), workers) for start in range(workers)]
    try:
        # The pool's exit terminates its workers: one stuck or lost never holds this process.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            answers = pool.map_async(_run_share, shares).get(TIMEOUT_S)
    except (OSError, multiprocessing.TimeoutError):
        return [function(item) for item in items]
    finally:
        _WORK = None
    found: list[Any] = [None] * len(items)
    for share, results in zip(shares, answers, strict=True):
        for index, result in zip(share, results, strict=True):
            found[index] = result
    return found


def forks(count: int, parallel_from: int) -> bool:
    """Whether ``forked_map`` would fork for ``count`` items (else it works in this process)."""
    return count >= parallel_from and _workers(count) >= 2 and threading.active_count() == 1


def _workers(count: int) -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS, count)


def _run_share(indexes: range) -> list[Any]:
    assert _WORK is not None, "a worker forked by forked_map"
    function, items = _WORK
    return [function(items[index]) for index in indexes]
