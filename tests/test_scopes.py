"""Who may touch whom, whichever dialect a request comes through: a credential scoped to some login sources
or to one account reaches the people in its scope only, and a staff member's password is an unscoped
admin's to set. Each test is an attack that today's directory refuses (docs/decisions/one-door.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import Cli, MakeToken

pytestmark = pytest.mark.anyio

PASSWORD = "staffer-pass-1"
ATTACK = "attacker-pass-1"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class World:
    """An admin token; a staff member (made through OCL) and their SCIM id; a myON account; a person
    pushed from OPS-COM; and a login source OTHER that none of them is of."""

    admin: dict[str, str]
    staffer: str
    account: str
    pushed: str


@pytest.fixture
async def world(client: httpx.AsyncClient, make_token: MakeToken, cli: Cli) -> World:
    admin = bearer(make_token("admin"))
    cli("login-source", "add", "OTHER", "Other")
    cli("user-type", "add", "6", "Demo")
    made = await client.post(
        "/ocl/users/",
        json={"username": "staffer", "email": "staffer@school.example.org", "password": PASSWORD},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    cli("staff", "grant", "staffer")
    account = await client.post("/myon/accounts", json=[{"title": "Springfield"}], headers=admin)
    pushed = await client.post(
        "/opscom/api/OC_TOMA/v1/profiles/push",
        json={
            "apiToken": admin["Authorization"].removeprefix("Bearer "),
            "unique_id": "s-1",
            "login_source": "OPSCOM",
            "user_name": "ada",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@school.example.org",
            "date_of_birth": "2001-01-31",
        },
    )
    assert pushed.status_code == 200, pushed.text
    return World(
        admin=admin,
        staffer=await scim_id(client, admin, "staffer"),
        account=account.json()[0]["myon_id"],
        pushed=await scim_id(client, admin, "ada"),
    )


async def scim_id(client: httpx.AsyncClient, headers: dict[str, str], username: str) -> str:
    found = await client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{username}"'}, headers=headers
    )
    [user] = found.json()["Resources"]
    return str(user["id"])


def limited(make_token: MakeToken) -> dict[str, str]:
    """The issue's token: limited to login source OTHER, with the permissions of a busy integration."""
    permissions = (
        "user-create",
        "user-read",
        "user-update",
        "org-read",
        "org-write",
        "group-read",
        "group-write",
    )
    return bearer(make_token(*permissions, login_sources=["OTHER"]))


def person(database: Database, public_id: str) -> dict[str, Any]:
    with database.snapshot() as conn:
        row = (
            conn.execute(select(tables.people).where(tables.people.c.public_id == public_id)).mappings().one()
        )
    return dict(row)


async def signs_in(client: httpx.AsyncClient, username: str, password: str) -> bool:
    answer = await client.post("/ocl/users/login/", json={"username": username, "password": password})
    return answer.status_code == 200


async def test_a_token_of_another_login_source_cannot_take_over_a_staff_member_through_myon(
    client: httpx.AsyncClient, world: World, make_token: MakeToken, database: Database
) -> None:
    before = person(database, world.staffer)
    item = {"myon_id": world.staffer, "account_id": world.account, "user_role_id": 6, "password": ATTACK}

    answer = await client.post("/myon/users", json=[item], headers=limited(make_token))

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["reason"]) for e in answer.json()["errors"]] == [("myon_id", "not_found")]
    assert not await signs_in(client, "staffer", ATTACK)
    assert await signs_in(client, "staffer", PASSWORD)
    assert person(database, world.staffer) == before


async def test_a_token_of_another_login_source_cannot_rename_people_through_myon(
    client: httpx.AsyncClient, world: World, make_token: MakeToken, database: Database
) -> None:
    item = {"myon_id": world.pushed, "account_id": world.account, "user_role_id": 6, "name_first": "Mallory"}

    answer = await client.post("/myon/users", json=[item], headers=limited(make_token))

    assert answer.status_code == 422
    assert person(database, world.pushed)["given_name"] == "Ada"


