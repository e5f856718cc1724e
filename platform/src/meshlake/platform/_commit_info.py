"""The run id in a Delta commit's ``userMetadata``, shared by both engines' writers (Spark and
delta-rs) and importable without Spark: one format, so governance and retries read either engine's
commits the same way."""

from __future__ import annotations

import json
from typing import Any

RUN_ID_KEY = "meshlake.run_id"


def commit_metadata(run_id: str, user_metadata: str | None = None) -> str:
    """The commit's ``userMetadata``: ``{"meshlake.run_id": run_id}`` merged into ``user_metadata``
    (a JSON object, such as a drift profile's ``Profile.to_metadata()``); the run id wins."""
    body: dict[str, Any] = {}
    if user_metadata:
        extra = json.loads(user_metadata)
        if not isinstance(extra, dict):
            raise ValueError(
                f"a commit's user metadata must be a JSON object, not {user_metadata!r}"
            )
        body.update(extra)
    body[RUN_ID_KEY] = run_id
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def run_id_of(user_metadata: str | None) -> str | None:
    """The run id in a commit's ``userMetadata``; None when it holds none (or is not JSON)."""
    if not user_metadata:
        return None
    try:
        body = json.loads(user_metadata)
    except ValueError:
        return None
    found = body.get(RUN_ID_KEY) if isinstance(body, dict) else None
    return found if isinstance(found, str) else None
