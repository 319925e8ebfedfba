"""myON users (district and building admins) over HTTP: create, update, read back, and every refusal."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from provisionhub.auth import passwords
from provisionhub.auth.passwords import verify_password
from provisionhub.directory.changes import list_changes
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.service import Directory
from provisionhub.directory.upserts import CHUNK
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import MakeToken, count_rows
from tests.factories import new_organisation, opscom_push, upsert

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class District:
    """An account with two buildings, another account with one, and an admin token's headers."""

    account: str
    building: str
    second_building: str
    other_account: str
    other_building: str
    headers: dict[str, str]


@pytest.fixture
def district(directory: Directory, make_token: MakeToken) -> District:
    account = new_organisation(directory, OrgKind.ACCOUNT)
    other = new_organisation(directory, OrgKind.ACCOUNT)
    return District(
        account=account,
        building=new_organisation(directory, OrgKind.BUILDING, parent=account),
        second_building=new_organisation(directory, OrgKind.BUILDING, parent=account),
        other_account=other,
        other_building=new_organisation(directory, OrgKind.BUILDING, parent=other),
        headers={"Authorization": f"Bearer {make_token('user-create', 'user-update', 'user-read')}"},
    )


_serial = iter(range(1, 1_000_000))


def user(account: str, **overrides: Any) -> dict[str, Any]:
    """A district admin of account, with a fresh username; overrides replace (None: remove) fields."""
    n = next(_serial)
    body: dict[str, Any] = {
        "account_id": account,
        "user_role_id": 6,
        "name_first": "Edna",
        "name_last": f"Krabappel{n}",
        "username": f"admin{n}@springfield.example.org",
        "email": f"edna{n}@springfield.example.org",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None or name not in overrides}


async def post_users(client: httpx.AsyncClient, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/myon/users", json=body, headers=headers)


async def new_user(client: httpx.AsyncClient, district: District, **overrides: Any) -> str:
    response = await post_users(client, [user(district.account, **overrides)], district.headers)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["myon_id"])


