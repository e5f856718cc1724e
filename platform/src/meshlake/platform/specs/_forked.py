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
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 8
TIMEOUT_S = 300.0
"""A worker that has not answered by then is killed and its share done in this process."""

# What the forked workers run, set in the parent just before the fork.
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def forked_map(function: Callable[[T], R], items: Sequence[T], *, parallel_from: int) -> list[R]:
    """``[function(item) for item in items]``, in forked workers when there are at least
    ``parallel_from`` items, several cores and no other thread; in this process otherwise. A
    share whose worker cannot be had, dies or has not answered within TIMEOUT_S (then killed) is
    done in this process too, where an exception of ``function`` is raised as usual."""
    if not forks(len(items), parallel_from):
        return [function(item) for item in items]
    workers = _workers(len(items))
    shares = [range(start, len(items), workers) for start in range(workers)]
    context = multiprocessing.get_context("fork")
    running: dict[Connection, tuple[range, BaseProcess]] = {}
    left: list[range] = []
    global _WORK
    _WORK = (function, items)
    try:
        for share in shares:
            try:
                reader, writer = context.Pipe(duplex=False)
                process = context.Process(target=_run_share, args=(share, writer), daemon=True)
                process.start()
            except OSError:  # no process to be had: this share is done here
                left.append(share)
                continue
            writer.close()
            running[reader] = (share, process)
    finally:
        _WORK = None  # the workers have their copy
    found: list[Any] = [None] * len(items)
    deadline = time.monotonic() + TIMEOUT_S
    while running:
        ready = wait(list(running), timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        for answered in ready:
            assert isinstance(answered, Connection)
            done, worker = running.pop(answered)
            try:
                results = answered.recv()
            except (EOFError, OSError):  # the worker died without answering
                left.append(done)
                continue
            finally:
                answered.close()
                worker.join()
            for index, result in zip(done, results, strict=True):
                found[index] = result
    for silent, (stuck, worker) in running.items():  # killed, not merely asked to stop
        worker.kill()
        worker.join()
        silent.close()
        left.append(stuck)
    for share in left:
        for index in share:
            found[index] = function(items[index])
    return found


def forks(count: int, parallel_from: int) -> bool:
    """Whether ``forked_map`` would fork for ``count`` items (else it works in this process)."""
    return count >= parallel_from and _workers(count) >= 2 and threading.active_count() == 1


def _workers(count: int) -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS, count)


def _run_share(share: range, writer: Connection) -> None:
    assert _WORK is not None, "a worker forked by forked_map"
    function, items = _WORK
    try:
        writer.send([function(items[index]) for index in share])
    finally:
        writer.close()
