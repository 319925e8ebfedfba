"""myON permissions over HTTP: grants to buildings, read back with the building, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from provisionhub.directory.changes import list_changes
from provisionhub.directory.entitlements import AddEntitlement
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows

pytestmark = pytest.mark.anyio

UNKNOWN = "0190f5c0-0000-7000-8000-000000000000"


@pytest.fixture
def headers(make_token: MakeToken) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('org-write', 'org-read', 'entitlement-write')}"}


async def post(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.post(f"/myon/{path}", json=body, headers=headers)


async def created(client: httpx.AsyncClient, path: str, item: dict[str, Any], headers: dict[str, str]) -> str:
    response = await post(client, path, [item], headers)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["myon_id"])


@pytest.fixture
async def account(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return await created(client, "accounts", {"title": "Springfield School District"}, headers)


@pytest.fixture
async def school(client: httpx.AsyncClient, headers: dict[str, str], account: str) -> str:
    """A building in Los Angeles' time zone."""
    item = {"account_id": account, "title": "Springfield Elementary", "time_zone": "America/Los_Angeles"}
    return await created(client, "buildings", item, headers)


@pytest.fixture
def reading(directory: Directory) -> str:
    """The permission_id of a permission of the catalogue, as `provisionhub permission add` makes it."""
    return str(directory.apply(AddEntitlement("myon:reading", "Reading"), "cli").public_id)


def permission(building: str, permission_id: str, **fields: Any) -> dict[str, Any]:
    return {"building_id": building, "permission_id": permission_id, **fields}


async def held(client: httpx.AsyncClient, building: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"/myon/buildings/{building}", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["permissions"])


def stored(database: Database) -> list[dict[str, Any]]:
    with database.snapshot() as conn:
        return [dict(row) for row in conn.execute(select(tables.grants)).mappings()]


def written(database: Database) -> tuple[int, int]:
    return count_rows(database, tables.grants), count_rows(database, tables.changes)


# -- success ---------------------------------------------------------------------------------------


async def test_a_grant_is_created_and_read_back_in_the_buildings_time_zone(
    client: httpx.AsyncClient, headers: dict[str, str], school: str, reading: str, database: Database
) -> None:
    body = [permission(school, reading, start_date="2024-08-01 00:00:00", end_date="2025-01-31 23:59:59")]

    response = await post(client, "permissions", body, headers)

    assert response.status_code == 201
    assert response.json() == [{"building_id": school, "permission_id": reading, "result": "created"}]
    assert await held(client, school, headers) == [
        {
            "permission_id": reading,
            "code": "myon:reading",
            "title": "Reading",
            "start_date": "2024-08-01 00:00:00",
            "end_date": "2025-01-31 23:59:59",
            "active": True,
        }
    ]
    [row] = stored(database)
    assert row["start_date"] == datetime(2024, 8, 1, 7, tzinfo=UTC)  # midnight PDT
    assert row["end_date"] == datetime(2025, 2, 1, 7, 59, 59, tzinfo=UTC)  # PST


async def test_a_building_without_a_time_zone_takes_its_dates_in_utc(
    client: httpx.AsyncClient, headers: dict[str, str], account: str, reading: str, database: Database
) -> None:
    school = await created(client, "buildings", {"account_id": account, "title": "No zone"}, headers)

    body = [permission(school, reading, start_date="2024-08-01 08:30:00", end_date=None, active=False)]
    response = await post(client, "permissions", body, headers)

    assert response.status_code == 201
    [grant] = await held(client, school, headers)
    assert (grant["start_date"], grant["end_date"], grant["active"]) == ("2024-08-01 08:30:00", None, False)
    [row] = stored(database)
    assert row["start_date"] == datetime(2024, 8, 1, 8, 30, tzinfo=UTC)


async def test_a_grant_again_changes_only_the_fields_sent(
    client: httpx.AsyncClient, headers: dict[str, str], school: str, reading: str, database: Database
) -> None:
    first = permission(school, reading, start_date="2024-08-01 00:00:00", end_date="2025-06-30 00:00:00")
    await post(client, "permissions", [first], headers)

    response = await post(client, "permissions", [permission(school, reading, active=False)], headers)

    assert response.status_code == 200
    assert response.json() == [{"building_id": school, "permission_id": reading, "result": "updated"}]
    [grant] = await held(client, school, headers)
    assert (grant["start_date"], grant["end_date"], grant["active"]) == (
        "2024-08-01 00:00:00",
        "2025-06-30 00:00:00",
        False,
    )
    assert len(stored(database)) == 1
    with database.snapshot() as conn:
        changes = list_changes(conn, entity_type="grant", entity_id=school)
    assert [(c.action, c.actor.startswith("token:")) for c in changes] == [("create", True), ("update", True)]
    assert changes[0].fields == {
        "entitlement": [None, reading],
        "start_date": [None, "2024-08-01T07:00:00+00:00"],
        "end_date": [None, "2025-06-30T07:00:00+00:00"],
        "active": [None, True],
    }
    assert changes[1].fields == {"entitlement": [reading, reading], "active": [True, False]}


