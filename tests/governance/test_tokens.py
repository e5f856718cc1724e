"""Token lifecycle over real HTTP, on SQLite and PostgreSQL: expiry, listing, rotation, revocation,
grant removal, who may do each, the audit trail, the 0007 migration and the CLI.

Only the ``consumer`` role is granted to the principals made here, except where a test says so:
the last-admin test counts admin grants.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from meshlake.governance import GovernanceSettings, create_app, serve_in_thread, upgrade
from meshlake.governance.cli import governance
from meshlake.governance.db._engine import make_engine
from meshlake.platform.cli import _output
from tests.governance.conftest import BOOTSTRAP, Service, _postgres_server_url

pytestmark = pytest.mark.integration

LISTED_FIELDS = {
    "id",
    "principal",
    "prefix",
    "description",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "status",
    "replaces",
    "replaced_by",
}


def _name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}@example.com"


def _principal(service: Service, stem: str, **body: object) -> dict[str, object]:
    """Create a consumer principal with a token; the response (token, id, expiry)."""
    with service.client() as admin:
        response = admin.post(
            "/api/v1/principals",
            json={"name": _name(stem), "kind": "person", "grants": [{"role": "consumer"}], **body},
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _when(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _get(service: Service, token: object, path: str = "/api/v1/products") -> httpx.Response:
    with service.client(str(token)) as client:
        return client.get(path)


def _listed(service: Service, token_id: object) -> dict[str, object]:
    with service.client() as admin:
        rows = admin.get("/api/v1/tokens", params={"limit": 1000}).json()
    return next(row for row in rows if row["id"] == token_id)


def _audit(service: Service, action: str) -> list[dict[str, object]]:
    with service.client() as admin:
        return list(admin.get("/api/v1/audit", params={"action": action}).json())


# -- expiry --------------------------------------------------------------------------------------


def test_a_token_expires_when_asked_and_by_default_after_the_longest_lifetime(
    service: Service,
) -> None:
    before = datetime.now(UTC)
    week = _principal(service, "week", expires_in_days=7)
    default = _principal(service, "default")
    at = (before + timedelta(days=30)).replace(microsecond=0)
    dated = _principal(service, "dated", expires_at=at.isoformat())
    after = datetime.now(UTC)

    assert before + timedelta(days=7) <= _when(week["expires_at"]) <= after + timedelta(days=7)
    assert (
        before + timedelta(days=365) <= _when(default["expires_at"]) <= after + timedelta(days=365)
    )
    assert _when(dated["expires_at"]) == at
    assert _get(service, week["token"]).status_code == 200
    assert _listed(service, week["id"])["expires_at"] == week["expires_at"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"expires_in_days": 366}, "expires_in_days", "not between 1 and 365"),
        ({"expires_in_days": 0}, "expires_in_days", "greater than or equal to 1"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at", "is not in the future"),
        ({"expires_at": "2099-01-01T00:00:00Z"}, "expires_at", "more than 365 days away"),
        ({"expires_at": "2027-01-01T00:00:00"}, "expires_at", "timezone"),
        (
            {"expires_at": "2027-01-01T00:00:00Z", "expires_in_days": 3},
            "body",
            "not both",
        ),
    ],
)
def test_a_bad_expiry_is_refused_naming_the_field(
    service: Service, body: dict[str, object], field: str, message: str
) -> None:
    with service.client() as admin:
        response = admin.post(
            "/api/v1/principals", json={"name": _name("bad"), "kind": "person", **body}
        )

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(field), detail
    assert message in detail, detail


def test_the_longest_lifetime_comes_from_the_setting(service: Service) -> None:
    app = create_app(
        GovernanceSettings(
            database_url=service.database_url, bootstrap_token=BOOTSTRAP, token_max_days=30
        )
    )
    running = serve_in_thread(app)
    short = Service(running.url, service.database_url)
    try:
        before = datetime.now(UTC)
        default = _principal(short, "short")
        with short.client() as admin:
            refused = admin.post(
                "/api/v1/principals",
                json={"name": _name("long"), "kind": "person", "expires_in_days": 31},
            )
    finally:
        running.stop()
        app.state.engine.dispose()

    assert _when(default["expires_at"]) - before < timedelta(days=30, minutes=1)
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "expires_in_days: 31 is not between 1 and 30, the longest token lifetime "
        "(MESHLAKE_TOKEN_MAX_DAYS)"
    )


def test_an_expired_token_gets_401_saying_when(service: Service) -> None:
    owner = _principal(service, "brief")
    ends = datetime.now(UTC) + timedelta(seconds=2)
    with service.client() as admin:
        issued = admin.post(
            "/api/v1/tokens",
            json={"principal": owner["principal"], "expires_at": ends.isoformat()},
        ).json()
    assert _get(service, issued["token"]).status_code == 200

    time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.2)
    refused = _get(service, issued["token"])

    assert refused.status_code == 401
    stamp = ends.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert refused.json()["detail"] == (
        f"the bearer token (token {issued['id']}) expired at {stamp}; ask an admin for a new "
        "token (or rotate it with another valid token)"
    )
    assert _listed(service, issued["id"])["status"] == "expired"
    assert _get(service, owner["token"]).status_code == 200


# -- listing -------------------------------------------------------------------------------------


def test_the_admin_lists_every_token_or_one_principals_never_the_secret(service: Service) -> None:
    first = _principal(service, "lister", token_description="laptop")
    second = _principal(service, "other")
    with service.client() as admin:
        everyone = admin.get("/api/v1/tokens", params={"limit": 1000})
        one = admin.get("/api/v1/tokens", params={"principal": first["principal"]})
        unknown = admin.get("/api/v1/tokens", params={"principal": "nobody@example.com"})
        issue_unknown = admin.post("/api/v1/tokens", json={"principal": "nobody@example.com"})
        read_unknown = admin.get("/api/v1/principals/nobody@example.com")

    assert everyone.status_code == 200
    ids = {row["id"] for row in everyone.json()}
    assert {first["id"], second["id"]} <= ids
    assert [row["id"] for row in one.json()] == [first["id"]]
    row = one.json()[0]
    assert set(row) == LISTED_FIELDS
    assert row["principal"] == first["principal"]
    assert row["description"] == "laptop"
    assert row["status"] == "active"
    assert row["revoked_at"] is None
    assert str(first["token"]).startswith(row["prefix"])
    secret = str(first["token"])
    for body in (everyone.text, one.text):
        assert secret not in body
        assert hashlib.sha256(secret.encode()).hexdigest() not in body
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == (
        "principal 'nobody@example.com' does not exist; create it with POST /api/v1/principals"
    )
    assert (issue_unknown.status_code, read_unknown.status_code) == (404, 404)


def test_a_principal_lists_only_its_own_tokens(service: Service) -> None:
    mine = _principal(service, "self")
    other = _principal(service, "stranger")
    with service.client() as admin:
        extra = admin.post("/api/v1/tokens", json={"principal": mine["principal"]}).json()
    with service.client(str(mine["token"])) as client:
        own = client.get("/api/v1/tokens")
        named = client.get("/api/v1/tokens", params={"principal": mine["principal"]})
        others = client.get("/api/v1/tokens", params={"principal": other["principal"]})

    assert [row["id"] for row in own.json()] == [mine["id"], extra["id"]]
    assert named.json() == own.json()
    assert others.status_code == 403
    assert others.json()["detail"] == (
        f"{mine['principal']} may not list the tokens of {other['principal']!r}: a principal "
        "lists only its own tokens (the admin lists all)"
    )


def test_last_use_is_recorded_at_most_once_a_minute(service: Service) -> None:
    issued = _principal(service, "user")
    assert _listed(service, issued["id"])["last_used_at"] is None

    before = datetime.now(UTC)
    assert _get(service, issued["token"]).status_code == 200
    first = _listed(service, issued["id"])["last_used_at"]
    assert _get(service, issued["token"]).status_code == 200
    second = _listed(service, issued["id"])["last_used_at"]

    assert first is not None
    assert before - timedelta(seconds=1) <= _when(first) <= datetime.now(UTC)
    assert second == first


# SQLite has one writer and no row locks: there is no lock to skip there.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_request_does_not_wait_for_a_lock_on_its_tokens_row(service: Service) -> None:
    issued = _principal(service, "busy")
    engine = make_engine(service.database_url)
    try:
        with engine.connect() as connection, connection.begin() as held:
            # Another transaction holds the row, as a long request stamping it would.
            connection.execute(
                text("SELECT id FROM api_tokens WHERE id = :id FOR UPDATE"), {"id": issued["id"]}
            )
            started = time.monotonic()
            response = _get(service, issued["token"])
            waited = time.monotonic() - started
            held.rollback()
    finally:
        engine.dispose()

    assert response.status_code == 200
    assert waited < 5
    assert _listed(service, issued["id"])["last_used_at"] is None
    assert _get(service, issued["token"]).status_code == 200
    assert _listed(service, issued["id"])["last_used_at"] is not None


def test_active_lists_only_tokens_that_still_work(service: Service) -> None:
    kept = _principal(service, "active")
    with service.client() as admin:
        gone = admin.post("/api/v1/tokens", json={"principal": kept["principal"]}).json()
        assert admin.delete(f"/api/v1/tokens/{gone['id']}").status_code == 200
        active = admin.get(
            "/api/v1/tokens", params={"principal": kept["principal"], "active": True}
        ).json()

    assert [row["id"] for row in active] == [kept["id"]]


# -- rotation ------------------------------------------------------------------------------------


def test_a_principal_rotates_its_token_and_the_old_one_stops_at_once(service: Service) -> None:
    old = _principal(service, "rotor", expires_in_days=10, token_description="ci")
    with service.client(str(old["token"])) as client:
        response = client.post(f"/api/v1/tokens/{old['id']}/rotate")
    rotated = response.json()

    assert response.status_code == 201, response.text
    assert rotated["principal"] == old["principal"]
    assert rotated["replaces"] == old["id"]
    assert rotated["token"] != old["token"]
    lifetime = _when(rotated["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=9, hours=23) < lifetime <= timedelta(days=10)
    assert rotated["previous"]["status"] == "revoked"
    assert rotated["previous"]["replaced_by"] == rotated["id"]

    assert _get(service, rotated["token"]).status_code == 200
    refused = _get(service, old["token"])
    assert refused.status_code == 401
    assert refused.json()["detail"].startswith(f"the bearer token (token {old['id']}) was revoked")
    assert refused.json()["detail"].endswith("use the token that replaced it (it was rotated)")
    listed = _listed(service, rotated["id"])
    assert (listed["description"], listed["replaces"]) == ("ci", old["id"])

    with service.client(str(rotated["token"])) as client:
        again = client.post(f"/api/v1/tokens/{old['id']}/rotate")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"token {old['id']} was revoked at {_stamp(rotated['previous']['revoked_at'])} and "
        "cannot be rotated; issue a new token instead"
    )


def test_a_grace_period_keeps_the_old_token_working_briefly(service: Service) -> None:
    old = _principal(service, "graceful")
    with service.client() as admin:
        rotated = admin.post(
            f"/api/v1/tokens/{old['id']}/rotate", json={"grace_seconds": 2, "expires_in_days": 3}
        ).json()
        twice = admin.post(f"/api/v1/tokens/{old['id']}/rotate")

    assert _get(service, old["token"]).status_code == 200
    assert _get(service, rotated["token"]).status_code == 200
    assert _when(rotated["expires_at"]) - datetime.now(UTC) <= timedelta(days=3)
    assert twice.status_code == 409
    assert twice.json()["detail"] == (
        f"token {old['id']} was already rotated: token {rotated['id']} replaced it; rotate that one"
    )
    time.sleep(
        max(0.0, (_when(rotated["previous"]["expires_at"]) - datetime.now(UTC)).total_seconds())
        + 0.2
    )
    assert _get(service, old["token"]).status_code == 401
    assert "expired at" in _get(service, old["token"]).json()["detail"]
    assert _get(service, rotated["token"]).status_code == 200


def test_two_rotations_of_one_token_at_once_give_one_new_token(service: Service) -> None:
    old = _principal(service, "racer")

    def rotate(_: int) -> httpx.Response:
        with service.client() as admin:
            return admin.post(f"/api/v1/tokens/{old['id']}/rotate")

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(rotate, range(2)))

    assert sorted(response.status_code for response in responses) == [201, 409]
    refused = next(response for response in responses if response.status_code == 409)
    # Either the second rotation read the first one's result, or both wrote and the unique
    # replaces_id refused the second.
    assert refused.json()["detail"] in {
        f"token {old['id']} was rotated by another request at the same time; list the tokens "
        "to find the one that replaced it",
        f"token {old['id']} was revoked at {_stamp(_listed(service, old['id'])['revoked_at'])} "
        "and cannot be rotated; issue a new token instead",
    }
    assert len(_listed_of(service, old["principal"])) == 2


def test_rotation_refuses_a_bad_grace_period(service: Service) -> None:
    old = _principal(service, "impatient")
    with service.client() as admin:
        response = admin.post(f"/api/v1/tokens/{old['id']}/rotate", json={"grace_seconds": -1})
        missing = admin.post("/api/v1/tokens/999999/rotate")

    assert response.status_code == 422
    assert response.json()["detail"].startswith("grace_seconds:")
    assert _get(service, old["token"]).status_code == 200
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        "token 999999 does not exist; list the tokens to find its id"
    )


# -- revocation ----------------------------------------------------------------------------------


def test_a_revoked_token_gets_401_on_its_next_request(service: Service) -> None:
    issued = _principal(service, "revoked")
    spare = _principal(service, "spare")
    assert _get(service, issued["token"]).status_code == 200
    with service.client(str(issued["token"])) as client:
        revoked = client.delete(f"/api/v1/tokens/{issued['id']}")
        after = client.get("/api/v1/products")
    with service.client() as admin:
        again = admin.delete(f"/api/v1/tokens/{issued['id']}")
        by_post = admin.post(f"/api/v1/tokens/{spare['id']}/revoke")

    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert after.status_code == 401
    assert after.json()["detail"] == (
        f"the bearer token (token {issued['id']}) was revoked at "
        f"{_stamp(revoked.json()['revoked_at'])}; ask an admin for a new token"
    )
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert by_post.json()["status"] == "revoked"
    assert _get(service, spare["token"]).status_code == 401


def test_nobody_but_the_admin_and_the_owner_manages_a_token(service: Service) -> None:
    owner = _principal(service, "owner")
    intruder = _principal(service, "intruder")
    with service.client(str(intruder["token"])) as client:
        revoke = client.delete(f"/api/v1/tokens/{owner['id']}")
        rotate = client.post(f"/api/v1/tokens/{owner['id']}/rotate")
        issue = client.post("/api/v1/tokens", json={"principal": intruder["principal"]})
        principal = client.get(f"/api/v1/principals/{owner['principal']}")
        grants = client.delete(
            f"/api/v1/principals/{intruder['principal']}/grants", params={"role": "consumer"}
        )
        own = client.get(f"/api/v1/principals/{intruder['principal']}")

    assert revoke.status_code == 403
    assert revoke.json()["detail"] == (
        f"{intruder['principal']} may not revoke token {owner['id']}: a principal manages only "
        "its own tokens (the admin manages all)"
    )
    assert rotate.status_code == 403
    assert issue.status_code == 403
    assert principal.status_code == 403
    assert grants.status_code == 403
    assert own.status_code == 200
    assert _get(service, owner["token"]).status_code == 200
    assert len(_listed_of(service, owner["principal"])) == 1
    refusals = [
        entry
        for entry in _audit(service, f"DELETE /api/v1/tokens/{owner['id']}")
        if entry["principal"] == intruder["principal"]
    ]
    assert refusals and refusals[0]["outcome"] == "refused"


# -- grants --------------------------------------------------------------------------------------


def test_removing_a_grant_takes_effect_on_the_next_request(service: Service) -> None:
    name = _name("reader")
    with service.client() as admin:
        # Another admin, so that the reader's admin grant is not the last one (kept: see below).
        keeper = {"name": _name("keeper"), "kind": "person", "grants": [{"role": "admin"}]}
        assert admin.post("/api/v1/principals", json=keeper).status_code == 201
        made = admin.post(
            "/api/v1/principals",
            json={
                "name": name,
                "kind": "person",
                "grants": [
                    {"role": "consumer"},
                    {"role": "admin"},
                    {"role": "domain_member", "domain": "sales"},
                    {"role": "domain_member", "domain": "hr"},
                ],
            },
        ).json()
        shown = admin.get(f"/api/v1/principals/{name}")
    assert shown.status_code == 200
    assert shown.json()["name"] == name
    assert shown.json()["grants"] == [
        {"role": "admin", "domain": None, "zone": None},
        {"role": "consumer", "domain": None, "zone": None},
        {"role": "domain_member", "domain": "hr", "zone": None},
        {"role": "domain_member", "domain": "sales", "zone": None},
    ]
    allowed = _get(service, made["token"], "/api/v1/audit")
    with service.client() as admin:
        removed = admin.delete(f"/api/v1/principals/{name}/grants", params={"role": "admin"})
        absent = admin.delete(f"/api/v1/principals/{name}/grants", params={"role": "admin"})
        unscoped = admin.delete(
            f"/api/v1/principals/{name}/grants", params={"role": "domain_member"}
        )
        by_scope = admin.delete(
            f"/api/v1/principals/{name}/grants",
            params={"role": "domain_member", "scope": "hr"},
        )
        zoned = admin.delete(
            f"/api/v1/principals/{name}/grants", params={"role": "consumer", "zone": "emea"}
        )
        nobody = admin.delete(
            "/api/v1/principals/nobody@example.com/grants", params={"role": "consumer"}
        )
    refused = _get(service, made["token"], "/api/v1/audit")

    assert allowed.status_code == 200
    assert removed.status_code == 200, removed.text
    assert [grant["role"] for grant in removed.json()["grants"]] == [
        "consumer",
        "domain_member",
        "domain_member",
    ]
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"{name} may not read the audit log: it needs the admin role"
    )
    assert absent.status_code == 404
    assert absent.json()["detail"] == (
        f"principal {name!r} has no grant admin; its grants: consumer, domain_member:hr, "
        "domain_member:sales"
    )
    assert by_scope.status_code == 200, by_scope.text
    assert ("domain_member", "hr") not in {
        (grant["role"], grant["domain"]) for grant in by_scope.json()["grants"]
    }
    assert unscoped.status_code == 422
    assert unscoped.json()["detail"] == "domain: a domain_member grant needs its domain"
    assert zoned.status_code == 422
    assert zoned.json()["detail"] == "zone: only a zone_service grant has a zone, not consumer"
    assert nobody.status_code == 404
    assert "nobody@example.com" in nobody.json()["detail"]
    entries = [
        entry for entry in _audit(service, "principal.grant_removed") if entry["target"] == name
    ]
    assert [entry["before"] for entry in entries] == [
        {"grant": "domain_member:hr"},
        {"grant": "admin"},
    ]
    assert entries[1]["principal"] == "bootstrap-admin"
    assert entries[1]["after"] == {
        "grants": ["consumer", "domain_member:hr", "domain_member:sales"]
    }
    assert entries[0]["after"] == {"grants": ["consumer", "domain_member:sales"]}


def test_the_last_admin_grant_is_kept(service: Service) -> None:
    first, second = _name("root"), _name("root")
    for name in (first, second):
        with service.client() as admin:
            created = admin.post(
                "/api/v1/principals",
                json={"name": name, "kind": "person", "grants": [{"role": "admin"}]},
            )
            assert created.status_code == 201
    engine = make_engine(service.database_url)
    try:
        with engine.connect() as connection:
            admins = [
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT p.name FROM principals p JOIN role_grants g "
                        "ON g.principal_id = p.id WHERE g.role = 'admin' ORDER BY p.name"
                    )
                )
            ]
    finally:
        engine.dispose()
    assert first in admins and second in admins
    *others, last = [name for name in admins if name != second] + [second]
    with service.client() as admin:
        for name in others:
            response = admin.delete(f"/api/v1/principals/{name}/grants", params={"role": "admin"})
            assert response.status_code == 200, response.text
        refused = admin.delete(f"/api/v1/principals/{last}/grants", params={"role": "admin"})

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"{last!r} holds the last admin grant; grant admin to another principal first"
    )


# -- audit ---------------------------------------------------------------------------------------


def test_every_change_is_audited(service: Service) -> None:
    owner = _principal(service, "audited", expires_in_days=2)
    with service.client() as admin:
        issued = admin.post("/api/v1/tokens", json={"principal": owner["principal"]}).json()
    with service.client(str(owner["token"])) as client:
        rotated = client.post(f"/api/v1/tokens/{owner['id']}/rotate").json()
        client_token = rotated["token"]
    with service.client(str(client_token)) as client:
        assert client.delete(f"/api/v1/tokens/{issued['id']}").status_code == 200

    created = next(
        entry
        for entry in _audit(service, "principal.token_issued")
        if entry["target"] == owner["principal"]
    )
    assert created["after"]["token"] == owner["id"]
    assert created["after"]["expires_at"] == _stamp(owner["expires_at"])
    issue = next(
        entry
        for entry in _audit(service, "token.issued")
        if entry["target"] == f"token {issued['id']}"
    )
    assert issue["after"]["principal"] == owner["principal"]
    rotation = next(
        entry
        for entry in _audit(service, "token.rotated")
        if entry["target"] == f"token {owner['id']}"
    )
    assert rotation["principal"] == owner["principal"]
    assert rotation["after"]["replaced_by"] == rotated["id"]
    assert rotation["before"] == {"expires_at": _stamp(owner["expires_at"])}
    revocation = next(
        entry
        for entry in _audit(service, "token.revoked")
        if entry["target"] == f"token {issued['id']}"
    )
    assert revocation["principal"] == owner["principal"]


# -- migration -----------------------------------------------------------------------------------


@pytest.fixture
def fresh_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the same kind as the module's."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path_factory.mktemp('fresh') / 'governance.db'}"
        return
    import psycopg

    server = _postgres_server_url()
    assert server is not None
    name = f"meshlake_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_tokens_issued_before_0007_stay_valid_without_expiry(fresh_database: str) -> None:
    secret = "mlk_issued-before-the-lifecycle-migration"
    upgrade(fresh_database, "0006")
    engine = make_engine(fresh_database)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO principals (name, kind, created_at) "
                    "VALUES ('old@example.com', 'person', :now)"
                ),
                {"now": datetime.now(UTC)},
            )
            connection.execute(
                text(
                    "INSERT INTO api_tokens (principal_id, token_hash, prefix, created_at) "
                    "SELECT id, :hash, :prefix, :now FROM principals"
                ),
                {
                    "hash": hashlib.sha256(secret.encode()).hexdigest(),
                    "prefix": secret[:10],
                    "now": datetime.now(UTC),
                },
            )
    finally:
        engine.dispose()
    upgrade(fresh_database)
    app = create_app(GovernanceSettings(database_url=fresh_database))
    running = serve_in_thread(app)
    try:
        with httpx.Client(
            base_url=running.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
        ) as client:
            products = client.get("/api/v1/products")
            own = client.get("/api/v1/tokens")
            rotated = client.post(f"/api/v1/tokens/{own.json()[0]['id']}/rotate")
    finally:
        running.stop()
        app.state.engine.dispose()

    assert products.status_code == 200
    assert own.json()[0]["expires_at"] is None
    assert own.json()[0]["status"] == "active"
    # Rotating a token without expiry gives the new one the longest lifetime.
    lifetime = _when(rotated.json()["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=364) < lifetime <= timedelta(days=365)


# -- CLI -----------------------------------------------------------------------------------------


def test_the_cli_issues_lists_rotates_and_revokes(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESHLAKE_DATABASE_URL", service.database_url)
    # Wide enough that no cell of the table is folded (the console is made at import).
    monkeypatch.setattr(_output.console, "width", 200)
    runner = CliRunner()
    name = _name("cli")
    issued = runner.invoke(
        governance, ["token", "issue", name, "--role", "consumer", "--expires-in-days", "5"]
    )
    assert issued.exit_code == 0, issued.output
    secret = issued.output.strip().splitlines()[-1]
    token_id = _listed_of(service, name)[0]["id"]
    assert f"token {token_id} for {name}, expires " in issued.output
    assert _get(service, secret).status_code == 200

    listed = runner.invoke(governance, ["token", "list", "--principal", name])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if name in line)
    assert f" {token_id} " in line and "active" in line and secret[:10] in line
    assert secret not in listed.output

    rotated = runner.invoke(governance, ["token", "rotate", str(token_id)])
    assert rotated.exit_code == 0, rotated.output
    new_secret = rotated.output.strip().splitlines()[-1]
    assert _get(service, secret).status_code == 401
    assert _get(service, new_secret).status_code == 200

    new_id = _listed_of(service, name)[-1]["id"]
    revoked = runner.invoke(governance, ["token", "revoke", str(new_id)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.output
    assert _get(service, new_secret).status_code == 401

    missing = runner.invoke(governance, ["token", "revoke", "999999"])
    too_long = runner.invoke(governance, ["token", "issue", name, "--expires-in-days", "400"])
    assert missing.exit_code == 1
    assert "error: token 999999 does not exist" in missing.output
    assert too_long.exit_code == 1
    assert "expires_in_days: 400 is not between 1 and 365" in too_long.output


def _listed_of(service: Service, principal: object) -> list[dict[str, object]]:
    with service.client() as admin:
        return list(admin.get("/api/v1/tokens", params={"principal": str(principal)}).json())


def _stamp(value: object) -> str:
    return _when(value).isoformat(timespec="seconds").replace("+00:00", "Z")
