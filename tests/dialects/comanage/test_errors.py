"""Messages the COmanage receiver refuses: 400 naming the property's path (never a 500), nothing written;
and the other errors in its body."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows
from tests.dialects.comanage.conftest import (
    PEOPLE,
    message,
    new_identifier,
    provision,
    reference_message,
    stored,
)

pytestmark = pytest.mark.anyio

IDENTIFIER = "ada@example.edu"


def nothing_written(database: Database) -> bool:
    """No person, no group, no event (the change log holds the token's creation)."""
    written = (tables.people, tables.groups, tables.group_members, tables.outbox)
    return all(count_rows(database, table) == 0 for table in written)


#: Properties of the wrong type: (the person's properties, the path named, words of the message).
WRONG_TYPES = [
    ({"names": {"given": "Ada"}}, "person.names", "must be a list, not an object"),
    ({"names": ["Ada"]}, "person.names[0]", "must be an object, not a string"),
    ({"names": [{"given": 7}]}, "person.names[0].given", "must be a string, not a number"),
    (
        {"emailAddresses": [{"mail": ["a@example.edu"]}]},
        "person.emailAddresses[0].mail",
        "must be a string",
    ),
    ({"identifiers": [{"identifier": True}]}, "person.identifiers[0].identifier", "not a boolean"),
    ({"roles": {"title": "x"}}, "person.roles", "must be a list"),
    ({"roles": [{"addresses": "12 Main St"}]}, "person.roles[0].addresses", "must be a list"),
    (
        {"roles": [{"telephoneNumbers": [{"number": 5550100}]}]},
        "person.roles[0].telephoneNumbers[0].number",
        "",
    ),
    ({"roles": [{"couId": {"id": 3}}]}, "person.roles[0].couId", "a string, a number or a boolean"),
    ({"members": ["Staff", 7]}, "person.members[1]", "must be a string, not a number"),
    ({"status": 1}, "person.status", "must be a string"),
    ({"dateOfBirth": 18151210}, "person.dateOfBirth", "must be a string, not a number"),
    ({"meta": {"id": IDENTIFIER, "deleted": "true"}}, "person.meta.deleted", "must be true or false"),
    ({"meta": {"id": 42}}, "person.meta.id", "must be a string, not a number"),
    ({"meta": "ada"}, "person.meta", "must be an object"),
]
#: Values too long, or not what their property holds.
BAD_VALUES = [
    ({"names": [{"given": "A" * 101}]}, "person.names[0].given", "at most 100 characters"),
    ({"names": [{"formatted": "A" * 256}]}, "person.names[0].formatted", "at most 255 characters"),
    ({"meta": {"id": "a" * 256}}, "person.meta.id", "at most 255 characters"),
    ({"meta": {"id": "   "}}, "person.meta.id", "required"),
    (
        {"identifiers": [{"identifier": "E" * 51, "type": "employeeNumber"}]},
        "person.identifiers[0].identifier",
        "at most 50 characters",
    ),
    (
        {"roles": [{"addresses": [{"postalCode": "9" * 41}]}]},
        "person.roles[0].addresses[0].postalCode",
        "at most 40 characters",
    ),
    (
        {"emailAddresses": [{"address": "ada at example.edu"}]},
        "person.emailAddresses[0].address",
        "not a valid",
    ),
    ({"emailAddresses": [{"mail": "ada@"}]}, "person.emailAddresses[0].mail", "not a valid email"),
    ({"names": [{"given": "Ada\x07"}]}, "person.names[0].given", "control characters"),
    ({"roles": [{"validFrom": "next monday"}]}, "person.roles[0].validFrom", "a time such as"),
    ({"roles": [{}, {"validThrough": "2026-02-30T00:00:00Z"}]}, "person.roles[1].validThrough", "a time"),
    ({"dateOfBirth": "10/12/1815"}, "person.dateOfBirth", "YYYY-MM-DD"),
    ({"status": "on leave"}, "person.status", "is not one of"),
]


@pytest.mark.parametrize(("person", "field", "wording"), WRONG_TYPES + BAD_VALUES)
async def test_a_value_of_the_wrong_type_too_long_or_invalid_is_400_naming_its_path(
    client: httpx.AsyncClient,
    registry: dict[str, str],
    database: Database,
    person: dict[str, Any],
    field: str,
    wording: str,
) -> None:
    body = message(IDENTIFIER)
    body["person"].update(person)

    answer = await provision(client, registry, body, 400)

    assert answer.json()["error"] == "invalid"
    assert answer.json()["field"] == field
    assert answer.json()["message"].startswith(field)
    assert wording in answer.json()["message"]
    assert nothing_written(database)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"meta": {"version": "1.0.0", "objectType": "person"}}, "person"),
        ({"person": {"names": [{"given": "Ada"}]}}, "person.meta.id"),
        ({"meta": {"objectType": "group"}, "person": {"meta": {"id": IDENTIFIER}}}, "meta.objectType"),
        ({"meta": {"version": 1}, "person": {"meta": {"id": IDENTIFIER}}}, "meta.version"),
        ([{"person": {"meta": {"id": IDENTIFIER}}}], None),
        ("a message", None),
    ],
)
async def test_a_message_without_its_person_or_identifier_is_400(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, body: Any, field: str | None
) -> None:
    answer = await provision(client, registry, body, 400)

    assert answer.json()["field"] == field
    assert nothing_written(database)


