"""Every route of the application, walked: each says on itself what it asks of a credential
(http/route_permissions.py), and is held to it with no credential, a wrong one, a valid one lacking the
permission, and valid ones scoped elsewhere (to another login source, to another account).

The routes come from the application, so a new route is walked too: one that says nothing, or for which
no example request is written here, fails.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from provisionhub.app import create_app
from provisionhub.auth.oauth import GrantPolicy, create_client, issue_token
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.directory.operations import utcnow
from provisionhub.http.route_permissions import NEEDS, PUBLIC, REFUSED
from provisionhub.settings import Settings
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import Cli

pytestmark = pytest.mark.anyio

#: Every permission but admin: what a credential holds that lacks only what a route needs.
EVERY = [p for p in Permission if p is not Permission.ADMIN]
#: Routes of the application itself, not of a dialect: its documentation.
APPLICATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _routes() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, what the route says of credentials) for every route of the application."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    found = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, route.path, dict(getattr(route, "openapi_extra", None) or {})))
    return found


ROUTES = _routes()


@dataclass
class World:
    """Someone to touch (target: pushed from OPS-COM, a member of account, in group), an account with a
    building granted an entitlement, another account, and the credentials the walk presents."""

    target: str = ""
    account: str = ""
    building: str = ""
    entitlement: str = ""
    elsewhere: str = ""
    group: str = ""
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # kind -> (name, secret)
    access_tokens: dict[str, str] = field(default_factory=dict)  # kind -> OAuth access token


def _token(database: Database, permissions: list[Permission], **scope: Any) -> tuple[str, str]:
    name = f"walk-{uuid.uuid4().hex[:8]}"
    with database.transaction() as conn:
        return name, create_token(conn, name, permissions, **scope)


def _access_token(database: Database, permissions: list[Permission], **scope: Any) -> str:
    now = utcnow()
    with database.transaction() as conn:
        client = create_client(conn, f"walk-{uuid.uuid4().hex[:8]}", permissions, now, **scope)
        issued = issue_token(conn, client.client_id, client.secret, now, GrantPolicy())
    return issued.access_token  # type: ignore[union-attr]


@pytest.fixture
async def world(client: httpx.AsyncClient, database: Database, cli: Cli) -> World:
    world = World()
    cli("login-source", "add", "OTHER", "Other")
    world.entitlement = cli("permission", "add", "reading", "Reading").stdout.strip()
    world.tokens["admin"] = _token(database, [Permission.ADMIN])
    admin = {"Authorization": f"Bearer {world.tokens['admin'][1]}"}
    pushed = await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        json={
            "apiToken": world.tokens["admin"][1],
            "unique_id": "t-1",
            "login_source": "OPSCOM",
            "user_name": "target",
            "first_name": "Tess",
            "last_name": "Target",
            "email": "target@school.example.org",
        },
    )
    assert pushed.status_code == 200, pushed.text
    found = await client.get("/scim/v2/Users", params={"filter": 'userName eq "target"'}, headers=admin)
    world.target = found.json()["Resources"][0]["id"]
    accounts = await client.post(
        "/myon/accounts", json=[{"title": "Here"}, {"title": "There"}], headers=admin
    )
    world.account, world.elsewhere = (item["myon_id"] for item in accounts.json())
    building = await client.post(
        "/myon/buildings", json=[{"title": "School", "account_id": world.account}], headers=admin
    )
    world.building = building.json()[0]["myon_id"]
    granted = await client.post(
        "/myon/permissions",
        json=[{"building_id": world.building, "permission_id": world.entitlement}],
        headers=admin,
    )
    assert granted.status_code == 201, granted.text
    member = {"myon_id": world.target, "account_id": world.account, "user_role_id": 6}
    joined = await client.post("/myon/users", json=[member], headers=admin)
    assert joined.status_code == 200, joined.text
    group = {"displayName": "Walkers", "members": [{"value": world.target}]}
    made = await client.post("/scim/v2/Groups", json=group, headers=admin)
    world.group = made.json()["id"]
    for kind, scope in (("scoped", {"login_sources": ["OTHER"]}), ("district", {"account": world.elsewhere})):
        world.tokens[kind] = _token(database, EVERY, **scope)
    world.access_tokens["scoped"] = _access_token(database, EVERY, login_sources=["OTHER"])
    world.access_tokens["district"] = world.access_tokens["scoped"]  # OAuth clients know no accounts
    return world


# -- example requests, one a route ------------------------------------------------------------------------

Example = Callable[[World], dict[str, Any]]
_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _push(world: World) -> dict[str, Any]:
    return {"json": {"unique_id": "t-1", "login_source": "OPSCOM", "first_name": "Mallory"}}


def _user_patch(world: World) -> dict[str, Any]:
    operation = {"op": "replace", "path": "name.givenName", "value": "Mallory"}
    return {"json": {"schemas": [_PATCH], "Operations": [operation]}}


def _group_patch(world: World) -> dict[str, Any]:
    return {
        "json": {"schemas": [_PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "X"}]}
    }


def _comanage(world: World) -> dict[str, Any]:
    return {"json": {"person": {"meta": {"id": "co-1"}, "names": [{"given": "Carla", "family": "Co"}]}}}


def _uniweb(world: World) -> dict[str, Any]:
    return {
        "json": {"action": "read", "content": "members", "id": "target", "resources": ["profile/biography"]}
    }


EXAMPLES: dict[str, Example] = {
    "POST /opscom/api/OC_TOMA/v1/profiles/push": _push,
    "POST /opscom/api/OC_TOMA/v1/profiles/types/list": lambda w: {"json": {}},
    "POST /myon/users": lambda w: {
        "json": [
            {
                "myon_id": w.target,
                "account_id": w.account,
                "user_role_id": 5,
                "building_id": w.building,
                "name_first": "Mallory",
            }
        ]
    },
    "GET /myon/users/{myon_id}": lambda w: {"path": {"myon_id": w.target}},
    "POST /myon/accounts": lambda w: {"json": [{"myon_id": w.account, "title": "Renamed"}]},
    "GET /myon/accounts/{myon_id}": lambda w: {"path": {"myon_id": w.account}},
    "POST /myon/buildings": lambda w: {"json": [{"myon_id": w.building, "title": "Renamed"}]},
    "GET /myon/buildings/{myon_id}": lambda w: {"path": {"myon_id": w.building}},
    "POST /myon/permissions": lambda w: {
        "json": [{"building_id": w.building, "permission_id": w.entitlement, "active": False}]
    },
    "GET /ocl/users": lambda w: {"params": {"q": "target"}},
    "POST /ocl/users": lambda w: {"json": {"username": "newcomer", "email": "newcomer@school.example.org"}},
    "GET /ocl/user": lambda w: {},
    "POST /ocl/user": lambda w: {"json": {"company": "Mallory Inc."}},
    "PUT /ocl/user": lambda w: {"json": {"company": "Mallory Inc."}},
    "DELETE /ocl/user": lambda w: {},
    "PUT /ocl/users/{user}/reactivate": lambda w: {"path": {"user": "target"}},
    "GET /ocl/users/{user}": lambda w: {"path": {"user": "target"}},
    "POST /ocl/users/{user}": lambda w: {"path": {"user": "target"}, "json": {"company": "Mallory Inc."}},
    "PUT /ocl/users/{user}": lambda w: {"path": {"user": "target"}, "json": {"company": "Mallory Inc."}},
    "DELETE /ocl/users/{user}": lambda w: {"path": {"user": "target"}},
    "POST /scim/v2/Users": lambda w: {"json": {"schemas": [_USER], "userName": "newcomer"}},
    "GET /scim/v2/Users": lambda w: {"params": {"filter": 'userName eq "target"'}},
    "POST /scim/v2/Users/.search": lambda w: {"json": {"filter": 'userName eq "target"'}},
    "GET /scim/v2/Users/{resource_id}": lambda w: {"path": {"resource_id": w.target}},
    "PUT /scim/v2/Users/{resource_id}": lambda w: {
        "path": {"resource_id": w.target},
        "json": {"schemas": [_USER], "userName": "target", "name": {"givenName": "Mallory"}},
    },
    "PATCH /scim/v2/Users/{resource_id}": lambda w: {"path": {"resource_id": w.target}, **_user_patch(w)},
    "DELETE /scim/v2/Users/{resource_id}": lambda w: {"path": {"resource_id": w.target}},
    "POST /scim/v2/Groups": lambda w: {"json": {"displayName": "Mine", "members": [{"value": w.target}]}},
    "GET /scim/v2/Groups": lambda w: {"params": {"filter": f'members[value eq "{w.target}"]'}},
    "POST /scim/v2/Groups/.search": lambda w: {"json": {"filter": "displayName pr"}},
    "GET /scim/v2/Groups/{resource_id}": lambda w: {"path": {"resource_id": w.group}},
    "PUT /scim/v2/Groups/{resource_id}": lambda w: {
        "path": {"resource_id": w.group},
        "json": {"displayName": "Renamed", "members": [{"value": w.target}]},
    },
    "PATCH /scim/v2/Groups/{resource_id}": lambda w: {"path": {"resource_id": w.group}, **_group_patch(w)},
    "DELETE /scim/v2/Groups/{resource_id}": lambda w: {"path": {"resource_id": w.group}},
    "POST /scim/v2/.search": lambda w: {"json": {"filter": 'userName eq "target"'}},
    "POST /scim/v2/Bulk": lambda w: {
        "json": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{"method": "DELETE", "path": f"/Users/{w.target}"}],
        }
    },
    "POST /uniweb/api/resource.php": _uniweb,
    "GET /uniweb/api/resource.php": lambda w: {
        "params": {"action": "read", "content": "members", "id": "target"}
    },
    "POST /comanage/people": _comanage,
    "PUT /comanage/people/{identifier:path}": lambda w: {"path": {"identifier:path": "co-1"}, **_comanage(w)},
    "POST /comanage/people/{identifier:path}": lambda w: {
        "path": {"identifier:path": "co-1"},
        **_comanage(w),
    },
    "DELETE /comanage/people/{identifier:path}": lambda w: {"path": {"identifier:path": "t-1"}},
}


def _key(method: str, path: str) -> str:
    return f"{method} {path.rstrip('/') if path != '/' else path}"


# -- presenting a credential, as each dialect takes it ----------------------------------------------------


def _request(
    method: str, path: str, example: dict[str, Any], credential: tuple[str, str] | str | None
) -> dict[str, Any]:
    """The request for an example, presenting credential as the route's dialect takes it: an API token
    (its name and secret), an OAuth access token (UNIWeb), or nothing."""
    url = path
    for name, value in example.get("path", {}).items():
        url = url.replace("{" + name + "}", value)
    request: dict[str, Any] = {"method": method, "url": url, "headers": {}}
    if "params" in example:
        request["params"] = dict(example["params"])
    body = example.get("json")
    if path.startswith("/opscom"):
        body = dict(body or {})
        if credential is not None:
            body["apiToken"] = credential[1] if isinstance(credential, tuple) else credential
    elif path.startswith("/uniweb"):
        if credential is not None:
            request["params"] = {**request.get("params", {}), "access_token": credential}
    elif path.startswith("/comanage"):
        if credential is not None:
            name, secret = credential if isinstance(credential, tuple) else ("nobody", credential)
            basic = base64.b64encode(f"{name}:{secret}".encode()).decode()
            request["headers"]["Authorization"] = f"Basic {basic}"
    elif credential is not None:
        secret = credential[1] if isinstance(credential, tuple) else credential
        request["headers"]["Authorization"] = f"{'Token' if path.startswith('/ocl') else 'Bearer'} {secret}"
    if body is not None:
        request["json"] = body
    return request


def _credential(world: World, path: str, kind: str) -> tuple[str, str] | str:
    if path.startswith("/uniweb"):
        return world.access_tokens["scoped" if kind == "admin" else kind]
    return world.tokens[kind]


def _lacking(database: Database, path: str, needed: list[str]) -> tuple[str, str] | str:
    """A credential holding every permission but those the route needs."""
    held = [p for p in EVERY if p.value not in needed]
    if path.startswith("/uniweb"):
        return _access_token(database, held)
    return _token(database, held)


# -- what must not change, and must not be told ------------------------------------------------------------


def _state(database: Database, world: World) -> tuple[Any, ...]:
    """The target person, the account, the group and the grant as stored, and what the log says of them."""
    t = tables
    with database.snapshot() as conn:
        person = conn.execute(select(t.people).where(t.people.c.public_id == world.target)).mappings().one()
        account = conn.execute(
            select(t.organisations).where(t.organisations.c.public_id == world.account)
        ).one()
        logged = conn.execute(
            select(func.count()).where(t.changes.c.entity_id.in_([world.target, world.account, world.group]))
        ).scalar_one()
        memberships = conn.execute(select(func.count()).select_from(t.group_members)).scalar_one()
        grants = conn.execute(select(t.grants.c.active)).all()
    return dict(person), tuple(account), logged, memberships, grants


@pytest.mark.parametrize(("method", "path", "says"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_every_route_holds_to_what_it_says_of_credentials(
    client: httpx.AsyncClient, database: Database, world: World, method: str, path: str, says: dict[str, Any]
) -> None:
    if path in APPLICATION:
        return  # the application's documentation: open, and about no one
    kinds = [k for k in (NEEDS, PUBLIC, REFUSED) if k in says]
    assert len(kinds) == 1, (
        f"{method} {path} must say what it asks of a credential: {NEEDS}, {PUBLIC} or {REFUSED}"
    )
    if PUBLIC in says:
        assert says[PUBLIC], f"{method} {path}: a public route says why"
        return
    example = EXAMPLES.get(_key(method, path))
    assert example is not None, f"no example request for {method} {path}: write one in EXAMPLES"
    asked = example(world)

    async def send(credential: tuple[str, str] | str | None) -> httpx.Response:
        return await client.request(**_request(method, path, asked, credential))

    before = _state(database, world)
    assert (await send(None)).status_code == 401, "no credential"
    wrong = "pha-wrong" if path.startswith("/uniweb") else ("ghost", "ph-" + "x" * 40)
    assert (await send(wrong)).status_code == 401, "a wrong credential"
    if REFUSED in says:
        refused = await send(_credential(world, path, "admin"))
        assert refused.status_code in (403, 405), refused.text
        assert _state(database, world) == before
        return
    needed = list(says[NEEDS])
    lacking = await send(_lacking(database, path, needed))
    assert lacking.status_code == 403, f"a credential lacking {needed}: {lacking.status_code} {lacking.text}"
    assert _state(database, world) == before
    for kind in ("scoped", "district"):
        before = _state(database, world)
        answer = await send(_credential(world, path, kind))
        assert answer.status_code < 500, answer.text
        for private in ("Tess", "target@school"):  # what only the directory knows of the target
            assert private not in answer.text, (kind, answer.text)
        now = _state(database, world)
        if kind == "district":  # scoped to another account: touches nothing here
            assert now == before, f"an account-scoped credential changed what is not its: {answer.text}"
        else:  # of another login source: touches no person (organisations are no source's)
            assert (now[0], now[3]) == (before[0], before[3]), f"another source's credential: {answer.text}"
