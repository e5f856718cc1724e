"""The catalog's side of an evaluation: a port's facts and its contract's terms, read from the store.

Read only: the engine keeps no tables. The latest published version gives the quality results
(its stored summary, with severities from the contract revision it was published under); the
contract revision the port is at gives the default terms.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance.db._tables import ContractRevision, Dataset
from meshlake.governance.services._sla._evidence import PortFacts
from meshlake.governance.services._sla._quality import checks_from_summary, rule_severities
from meshlake.governance.services._sla._terms import SlaTerms
from meshlake.platform.specs import Contract


def port_facts(session: Session, dataset: Dataset) -> PortFacts:
    """What the catalog knows of ``dataset`` for ``evaluate``: location, latest published version
    and the quality checks recorded with it."""
    latest = max(dataset.versions, key=lambda version: version.delta_version, default=None)
    if latest is None:
        return PortFacts(dataset.ref, dataset.location)
    contract = contract_of(session, dataset, latest.contract_version)
    severities = rule_severities(contract) if contract is not None else {}
    checks = checks_from_summary(latest.quality or {}, severities)
    return PortFacts(dataset.ref, dataset.location, checks, latest.delta_version)


def contract_terms(session: Session, dataset: Dataset) -> SlaTerms:
    """The SLA terms of the contract version the port is at (no terms if none is recorded)."""
    contract = contract_of(session, dataset, dataset.contract_version)
    return SlaTerms() if contract is None else SlaTerms.from_contract(contract)


def contract_of(session: Session, dataset: Dataset, version: str) -> Contract | None:
    document = session.scalar(
        select(ContractRevision.document).where(
            ContractRevision.dataset_id == dataset.id, ContractRevision.version == version
        )
    )
    return None if document is None else Contract.model_validate(document)
