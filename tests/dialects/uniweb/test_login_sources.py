"""A client limited to some login sources, on members: a request touching one member beyond them fails
whole (403 in the seed's shape), whichever action it is, and writes nothing; a request touching only
members it may see is answered."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from provisionhub.directory.access import Permission
from provisionhub.directory.memberships import Role, UpsertMember
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.people import UpdatePerson
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.dialects.uniweb.conftest import MakeClient
from tests.dialects.uniweb.test_resource import (
    BIOGRAPHY,
    BOB_BIOGRAPHY,
    MEMBERSHIP,
    READ_AND_WRITE,
    SELECTED,
    ask,
    error_of,
    new_bob,
    new_person,
    token,
)
from tests.factories import new_organisation

pytestmark = pytest.mark.anyio

#: What the scoped clients of these tests may see: people pushed by OPS-COM (new_person's login source).
SEEN = ["OPSCOM"]
UNIT = "Civil Engineering"


def people(directory: Directory) -> dict[str, str]:
    """Bob (seen) and Eve (pushed through SCIM: beyond SEEN), professors in Civil Engineering; Carl
    (seen), a lecturer in no unit. Their public ids by name, and the unit's as "unit"."""
    unit = new_organisation(directory, OrgKind.ACCOUNT, title=UNIT)
    bob = new_bob(directory)
    eve = new_person(
        directory, login_source="SCIM", username="esmith", email="esmith@mail.ca", title="Professor"
    )
    carl = new_person(directory, username="carl@mail.ca", title="Lecturer")
    joined = {"account": unit, "role": Role.DISTRICT_ADMIN}
    with directory.database.transaction() as conn:
        directory.update_person(conn, UpdatePerson(bob, {"title": "Professor"}), "test")
        directory.upsert_members(
            conn, [UpsertMember(public_id=p, membership=joined) for p in (bob, eve)], "test"
        )
    return {"bob": bob, "eve": eve, "carl": carl, "unit": unit}


def written(database: Database) -> tuple[Any, ...]:
    """The change log's, the outbox's and the section items' sizes, and the people's rows: what a refused
    request leaves as it was."""
    with database.snapshot() as conn:
        sizes = tuple(
            conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (tables.changes, tables.outbox, tables.profile_section_items)
        )
        rows = conn.execute(select(tables.people).order_by(tables.people.c.id)).all()
    return (*sizes, [tuple(row) for row in rows])


def refused_whole(answer: httpx.Response, field: str, *hidden: str) -> None:
    """answer is the seed's 403, naming the request's field, and holds nothing else: no member the client
    may see, and none of hidden (what it was not told of the member it may not see)."""
    assert answer.status_code == 403, answer.text
    error = error_of(answer)
    assert error["code"] == 403
    assert error["message"].startswith(f"{field}: this credential may not see")
    assert list(answer.json()) == ["error"]
    for unseen in hidden:
        assert unseen not in answer.text


# -- reads --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eve", ["esmith", "ESMITH@mail.ca", "<public id>"])
async def test_a_read_of_a_member_beyond_the_clients_login_sources_is_403(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, eve: str
) -> None:
    found = people(directory)
    access = await token(client, make_client, login_sources=SEEN)
    named = found["eve"] if eve == "<public id>" else eve

    answer = await ask(client, access, {"action": "read", "id": named, "resources": MEMBERSHIP})

    refused_whole(answer, "id", *({found["eve"], "esmith@mail.ca", "esmith"} - {named}))


@pytest.mark.parametrize(
    "kept",
    [
        {},
        {"unit": UNIT},
        {"units": "<unit>"},
        {"title": "Professor"},
        {"loginName": "esmith@mail.ca"},
        {"modified_since": "1970-01-01 00:00:01"},
    ],
    ids=["no filter", "unit", "units", "title", "loginName", "modified_since"],
)
async def test_a_filtered_read_keeping_one_member_beyond_them_fails_whole(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, kept: dict[str, Any]
) -> None:
    found = people(directory)
    access = await token(client, make_client, login_sources=SEEN)
    if "units" in kept:
        kept = {"units": [found["unit"]]}

    answer = await ask(client, access, {"action": "read", "filter": kept, "resources": [BIOGRAPHY]})

    refused_whole(answer, "filter", found["eve"])


async def test_reads_touching_only_members_it_may_see_are_answered(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    found = people(directory)
    scoped = await token(client, make_client, login_sources=SEEN)
    unlimited = await token(client, make_client, name="everyone")

    one = await ask(client, scoped, {"action": "read", "id": "bob@mail.ca", "resources": BIOGRAPHY})
    lecturers = await ask(
        client, scoped, {"action": "read", "filter": {"title": "Lecturer"}, "resources": BIOGRAPHY}
    )
    whole_unit = await ask(
        client, unlimited, {"action": "read", "filter": {"unit": UNIT}, "resources": BIOGRAPHY}
    )

    assert one.json() == {BIOGRAPHY: BOB_BIOGRAPHY}
    assert lecturers.json() == {found["carl"]: {BIOGRAPHY: None}}
    assert whole_unit.json() == {found["bob"]: {BIOGRAPHY: BOB_BIOGRAPHY}, found["eve"]: {BIOGRAPHY: None}}


# -- writes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_object",
    [
        {"action": "add", "resources": {SELECTED: [{"degree_name": "MSc"}]}},
        {"action": "add", "resources": {BIOGRAPHY: [{"biography": "Eve's own"}]}},
        {"action": "edit", "resources": {BIOGRAPHY: {"biography": "Rewritten"}}},
        {"action": "edit", "resources": {MEMBERSHIP: {"position_title": "Dean"}}},
        {"action": "clear", "resources": [SELECTED, BIOGRAPHY]},
    ],
    ids=["add", "add single", "edit", "edit the person", "clear"],
)
@pytest.mark.parametrize("how", ["multipart", "json"])
async def test_a_write_to_a_member_beyond_them_is_403_and_writes_nothing(
    client: httpx.AsyncClient,
    make_client: MakeClient,
    directory: Directory,
    database: Database,
    request_object: dict[str, Any],
    how: str,
) -> None:
    found = people(directory)
    access = await token(client, make_client, READ_AND_WRITE, login_sources=SEEN)
    before = written(database)

    answer = await ask(client, access, {**request_object, "id": "esmith@mail.ca"}, how)

    refused_whole(answer, "id", found["eve"])
    assert written(database) == before


async def test_a_write_to_a_member_it_may_see_is_done(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory, database: Database
) -> None:
    found = people(directory)
    access = await token(client, make_client, READ_AND_WRITE, login_sources=SEEN)
    before = written(database)

    answer = await ask(
        client, access, {"action": "edit", "id": found["bob"], "resources": {BIOGRAPHY: {"biography": "New"}}}
    )

    assert answer.json() == {"success": True, "changed": [BIOGRAPHY]}
    assert written(database) != before


async def test_login_sources_do_not_stand_in_for_permissions(
    client: httpx.AsyncClient, make_client: MakeClient, directory: Directory
) -> None:
    people(directory)
    access = await token(client, make_client, [Permission.USER_READ], login_sources=SEEN)

    answer = await ask(client, access, {"action": "clear", "id": "bob@mail.ca", "resources": BIOGRAPHY})

    assert answer.status_code == 403
    assert "user-update" in error_of(answer)["message"]
