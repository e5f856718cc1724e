"""Who may do what: principals, roles, bearer tokens. Every refusal says why."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Update, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from meshlake.governance._errors import (
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    UnauthenticatedError,
)
from meshlake.governance.db._tables import ApiToken, Domain, Principal, RoleGrant, Zone, utcnow
from meshlake.governance.db._turns import writer_turn
from meshlake.governance.services import _audit

ROLES = ("admin", "domain_owner", "domain_member", "consumer", "zone_service")
DOMAIN_ROLES = ("domain_owner", "domain_member")
KINDS = ("person", "service")
TOKEN_PREFIX = "mlk_"
# last_used_at is written at most this often per token: a write per request would make every read
# request a write transaction (SQLite's single writer, a row lock on PostgreSQL).
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime: SQLite hands stored UTC times back without a zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(moment: datetime | None) -> str:
    """A time for a message: ISO 8601 in UTC to the second."""
    if moment is None:
        return "never"
    return as_utc(moment).isoformat(timespec="seconds").replace("+00:00", "Z")


def token_refusal(row: ApiToken, now: datetime) -> str | None:
    """Why the stored token ``row`` no longer authenticates at ``now``; None while it does."""
    if row.revoked_at is not None:
        return f"the bearer token (token {row.id}) was revoked at {stamp(row.revoked_at)}; " + (
            "use the token that replaced it (it was rotated)"
            if row.replaced_by is not None
            else "ask an admin for a new token"
        )
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        return (
            f"the bearer token (token {row.id}) expired at {stamp(row.expires_at)}; "
            "ask an admin for a new token (or rotate it with another valid token)"
        )
    return None


def authenticate(session: Session, token: str | None, bootstrap: str | None = None) -> Caller:
    """The caller a bearer token stands for; UnauthenticatedError when there is none.

    Revocation, expiry and grants are read at every request, so each takes effect on the next one.
    """
    if not token:
        raise UnauthenticatedError("no bearer token: send 'Authorization: Bearer <token>'")
    if bootstrap and hmac.compare_digest(token, bootstrap):
        return BOOTSTRAP_CALLER
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None:
        raise UnauthenticatedError("the bearer token is unknown or revoked")
    now = utcnow()
    refusal = token_refusal(row, now)
    if refusal is not None:
        raise UnauthenticatedError(refusal)
    _touch(session, row, now)
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


def _touch(session: Session, row: ApiToken, now: datetime) -> None:
    """Record the token's use when the last record is a minute old or more.

    On PostgreSQL it is written in the request's transaction (a request that fails is not
    recorded); on SQLite in a short transaction of its own (see below), so an authenticated request
    that fails later still counts as a use. The condition is repeated in the UPDATE so that
    concurrent requests write it once, and on PostgreSQL a row another request is already stamping
    is skipped (SKIP LOCKED) rather than waited for until that request ends; SQLite has one writer
    and no row locks.
    """
    cutoff = now - LAST_USED_RESOLUTION
    if row.last_used_at is not None and as_utc(row.last_used_at) > cutoff:
        return
    statement = _stamp_if_stale(row.id, cutoff, now)
    engine = session.get_bind().engine
    if engine.dialect.name == "sqlite":
        # Not in the request's transaction: its write lock would be held until the request ends,
        # and a lineage ingest of this request then waits for its writer turn while the thread in
        # that turn waits for this lock (db/_turns.py). Stamped in a turn of its own, committed.
        with writer_turn(session), engine.connect() as connection, connection.begin():
            connection.execute(statement)
    else:
        session.execute(statement)
    # Mirror the written value without marking the row dirty (no second UPDATE at flush).
    set_committed_value(row, "last_used_at", now)


def _stamp_if_stale(token_id: int, cutoff: datetime, now: datetime) -> Update:
    stale = (
        select(ApiToken.id)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= cutoff),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(ApiToken)
        .where(ApiToken.id == stale)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


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


def issue(
    session: Session,
    principal: Principal,
    description: str | None = None,
    *,
    expires_at: datetime | None = None,
    replaces: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A new random token for ``principal``: its row and its secret.

    Only the hash is stored, so the secret can be shown once. ``expires_at`` None means no expiry:
    the API and the CLI always pass one (see ``_tokens.expiry``).
    """
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        principal_id=principal.id,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        description=description,
        expires_at=expires_at,
        replaces=replaces,
    )
    session.add(row)
    session.flush()
    return row, secret


def issue_token(
    session: Session,
    principal: Principal,
    description: str | None = None,
    *,
    expires_at: datetime | None = None,
) -> str:
    """A new random token for ``principal``; only its hash is stored, so show it once."""
    return issue(session, principal, description, expires_at=expires_at)[1]


def find_principal(session: Session, name: str) -> Principal:
    principal = session.scalar(select(Principal).where(Principal.name == name))
    if principal is None:
        raise NotFoundError(
            f"principal {name!r} does not exist; create it with POST /api/v1/principals"
        )
    return principal


def grant_label(role: str, scope: str | None) -> str:
    return f"{role}:{scope}" if scope else role


def grants_of(principal: Principal) -> list[tuple[str, str | None]]:
    """The principal's grants as (role, scope), sorted."""
    return sorted(
        ((grant.role, grant.zone if grant.role == "zone_service" else grant.domain))
        for grant in principal.grants
    )


def read_principal(session: Session, caller: Caller, name: str) -> Principal:
    """The principal ``name`` with its grants: the admin reads any, a principal itself."""
    if not caller.is_admin and caller.name != name:
        raise ForbiddenError(
            f"{caller.name} may not read principal {name!r}: it reads only itself (or admin)"
        )
    return find_principal(session, name)


def remove_grant(
    session: Session, caller: Caller, name: str, role: str, scope: str | None
) -> tuple[Principal, RoleGrant]:
    """Remove the grant (role, scope) of principal ``name``; admin only.

    The caller's roles are read at every request, so the principal loses the grant on its next one.
    The last admin grant is kept: without it only a bootstrap token could administer the service.
    """
    caller.require_admin("remove grants")
    if role not in ROLES:
        raise InvalidRequestError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    principal = find_principal(session, name)
    grant = next(
        (
            grant
            for grant in principal.grants
            if grant.role == role
            and (grant.zone if role == "zone_service" else grant.domain) == scope
        ),
        None,
    )
    if grant is None:
        held = ", ".join(grant_label(*held) for held in grants_of(principal)) or "none"
        raise NotFoundError(
            f"principal {name!r} has no grant {grant_label(role, scope)}; its grants: {held}"
        )
    if role == "admin":
        admins = session.scalar(select(func.count()).where(RoleGrant.role == "admin"))
        if admins == 1:
            raise ConflictError(
                f"{name!r} holds the last admin grant; grant admin to another principal first"
            )
    principal.grants.remove(grant)
    session.flush()
    _audit.record(
        session,
        principal=caller.name,
        action="principal.grant_removed",
        target=name,
        before={"grant": grant_label(role, scope)},
        after={"grants": [grant_label(*held) for held in grants_of(principal)]},
    )
    return principal, grant
