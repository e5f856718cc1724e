"""Writer turns on SQLite: the ingest threads of a process queue for the database, not poll for it.

SQLite has one writer at a time. A connection that finds the write lock taken is left to SQLite's
busy handler, which polls with sleeps that grow to 100 ms; with 4 concurrent batch clients on one
server process the lock stood idle between writers while the next one slept. A thread waiting
here is woken the moment the previous writer has committed (batch ingest 1,052 -> 1,219 events/s
back to back on a loaded machine). PostgreSQL locks rows, not the database: its writers take no
turns.

Between processes (``meshlake governance serve --workers N``) the busy handler still arbitrates.
Queueing them on ``flock`` of a file beside the database was tried: with two processes holding the
lock 30 ms a turn and nothing else running it cut the lock's idle time from 16-17% of the wall to
2-5%, but in the benchmark with 4 clients on 2 shared cores it was 8% slower in 3 runs out of 3
(a strict queue waits for a writer that is not on a CPU, where polling lets whoever runs go on).
There were no lock-upgrade failures to avoid with BEGIN IMMEDIATE: the driver opens the
transaction right before its first write.

The one rule: a connection that has written must not wait for a turn. It holds SQLite's write lock,
which the thread in its turn waits for: each waits on the other until the busy timeout (30 s) ends
it with a 503. So what a request writes before its turn (a token's last use) is written in a turn
of its own, on its own connection, and committed there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

_SQLITE_WRITER = threading.Lock()


@contextmanager
def writer_turn(session: Session) -> Iterator[None]:
    """Hold this until the write transaction has committed (or rolled back)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    with _SQLITE_WRITER:
        yield
