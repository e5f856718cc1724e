"""Who may do what: principals, roles, bearer tokens. Every refusal says why."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import ForbiddenError, InvalidRequestError, UnauthenticatedError
from meshlake.governance.db._tables import ApiToken, Principal, RoleGrant

ROLES = ("admin", "domain_owner", "domain_member", "consumer")
KINDS = ("person", "service")
TOKEN_PREFIX = "mlk_"


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of a request, with its roles."""

    name: str
    kind: str
    roles: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return ("admin", None) in self.roles

    def may_write_domain(self, domain: str) -> bool:
        return self.is_admin or any(
            role in ("domain_owner", "domain_member") and scope == domain
            for role, scope in self.roles
        )

    def require_domain_writer(self, domain: str, action: str) -> None:
        if not self.may_write_domain(domain):
            raise ForbiddenError(
                f"{self.name} may not {action}: it needs the domain_owner or domain_member role "
                f"of domain {domain!r} (or admin)"
            )

    def require_admin(self, action: str) -> None:
        if not self.is_admin:
            raise ForbiddenError(f"{self.name} may not {action}: it needs the admin role")

    def require_service(self, action: str) -> None:
        if self.kind != "service" and not self.is_admin:
            raise ForbiddenError(
                f"{self.name} may not {action}: it needs a service account's token"
            )


BOOTSTRAP_CALLER = Caller("bootstrap-admin", "service", frozenset({("admin", None)}))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, token: str | None, bootstrap: str | None = None) -> Caller:
    """The caller a bearer token stands for; UnauthenticatedError when there is none."""
    if not token:
        raise UnauthenticatedError("no bearer token: send 'Authorization: Bearer <token>'")
    if bootstrap and hmac.compare_digest(token, bootstrap):
        return BOOTSTRAP_CALLER
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        raise UnauthenticatedError("the bearer token is unknown or revoked")
    principal = row.principal
    return Caller(
        principal.name,
        principal.kind,
        frozenset((grant.role, grant.domain) for grant in principal.grants),
    )


def ensure_principal(
    session: Session, name: str, kind: str, grants: list[tuple[str, str | None]]
) -> Principal:
    """Create the principal if needed and add the role grants it lacks."""
    if kind not in KINDS:
        raise InvalidRequestError(f"principal kind {kind!r} is not one of {', '.join(KINDS)}")
    principal = session.scalar(select(Principal).where(Principal.name == name))
    if principal is None:
        principal = Principal(name=name, kind=kind)
        session.add(principal)
    have = {(grant.role, grant.domain) for grant in principal.grants}
    for role, domain in grants:
        if role not in ROLES:
            raise InvalidRequestError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if (role in ("domain_owner", "domain_member")) != (domain is not None):
            raise InvalidRequestError(
                f"role {role!r} {'needs' if domain is None else 'takes no'} a domain"
            )
        if (role, domain) not in have:
            principal.grants.append(RoleGrant(role=role, domain=domain))
    session.flush()
    return principal


def issue_token(session: Session, principal: Principal, description: str | None = None) -> str:
    """A new random token for ``principal``; only its hash is stored, so show it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            principal_id=principal.id,
            token_hash=hash_token(token),
            prefix=token[:10],
            description=description,
        )
    )
    session.flush()
    return token
