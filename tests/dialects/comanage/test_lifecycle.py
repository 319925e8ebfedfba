"""A COmanage person's status, groups and deletion through the receiver: what each status label becomes,
which groups it gives, and deletes in both modes, repeated."""

from __future__ import annotations

import httpx
import pytest

from provisionhub.directory.groups import CreateGroup
from provisionhub.directory.people import Status
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows, outbox_events
from tests.dialects.comanage.conftest import (
    PEOPLE,
    delete_message,
    group_names,
    message,
    new_identifier,
    nobody,
    provision,
    reference_message,
    stored,
)

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("label", "status", "event"),
    [
        ("grace period", Status.GRACE_PERIOD, "grace_period"),
        ("grace_period", Status.GRACE_PERIOD, "grace_period"),  # provisionhub's own spelling
        ("expired", Status.EXPIRED, "expired"),
        ("suspended", Status.SUSPENDED, "edited"),
        ("Locked", Status.SUSPENDED, "edited"),
        ("pending approval", Status.SUSPENDED, "edited"),
        ("pending vetting", Status.SUSPENDED, "edited"),
        ("invited", Status.SUSPENDED, "edited"),
        ("confirmed", Status.SUSPENDED, "edited"),
    ],
)
async def test_a_status_label_moves_the_person_to_its_status(
    client: httpx.AsyncClient,
    registry: dict[str, str],
    database: Database,
    label: str,
    status: Status,
    event: str,
) -> None:
    identifier = new_identifier()
    await provision(client, registry, message(identifier, status="active"), 201)

    answer = await provision(client, registry, message(identifier, status=label), 200)

    assert answer.json()["result"] == "updated"
    person = stored(database, identifier)
    assert person.status is status
    assert outbox_events(database, person.public_id) == ["added", event]


async def test_active_again_after_expired_unexpires_and_a_message_without_status_keeps_it(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, message(identifier, status="expired"), 201)
    await provision(client, registry, message(identifier), 200)
    assert stored(database, identifier).status is Status.EXPIRED

    await provision(client, registry, message(identifier, status="active"), 200)

    person = stored(database, identifier)
    assert person.status is Status.ACTIVE
    assert outbox_events(database, person.public_id) == ["added", "expired", "unexpired"]