async def read_user(client: httpx.AsyncClient, district: District, myon_id: str) -> dict[str, Any]:
    response = await client.get(f"/myon/users/{myon_id}", headers=district.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def stored_person(database: Database, myon_id: str) -> dict[str, Any]:
    with database.snapshot() as conn:
        query = select(tables.people).where(tables.people.c.public_id == myon_id)
        return dict(conn.execute(query).mappings().one())


def written(database: Database) -> tuple[int, ...]:
    return tuple(count_rows(database, t) for t in (tables.people, tables.memberships, tables.changes))


# -- success ---------------------------------------------------------------------------------------


async def test_district_and_building_admins_are_created_and_read_back(
    client: httpx.AsyncClient, district: District
) -> None:
    district_admin = user(district.account, password=PASSWORD)
    building_admin = user(district.account, user_role_id="5", building_id=district.building)

    response = await post_users(client, [district_admin, building_admin], district.headers)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert [item["result"] for item in answer] == ["created", "created"]
    first = await read_user(client, district, answer[0]["myon_id"])
    second = await read_user(client, district, answer[1]["myon_id"])
    sent = {k: v for k, v in district_admin.items() if k != "password"}
    assert {k: first[k] for k in sent} == sent
    assert first["building_id"] is None
    assert (second["user_role_id"], second["building_id"]) == (5, district.building)
    assert "password" not in first
    assert PASSWORD not in response.text + str(first)


async def test_the_password_is_stored_as_an_argon2id_hash_and_never_logged(
    client: httpx.AsyncClient, district: District, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    myon_id = await new_user(client, district, password=PASSWORD)

    stored = stored_person(database, myon_id)["password_hash"]
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")
    with database.snapshot() as conn:
        [created] = list_changes(conn, entity_type="person", entity_id=myon_id)
    assert created.fields["password_hash"] == [None, "***"]
    assert PASSWORD not in caplog.text
    assert stored not in caplog.text


async def test_a_user_is_the_same_person_every_dialect_sees(
    client: httpx.AsyncClient, district: District, database: Database, make_token: MakeToken
) -> None:
    myon_id = await new_user(client, district, username="Principal.Skinner@Springfield.example.org")

    with database.snapshot() as conn:
        query = select(tables.people.c.public_id, tables.people.c.login_source).where(
            tables.people.c.username_key == "principal.skinner@springfield.example.org"
        )
        assert tuple(conn.execute(query).one()) == (myon_id, "MYON")
    # One namespace of usernames: OPS-COM cannot give this one to somebody else.
    push = opscom_push(make_token("user-create"), user_name="principal.skinner@springfield.example.org")
    refused = await client.post("/opscom/api/OC_TOMA/v1/profiles/push", json=push)
    assert refused.status_code == 409
    assert refused.json()["ErrorCode"] == 9020


async def test_a_person_from_another_dialect_becomes_an_admin_by_their_id(
    client: httpx.AsyncClient, district: District, directory: Directory, database: Database
) -> None:
    with database.transaction() as conn:
        person = directory.upsert_person(conn, upsert("emp-1"), "test").person

    response = await post_users(
        client,
        [{"myon_id": person.public_id, "account_id": district.account, "user_role_id": 6}],
        district.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json() == [{"myon_id": person.public_id, "result": "updated"}]
    read = await read_user(client, district, person.public_id)
    assert (read["username"], read["account_id"]) == (person["username"], district.account)
    assert stored_person(database, person.public_id)["login_source"] == "OPSCOM"


async def test_an_update_changes_only_the_fields_sent(client: httpx.AsyncClient, district: District) -> None:
    myon_id = await new_user(client, district)
    before = await read_user(client, district, myon_id)

    response = await post_users(client, [{"myon_id": myon_id, "name_last": "Simpson"}], district.headers)

    assert response.status_code == 200
    assert response.json() == [{"myon_id": myon_id, "result": "updated"}]
    after = await read_user(client, district, myon_id)
    assert after == {**before, "name_last": "Simpson", "updated_at": after["updated_at"]}
    assert after["updated_at"] > before["updated_at"]


async def test_sending_the_same_values_and_password_again_is_unchanged(
    client: httpx.AsyncClient, district: District, database: Database
) -> None:
    item = user(district.account, password=PASSWORD, building_id=district.building, user_role_id=5)
    [created] = (await post_users(client, [item], district.headers)).json()
    stored = stored_person(database, created["myon_id"])["password_hash"]
    changes = count_rows(database, tables.changes)

    again = await post_users(client, [{**item, "myon_id": created["myon_id"]}], district.headers)

    assert again.status_code == 200
    assert again.json() == [{"myon_id": created["myon_id"], "result": "unchanged"}]
    assert stored_person(database, created["myon_id"])["password_hash"] == stored
    assert count_rows(database, tables.changes) == changes


async def test_a_new_password_replaces_the_old_one(
    client: httpx.AsyncClient, district: District, database: Database
) -> None:
    myon_id = await new_user(client, district, password=PASSWORD)

    response = await post_users(
        client, [{"myon_id": myon_id, "password": "another passphrase"}], district.headers
    )

    assert response.json() == [{"myon_id": myon_id, "result": "updated"}]
    stored = stored_person(database, myon_id)["password_hash"]
    assert verify_password(stored, "another passphrase")
    assert not verify_password(stored, PASSWORD)


async def test_an_admin_moves_between_buildings_and_roles(
    client: httpx.AsyncClient, district: District, database: Database
) -> None:
    myon_id = await new_user(client, district, user_role_id=5, building_id=district.building)

    moved = await post_users(
        client, [{"myon_id": myon_id, "building_id": district.second_building}], district.headers
    )
    promoted = await post_users(
        client, [{"myon_id": myon_id, "user_role_id": 6, "building_id": None}], district.headers
    )

    assert [moved.status_code, promoted.status_code] == [200, 200]
    read = await read_user(client, district, myon_id)
    assert (read["user_role_id"], read["building_id"]) == (6, None)
    with database.snapshot() as conn:
        logged = [c.fields for c in list_changes(conn, entity_type="person", entity_id=myon_id)]
    parts = ("account", "building", "role")
    assert [{name: value for name, value in fields.items() if name in parts} for fields in logged] == [
        {
            "account": [None, district.account],
            "building": [None, district.building],
            "role": [None, "building_admin"],
        },
        {"building": [district.building, district.second_building]},
        {"building": [district.second_building, None], "role": ["building_admin", "district_admin"]},
    ]
    assert set(logged[1]) == {"building"}  # where they belong is all that changed


async def test_a_new_user_is_one_event_in_the_outbox_and_a_membership_change_is_one_more(
    client: httpx.AsyncClient, district: District, database: Database
) -> None:
    myon_id = await new_user(client, district)
    person_id = stored_person(database, myon_id)["id"]

    await post_users(
        client, [{"myon_id": myon_id, "user_role_id": 5, "building_id": district.building}], district.headers
    )
    await post_users(
        client, [{"myon_id": myon_id, "name_first": "Edna M.", "user_role_id": 6}], district.headers
    )

    with database.snapshot() as conn:
        query = select(tables.outbox.c.event).where(tables.outbox.c.person_id == person_id)
        events = list(conn.execute(query.order_by(tables.outbox.c.id)).scalars())
    assert events == ["added", "edited", "edited"]


async def test_a_thousand_users_take_hardly_more_statements_than_ten(
    client: httpx.AsyncClient, district: District, database: Database
) -> None:
    """One transaction of batched statements: only the lookup of people by identity is split, into
    lists of CHUNK keys. (SQLite's fast paths run on the driver and are not counted here; what
    SQLAlchemy runs must not grow with the items either.)"""
    statements: list[str] = []
    await new_user(client, district)  # connections opened and set up: not part of the comparison

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        counts = []
        for size in (10, 1000):
            statements.clear()
            response = await post_users(
                client, [user(district.account) for _ in range(size)], district.headers
            )
            assert response.status_code == 201
            counts.append(len(statements))
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert counts[0] <= counts[1] <= counts[0] + 1000 // CHUNK, [s[:60] for s in statements]


# -- refusals --------------------------------------------------------------------------------------

WRONG = "00000000-0000-7000-8000-000000000000"


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"username": "not-an-email"}, "username", "invalid"),
        ({"username": None}, "username", "required"),
        ({"email": "edna@"}, "email", "invalid"),
        ({"user_role_id": 4}, "user_role_id", "invalid"),
        ({"user_role_id": "admin"}, "user_role_id", "invalid"),
        ({"user_role_id": True}, "user_role_id", "invalid"),
        ({"user_role_id": None}, "user_role_id", "required"),
        ({"account_id": None}, "account_id", "required"),
        ({"account_id": WRONG}, "account_id", "unknown"),
        ({"account_id": "building"}, "account_id", "invalid"),
        ({"building_id": WRONG}, "building_id", "unknown"),
        ({"building_id": "account"}, "building_id", "invalid"),
        ({"building_id": "other_building"}, "building_id", "invalid"),
        ({"user_role_id": 5}, "building_id", "required"),
        ({"password": "short"}, "password", "too_short"),
        ({"password": "x" * 257}, "password", "too_long"),
        ({"password": 12345678}, "password", "invalid"),
        ({"name_first": "x" * 101}, "name_first", "too_long"),
        ({"favourite_colour": "red"}, "favourite_colour", "unknown"),
        ({"myon_id": WRONG}, "myon_id", "not_found"),
        ({"myon_id": ""}, "myon_id", "invalid"),
    ],
)
async def test_a_bad_user_is_named_by_field_and_reason_and_nothing_is_written(
    client: httpx.AsyncClient,
    district: District,
    database: Database,
    overrides: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    names = {
        "building": district.building,
        "account": district.account,
        "other_building": district.other_building,
    }
    overrides = {k: names.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    before = written(database)

    response = await post_users(
        client, [user(district.account), user(district.account, **overrides)], district.headers
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["index"], error["field"], error["reason"]) == (1, field, reason)
    assert error["message"]
    assert written(database) == before


async def test_a_username_that_is_no_email_is_named_as_username(
    client: httpx.AsyncClient, district: District
) -> None:
    response = await post_users(client, [user(district.account, username="edna@")], district.headers)

    [error] = response.json()["errors"]
    assert error["message"].startswith("username is not a valid email address")


async def test_a_username_held_by_anyone_in_any_case_is_taken(
    client: httpx.AsyncClient, district: District, database: Database
) -> None:
    await new_user(client, district, username="chalmers@springfield.example.org")
    before = written(database)

    response = await post_users(
        client, [user(district.account, username="CHALMERS@springfield.example.org")], district.headers
    )

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["reason"]) == ("username", "taken")
    assert written(database) == before


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"username": None}, "username", "cannot be cleared"),
        ({"account_id": None}, "account_id", "cannot be cleared"),
        ({"password": None}, "password", "leave it out"),
        ({"account_id": "other_account"}, "building_id", "belongs to another account"),
    ],
)
async def test_an_update_cannot_clear_what_a_user_needs_or_split_account_and_building(
    client: httpx.AsyncClient, district: District, item: dict[str, Any], field: str, message: str
) -> None:
    myon_id = await new_user(client, district, user_role_id=5, building_id=district.building)
    item = {k: district.other_account if v == "other_account" else v for k, v in item.items()}

    response = await post_users(client, [{"myon_id": myon_id, **item}], district.headers)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert message in error["message"]


