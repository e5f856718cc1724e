"""Request dependencies as ``Annotated`` aliases: the database session and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from meshlake.governance.services._access import Caller, authenticate


def _session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns, rolled back if it raises."""
    with request.app.state.sessions() as session, session.begin():
        yield session


# scope="function": commit before the response is sent, so a client that got 2xx reads its write.
SessionDep = Annotated[Session, Depends(_session, scope="function")]


def _caller(request: Request, session: SessionDep) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    bootstrap = request.app.state.bootstrap_token
    caller = authenticate(session, token.strip() if scheme.lower() == "bearer" else None, bootstrap)
    request.state.caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]


def _now(request: Request) -> datetime:
    """The service's time (``app.state.clock``, UTC): agreements start and end, and SLAs are
    measured, by it."""
    now: datetime = request.app.state.clock()
    return now


def _today(now: Annotated[datetime, Depends(_now)]) -> date:
    return now.date()


NowDep = Annotated[datetime, Depends(_now)]
TodayDep = Annotated[date, Depends(_today)]
