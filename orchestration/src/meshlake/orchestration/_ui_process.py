"""`dagster dev` as a child that Ctrl-C stops whole: webserver, daemon and code servers.

The child is started through this interpreter (``python -m dagster``), so `meshlake ui` works when
called by its path, outside `uv run`, with nothing of the environment on PATH. It runs in its own
process group: a SIGINT (or SIGTERM) to `meshlake ui` is passed on as SIGINT, which `dagster dev`
answers by shutting its processes down; whatever is left of the group after a grace period is
terminated, then killed. A plain `subprocess.run` would kill `dagster dev` alone on Ctrl-C and
leave the webserver and code servers running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

GRACE_SECONDS = 30.0


def dagster_command(*arguments: str) -> list[str]:
    """The ``dagster`` CLI of this environment, whatever PATH says."""
    return [sys.executable, "-m", "dagster", *arguments]


def run_until_interrupted(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run ``command`` in its own process group until it exits or this process is interrupted;
    on return no process of the group is left. The child's exit code (130 when interrupted)."""
    child = subprocess.Popen(list(command), env=dict(env), start_new_session=True)
    try:
        with _sigterm_as_interrupt():
            return child.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        stop_group(child)


def stop_group(child: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """SIGINT to the child, then SIGTERM and SIGKILL to what is left of its process group."""
    group = child.pid  # the child leads its own session and group
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
    with suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
        child.wait(timeout=grace)
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if not _group_alive(group):
            break
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
    if child.poll() is None:
        child.wait()


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of the process group, from /proc where there is one."""
    proc = Path("/proc")
    if not proc.is_dir():
        return [group] if _signal_reaches(group) else []
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def _group_alive(group: int) -> bool:
    # A zombie whose parent is gone may never be reaped in a container: it is not "alive".
    return bool(group_members(group))


def _signal_reaches(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends `meshlake ui` as Ctrl-C does, children included."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
