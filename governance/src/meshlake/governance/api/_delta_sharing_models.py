"""Bodies of the Delta Sharing protocol's JSON endpoints (camelCase, as the protocol spells them)
and of the recipient token endpoint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Protocol(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ShareOut(_Protocol):
    name: str
    id: str


class ListSharesOut(_Protocol):
    items: list[ShareOut]
    next_page_token: str | None = Field(default=None, alias="nextPageToken")


class GetShareOut(_Protocol):
    share: ShareOut


class SchemaOut(_Protocol):
    name: str
    share: str


class ListSchemasOut(_Protocol):
    items: list[SchemaOut]
    next_page_token: str | None = Field(default=None, alias="nextPageToken")


class TableOut(_Protocol):
    name: str
    schema_name: str = Field(alias="schema")
    share: str
    share_id: str = Field(alias="shareId")
    id: str


class ListTablesOut(_Protocol):
    items: list[TableOut]
    next_page_token: str | None = Field(default=None, alias="nextPageToken")


class QueryIn(_Protocol):
    """``POST .../query``. Predicate hints are accepted and not applied: the protocol makes them
    best-effort, and a snapshot is already cut to what the agreement lets through. The streaming
    fields (startingVersion, endingVersion) are read only to be refused with a 400 that points to
    ``GET .../changes``: a share is served from masked snapshots, not the table's own files, so
    it has no per-version add and remove files to stream."""

    predicate_hints: list[str] | None = Field(default=None, alias="predicateHints", max_length=100)
    json_predicate_hints: str | None = Field(
        default=None, alias="jsonPredicateHints", max_length=100_000
    )
    limit_hint: int | None = Field(default=None, alias="limitHint", ge=0)
    version: int | None = Field(default=None, ge=0)
    timestamp: str | None = Field(default=None, max_length=64)
    starting_version: int | None = Field(default=None, alias="startingVersion", ge=0)
    ending_version: int | None = Field(default=None, alias="endingVersion", ge=0)


class ProfileOut(_Protocol):
    """The recipient's profile file, as the official clients read it."""

    share_credentials_version: int = Field(default=1, alias="shareCredentialsVersion")
    endpoint: str
    bearer_token: str = Field(alias="bearerToken")
    expiration_time: str = Field(alias="expirationTime")


class RecipientTokenOut(BaseModel):
    agreement: str
    recipient: str
    token_id: int
    expires_at: datetime
    profile: ProfileOut = Field(description="Write this as the recipient's profile file (JSON).")