async def test_an_open_end_is_set_with_null_and_a_date_left_out_is_kept(
    client: httpx.AsyncClient, headers: dict[str, str], school: str, reading: str
) -> None:
    first = permission(school, reading, start_date="2024-08-01 00:00:00", end_date="2025-06-30 00:00:00")
    await post(client, "permissions", [first], headers)

    response = await post(client, "permissions", [permission(school, reading, end_date=None)], headers)

    assert response.json()[0]["result"] == "updated"
    [grant] = await held(client, school, headers)
    assert (grant["start_date"], grant["end_date"], grant["active"]) == ("2024-08-01 00:00:00", None, True)


async def test_the_same_grant_again_is_unchanged_and_writes_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], school: str, reading: str, database: Database
) -> None:
    item = permission(school, reading, start_date="2024-08-01 00:00:00", end_date=None, active=True)
    await post(client, "permissions", [item], headers)
    before = written(database)

    response = await post(client, "permissions", [item], headers)

    assert response.status_code == 200
    assert response.json() == [{"building_id": school, "permission_id": reading, "result": "unchanged"}]
    assert written(database) == before


async def test_many_grants_answer_in_the_order_sent(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    school: str,
    reading: str,
    directory: Directory,
) -> None:
    maths = directory.apply(AddEntitlement("myon:maths", "Maths"), "cli").public_id
    await post(client, "permissions", [permission(school, reading)], headers)

    response = await post(
        client, "permissions", [permission(school, reading, active=False), permission(school, maths)], headers
    )

    assert response.status_code == 201
    assert [(item["permission_id"], item["result"]) for item in response.json()] == [
        (reading, "updated"),
        (maths, "created"),
    ]
    assert [g["code"] for g in await held(client, school, headers)] == ["myon:maths", "myon:reading"]


async def test_an_account_is_answered_without_permissions(
    client: httpx.AsyncClient, headers: dict[str, str], account: str, school: str
) -> None:
    assert "permissions" not in (await client.get(f"/myon/accounts/{account}", headers=headers)).json()
    assert await held(client, school, headers) == []


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "field", "reason", "words"),
    [
        ("a permission", "item", "invalid", "JSON object"),
        ({"colour": "red"}, "colour", "unknown", "not a field"),
        ({"building_id": None}, "building_id", "invalid", "not null"),
        ({"building_id": 7}, "building_id", "invalid", "must be a string"),
        ({"building_id": " "}, "building_id", "required", "required"),
        ({"permission_id": None}, "permission_id", "invalid", "must be a string"),
        ({"start_date": "2024-08-01"}, "start_date", "invalid", "YYYY-MM-DD HH:MM:SS"),
        ({"start_date": "2024-08-01T00:00:00"}, "start_date", "invalid", "YYYY-MM-DD HH:MM:SS"),
        ({"start_date": "2024-8-1 00:00:00"}, "start_date", "invalid", "YYYY-MM-DD HH:MM:SS"),
        ({"start_date": "2024-08-01 00:00:00Z"}, "start_date", "invalid", "YYYY-MM-DD HH:MM:SS"),
        ({"start_date": 1722470400}, "start_date", "invalid", "not a number"),
        ({"end_date": "2023-02-29 00:00:00"}, "end_date", "invalid", "not a date and time that exists"),
        ({"end_date": "2024-08-01 24:00:00"}, "end_date", "invalid", "not a date and time that exists"),
        ({"active": "true"}, "active", "invalid", "must be a boolean (true or false), not a string"),
        ({"active": 1}, "active", "invalid", "must be a boolean"),
        ({"active": None}, "active", "invalid", "not null"),
    ],
)
async def test_a_bad_item_is_named_by_index_field_and_reason_and_nothing_is_written(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    account: str,
    school: str,
    reading: str,
    database: Database,
    item: Any,
    field: str,
    reason: str,
    words: str,
) -> None:
    other = await created(client, "buildings", {"account_id": account, "title": "Shelbyville High"}, headers)
    bad = {**permission(other, reading), **item} if isinstance(item, dict) else item
    before = written(database)

    response = await post(client, "permissions", [permission(school, reading), bad], headers)

    assert response.status_code == 422
    answer = response.json()
    assert answer["status"] == 422
    [error] = answer["errors"]
    assert (error["index"], error["field"], error["reason"]) == (1, field, reason)
    assert words in error["message"]
    assert written(database) == before


