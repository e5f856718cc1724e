"""API models of the token lifecycle and of a principal's grants (``/api/v1/tokens``, principals).

A token is never shown again after it is issued: these models carry its id and prefix, not its
secret or its hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from meshlake.governance.api._models import SERVICE_ONLY_GRANTS, Grant, PrincipalIn, TokenOut
from meshlake.governance.db._tables import ApiToken, Principal
from meshlake.governance.services._access import as_utc, grants_of
from meshlake.governance.services._tokens import MAX_GRACE_SECONDS, TokenStatus, status

# The validator below, said in the JSON Schema too: not both expiry fields given (non-null).
_ONE_EXPIRY: dict[str, Any] = {
    "not": {
        "required": ["expires_at", "expires_in_days"],
        "properties": {
            "expires_at": {"type": "string"},
            "expires_in_days": {"type": "integer"},
        },
    }
}


def _not_bool(value: Any) -> Any:
    # pydantic reads true as 1; JSON Schema's integer does not include booleans.
    if isinstance(value, bool):
        raise ValueError(f"a whole number is required, not {str(value).lower()}")
    return value


class TokenExpiryIn(BaseModel):
    """When a new token expires; neither field: the longest lifetime (MESHLAKE_TOKEN_MAX_DAYS).

    Unknown fields are refused: a misspelt expiry must not silently give the longest lifetime.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_ONE_EXPIRY)

    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the token stops working, with its time zone; at most "
        "MESHLAKE_TOKEN_MAX_DAYS (default 365) days away.",
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, description="The token's lifetime in days (instead of expires_at)."
    )

    _whole_days = field_validator("expires_in_days", mode="before")(_not_bool)

    @model_validator(mode="after")
    def _one_of(self) -> TokenExpiryIn:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("give expires_at or expires_in_days (or neither), not both")
        return self


class PrincipalTokenIn(PrincipalIn, TokenExpiryIn):
    """A principal (created, or given more grants) and the expiry of the token issued for it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={**SERVICE_ONLY_GRANTS, **_ONE_EXPIRY}
    )


class TokenIssueIn(TokenExpiryIn):
    principal: str = Field(min_length=1, max_length=200, description="An existing principal.")
    description: str | None = None


class TokenRotateIn(TokenExpiryIn):
    """Without an expiry the new token lives as long as the old one did (capped)."""

    grace_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long the old token keeps working, so that running clients can switch; "
        "0 (the default): it stops at once.",
    )

    _whole_seconds = field_validator("grace_seconds", mode="before")(_not_bool)


class IssuedTokenOut(TokenOut):
    id: int
    expires_at: datetime | None
    replaces: int | None = Field(default=None, description="The token this one replaced.")

    @classmethod
    def of(cls, principal: str, row: ApiToken, secret: str) -> IssuedTokenOut:
        return cls(
            principal=principal,
            token=secret,
            id=row.id,
            expires_at=_utc(row.expires_at),
            replaces=row.replaces_id,
        )


class TokenInfoOut(BaseModel):
    """A token as listed: who it is for, when it was made, used, and stops. Never the secret."""

    id: int
    principal: str
    prefix: str = Field(description="The secret's first characters, to recognise it.")
    description: str | None
    created_at: datetime
    expires_at: datetime | None = Field(description="None: no expiry (issued before 0007).")
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    status: TokenStatus
    replaces: int | None
    replaced_by: int | None

    @classmethod
    def of(cls, row: ApiToken, now: datetime) -> TokenInfoOut:
        return cls(
            id=row.id,
            principal=row.principal.name,
            prefix=row.prefix,
            description=row.description,
            created_at=as_utc(row.created_at),
            expires_at=_utc(row.expires_at),
            last_used_at=_utc(row.last_used_at),
            revoked_at=_utc(row.revoked_at),
            status=status(row, now),
            replaces=row.replaces_id,
            replaced_by=row.replaced_by.id if row.replaced_by is not None else None,
        )


class RotatedTokenOut(IssuedTokenOut):
    previous: TokenInfoOut = Field(description="The old token, as it stands after the rotation.")


class PrincipalOut(BaseModel):
    name: str
    kind: str
    created_at: datetime
    grants: list[Grant]

    @classmethod
    def of(cls, principal: Principal) -> PrincipalOut:
        grants = [
            Grant.model_validate(
                {"role": role, "zone" if role == "zone_service" else "domain": scope}
            )
            for role, scope in grants_of(principal)
        ]
        return cls(
            name=principal.name,
            kind=principal.kind,
            created_at=as_utc(principal.created_at),
            grants=grants,
        )


def _utc(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None
