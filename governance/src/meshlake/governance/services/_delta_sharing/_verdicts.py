"""Which agreements were found active lately, so a file URL's many Range requests skip the database.

A client reads one shared file with several requests (its size, its footer, its column chunks),
and each used to open a database session to look up its agreement. The verdict "active" is kept
for a few seconds, and never past the agreement's last day; it is forgotten the moment the
agreement closes (the ``CLOSED_HOOKS`` of ``services/_agreements`` call :func:`forget_everywhere`),
so a revoked share's URLs stop at once in this process. Another process that revoked it has
deleted the share's snapshot files, so a remembered verdict finds no file and falls back to the
full check. A URL's signature and expiry are checked on every request regardless.
"""

from __future__ import annotations

import threading
import time
import weakref
from datetime import date

_ALL: weakref.WeakSet[ActiveAgreements] = weakref.WeakSet()
_LOCK = threading.Lock()


class ActiveAgreements:
    """Agreement names found active, each until a monotonic deadline and its last day."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self._until: dict[str, tuple[float, date]] = {}
        with _LOCK:
            _ALL.add(self)

    def remember(self, name: str, last_day: date) -> None:
        self._until[name] = (time.monotonic() + self.seconds, last_day)

    def holds(self, name: str, today: date) -> bool:
        """Whether ``name`` was found active less than ``seconds`` ago and ``today`` is within
        its dates."""
        found = self._until.get(name)
        if found is None:
            return False
        deadline, last_day = found
        if time.monotonic() >= deadline or today > last_day:
            self._until.pop(name, None)
            return False
        return True

    def forget(self, name: str) -> None:
        self._until.pop(name, None)


def forget_everywhere(name: str) -> None:
    """Forget ``name`` in every server of this process (the hook run when an agreement closes)."""
    with _LOCK:
        servers = list(_ALL)
    for verdicts in servers:
        verdicts.forget(name)
