"""SCIM Bulk over HTTP: operations in order, bulkId references, failOnErrors, limits, each op's errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows
from tests.dialects.scim.conftest import new_user

pytestmark = pytest.mark.anyio

BULK = "/scim/v2/Bulk"
REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def bulk(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [REQUEST], "Operations": list(operations), **extra}


async def send(client: httpx.AsyncClient, headers: dict[str, str], body: Any) -> httpx.Response:
    return await client.post(BULK, headers=headers, json=body)


async def test_the_rfcs_example_a_group_of_users_made_in_the_same_request(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    # The group comes first and names users created after it: it waits for them (RFC 7644 3.7.2).
    answer = await send(
        client,
        scim,
        bulk(
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "ytrewq",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Tour Guides",
                    "members": [{"type": "User", "value": "bulkId:qwerty"}, {"value": "bulkId:asdf"}],
                },
            },
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": new_user(userName="Alice")},
            {"method": "POST", "path": "/Users", "bulkId": "asdf", "data": new_user(userName="Bob")},
        ),
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["schemas"] == [RESPONSE]
    results = body["Operations"]
    assert [r["bulkId"] for r in results] == ["ytrewq", "qwerty", "asdf"]  # the request's order
    assert [r["status"] for r in results] == ["201", "201", "201"]
    group = (await client.get(results[0]["location"], headers=scim)).json()
    users = [(await client.get(r["location"], headers=scim)).json() for r in results[1:]]
    assert [m["value"] for m in group["members"]] == [u["id"] for u in users]
    assert results[0]["version"] == group["meta"]["version"]
    assert count_rows(database, tables.group_members) == 2


async def test_put_patch_and_delete_by_id_and_by_bulk_id(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    user = (await client.post("/scim/v2/Users", headers=scim, json=new_user())).json()

    answer = await send(
        client,
        scim,
        bulk(
            {"method": "POST", "path": "/Users", "bulkId": "new", "data": new_user(title="Intern")},
            {
                "method": "PATCH",
                "path": "/Users/bulkId:new",
                "data": {
                    "schemas": [PATCH],
                    "Operations": [{"op": "replace", "path": "title", "value": "Guide"}],
                },
            },
            {
                "method": "PUT",
                "path": f"/Users/{user['id']}",
                "data": new_user(userName=user["userName"], title="Lead"),
            },
            {"method": "DELETE", "path": f"/Users/{user['id']}", "version": 'W/"0"'},
        ),
    )

    results = answer.json()["Operations"]
    assert [r["status"] for r in results] == ["201", "200", "200", "412"]
    patched = (await client.get(results[1]["location"], headers=scim)).json()
    assert patched["title"] == "Guide"
    assert (await client.get(f"/scim/v2/Users/{user['id']}", headers=scim)).json()["title"] == "Lead"
    assert results[3]["response"]["status"] == "412"


async def test_a_failed_operation_is_answered_alone_and_rolled_back_alone(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    taken = (await client.post("/scim/v2/Users", headers=scim, json=new_user())).json()

    answer = await send(
        client,
        scim,
        bulk(
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": new_user(userName=taken["userName"])},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": new_user(emails="nope")},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": new_user()},
            {"method": "DELETE", "path": "/Users/no-such-id"},
            {"method": "POST", "path": "/Widgets", "bulkId": "d", "data": {}},
        ),
    )

    results = answer.json()["Operations"]
    assert [r["status"] for r in results] == ["409", "400", "201", "404", "400"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert results[1]["response"]["scimType"] == "invalidValue"
    assert results[4]["response"]["scimType"] == "invalidPath"
    assert count_rows(database, tables.people) == 2


async def test_fail_on_errors_stops_the_run(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    answer = await send(
        client,
        scim,
        bulk(
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": new_user(userName=None)},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": new_user(emails="nope")},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": new_user()},
            failOnErrors=2,
        ),
    )

    assert [r["bulkId"] for r in answer.json()["Operations"]] == ["a", "b"]
    assert count_rows(database, tables.people) == 0


async def test_references_to_failed_unknown_or_circular_bulk_ids_fail(
    client: httpx.AsyncClient, scim: dict[str, str]
) -> None:
    def group(bulk_id: str, name: str, *members: str) -> dict[str, Any]:
        data = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
        return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}

    answer = await send(
        client,
        scim,
        bulk(
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": new_user(userName=None)},
            group("g1", "Waits for a failure", "bulkId:bad"),
            group("g2", "Names nobody", "bulkId:ghost"),
            {
                "method": "PATCH",
                "path": "/Groups/bulkId:g4",
                "bulkId": "g3",
                "data": {"Operations": [{"op": "add", "path": "members", "value": [{"value": "bulkId:g4"}]}]},
            },
            {"method": "PATCH", "path": "/Groups/bulkId:g3", "bulkId": "g4", "data": {"Operations": []}},
        ),
    )

    results = {r["bulkId"]: r for r in answer.json()["Operations"]}
    assert results["bad"]["status"] == "400"
    assert results["g1"]["status"] == "400"
    assert "bulkId:bad" in results["g1"]["response"]["detail"]
    assert results["g2"]["status"] == "400"
    assert results["g3"]["status"] == results["g4"]["status"] == "409"


async def test_passwords_in_bulk_are_stored_as_hashes(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database
) -> None:
    answer = await send(
        client,
        scim,
        bulk(
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "p",
                "data": new_user(password="a fine passphrase"),
            }
        ),
    )

    user_id = answer.json()["Operations"][0]["location"].rsplit("/", 1)[1]
    with database.snapshot() as conn:
        stored = conn.execute(
            select(tables.people.c.password_hash).where(tables.people.c.public_id == user_id)
        ).scalar_one()
    assert stored.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ([], 400),
        ({"schemas": [REQUEST]}, 400),
        ({"schemas": [REQUEST], "Operations": []}, 400),
        ({"schemas": ["urn:nope"], "Operations": [{"method": "DELETE", "path": "/Users/x"}]}, 400),
        (bulk({"method": "GET", "path": "/Users"}), 400),
        (bulk({"method": "POST", "path": "/Users", "data": {}}), 400),  # a POST needs a bulkId
        (bulk({"method": "DELETE", "path": "/Users/x"}, failOnErrors=0), 400),
        (bulk(*[{"method": "DELETE", "path": f"/Users/{n}"} for n in range(1001)]), 413),
        (
            bulk(
                {"method": "POST", "path": "/Users", "bulkId": "same", "data": new_user()},
                {"method": "POST", "path": "/Users", "bulkId": "same", "data": new_user()},
            ),
            400,
        ),
    ],
)
async def test_malformed_requests_are_refused_whole(
    client: httpx.AsyncClient, scim: dict[str, str], database: Database, body: Any, status: int
) -> None:
    answer = await send(client, scim, body)

    assert answer.status_code == status, answer.text
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    if status == 413:
        assert answer.json()["scimType"] == "tooMany"
    assert count_rows(database, tables.people) == 0


async def test_each_operation_needs_its_permission(
    client: httpx.AsyncClient, make_token: MakeToken, database: Database
) -> None:
    reader = {"Authorization": f"Bearer {make_token('user-read', 'group-write')}"}

    answer = await send(
        client,
        reader,
        bulk(
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": new_user()},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "Allowed"}},
        ),
    )

    assert [r["status"] for r in answer.json()["Operations"]] == ["403", "201"]
    assert count_rows(database, tables.people) == 0
    assert (await client.post(BULK, json=bulk())).status_code == 401


async def test_the_service_provider_config_advertises_the_limits(client: httpx.AsyncClient) -> None:
    config = (await client.get("/scim/v2/ServiceProviderConfig")).json()

    assert config["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 65_536}