async def test_the_same_user_twice_in_one_array_is_refused(
    client: httpx.AsyncClient, district: District
) -> None:
    myon_id = await new_user(client, district)

    response = await post_users(
        client,
        [{"myon_id": myon_id, "name_first": "A"}, {"myon_id": myon_id, "name_first": "B"}],
        district.headers,
    )

    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(1, "myon_id")]


async def test_one_object_instead_of_an_array_is_refused(
    client: httpx.AsyncClient, district: District
) -> None:
    response = await post_users(client, user(district.account), district.headers)

    assert response.status_code == 400
    assert "array" in response.json()["message"]


async def test_more_than_a_thousand_users_are_refused_whole(
    client: httpx.AsyncClient, district: District
) -> None:
    response = await post_users(client, [user(district.account) for _ in range(1001)], district.headers)

    assert response.status_code == 413
    assert "1000" in response.json()["message"]


async def test_a_body_over_the_bulk_size_limit_is_refused(
    client: httpx.AsyncClient, district: District
) -> None:
    # The tests' limit is 1 MiB (a thousand everyday users fit in a fifth of that). The body is refused
    # before it is parsed, so what the items hold does not matter.
    response = await post_users(
        client, [user(district.account, notes="x" * 1100) for _ in range(1000)], district.headers
    )

    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["message"]


