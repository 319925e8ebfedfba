"""Every write path commits its rows, its change-log entries and its outbox events together, or nothing:
a write that fails at the change log or at the outbox (a storage fault, injected) is answered with an
error and leaves the database as it was, and the same request, sent again once the fault is gone, is
written whole."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from provisionhub.app import create_app
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from tests.conftest import Cli, MakeToken
from tests.dialects.comanage.conftest import basic
from tests.dialects.scim.conftest import new_user
from tests.factories import opscom_push
from tests.faults import FAULT, contents, failing_inserts

pytestmark = pytest.mark.anyio

PUSH = "/opscom/api/OC_TOMA/v1/profiles/push"
USERS = "/scim/v2/Users"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BIOGRAPHY = "profile/biography"
_serial = itertools.count(1)


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, answering what it raises with its 500 (as the server would) rather than
    raising it into the test."""
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@dataclass(frozen=True)
class Tools:
    """What a write path's preparation may use: the app, tokens, the command line."""

    client: httpx.AsyncClient
    make_token: MakeToken
    cli: Cli


@dataclass(frozen=True)
class Call:
    """One request, sent as often as the test needs."""

    method: str
    url: str
    options: dict[str, Any]

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        return await client.request(self.method, self.url, **self.options)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def scim_token(tools: Tools) -> dict[str, str]:
    return bearer(tools.make_token("user-create", "user-read", "user-update", "group-read", "group-write"))


async def scim_user(tools: Tools, headers: dict[str, str]) -> dict[str, Any]:
    made = await tools.client.post(USERS, headers=headers, json=new_user())
    assert made.status_code == 201, made.text
    return dict(made.json())


def uniweb_resource(access: str, request: Any) -> Call:
    """UNIWeb's resource endpoint, the request object sent as its PHP client sends it (multipart)."""
    url = f"/uniweb/api/resource.php?access_token={access}"
    return Call("POST", url, {"files": {"request": (None, json.dumps(request))}})


# -- the write paths: each makes what its write needs, and gives the write ---------------------------


async def opscom_push_of_a_new_person(tools: Tools) -> Call:
    return Call("POST", PUSH, {"json": opscom_push(tools.make_token("user-create"))})


async def scim_create_user(tools: Tools) -> Call:
    return Call("POST", USERS, {"headers": scim_token(tools), "json": new_user()})


async def scim_replace_user(tools: Tools) -> Call:
    headers = scim_token(tools)
    user = await scim_user(tools, headers)
    replaced = new_user(userName=user["userName"], title="Replaced")
    return Call("PUT", f"{USERS}/{user['id']}", {"headers": headers, "json": replaced})


async def scim_patch_user(tools: Tools) -> Call:
    headers = scim_token(tools)
    user = await scim_user(tools, headers)
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Patched"}]}
    return Call("PATCH", f"{USERS}/{user['id']}", {"headers": headers, "json": patch})


async def scim_create_group(tools: Tools) -> Call:
    headers = scim_token(tools)
    member = await scim_user(tools, headers)
    group = {
        "schemas": [GROUP_SCHEMA],
        "displayName": f"Group {next(_serial)}",
        "members": [{"value": member["id"]}],
    }
    return Call("POST", "/scim/v2/Groups", {"headers": headers, "json": group})


async def myon_create_user(tools: Tools) -> Call:
    headers = bearer(tools.make_token("org-write", "user-create"))
    account = await tools.client.post("/myon/accounts", headers=headers, json=[{"title": "Springfield"}])
    assert account.status_code == 201, account.text
    n = next(_serial)
    admin = {
        "account_id": account.json()[0]["myon_id"],
        "user_role_id": 6,
        "name_first": "Edna",
        "name_last": "Krabappel",
        "username": f"admin{n}@springfield.example.org",
        "email": f"edna{n}@springfield.example.org",
    }
    return Call("POST", "/myon/users", {"headers": headers, "json": [admin]})


async def ocl_create_user(tools: Tools) -> Call:
    n = next(_serial)
    user = {"username": f"johnnydoe{n}", "name": "Johnny Doe", "email": f"jdoe{n}@me.com"}
    headers = {"Authorization": f"Token {tools.make_token('user-create')}"}
    return Call("POST", "/ocl/users/", {"headers": headers, "json": user})


async def comanage_provision_person(tools: Tools) -> Call:
    name = f"registry-{next(_serial)}"
    secret = tools.make_token("user-create", "user-update", "user-delete", name=name)
    identifier = f"ada{next(_serial)}@example.edu"
    message = {
        "meta": {"version": "1.0.0", "objectType": "person"},
        "person": {
            "meta": {"id": identifier},
            "status": "active",
            "names": [{"given": "Ada", "family": "Lovelace", "type": "official"}],
            "identifiers": [{"identifier": identifier, "type": "eppn"}],
            "emailAddresses": [{"address": identifier, "type": "official"}],
        },
    }
    return Call("POST", "/comanage/people/", {"headers": basic(name, secret), "json": message})


async def uniweb_edit_section(tools: Tools) -> Call:
    """A person with a biography, an OAuth client that may edit it, and its edit."""
    person = opscom_push(tools.make_token("user-create"))
    pushed = await tools.client.post(PUSH, json=person)
    assert pushed.status_code == 200, pushed.text
    made = tools.cli("oauth-client", "create", "cv", "-p", "user-read", "-p", "user-update", "--json")
    credentials = json.loads(made.stdout)
    grant = {
        "grant_type": "password",
        "username": credentials["client_id"],
        "password": credentials["client_secret"],
    }
    issued = await tools.client.post("/uniweb/api/token.php", data=grant)
    assert issued.status_code == 200, issued.text
    access, login = issued.json()["access_token"], person["user_name"]
    add = {"action": "add", "id": login, "resources": {BIOGRAPHY: [{"biography": "Old"}]}}
    added = await uniweb_resource(access, add).send(tools.client)
    assert added.status_code == 200, added.text
    return uniweb_resource(
        access, {"action": "edit", "id": login, "resources": {BIOGRAPHY: {"biography": "New"}}}
    )


#: Each write path, and the status it answers when it succeeds.
PATHS: dict[Callable[[Tools], Awaitable[Call]], int] = {
    opscom_push_of_a_new_person: 200,
    scim_create_user: 201,
    scim_replace_user: 200,
    scim_patch_user: 200,
    scim_create_group: 201,
    myon_create_user: 201,
    ocl_create_user: 201,
    comanage_provision_person: 201,
    uniweb_edit_section: 200,
}


@pytest.mark.parametrize("table", ["changes", "outbox"])
@pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])
async def test_a_write_failing_at_the_change_log_or_the_outbox_commits_nothing(
    client: httpx.AsyncClient,
    database: Database,
    make_token: MakeToken,
    cli: Cli,
    path: Callable[[Tools], Awaitable[Call]],
    table: str,
) -> None:
    write = await path(Tools(client, make_token, cli))
    before = contents(database)

    with failing_inserts(database, table):
        failed = await write.send(client)
    after_failure = contents(database)
    again = await write.send(client)
    after = contents(database)

    assert failed.status_code == 500, failed.text
    assert FAULT not in failed.text  # a storage fault's text stays in the server's log
    assert after_failure == before
    assert again.status_code == PATHS[path], again.text
    # The write, when it succeeds, does write the table the fault was in, and the log and the outbox.
    assert len(after[table]) > len(before[table])
    assert len(after["changes"]) > len(before["changes"])
    assert len(after["outbox"]) > len(before["outbox"])
