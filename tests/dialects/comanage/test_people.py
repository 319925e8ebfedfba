"""Provisioning people through the COmanage receiver: both URL modes, what maps where, repeats."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import quote

import httpx
import pytest

from provisionhub.directory.changes import list_changes
from provisionhub.directory.people import Status
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows, outbox_events
from tests.dialects.comanage.conftest import (
    PEOPLE,
    group_names,
    message,
    new_identifier,
    nobody,
    provision,
    reference_message,
    stored,
)

pytestmark = pytest.mark.anyio


async def test_the_reference_message_creates_the_person_with_every_property_mapped(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()

    answer = await provision(client, registry, reference_message(identifier), 201)

    person = stored(database, identifier)
    assert answer.json() == {"id": person.public_id, "identifier": identifier, "result": "created"}
    assert (person.login_source, person.unique_id, person.status) == ("COMANAGE", identifier, Status.ACTIVE)
    assert {name: value for name, value in person.fields.items() if value is not None} == {
        # the official name, not the preferred one; formatted is the display name
        "name_prefix": "Hon.",
        "given_name": "Augusta",
        "middle_name": "Ada",
        "family_name": "King",
        "name_suffix": "FRS",
        "display_name": "Hon. Augusta Ada King FRS",
        # the official address, not the first; its domain lower-cased as every email's is
        "email": "Ada.King@example.edu",
        # uid before eppn; employeeNumber
        "username": "aking",
        "employee_number": "E-1815",
        # the first role: its title, organization, department, first address and phones (fax not kept)
        "title": "Analyst",
        "company": "Analytical Engines Ltd",
        "department": "Mathematics",
        "street": "12 St James's Square",
        "city": "London",
        "region": "Westminster",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
        "employee_phone": "+44 20 7946 0123 x7",
        "mobile_phone": "+44 7700 900123",
        "valid_from": datetime(2026, 1, 1, tzinfo=UTC),
        "valid_through": datetime(2027, 6, 30, 23, 59, 59, tzinfo=UTC),
        "date_of_birth": date(1815, 12, 10),
    }
    assert group_names(database, person) == ["Analysts", "CO:members:all"]
    assert outbox_events(database, person.public_id) == ["added", "edited"]  # the person, then their groups


async def test_the_same_message_again_is_unchanged_and_writes_nothing(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, reference_message(identifier), 201)
    logged, events = count_rows(database, tables.changes), count_rows(database, tables.outbox)

    again = await provision(client, registry, reference_message(identifier), 200)
    put_again = await client.put(PEOPLE + identifier, json=reference_message(identifier), headers=registry)

    assert again.json()["result"] == put_again.json()["result"] == "unchanged"
    assert (count_rows(database, tables.changes), count_rows(database, tables.outbox)) == (logged, events)


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_put_mode_upserts_the_person_the_url_names(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, method: str
) -> None:
    identifier = new_identifier()
    body = reference_message(identifier)
    del body["person"]["meta"]["id"]  # the URL names the person; the body need not

    created = await client.request(method, PEOPLE + identifier, json=body, headers=registry)
    body["person"]["roles"][0]["title"] = "Senior Analyst"
    updated = await client.request(method, PEOPLE + identifier, json=body, headers=registry)

    assert (created.status_code, created.json()["result"]) == (201, "created")
    assert (updated.status_code, updated.json()["result"]) == (200, "updated")
    person = stored(database, identifier)
    assert person["title"] == "Senior Analyst"
    with database.snapshot() as conn:
        [change] = list_changes(conn, entity_type="person", entity_id=person.public_id)[-1:]
    assert (change.action, change.fields) == ("update", {"title": ["Analyst", "Senior Analyst"]})


@pytest.mark.parametrize(
    ("identifier", "in_url"),
    [
        ("ada@example.edu", "ada@example.edu"),  # the Registry appends it as it is
        ("ada@example.edu", "ada%40example.edu"),
        ("https://idp.example.edu/idp!https://sp.example.org!tZ3q", None),  # an eptid: slashes and all
        ("name with spaces+plus", None),
    ],
)
async def test_the_identifier_in_the_url_is_url_decoded(
    client: httpx.AsyncClient,
    registry: dict[str, str],
    database: Database,
    identifier: str,
    in_url: str | None,
) -> None:
    path = PEOPLE + (in_url if in_url is not None else quote(identifier, safe=""))

    answer = await client.put(path, json=message(identifier, names=[{"given": "Ada"}]), headers=registry)

    assert answer.status_code == 201, answer.text
    assert answer.json()["identifier"] == identifier
    assert stored(database, identifier)["given_name"] == "Ada"
    raw = await client.put(
        PEOPLE + identifier, json=message(identifier, names=[{"given": "Ada"}]), headers=registry
    )
    assert raw.json()["result"] == "unchanged"  # the same person, with the slashes sent as they are


async def test_a_body_that_names_another_person_than_the_url_is_400_and_writes_nothing(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    answer = await client.put(PEOPLE + "ada@example.edu", json=message("bob@example.edu"), headers=registry)

    assert answer.status_code == 400
    assert answer.json()["field"] == "person.meta.id"
    assert nobody(database, "ada@example.edu")
    assert nobody(database, "bob@example.edu")


async def test_the_schema_s_spellings_mail_and_street_are_taken_like_the_code_s(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    body = message(
        identifier,
        emailAddresses=[{"mail": "ada@example.edu", "type": "official"}],
        roles=[{"addresses": [{"street": "1 Infinite Loop", "locality": "Cupertino"}]}],
    )

    await provision(client, registry, body, 201)

    person = stored(database, identifier)
    assert (person["email"], person["street"], person["city"]) == (
        "ada@example.edu",
        "1 Infinite Loop",
        "Cupertino",
    )


async def test_both_spellings_at_once_are_taken_when_they_agree_and_refused_when_they_differ(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    agreeing = message(identifier, emailAddresses=[{"address": "ada@example.edu", "mail": "ada@example.edu"}])
    differing = message(
        identifier, roles=[{"addresses": [{"streetAddress": "1 Main St", "street": "2 Main St"}]}]
    )

    await provision(client, registry, agreeing, 201)
    refused = await provision(client, registry, differing, 400)

    assert refused.json()["field"] == "person.roles[0].addresses[0].street"
    assert stored(database, identifier)["street"] is None


async def test_without_an_official_name_or_email_the_preferred_email_and_the_first_of_each_are_taken(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    body = message(
        identifier,
        names=[
            {"given": "Ada", "family": "Lovelace", "type": "alternative"},
            {"given": "A.", "type": "author"},
        ],
        emailAddresses=[
            {"address": "", "type": "official"},  # no address: as if not sent
            {"address": "first@example.edu", "type": "personal"},
            {"address": "preferred@example.edu", "type": "Preferred"},
        ],
    )

    await provision(client, registry, body, 201)

    person = stored(database, identifier)
    assert (person["given_name"], person["family_name"], person["display_name"]) == ("Ada", "Lovelace", None)
    assert person["email"] == "preferred@example.edu"
    body["person"]["emailAddresses"].pop()
    await provision(client, registry, body, 200)
    assert stored(database, identifier)["email"] == "first@example.edu"


@pytest.mark.parametrize(
    ("identifiers", "username", "employee_number"),
    [
        ([{"identifier": "a@example.edu", "type": "eppn"}], "a@example.edu", None),
        (
            [{"identifier": "a@example.edu", "type": "eppn"}, {"identifier": "ada", "type": "UID"}],
            "ada",
            None,
        ),
        ([{"identifier": "ada", "type": "uid"}, {"identifier": "ada.k", "type": "username"}], "ada.k", None),
        ([{"identifier": "B-77", "type": "badge"}], None, "B-77"),
        (
            [{"identifier": "B-77", "type": "badge"}, {"identifier": "E-1", "type": "employee_number"}],
            None,
            "E-1",
        ),
        (
            [{"identifier": "X-1", "type": "employeeID"}, {"identifier": "ada", "type": "network"}],
            None,
            "X-1",
        ),
        ([{"type": "uid"}, {"identifier": "x", "type": "oidcsub"}], None, None),
    ],
)
async def test_identifier_types_give_the_username_and_the_employee_number(
    client: httpx.AsyncClient,
    registry: dict[str, str],
    database: Database,
    identifiers: list[dict[str, str]],
    username: str | None,
    employee_number: str | None,
) -> None:
    identifier = new_identifier()

    await provision(client, registry, message(identifier, identifiers=identifiers), 201)

    person = stored(database, identifier)
    assert (person["username"], person["employee_number"]) == (username, employee_number)


async def test_telephone_numbers_go_to_the_mobile_and_work_phones_by_type(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    phones = [
        {"number": "+1 555 0100", "type": "home"},
        {"number": "+1 555 0101"},  # no type: a role's number is a work number
        {"number": "+1 555 0102", "type": "campus"},
        {"number": "+1 555 0103", "type": "mobile"},
        {"number": "+1 555 0104", "type": "mobile"},
    ]

    await provision(client, registry, message(identifier, roles=[{"telephoneNumbers": phones}]), 201)

    person = stored(database, identifier)
    assert (person["employee_phone"], person["mobile_phone"]) == ("+1 555 0101", "+1 555 0103")


@pytest.mark.parametrize(
    ("roles", "valid_from", "valid_through"),
    [
        ([], None, None),
        ([{"validFrom": "2026-03-01T08:00:00Z"}], datetime(2026, 3, 1, 8, tzinfo=UTC), None),
        (
            [
                {"validFrom": "2026-03-01T00:00:00Z", "validThrough": "2026-06-30T00:00:00Z"},
                {"validFrom": "2025-09-01T00:00:00+02:00", "validThrough": "2027-01-31T00:00:00Z"},
            ],
            datetime(2025, 8, 31, 22, tzinfo=UTC),
            datetime(2027, 1, 31, tzinfo=UTC),
        ),
        # a role open on one side leaves the person open on that side
        ([{"validThrough": "2026-06-30T00:00:00Z"}, {"validFrom": "2026-01-01T00:00:00Z"}], None, None),
    ],
)
async def test_the_person_is_valid_while_any_role_is(
    client: httpx.AsyncClient,
    registry: dict[str, str],
    database: Database,
    roles: list[dict[str, str]],
    valid_from: datetime | None,
    valid_through: datetime | None,
) -> None:
    identifier = new_identifier()

    await provision(client, registry, message(identifier, roles=roles), 201)

    person = stored(database, identifier)
    assert (person["valid_from"], person["valid_through"]) == (valid_from, valid_through)


async def test_what_a_message_no_longer_carries_is_cleared(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, reference_message(identifier), 201)

    body = message(
        identifier, status="active", names=[{"given": "Ada", "family": "King", "type": "official"}]
    )
    answer = await provision(client, registry, body, 200)

    assert answer.json()["result"] == "updated"
    person = stored(database, identifier)
    assert {name for name, value in person.fields.items() if value is not None} == {
        "given_name",
        "family_name",
    }
    assert group_names(database, person) == []


async def test_fields_no_message_maps_are_left_as_they_are(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    identifier = new_identifier()
    await provision(client, registry, message(identifier, names=[{"given": "Ada"}]), 201)
    with database.transaction() as conn:  # what another dialect keeps of the person (SCIM's locale)
        conn.execute(
            tables.people.update().where(tables.people.c.unique_id == identifier).values(locale="en-GB")
        )

    await provision(client, registry, message(identifier, names=[{"given": "Augusta"}]), 200)

    person = stored(database, identifier)
    assert (person["given_name"], person["locale"]) == ("Augusta", "en-GB")


async def test_the_date_of_birth_is_kept_but_masked_in_the_change_log_and_never_logged(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    identifier = new_identifier()
    caplog.set_level("DEBUG")

    await provision(client, registry, message(identifier, dateOfBirth="1815-12-10"), 201)
    refused = await provision(client, registry, message(identifier, dateOfBirth="1815-13-10"), 400)

    person = stored(database, identifier)
    assert person["date_of_birth"] == date(1815, 12, 10)
    with database.snapshot() as conn:
        [created] = list_changes(conn, entity_type="person", entity_id=person.public_id)
    assert created.fields["date_of_birth"] == [None, "***"]
    assert refused.json()["field"] == "person.dateOfBirth"
    assert "1815" not in refused.text
    assert "1815" not in caplog.text
