"""Catalog records that could not be sent: the commit is done, the record goes on the next run.

A version is readable through the catalog only once governance has recorded it, so a commit whose
record failed because governance could not be reached stays invisible until a later run sends the
record from here. A record governance refuses moves to ``refused/`` with the reason, for a person:
it is never retried blindly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from meshlake.platform._governance import (
    GovernanceClient,
    GovernanceError,
    GovernanceUnavailable,
    PublicationRecord,
)

OUTBOX = Path("governance-outbox")


@dataclass(frozen=True)
class Replayed:
    """One outbox entry sent again: recorded, refused (with why) or still pending."""

    product: str
    run_id: str
    outcome: str
    detail: str = ""


class Outbox:
    """Pending publication records under ``<state>/governance-outbox``, one JSON file each."""

    def __init__(self, state_home: Path) -> None:
        self.folder = state_home / OUTBOX

    def put(self, product: str, record: PublicationRecord) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        run_id = str(record.body["run_id"])
        target = self.folder / f"{product}.{run_id}.json"
        partial = target.with_suffix(".partial")
        partial.write_text(
            json.dumps({"product": product, "path": record.path, "body": record.body}),
            encoding="utf-8",
        )
        os.replace(partial, target)  # a crash leaves the old file or the new one, never half
        return target

    def pending(self) -> list[Path]:
        return sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []

    def replay(self, client_for: Callable[[str], GovernanceClient]) -> list[Replayed]:
        """Send every pending record (oldest first); stop at the first unreachable service."""
        done: list[Replayed] = []
        for path in self.pending():
            entry = json.loads(path.read_text(encoding="utf-8"))
            product, record = entry["product"], PublicationRecord(entry["path"], entry["body"])
            run_id = str(record.body["run_id"])
            try:
                client_for(product).record(record)
            except GovernanceUnavailable as exc:
                done.append(Replayed(product, run_id, "pending", str(exc)))
                break
            except GovernanceError as exc:
                refused = self.folder / "refused"
                refused.mkdir(exist_ok=True)
                path.with_suffix(".reason").write_text(str(exc), encoding="utf-8")
                os.replace(path.with_suffix(".reason"), refused / f"{path.stem}.reason")
                os.replace(path, refused / path.name)
                done.append(Replayed(product, run_id, "refused", str(exc)))
                continue
            path.unlink()
            done.append(Replayed(product, run_id, "recorded"))
        return done
