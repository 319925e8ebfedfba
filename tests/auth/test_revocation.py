"""A token revoked, or its permissions changed, outside the serving app (by the command line, or any
other process) is refused at the app's next request that presents it, read or write, however recently
the app accepted it: what the app remembers of tokens never outlives a change to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from provisionhub.app import create_app
from provisionhub.settings import Settings
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import Cli, MakeToken
from tests.dialects.scim.conftest import new_user

pytestmark = pytest.mark.anyio

USERS = "/scim/v2/Users"
TYPES = "/opscom/api/OC_TOMA/v1/profiles/types/list"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: What the tokens here may do.
EVERYTHING_TO_USERS = ("user-create", "user-read", "user-update", "user-delete")


def new_token(cli: Cli, name: str, *permissions: str) -> str:
    """A token made by the command line, in its own process's connections: never the app's."""
    flags = [arg for permission in permissions for arg in ("--permission", permission)]
    return cli("token", "create", name, *flags).stdout.strip()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def elsewhere(database_url: str, statement: Any) -> None:
    """Run statement in a transaction of an engine of its own, as another process would."""
    other = Database(database_url)
    try:
        with other.transaction() as conn:
            conn.execute(statement)
    finally:
        other.dispose()


@asynccontextmanager
async def serving(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app over database, started now, and a client talking to it."""
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def title(database: Database, public_id: str) -> str | None:
    with database.snapshot() as conn:
        people = tables.people
        return conn.execute(select(people.c.title).where(people.c.public_id == public_id)).scalar_one()


def patch_title(value: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": value}]}


async def test_a_token_revoked_by_the_command_line_is_refused_at_the_next_scim_read(
    client: httpx.AsyncClient, cli: Cli
) -> None:
    secret = new_token(cli, "sis", *EVERYTHING_TO_USERS)
    made = await client.post(USERS, headers=bearer(secret), json=new_user())
    url = f"{USERS}/{made.json()['id']}"
    reads = [await client.get(url, headers=bearer(secret)) for _ in range(3)]  # the later ones remembered

    cli("token", "revoke", "sis")
    refused = await client.get(url, headers=bearer(secret))
    listed = await client.get(USERS, headers=bearer(secret))

    assert made.status_code == 201, made.text
    assert [r.status_code for r in reads] == [200, 200, 200]
    assert refused.status_code == 401
    assert listed.status_code == 401


async def test_a_token_revoked_by_the_command_line_is_refused_at_the_next_opscom_read(
    client: httpx.AsyncClient, cli: Cli
) -> None:
    secret = new_token(cli, "banner", "user-read")
    reads = [await client.post(TYPES, json={"apiToken": secret}) for _ in range(3)]

    cli("token", "revoke", "banner")
    refused = await client.post(TYPES, json={"apiToken": secret})

    assert [r.json()["status"] for r in reads] == ["success"] * 3
    assert refused.status_code == 401
    assert refused.json()["ErrorCode"] == 9001


async def test_a_token_revoked_by_the_command_line_is_refused_at_the_next_scim_write(
    client: httpx.AsyncClient, cli: Cli, database: Database
) -> None:
    secret = new_token(cli, "hr", *EVERYTHING_TO_USERS)
    made = (await client.post(USERS, headers=bearer(secret), json=new_user())).json()
    url = f"{USERS}/{made['id']}"
    writes = [await client.patch(url, headers=bearer(secret), json=patch_title(t)) for t in ("One", "Two")]

    cli("token", "revoke", "hr")
    refused = await client.patch(url, headers=bearer(secret), json=patch_title("Three"))
    deleted = await client.delete(url, headers=bearer(secret))

    assert [w.status_code for w in writes] == [200, 200]
    assert (refused.status_code, deleted.status_code) == (401, 401)
    assert title(database, made["id"]) == "Two"


async def test_a_token_revoked_after_writes_that_wrote_nothing_is_refused_at_the_next_one(
    client: httpx.AsyncClient, cli: Cli
) -> None:
    """The app's writer has written nothing yet: each write found no User (404)."""
    secret = new_token(cli, "cleaner", *EVERYTHING_TO_USERS)
    gone = f"{USERS}/no-such-user"
    misses = [await client.delete(gone, headers=bearer(secret)) for _ in range(2)]
    tries = [await client.patch(gone, headers=bearer(secret), json=patch_title("x")) for _ in range(2)]

    cli("token", "revoke", "cleaner")
    refused = await client.delete(gone, headers=bearer(secret))
    refused_patch = await client.patch(gone, headers=bearer(secret), json=patch_title("x"))

    assert [m.status_code for m in misses + tries] == [404] * 4
    assert (refused.status_code, refused_patch.status_code) == (401, 401)


async def test_a_token_revoked_by_another_process_between_writes_is_refused_at_the_next_push(
    client: httpx.AsyncClient, cli: Cli, database_url: str
) -> None:
    secret = new_token(cli, "registrar", "user-create")
    pushes = [
        await client.post(
            "/opscom/api/OC_TOMA/v1/profiles/push",
            json={
                "apiToken": secret,
                "unique_id": f"s-{n}",
                "login_source": "OPSCOM",
                "first_name": "Grace",
                "last_name": "Hopper",
                "user_name": f"grace{n}",
                "email": f"grace{n}@school.example.org",
            },
        )
        for n in (1, 2)
    ]

    revoked = update(tables.api_tokens).where(tables.api_tokens.c.name == "registrar")
    elsewhere(database_url, revoked.values(revoked_at=datetime.now(UTC)))
    refused = await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        json={"apiToken": secret, "unique_id": "s-1", "login_source": "OPSCOM", "first_name": "Ada"},
    )

    assert [p.json()["status"] for p in pushes] == ["success", "success"]
    assert refused.status_code == 401
    assert refused.json()["ErrorCode"] == 9001


async def test_permissions_changed_by_another_process_hold_from_the_next_request(
    client: httpx.AsyncClient, cli: Cli, database_url: str
) -> None:
    secret = new_token(cli, "auditor", *EVERYTHING_TO_USERS)
    made = (await client.post(USERS, headers=bearer(secret), json=new_user())).json()
    url = f"{USERS}/{made['id']}"
    reads = [await client.get(url, headers=bearer(secret)) for _ in range(2)]
    writes = [await client.patch(url, headers=bearer(secret), json=patch_title(t)) for t in ("A", "B")]

    narrowed = update(tables.api_tokens).where(tables.api_tokens.c.name == "auditor")
    elsewhere(database_url, narrowed.values(permissions=["group-read"]))
    read = await client.get(url, headers=bearer(secret))
    write = await client.patch(url, headers=bearer(secret), json=patch_title("C"))

    assert [r.status_code for r in reads + writes] == [200, 200, 200, 200]
    assert (read.status_code, write.status_code) == (403, 403)


async def test_a_token_made_on_the_apps_database_before_it_served_is_refused_once_revoked(
    settings: Settings, database: Database, make_token: MakeToken, cli: Cli
) -> None:
    """As `serve` does on its first start: the admin token is made through the database the app then
    serves from, whose connections have written before the first request."""
    secret = make_token("user-read", name="admin")
    async with serving(settings, database) as client:
        reads = [await client.post(TYPES, json={"apiToken": secret}) for _ in range(3)]

        cli("token", "revoke", "admin")
        refused = await client.post(TYPES, json={"apiToken": secret})

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert refused.status_code == 401