async def test_a_new_person_in_grace_period_is_created_then_moved_to_it(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()

    answer = await provision(client, registry, message(identifier, status="grace period"), 201)

    assert answer.json()["result"] == "created"
    person = stored(database, identifier)
    assert person.status is Status.GRACE_PERIOD
    assert outbox_events(database, person.public_id) == ["added", "grace_period"]


async def test_an_unknown_status_is_400_naming_it_and_writes_nothing(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()

    answer = await provision(client, registry, message(identifier, status="on sabbatical"), 400)

    assert answer.json()["field"] == "person.status"
    assert "grace period" in answer.json()["message"]
    assert nobody(database, identifier)


# -- groups ---------------------------------------------------------------------------------------------


async def test_members_are_the_person_s_groups_created_by_name_when_missing(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, directory: Directory
) -> None:
    directory.apply(CreateGroup("Analysts"), "test")
    ada, bob = new_identifier(), new_identifier()

    await provision(client, registry, message(ada, members=["analysts", "CO:members:all"]), 201)
    await provision(client, registry, message(bob, members=["CO:members:all"]), 201)

    assert group_names(database, stored(database, ada)) == [
        "Analysts",
        "CO:members:all",
    ]
    assert group_names(database, stored(database, bob)) == ["CO:members:all"]
    assert count_rows(database, tables.groups) == 2


async def test_the_groups_comanage_gave_follow_members_and_others_stay(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, directory: Directory
) -> None:
    identifier = new_identifier()
    await provision(client, registry, message(identifier, members=["Staff", "Faculty"]), 201)
    person = stored(database, identifier)
    directory.apply(CreateGroup("Tour Guides", [person.public_id]), "test")  # a SCIM client's, say

    dropped = await provision(client, registry, message(identifier, members=["Staff"]), 200)
    assert dropped.json()["result"] == "updated"
    assert group_names(database, person) == ["Staff", "Tour Guides"]

    await provision(client, registry, message(identifier), 200)  # COmanage leaves an empty list out
    assert group_names(database, person) == ["Tour Guides"]
    logged = count_rows(database, tables.changes)
    again = await provision(client, registry, message(identifier), 200)
    assert again.json()["result"] == "unchanged"
    assert count_rows(database, tables.changes) == logged


@pytest.mark.parametrize(
    ("members", "field"), [(["Staff", ""], "person.members[1]"), (["x" * 256], "person.members[0]")]
)
async def test_a_group_name_empty_or_too_long_is_400_naming_it(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, members: list[str], field: str
) -> None:
    identifier = new_identifier()

    answer = await provision(client, registry, message(identifier, members=members), 400)

    assert answer.json()["field"] == field
    assert nobody(database, identifier)
    assert count_rows(database, tables.groups) == 0


# -- deletes ----------------------------------------------------------------------------------------------


async def test_post_mode_s_delete_message_marks_the_person_deleted_and_erases_nothing(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, reference_message(identifier), 201)

    answer = await provision(client, registry, delete_message(identifier), 204)

    assert answer.content == b""
    person = stored(database, identifier)
    assert person.status is Status.DELETED
    assert person["given_name"] == "Augusta"
    assert group_names(database, person) == ["Analysts", "CO:members:all"]
    assert outbox_events(database, person.public_id) == ["added", "edited", "deleted"]


async def test_put_mode_deletes_with_delete_and_no_body(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = "https://idp.example.edu/idp!https://sp.example.org!tZ3q"
    await client.put(PEOPLE + identifier, json=message(identifier), headers=registry)

    answer = await client.delete(PEOPLE + identifier, headers=registry)

    assert answer.status_code == 204
    assert stored(database, identifier).status is Status.DELETED


@pytest.mark.parametrize("mode", ["post", "put"])
async def test_a_delete_repeated_or_of_nobody_is_2xx_and_writes_nothing(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, mode: str
) -> None:
    known, unknown = new_identifier(), new_identifier()
    await provision(client, registry, message(known), 201)

    async def delete(identifier: str) -> httpx.Response:
        if mode == "post":
            return await provision(client, registry, delete_message(identifier))
        return await client.delete(PEOPLE + identifier, headers=registry)

    assert (await delete(known)).status_code == 204
    logged, events = count_rows(database, tables.changes), count_rows(database, tables.outbox)
    assert (await delete(known)).status_code == 204
    assert (await delete(unknown)).status_code == 204
    assert (count_rows(database, tables.changes), count_rows(database, tables.outbox)) == (logged, events)
    assert nobody(database, unknown)


@pytest.mark.parametrize("label", ["deleted", "declined", "denied", "duplicate"])
async def test_a_message_whose_status_ends_the_person_deletes_them(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, label: str
) -> None:
    identifier, stranger = new_identifier(), new_identifier()
    await provision(client, registry, message(identifier, names=[{"given": "Ada"}]), 201)

    answer = await provision(client, registry, message(identifier, status=label), 204)
    await provision(client, registry, message(stranger, status=label), 204)

    assert answer.status_code == 204
    person = stored(database, identifier)
    assert (person.status, person["given_name"]) == (Status.DELETED, "Ada")
    assert nobody(database, stranger)  # nobody is created only to be deleted


async def test_a_deleted_person_comes_back_with_an_active_message(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, message(identifier, status="active"), 201)
    await provision(client, registry, delete_message(identifier), 204)

    answer = await provision(client, registry, message(identifier, status="active"), 200)

    assert answer.json()["result"] == "updated"
    person = stored(database, identifier)
    assert person.status is Status.ACTIVE
    assert outbox_events(database, person.public_id) == ["added", "deleted", "edited"]


async def test_a_delete_flag_in_put_mode_deletes_too(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await client.put(PEOPLE + identifier, json=message(identifier), headers=registry)

    answer = await client.post(PEOPLE + identifier, json=delete_message(identifier), headers=registry)

    assert answer.status_code == 204
    assert stored(database, identifier).status is Status.DELETED
