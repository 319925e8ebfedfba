"""SCIM Groups over HTTP: create, read, replace, patch, delete, lists; members, versions and errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows, outbox_events
from tests.dialects.scim.conftest import new_user

pytestmark = pytest.mark.anyio

GROUPS = "/scim/v2/Groups"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def user(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    answer = await client.post("/scim/v2/Users", headers=headers, json=new_user(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def group(name: str, *members: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": m} for m in members],
        **extra,
    }


async def test_a_group_is_created_with_members_and_read_back(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    ada = await user(client, scim, displayName="Ada")
    bob = await user(client, scim, displayName="Bob")

    answer = await client.post(
        GROUPS, headers=scim, json=group("Tour Guides", ada["id"], bob["id"], externalId="g-1")
    )

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["Location"] == body["meta"]["location"]
    assert answer.headers["ETag"] == body["meta"]["version"]
    assert (body["displayName"], body["externalId"], body["meta"]["resourceType"]) == (
        "Tour Guides",
        "g-1",
        "Group",
    )
    assert body["members"] == [
        {
            "value": m["id"],
            "$ref": f"http://testserver/scim/v2/Users/{m['id']}",
            "type": "User",
        }
        for m in (ada, bob)
    ]
    assert (await client.get(f"{GROUPS}/{body['id']}", headers=scim)).json() == body
    groups_of_ada = (await client.get(f"/scim/v2/Users/{ada['id']}", headers=scim)).json()["groups"]
    assert groups_of_ada == [
        {
            "value": body["id"],
            "$ref": f"http://testserver{GROUPS}/{body['id']}",
            "display": "Tour Guides",
            "type": "direct",
        }
    ]
    assert outbox_events(database, ada["id"]) == ["added", "edited"]


async def test_excluded_members_and_attributes(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    ada = await user(client, scim)
    made = (await client.post(GROUPS, headers=scim, json=group("Staff", ada["id"]))).json()

    without = (
        await client.get(f"{GROUPS}/{made['id']}", headers=scim, params={"excludedAttributes": "members"})
    ).json()
    listed = (await client.get(GROUPS, headers=scim, params={"excludedAttributes": "members"})).json()

    assert "members" not in without
    assert without["displayName"] == "Staff"
    assert "members" not in listed["Resources"][0]


async def test_names_are_unique_and_members_must_be_users(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    await client.post(GROUPS, headers=scim, json=group("Staff"))

    taken = await client.post(GROUPS, headers=scim, json=group("STAFF"))
    nobody = await client.post(GROUPS, headers=scim, json=group("Other", "no-such-user"))
    nameless = await client.post(GROUPS, headers=scim, json={"schemas": [GROUP_SCHEMA]})
    unknown = await client.post(GROUPS, headers=scim, json=group("X", colour="blue"))

    assert (taken.status_code, taken.json()["scimType"]) == (409, "uniqueness")
    assert "displayName" in taken.json()["detail"]
    for answer, words in ((nobody, "members"), (nameless, "displayName"), (unknown, "colour")):
        assert answer.status_code == 400
        assert answer.json()["scimType"] == "invalidValue"
        assert words in answer.json()["detail"]
    assert count_rows(database, tables.groups) == 1


async def test_put_replaces_name_and_members(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    ada, bob = await user(client, scim), await user(client, scim)
    made = (await client.post(GROUPS, headers=scim, json=group("Staff", ada["id"], externalId="g"))).json()

    replaced = await client.put(f"{GROUPS}/{made['id']}", headers=scim, json=group("Faculty", bob["id"]))

    assert replaced.status_code == 200
    assert replaced.json()["displayName"] == "Faculty"
    assert [m["value"] for m in replaced.json()["members"]] == [bob["id"]]
    assert "externalId" not in replaced.json()


async def test_patch_adds_and_removes_members_as_entra_and_okta_send_them(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    ada, bob, cy = await user(client, scim), await user(client, scim), await user(client, scim)
    made = (await client.post(GROUPS, headers=scim, json=group("Staff", ada["id"]))).json()
    url = f"{GROUPS}/{made['id']}"

    async def patch(*operations: dict[str, Any]) -> dict[str, Any]:
        answer = await client.patch(
            url, headers=scim, json={"schemas": [PATCH], "Operations": list(operations)}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    added = await patch(
        {"op": "Add", "path": "members", "value": [{"value": bob["id"]}, {"value": cy["id"]}]}
    )
    removed = await patch({"op": "remove", "path": f'members[value eq "{ada["id"]}"]'})
    entra_removed = await patch({"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]})
    renamed = await patch({"op": "Replace", "path": "displayName", "value": "Faculty"})

    assert [m["value"] for m in added["members"]] == [ada["id"], bob["id"], cy["id"]]
    assert [m["value"] for m in removed["members"]] == [bob["id"], cy["id"]]
    assert [m["value"] for m in entra_removed["members"]] == [cy["id"]]
    assert renamed["displayName"] == "Faculty"
    assert renamed["meta"]["version"] != made["meta"]["version"]


async def test_delete_removes_the_group_from_its_members(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    ada = await user(client, scim)
    made = (await client.post(GROUPS, headers=scim, json=group("Staff", ada["id"]))).json()

    deleted = await client.delete(f"{GROUPS}/{made['id']}", headers=scim)

    assert deleted.status_code == 204
    assert (await client.get(f"{GROUPS}/{made['id']}", headers=scim)).status_code == 404
    assert "groups" not in (await client.get(f"/scim/v2/Users/{ada['id']}", headers=scim)).json()
    assert outbox_events(database, ada["id"]) == ["added", "edited", "edited"]


async def test_a_deleted_user_is_no_member_shown(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    ada, bob = await user(client, scim), await user(client, scim)
    made = (await client.post(GROUPS, headers=scim, json=group("Staff", ada["id"], bob["id"]))).json()
    await client.delete(f"/scim/v2/Users/{ada['id']}", headers=scim)

    shown = (await client.get(f"{GROUPS}/{made['id']}", headers=scim)).json()

    assert [m["value"] for m in shown["members"]] == [bob["id"]]


async def test_lists_filter_sort_and_page(client: httpx.AsyncClient, scim: dict[str, str]) -> None:
    for name in ("beta", "Alpha", "gamma"):
        await client.post(GROUPS, headers=scim, json=group(name))

    by_name = (await client.get(GROUPS, headers=scim, params={"filter": 'displayName eq "ALPHA"'})).json()
    sorted_page = (
        await client.get(GROUPS, headers=scim, params={"sortBy": "displayName", "count": 2})
    ).json()
    second = (await client.get(GROUPS, headers=scim, params={"startIndex": 3})).json()
    bad = await client.get(GROUPS, headers=scim, params={"filter": "members.value eq"})

    assert [g["displayName"] for g in by_name["Resources"]] == ["Alpha"]
    assert [g["displayName"] for g in sorted_page["Resources"]] == ["Alpha", "beta"]
    assert sorted_page["totalResults"] == 3
    assert [g["displayName"] for g in second["Resources"]] == ["gamma"]
    assert (bad.status_code, bad.json()["scimType"]) == (400, "invalidFilter")


async def test_versions_and_permissions(
    client: httpx.AsyncClient, scim: dict[str, str], make_token: MakeToken
) -> None:
    made = (await client.post(GROUPS, headers=scim, json=group("Staff"))).json()
    url = f"{GROUPS}/{made['id']}"
    reader = {"Authorization": f"Bearer {make_token('group-read')}"}

    same = await client.get(url, headers={**scim, "If-None-Match": made["meta"]["version"]})
    stale = await client.put(url, headers={**scim, "If-Match": 'W/"0"'}, json=group("Staff 2"))
    read = await client.get(url, headers=reader)
    denied = await client.post(GROUPS, headers=reader, json=group("Other"))

    assert same.status_code == 304
    assert stale.status_code == 412
    assert read.status_code == 200
    assert denied.status_code == 403


async def test_members_filters_ask_whether_a_user_is_a_member_as_entra_does(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    ada, bob = await user(client, scim), await user(client, scim)
    staff = (await client.post(GROUPS, headers=scim, json=group("Staff", ada["id"]))).json()
    other = (await client.post(GROUPS, headers=scim, json=group("Other", ada["id"], bob["id"]))).json()
    await client.post(GROUPS, headers=scim, json=group("Empty"))

    async def names(text: str) -> list[str]:
        answer = await client.get(
            GROUPS, headers=scim, params={"filter": text, "excludedAttributes": "members"}
        )
        assert answer.status_code == 200, answer.text
        return [g["displayName"] for g in answer.json()["Resources"]]

    assert await names(f'id eq "{staff["id"]}" and members[value eq "{bob["id"]}"]') == []
    assert await names(f'id eq "{other["id"]}" and members[value eq "{bob["id"]}"]') == ["Other"]
    assert await names(f'members.value eq "{ada["id"]}"') == ["Staff", "Other"]
    assert await names("members pr") == ["Staff", "Other"]
    assert await names("not (members pr)") == ["Empty"]
    assert await names(f'not (members[value eq "{bob["id"]}"])') == ["Staff", "Empty"]
    await client.delete(f"/scim/v2/Users/{bob['id']}", headers=scim)
    assert await names(f'members[value eq "{bob["id"]}"]') == []  # a deleted user is no member