async def test_an_account_token_sets_no_password_but_its_own_peoples_and_no_staff_members(
    client: httpx.AsyncClient, world: World, make_token: MakeToken, database: Database, cli: Cli
) -> None:
    # The staff member and the pushed person become members of the account (an unscoped admin may).
    for myon_id in (world.staffer, world.pushed):
        joined = await client.post(
            "/myon/users",
            json=[{"myon_id": myon_id, "account_id": world.account, "user_role_id": 6}],
            headers=world.admin,
        )
        assert joined.status_code == 200, joined.text
    own = {"account_id": world.account, "user_role_id": 6, "username": "principal@springfield.example.org"}
    made = await client.post("/myon/users", json=[own], headers=world.admin)
    principal_id = made.json()[0]["myon_id"]
    district = bearer(make_token("user-create", "user-update", "user-read", account=world.account))

    for myon_id in (world.staffer, world.pushed):  # members, but of other login sources
        answer = await client.post(
            "/myon/users", json=[{"myon_id": myon_id, "password": ATTACK}], headers=district
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["reason"] == "not_found"
    assert await signs_in(client, "staffer", PASSWORD)

    mine = await client.post(
        "/myon/users", json=[{"myon_id": principal_id, "password": ATTACK}], headers=district
    )
    assert mine.status_code == 200, mine.text  # its own people: yes
    cli("staff", "grant", "principal@springfield.example.org")
    again = {"myon_id": principal_id, "password": "another-pass-2"}
    refused = await client.post("/myon/users", json=[again], headers=district)
    assert refused.status_code == 403  # but not once they are staff
    assert await signs_in(client, "principal@springfield.example.org", ATTACK)
    allowed = await client.post("/myon/users", json=[again], headers=world.admin)
    assert allowed.status_code == 200, allowed.text  # an unscoped admin may


async def test_only_an_unscoped_admin_sets_a_staff_members_password(
    client: httpx.AsyncClient, world: World, make_token: MakeToken
) -> None:
    updater = bearer(make_token("user-update", "user-read"))
    body = {"schemas": [USER_SCHEMA], "userName": "staffer", "password": ATTACK}

    refused = await client.put(f"/scim/v2/Users/{world.staffer}", json=body, headers=updater)
    allowed = await client.put(f"/scim/v2/Users/{world.staffer}", json=body, headers=world.admin)

    assert refused.status_code == 403, refused.text
    assert allowed.status_code == 200, allowed.text
    assert await signs_in(client, "staffer", ATTACK)


async def test_a_token_of_another_login_source_adds_nobody_of_another_to_a_scim_group(
    client: httpx.AsyncClient, world: World, make_token: MakeToken
) -> None:
    mine = limited(make_token)
    group = {"schemas": [GROUP_SCHEMA], "displayName": "Staff", "members": [{"value": world.pushed}]}
    refused = await client.post("/scim/v2/Groups", json=group, headers=mine)
    made = await client.post("/scim/v2/Groups", json={**group, "members": []}, headers=mine)
    group_id = made.json()["id"]
    add = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": world.staffer}]}],
    }

    patched = await client.patch(f"/scim/v2/Groups/{group_id}", json=add, headers=mine)
    put = await client.put(
        f"/scim/v2/Groups/{group_id}", json={**group, "displayName": "Staff"}, headers=mine
    )

    assert refused.status_code == patched.status_code == put.status_code == 400
    assert all(answer.json()["scimType"] == "invalidValue" for answer in (refused, patched, put))
    members = await client.get(f"/scim/v2/Groups/{group_id}", headers=world.admin)
    assert members.json()["members"] == []


async def test_a_scoped_token_replacing_a_groups_members_keeps_those_it_cannot_see(
    client: httpx.AsyncClient, world: World, make_token: MakeToken
) -> None:
    group = {"schemas": [GROUP_SCHEMA], "displayName": "Everyone", "members": [{"value": world.pushed}]}
    made = await client.post("/scim/v2/Groups", json=group, headers=world.admin)
    group_id = made.json()["id"]
    mine = limited(make_token)

    seen = await client.get(f"/scim/v2/Groups/{group_id}", headers=mine)
    replaced = await client.put(f"/scim/v2/Groups/{group_id}", json={**group, "members": []}, headers=mine)
    rename = {**group, "displayName": "All", "members": []}
    renamed = await client.put(f"/scim/v2/Groups/{group_id}", json=rename, headers=mine)

    assert seen.json()["members"] == []  # the pushed person is not its to see
    assert replaced.status_code == 200, replaced.text
    assert renamed.status_code == 403  # renaming changes the groups of people outside its scope
    after = await client.get(f"/scim/v2/Groups/{group_id}", headers=world.admin)
    assert [m["value"] for m in after.json()["members"]] == [world.pushed]
    assert after.json()["displayName"] == "Everyone"


async def test_a_token_of_another_login_source_reads_nothing_of_their_people(
    client: httpx.AsyncClient, world: World, make_token: MakeToken
) -> None:
    mine = limited(make_token)

    one = await client.get(f"/scim/v2/Users/{world.pushed}", headers=mine)
    listed = await client.get("/scim/v2/Users", headers=mine)
    filtered = await client.get("/scim/v2/Users", params={"filter": 'userName eq "ada"'}, headers=mine)
    ocl = await client.get("/ocl/users/ada/", headers=mine)

    assert one.status_code == 404
    assert "2001-01-31" not in one.text
    assert listed.json()["totalResults"] == filtered.json()["totalResults"] == 0
    assert ocl.status_code == 404
    admin = await client.get(f"/scim/v2/Users/{world.pushed}", headers=world.admin)
    assert admin.status_code == 200  # they are there: only not for it


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_a_token_of_another_login_source_changes_no_scim_user(
    client: httpx.AsyncClient, world: World, make_token: MakeToken, database: Database, method: str
) -> None:
    opscom_only = bearer(make_token("user-update", "user-delete", "user-read", login_sources=["OTHER"]))
    before = person(database, world.pushed)
    bodies = {
        "PUT": {"schemas": [USER_SCHEMA], "userName": "ada", "name": {"givenName": "Mallory"}},
        "PATCH": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Mallory"}],
        },
        "DELETE": None,
    }

    answer = await client.request(
        method, f"/scim/v2/Users/{world.pushed}", json=bodies[method], headers=opscom_only
    )

    assert answer.status_code == 404, answer.text
    assert person(database, world.pushed) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/ocl/users/ada/", {"company": "Mallory Inc."}),
        ("DELETE", "/ocl/users/ada/", None),
        ("PUT", "/ocl/users/staffer/", {"password": ATTACK}),
    ],
)
async def test_a_token_of_another_login_source_changes_no_ocl_user(
    client: httpx.AsyncClient,
    world: World,
    make_token: MakeToken,
    database: Database,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    other = bearer(make_token("user-update", "user-delete", "user-read", login_sources=["OTHER"]))
    before = [person(database, world.pushed), person(database, world.staffer)]

    answer = await client.request(method, path, json=body, headers=other)

    assert answer.status_code == 404, answer.text
    assert [person(database, world.pushed), person(database, world.staffer)] == before
