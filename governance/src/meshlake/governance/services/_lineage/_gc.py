"""The collector pause around lineage ingest (see :class:`_GcPause`)."""

from __future__ import annotations

import gc
import threading
import time


class _GcPause:
    """Pauses the cyclic garbage collector while lineage is decoded, read and written, across threads.

    Ingesting a batch makes and drops some 10^6 dicts, lists and tuples (the JSON, the parsed
    edges, the rows looked up); every allocation threshold crossed starts a collection, and the
    full ones walk the whole heap: with the collector on, a batch took twice as long. Nearly all of
    it is freed by reference counting the moment it is dropped, so those collections find next to
    nothing.

    The pause is process-wide, so it is counted: the collector is back on (if it was on) when the
    last overlapping pause ends. Under a steady stream of batches the pauses may overlap for good;
    then a collection of the young generations runs at most every ``max_seconds``, which bounds
    what garbage from other requests can pile up: with the collector off nothing is promoted, so
    whatever was made since the last collection, garbage cycles included, is young. A full
    collection would walk the whole long-lived heap too (the facet memo, the modules): under 4
    concurrent batch clients it took a third of the server's time holding the GIL.
    """

    def __init__(self, max_seconds: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False
        self._since = 0.0
        self._max_seconds = max_seconds

    def __enter__(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                self._since = time.monotonic()
                gc.disable()
            self._holders += 1

    def __exit__(self, *_exc: object) -> None:
        overdue = False
        with self._lock:
            self._holders -= 1
            if self._holders == 0:
                if self._was_enabled:
                    gc.enable()
            elif self._was_enabled and time.monotonic() - self._since > self._max_seconds:
                overdue, self._since = True, time.monotonic()
        if overdue:
            gc.collect(1)


gc_paused = _GcPause()