@pytest.mark.parametrize("field", ["building_id", "permission_id"])
async def test_an_item_without_its_building_or_permission_is_refused(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    school: str,
    reading: str,
    database: Database,
    field: str,
) -> None:
    item = permission(school, reading)
    del item[field]
    before = written(database)

    response = await post(client, "permissions", [item], headers)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"], error["reason"], error["message"]) == (
        0,
        field,
        "required",
        f"{field} is required",
    )
    assert written(database) == before


async def test_unknown_ids_an_account_a_repeat_and_a_reversed_window_are_refused_together(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    account: str,
    school: str,
    reading: str,
    database: Database,
) -> None:
    other = await created(client, "buildings", {"account_id": account, "title": "Shelbyville High"}, headers)
    before = written(database)

    response = await post(
        client,
        "permissions",
        [
            permission(school, reading),
            permission(UNKNOWN, reading),
            permission(account, reading),
            permission(school, UNKNOWN),
            {"building_id": school, "permission_id": reading, "active": "true"},
            permission(school, reading, active=False),
            permission(other, reading, start_date="2024-09-01 00:00:00", end_date="2024-08-31 23:59:59"),
        ],
        headers,
    )

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["index"], e["field"], e["reason"]) for e in errors] == [
        (1, "building_id", "unknown"),
        (2, "building_id", "invalid"),
        (3, "permission_id", "unknown"),
        (4, "active", "invalid"),
        (5, "permission_id", "invalid"),
        (6, "end_date", "invalid"),
    ]
    messages = [e["message"] for e in errors]
    assert messages[0] == f"no building has the id {UNKNOWN}"
    assert messages[1] == f"{account} is an account, not a building"
    assert messages[2] == f"no entitlement has the id {UNKNOWN}"
    assert messages[4] == f"permission_id {reading} is granted to building {school} twice in this batch"
    assert written(database) == before


async def test_an_end_before_the_start_is_refused_on_end_date(
    client: httpx.AsyncClient, headers: dict[str, str], school: str, reading: str, database: Database
) -> None:
    await post(
        client, "permissions", [permission(school, reading, start_date="2024-09-01 00:00:00")], headers
    )
    before = written(database)

    response = await post(
        client, "permissions", [permission(school, reading, end_date="2024-08-31 23:59:59")], headers
    )

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"], error["reason"]) == (0, "end_date", "invalid")
    assert error["message"] == (
        "end_date 2024-08-31T23:59:59-07:00 is before start_date 2024-09-01T00:00:00-07:00"
    )
    assert written(database) == before


async def test_more_than_a_thousand_items_is_413_and_writes_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], database: Database
) -> None:
    response = await post(client, "permissions", [{"active": True}] * 1001, headers)

    assert response.status_code == 413
    assert "at most 1000" in response.json()["message"]
    assert count_rows(database, tables.grants) == 0


async def test_a_body_over_the_size_limit_is_413(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await post(client, "permissions", [{"building_id": "x" * 1_100_000}], headers)

    assert response.status_code == 413
    assert response.json()["status"] == 413


# -- credentials -----------------------------------------------------------------------------------


async def test_without_a_token_the_answer_is_401(
    client: httpx.AsyncClient, school: str, reading: str, database: Database
) -> None:
    response = await client.post("/myon/permissions", json=[permission(school, reading)])

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert count_rows(database, tables.grants) == 0


async def test_a_token_without_entitlement_write_is_403(
    client: httpx.AsyncClient, make_token: MakeToken, school: str, reading: str, database: Database
) -> None:
    org_writer = {"Authorization": f"Bearer {make_token('org-write', 'org-read')}"}

    response = await post(client, "permissions", [permission(school, reading)], org_writer)

    assert response.status_code == 403
    assert "entitlement-write" in response.json()["message"]
    assert count_rows(database, tables.grants) == 0
