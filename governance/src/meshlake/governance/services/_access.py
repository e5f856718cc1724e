"""Who may do what: principals, roles, bearer tokens. Every refusal says why."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshlake.governance._errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    UnauthenticatedError,
)
from meshlake.governance.db._tables import ApiToken, Domain, Principal, RoleGrant, Zone

ROLES = ("admin", "domain_owner", "domain_member", "consumer", "zone_service")
DOMAIN_ROLES = ("domain_owner", "domain_member")
KINDS = ("person", "service")
TOKEN_PREFIX = "mlk_"


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of a request, with its roles.

    ``roles`` holds (role, scope): the domain of a domain role, the zone of a ``zone_service``
    grant, None otherwise. ``hosted`` holds the (zone, domain) pairs its ``zone_service`` zones
    host, read from the catalog when the caller authenticates: such a principal writes those
    domains as their members do.
    """

    name: str
    kind: str
    roles: frozenset[tuple[str, str | None]] = field(default_factory=frozenset)
    hosted: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return ("admin", None) in self.roles

    @property
    def zones(self) -> frozenset[str]:
        return frozenset(scope for role, scope in self.roles if role == "zone_service" and scope)

    def may_write_domain(self, domain: str) -> bool:
        return (
            self.is_admin
            or any(role in DOMAIN_ROLES and scope == domain for role, scope in self.roles)
            or any(hosted == domain for _, hosted in self.hosted)
        )

    def may_write_job(self, namespace: str, name: str) -> bool:
        """Whether this caller may record lineage of the OpenLineage job ``namespace``/``name``.

        A meshlake job is named ``domain.product`` in its landing zone's namespace: a domain's
        writers record its jobs (any namespace), a zone_service principal the jobs of its zone's
        namespace whose domain the zone hosts, the admin any job. Only the job is looked at.
        """
        if self.is_admin:
            return True
        domain = name.split(".", 1)[0] if "." in name else None
        if domain is None:
            return False
        return (namespace, domain) in self.hosted or any(
            role in DOMAIN_ROLES and scope == domain for role, scope in self.roles
        )

    def require_domain_writer(self, domain: str, action: str) -> None:
        if not self.may_write_domain(domain):
            raise ForbiddenError(
                f"{self.name} may not {action}: it needs the domain_owner or domain_member role "
                f"of domain {domain!r}, or the zone_service role of the zone hosting it (or admin)"
            )

    def require_jobs(self, jobs: Iterable[tuple[str, str]], action: str) -> None:
        """ForbiddenError naming the first job (namespace, name) this caller may not write."""
        if self.is_admin:
            return
        for namespace, name in sorted(jobs):
            if not self.may_write_job(namespace, name):
                raise ForbiddenError(
                    f"{self.name} may not {action} of job {namespace}/{name}: it records lineage "
                    f"only for jobs named '<domain>.<product>' of its domains ({self._scope()})"
                )

    def _scope(self) -> str:
        domains = sorted({scope for role, scope in self.roles if role in DOMAIN_ROLES and scope})
        parts = [f"domain {', '.join(domains)}"] if domains else []
        for zone in sorted(self.zones):
            hosted = sorted(domain for where, domain in self.hosted if where == zone)
            parts.append(
                f"zone {zone}: namespace {zone!r}, domain {', '.join(hosted) or 'none registered'}"
            )
        return "; ".join(parts) or "it has no domain or zone_service role"

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
    roles = frozenset(
        (grant.role, grant.zone if grant.role == "zone_service" else grant.domain)
        for grant in principal.grants
    )
    zones = {scope for role, scope in roles if role == "zone_service" and scope}
    hosted: frozenset[tuple[str, str]] = frozenset()
    if zones:
        # Read at every request: a domain moved to another zone leaves that zone's scope at once.
        found = session.execute(
            select(Zone.name, Domain.name)
            .join(Domain, Domain.zone_id == Zone.id)
            .where(Zone.name.in_(zones))
        )
        hosted = frozenset((zone, domain) for zone, domain in found)
    return Caller(principal.name, principal.kind, roles, hosted)


def ensure_principal(
    session: Session, name: str, kind: str, grants: list[tuple[str, str | None]]
) -> Principal:
    """Create the principal if needed and add the role grants it lacks.

    ``grants`` are (role, scope): the domain of domain_owner and domain_member, the landing zone
    of zone_service (a service principal's role: member of every domain that zone hosts), None
    for admin and consumer.
    """
    if kind not in KINDS:
        raise InvalidRequestError(f"principal kind {kind!r} is not one of {', '.join(KINDS)}")
    principal = session.scalar(select(Principal).where(Principal.name == name))
    if principal is None:
        principal = Principal(name=name, kind=kind)
        session.add(principal)
    have = {
        (grant.role, grant.zone if grant.role == "zone_service" else grant.domain)
        for grant in principal.grants
    }
    for role, scope in grants:
        if role not in ROLES:
            raise InvalidRequestError(f"role {role!r} is not one of {', '.join(ROLES)}")
        scoped = role in DOMAIN_ROLES or role == "zone_service"
        if scoped != (scope is not None):
            what = "a zone" if role == "zone_service" else "a domain"
            raise InvalidRequestError(
                f"role {role!r} {'needs' if scope is None else 'takes no'} "
                f"{what if scoped else 'domain or zone'}"
            )
        if role == "zone_service" and principal.kind != "service" and kind == "service":
            # The request is sound; what is stored contradicts it.
            raise ConflictError(
                f"{name!r} is registered as a {principal.kind}; role 'zone_service' is for "
                "service principals (use another name for the service)"
            )
        if role == "zone_service" and principal.kind != "service":
            raise InvalidRequestError(
                f"role 'zone_service' is for service principals; {name!r} is a {principal.kind}"
            )
        if (role, scope) in have:
            continue
        if role == "zone_service":
            principal.grants.append(RoleGrant(role=role, zone=scope))
        else:
            principal.grants.append(RoleGrant(role=role, domain=scope))
        have.add((role, scope))
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
