"""myON accounts and buildings over HTTP: create, update, read back, and every way an array is refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from provisionhub.dialects.myon.errors import error_response
from provisionhub.directory.changes import list_changes
from provisionhub.directory.errors import Conflict, Invalid, ItemError, Reason, Rejected
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows

pytestmark = pytest.mark.anyio

ACCOUNT = {
    "title": "Springfield School District",
    "descr": "The one in Oregon",
    "address_line_1": "1 Main Street",
    "address_line_2": "Suite 4",
    "city": "Springfield",
    "geo_state": "or",
    "zip_code": "97477",
    "address_full": "1 Main Street, Suite 4, Springfield, OR 97477",
    "time_zone": "America/Los_Angeles",
    "mdr_id": "MDR-1",
    "crm_id": "CRM-1",
}


def building(account_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "account_id": account_id,
        "title": "Springfield Elementary",
        "time_zone": "America/Los_Angeles",
        "sis_id": "SIS-7",
        "rpid": "RP-7",
    }
    body.update(overrides)
    return body


@pytest.fixture
def writer(make_token: MakeToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('org-write', 'org-read')}"}


async def post(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/myon/{path}", json=body, headers=headers)


async def new_account(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> str:
    response = await post(client, "accounts", [{**ACCOUNT, **overrides}], headers)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["myon_id"])


# -- success ---------------------------------------------------------------------------------------


async def test_accounts_are_created_and_read_back_by_their_myon_id(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    response = await post(client, "accounts", [ACCOUNT, {**ACCOUNT, "title": "Shelbyville"}], writer)

    assert response.status_code == 201
    answer = response.json()
    assert [item["result"] for item in answer] == ["created", "created"]
    first, second = (item["myon_id"] for item in answer)
    assert first != second
    read = await client.get(f"/myon/accounts/{first}", headers=writer)
    assert read.status_code == 200
    body = read.json()
    assert {k: body[k] for k in ACCOUNT} == {**ACCOUNT, "geo_state": "OR"}
    assert body["myon_id"] == first
    assert body["sis_id"] is None
    assert (await client.get(f"/myon/accounts/{second}", headers=writer)).json()["title"] == "Shelbyville"


async def test_an_update_changes_only_the_fields_sent(
    client: httpx.AsyncClient, writer: dict[str, str], database: Database
) -> None:
    account = await new_account(client, writer)

    response = await post(client, "accounts", [{"myon_id": account, "city": "Eugene", "descr": ""}], writer)

    assert response.status_code == 200
    assert response.json() == [{"myon_id": account, "result": "updated"}]
    body = (await client.get(f"/myon/accounts/{account}", headers=writer)).json()
    assert body["city"] == "Eugene"
    assert body["descr"] is None
    assert body["title"] == ACCOUNT["title"]
    with database.snapshot() as conn:
        changes = list_changes(conn, entity_type="organisation", entity_id=account)
    assert [c.action for c in changes] == ["create", "update"]
    assert changes[1].fields == {
        "city": ["Springfield", "Eugene"],
        "description": ["The one in Oregon", None],
    }


async def test_sending_the_same_values_again_is_unchanged(
    client: httpx.AsyncClient, writer: dict[str, str], database: Database
) -> None:
    account = await new_account(client, writer)
    before = count_rows(database, tables.changes)

    response = await post(client, "accounts", [{"myon_id": account, **ACCOUNT}], writer)

    assert response.status_code == 200
    assert response.json() == [{"myon_id": account, "result": "unchanged"}]
    assert count_rows(database, tables.changes) == before


async def test_buildings_belong_to_an_account_and_can_move_to_another(
    client: httpx.AsyncClient, writer: dict[str, str], database: Database
) -> None:
    first = await new_account(client, writer)
    second = await new_account(client, writer, title="Shelbyville")

    created = await post(client, "buildings", [building(first)], writer)
    assert created.status_code == 201
    school = created.json()[0]["myon_id"]
    body = (await client.get(f"/myon/buildings/{school}", headers=writer)).json()
    assert (body["account_id"], body["sis_id"], body["rpid"]) == (first, "SIS-7", "RP-7")

    moved = await post(client, "buildings", [{"myon_id": school, "account_id": second}], writer)
    assert moved.json() == [{"myon_id": school, "result": "updated"}]
    assert (await client.get(f"/myon/buildings/{school}", headers=writer)).json()["account_id"] == second
    with database.snapshot() as conn:
        [_, move] = list_changes(conn, entity_type="organisation", entity_id=school)
    assert move.fields == {"parent": [first, second]}


# -- refused arrays --------------------------------------------------------------------------------


async def test_one_bad_item_refuses_the_whole_array_and_names_each_bad_item(
    client: httpx.AsyncClient, writer: dict[str, str], database: Database
) -> None:
    before = count_rows(database, tables.organisations), count_rows(database, tables.changes)
    body = [
        ACCOUNT,
        {**ACCOUNT, "time_zone": "Mars/Olympus_Mons"},
        ACCOUNT,
        {**ACCOUNT, "geo_state": "XX", "zip_code": "1234"},
        {**ACCOUNT, "zip_code": "1234"},
    ]

    response = await post(client, "accounts", body, writer)

    assert response.status_code == 422
    answer = response.json()
    assert answer["status"] == 422
    assert [(e["index"], e["field"], e["reason"]) for e in answer["errors"]] == [
        (1, "time_zone", "invalid"),
        (3, "geo_state", "invalid"),
        (4, "zip_code", "invalid"),
    ]
    assert "Mars/Olympus_Mons" in answer["errors"][0]["message"]
    assert "geo_state" in answer["errors"][1]["message"]
    assert (count_rows(database, tables.organisations), count_rows(database, tables.changes)) == before


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        ({"descr": "no title"}, "title", "required"),
        ({**ACCOUNT, "title": "x" * 256}, "title", "too_long"),
        ({**ACCOUNT, "title": 7}, "title", "invalid"),
        ({**ACCOUNT, "colour": "red"}, "colour", "unknown"),
        ({**ACCOUNT, "account_id": "a"}, "account_id", "unknown"),
        ({**ACCOUNT, "myon_id": ""}, "myon_id", "invalid"),
        ({**ACCOUNT, "geo_state": "O"}, "geo_state", "invalid"),
        ("an account", "item", "invalid"),
    ],
)
async def test_a_bad_account_is_named_by_field_and_reason(
    client: httpx.AsyncClient, writer: dict[str, str], item: Any, field: str, reason: str
) -> None:
    response = await post(client, "accounts", [ACCOUNT, item], writer)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"], error["reason"]) == (1, field, reason)


async def test_wire_and_directory_errors_are_reported_together(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    response = await post(client, "accounts", [{**ACCOUNT, "colour": "red"}, {"descr": "no title"}], writer)

    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "colour"), (1, "title")]


async def test_unknown_and_wrong_kind_ids_are_item_errors(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    account = await new_account(client, writer)
    school = (await post(client, "buildings", [building(account)], writer)).json()[0]["myon_id"]
    unknown = "0190f5c0-0000-7000-8000-000000000000"

    response = await post(
        client,
        "buildings",
        [
            {"myon_id": unknown, "title": "x"},
            building(unknown),
            building(school),
            {"myon_id": account, "title": "x"},
            {"title": "no account"},
        ],
        writer,
    )

    assert response.status_code == 422
    assert [(e["index"], e["field"], e["reason"]) for e in response.json()["errors"]] == [
        (0, "myon_id", "not_found"),
        (1, "account_id", "unknown"),
        (2, "account_id", "invalid"),
        (3, "myon_id", "invalid"),
        (4, "account_id", "required"),
    ]
    messages = [e["message"] for e in response.json()["errors"]]
    assert messages[2] == f"{school} is a building, not an account"
    assert messages[3] == f"{account} is an account, not a building"


async def test_the_same_myon_id_twice_in_one_array_is_refused(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    account = await new_account(client, writer)

    response = await post(client, "accounts", [{"myon_id": account}, {"myon_id": account}], writer)

    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "myon_id")]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (ACCOUNT, 400, "JSON array"),
        ([], 400, "empty"),
        ([{"title": "x"}] * 1001, 413, "at most 1000"),
    ],
)
async def test_a_body_that_is_not_an_array_of_items_is_refused(
    client: httpx.AsyncClient, writer: dict[str, str], body: Any, status: int, words: str
) -> None:
    response = await post(client, "accounts", body, writer)

    assert response.status_code == status
    assert words in response.json()["message"]


async def test_a_body_that_is_not_json_is_refused(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    response = await client.post("/myon/accounts", content=b"[{", headers=writer)

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


# -- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Token abc"])
async def test_without_a_valid_bearer_token_the_answer_is_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}

    response = await client.post("/myon/accounts", json=[ACCOUNT], headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_a_token_without_the_permission_is_refused(
    client: httpx.AsyncClient, make_token: MakeToken, writer: dict[str, str]
) -> None:
    reader = {"Authorization": f"Bearer {make_token('org-read')}"}
    writer_only = {"Authorization": f"Bearer {make_token('org-write')}"}
    account = await new_account(client, writer)

    assert (await post(client, "accounts", [ACCOUNT], reader)).status_code == 403
    assert (await client.get(f"/myon/accounts/{account}", headers=writer_only)).status_code == 403
    assert "org-read" in (await client.get(f"/myon/accounts/{account}", headers=writer_only)).text


async def test_reading_an_id_of_another_kind_or_no_id_is_404(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    account = await new_account(client, writer)

    assert (await client.get(f"/myon/buildings/{account}", headers=writer)).status_code == 404
    missing = await client.get("/myon/accounts/0190f5c0-0000-7000-8000-000000000000", headers=writer)
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


async def test_a_title_cannot_be_cleared(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    account = await new_account(client, writer)

    response = await post(client, "accounts", [{"myon_id": account, "title": " "}], writer)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["reason"]) == ("title", "required")
    assert (await client.get(f"/myon/accounts/{account}", headers=writer)).json()["title"] == ACCOUNT["title"]


async def test_reading_without_a_token_is_401(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    account = await new_account(client, writer)

    response = await client.get(f"/myon/accounts/{account}")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/myon/accounts", 405), ("GET", "/myon/nope", 404)]
)
async def test_unknown_paths_and_methods_answer_in_the_myon_body(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"status", "message"}
    assert body["status"] == status
    assert body["message"]


def test_an_item_that_takes_a_held_value_is_named_by_its_wire_field() -> None:
    refused = Rejected([ItemError(2, Conflict("state", "state 'OR' is already taken"))])

    body = json.loads(error_response(refused).body)

    assert body["errors"] == [
        {"index": 2, "field": "geo_state", "reason": "taken", "message": "geo_state 'OR' is already taken"}
    ]


def test_a_refusal_of_the_whole_request_carries_no_item_errors() -> None:
    response = error_response(Invalid("title", Reason.INVALID, "title is wrong"))

    assert response.status_code == 422
    assert json.loads(response.body) == {"status": 422, "message": "title is wrong"}