@pytest.mark.parametrize("content", [b"", b"{", b"person=ada", b'{"person": {"meta": {"id": "a\\u0000"}}}'])
async def test_a_body_that_is_not_json_is_400(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database, content: bytes
) -> None:
    answer = await client.post(
        PEOPLE, content=content, headers={**registry, "Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid"
    assert answer.json()["field"] is None
    assert nothing_written(database)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_an_empty_identifier_in_put_mode_is_400(
    client: httpx.AsyncClient, registry: dict[str, str], method: str
) -> None:
    answer = await client.request(method, PEOPLE, json=message(IDENTIFIER), headers=registry)

    assert answer.status_code == 400
    assert answer.json()["field"] == "identifier"


async def test_an_email_or_username_another_person_holds_is_409_naming_its_property(
    client: httpx.AsyncClient, registry: dict[str, str], database: Database
) -> None:
    first, second = new_identifier(), new_identifier()
    await provision(client, registry, reference_message(first), 201)
    logged = count_rows(database, tables.changes)

    taken_email = reference_message(second)
    taken_email["person"]["identifiers"] = []
    taken_username = reference_message(second)
    taken_username["person"]["emailAddresses"] = []
    email = await provision(client, registry, taken_email, 409)
    username = await provision(client, registry, taken_username, 409)

    assert email.json()["field"] == "person.emailAddresses[1].address"
    assert email.json()["message"].startswith(
        "person.emailAddresses[1].address 'Ada.King@example.edu' is already"
    )
    assert username.json()["field"] == "person.identifiers[1].identifier"
    assert (email.json()["error"], username.json()["error"]) == ("conflict", "conflict")
    assert count_rows(database, tables.changes) == logged
    assert count_rows(database, tables.groups) == 2  # the first person's, none of the refused second's
    assert stored(database, first)["username"] == "aking"


async def test_a_body_over_the_size_limit_is_413(client: httpx.AsyncClient, registry: dict[str, str]) -> None:
    body = message(IDENTIFIER, urls=[{"url": "https://example.org/" + "x" * 70_000}])

    answer = await provision(client, registry, body, 413)

    assert answer.json()["error"] == "too_large"


async def test_unknown_paths_and_methods_answer_in_the_receiver_s_body(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    missing = await client.get("/comanage/groups/", headers=registry)
    wrong_method = await client.patch(PEOPLE + IDENTIFIER, json={}, headers=registry)

    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")


async def test_a_nul_in_the_url_is_400(client: httpx.AsyncClient, registry: dict[str, str]) -> None:
    answer = await client.put(PEOPLE + "ada%00", json=message("ada"), headers=registry)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid"


#: Every property of the message, as the path to it from the body.
PROPERTY_PATHS = [
    ("meta",),
    ("meta", "version"),
    ("meta", "objectType"),
    ("person",),
    ("person", "meta"),
    ("person", "meta", "id"),
    ("person", "meta", "deleted"),
    ("person", "status"),
    ("person", "names"),
    ("person", "names", 0),
    ("person", "names", 0, "given"),
    ("person", "names", 0, "type"),
    ("person", "identifiers", 1, "identifier"),
    ("person", "identifiers", 1, "type"),
    ("person", "emailAddresses", 1, "address"),
    ("person", "emailAddresses", 1, "verified"),
    ("person", "urls", 0),
    ("person", "roles", 0),
    ("person", "roles", 0, "validFrom"),
    ("person", "roles", 0, "couId"),
    ("person", "roles", 0, "addresses", 0),
    ("person", "roles", 0, "addresses", 0, "streetAddress"),
    ("person", "roles", 0, "telephoneNumbers", 1, "type"),
    ("person", "dateOfBirth"),
    ("person", "members"),
    ("person", "members", 0),
]
ODD_VALUES = [None, True, 0, -1.5, 2**70, "", " ", "\ud800", [], [None], {}, {"": {}}]


async def test_no_value_in_any_property_s_place_is_a_server_error(
    client: httpx.AsyncClient, registry: dict[str, str]
) -> None:
    for path in PROPERTY_PATHS:
        for value in ODD_VALUES:
            identifier = new_identifier()
            body: Any = reference_message(identifier)
            body["person"]["identifiers"][1]["identifier"] = identifier  # a username and an email of its own
            body["person"]["emailAddresses"][0]["address"] = "home." + identifier
            body["person"]["emailAddresses"][1]["address"] = identifier
            *parents, last = path
            holder = body
            for part in parents:
                holder = holder[part]
            holder[last] = value
            content = json.dumps(body).encode()  # the standard encoder: a lone surrogate as an escape

            answer = await client.post(PEOPLE, content=content, headers=registry)

            assert answer.status_code in (201, 204, 400), (path, value, answer.text)
            if answer.status_code == 400:
                assert answer.json()["error"] == "invalid", (path, value)
