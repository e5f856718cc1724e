"""Business glossary endpoints: terms with their definitions and linked columns."""

from __future__ import annotations

from fastapi import APIRouter

from meshlake.governance.api._glossary_models import LinkedColumnOut, TermIn, TermOut
from meshlake.governance.api.deps import CallerDep, SessionDep
from meshlake.governance.services import _glossary

router = APIRouter(prefix="/api/v1/glossary", tags=["glossary"])


@router.get("", summary="Every glossary term with its linked columns")
def list_terms(session: SessionDep, _caller: CallerDep) -> list[TermOut]:
    return [term_out(term) for term in _glossary.list_terms(session)]


@router.get("/{name}", summary="One glossary term with its linked columns")
def get_term(name: str, session: SessionDep, _caller: CallerDep) -> TermOut:
    return term_out(_glossary.get_term(session, name))


@router.put(
    "/{name}",
    summary="Create or replace a term (the writers of every domain whose columns it links; admin)",
)
def put_term(name: str, body: TermIn, session: SessionDep, caller: CallerDep) -> TermOut:
    return term_out(_glossary.put_term(session, caller, name, body))


def term_out(term: _glossary.Term) -> TermOut:
    return TermOut(
        name=term.name,
        definition=term.definition,
        columns=[
            LinkedColumnOut.model_validate(column, from_attributes=True) for column in term.columns
        ],
    )