# -- credentials -----------------------------------------------------------------------------------


async def test_creating_updating_and_reading_each_need_their_permission(
    client: httpx.AsyncClient, district: District, make_token: MakeToken
) -> None:
    myon_id = await new_user(client, district)

    def headers(*permissions: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(*permissions)}"}

    create = await post_users(client, [user(district.account)], headers("user-update", "user-read"))
    update = await post_users(client, [{"myon_id": myon_id, "name_first": "X"}], headers("user-create"))
    read = await client.get(f"/myon/users/{myon_id}", headers=headers("user-create", "user-update"))
    anonymous = await post_users(client, [user(district.account)], {})

    assert [create.status_code, update.status_code, read.status_code] == [403, 403, 403]
    assert "user-create" in create.json()["message"]
    assert "user-update" in update.json()["message"]
    assert "user-read" in read.json()["message"]
    assert anonymous.status_code == 401


async def test_a_token_that_is_not_valid_is_refused_before_any_password_is_hashed(
    client: httpx.AsyncClient, district: District, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[tuple[str, str | None]] = []

    def hash_for(password: str, stored: str | None) -> str:
        hashed.append((password, stored))
        return "$argon2id$never-stored"

    monkeypatch.setattr(passwords, "hash_for", hash_for)
    before = written(database)
    for users in ([user(district.account, password=PASSWORD)], [user(district.account)]):
        response = await post_users(client, users, {"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401, response.text

    assert hashed == []
    assert written(database) == before


async def test_a_token_scoped_to_an_account_sees_only_its_users(
    client: httpx.AsyncClient, district: District, make_token: MakeToken, database: Database
) -> None:
    theirs = await new_user(client, district, account_id=district.other_account)
    token = make_token("user-create", "user-update", "user-read", account=district.account)
    scoped = {"Authorization": f"Bearer {token}"}

    ours = await post_users(client, [user(district.account)], scoped)
    elsewhere = await post_users(client, [user(district.other_account)], scoped)
    touch = await post_users(client, [{"myon_id": theirs, "name_first": "X"}], scoped)
    look = await client.get(f"/myon/users/{theirs}", headers=scoped)

    assert ours.status_code == 201
    assert (await client.get(f"/myon/users/{ours.json()[0]['myon_id']}", headers=scoped)).status_code == 200
    assert [(e["field"], e["reason"]) for e in elsewhere.json()["errors"]] == [("account_id", "unknown")]
    assert [(e["field"], e["reason"]) for e in touch.json()["errors"]] == [("myon_id", "not_found")]
    assert look.status_code == 404


async def test_reading_a_person_who_is_no_myon_user_is_404(
    client: httpx.AsyncClient, district: District, directory: Directory, database: Database
) -> None:
    with database.transaction() as conn:
        person = directory.upsert_person(conn, upsert("emp-2"), "test").person

    response = await client.get(f"/myon/users/{person.public_id}", headers=district.headers)

    assert response.status_code == 404
    assert response.json()["status"] == 404
