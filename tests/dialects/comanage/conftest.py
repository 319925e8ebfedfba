"""COmanage receiver fixtures: Basic credentials (an API token's, a staff member's), the messages of the
reference (seed-wire-formats section 2.5 and 2.6), and reading back what the receiver wrote."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from provisionhub.auth.passwords import hash_password
from provisionhub.directory.groups import groups_of
from provisionhub.directory.people import Person, SetStaff, UpsertPerson
from provisionhub.directory.people_search import find_by_identity
from provisionhub.directory.service import Directory
from provisionhub.store.database import Database
from tests.conftest import MakeToken

PEOPLE = "/comanage/people/"
PASSWORD = "correct horse battery staple"
#: One hash for every test person: Argon2id takes ~20 ms.
_HASH = hash_password(PASSWORD)
#: Every provisioning permission a token can have here.
PROVISIONING = ("user-create", "user-update", "user-delete")
_serial = itertools.count(1)


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


TokenAuth = Callable[..., dict[str, str]]


@pytest.fixture
def token_auth(make_token: MakeToken) -> TokenAuth:
    """token_auth(*permissions, login_sources=None, name=None): Basic headers with a new API token's name
    and secret (every provisioning permission by default)."""

    def make(
        *permissions: str, login_sources: list[str] | None = None, name: str | None = None
    ) -> dict[str, str]:
        name = name or f"registry-{next(_serial)}"
        secret = make_token(*(permissions or PROVISIONING), login_sources=login_sources, name=name)
        return basic(name, secret)

    return make


@pytest.fixture
def registry(token_auth: TokenAuth) -> dict[str, str]:
    """The Basic headers of a token named like the Registry's server, with every provisioning permission."""
    return token_auth(name="registry")


MakeStaff = Callable[..., str]


@pytest.fixture
def make_staff(directory: Directory) -> MakeStaff:
    """make_staff(staff=True, **fields): a person with the test password (staff unless told otherwise);
    their username."""

    def make(staff: bool = True, **fields: Any) -> str:
        n = next(_serial)
        values = {"username": f"operator{n}", "email": f"operator{n}@example.org", "password_hash": _HASH}
        values.update(fields)
        with directory.database.transaction() as conn:
            directory.upsert_person(conn, UpsertPerson("OCL", f"operator-{n}", values), "test")
            if staff:
                directory.set_staff(conn, SetStaff(values["username"], True), "test")
        return values["username"]

    return make


def new_identifier() -> str:
    return f"ada{next(_serial)}@example.edu"


def reference_message(identifier: str) -> dict[str, Any]:
    """An upsert as COmanage Registry's ApiProvisioner builds it (reference 2.5): the code's spellings
    (address, streetAddress), sub-objects' meta, database values as strings (verified, couId, rank),
    timestamps in UTC with Z, and empty values left out."""

    def meta(row: int) -> dict[str, Any]:
        return {
            "id": str(row),
            "created": "2020-11-29T15:31:07Z",
            "lastModified": "2026-01-05T10:00:00Z",
            "revision": 2,
        }

    return {
        "meta": {"version": "1.0.0", "objectType": "person"},
        "person": {
            "meta": {
                "id": identifier,
                "created": "2020-11-29T15:31:07Z",
                "lastModified": "2026-01-05T10:00:00Z",
            },
            "status": "active",
            "names": [
                {
                    "meta": meta(11),
                    "prefix": "Hon.",
                    "given": "Augusta",
                    "middle": "Ada",
                    "family": "King",
                    "suffix": "FRS",
                    "language": "en",
                    "formatted": "Hon. Augusta Ada King FRS",
                    "type": "official",
                },
                {
                    "meta": meta(12),
                    "given": "Ada",
                    "family": "Lovelace",
                    "formatted": "Ada Lovelace",
                    "type": "preferred",
                },
            ],
            "identifiers": [
                {"meta": meta(21), "identifier": identifier, "type": "eppn"},
                {"meta": meta(22), "identifier": "aking", "type": "uid"},
                {"meta": meta(23), "identifier": "E-1815", "type": "employeeNumber"},
            ],
            "emailAddresses": [
                {"meta": meta(31), "address": "ada.lovelace@home.example.org", "type": "personal"},
                {"meta": meta(32), "address": "Ada.King@Example.EDU", "verified": "1", "type": "official"},
            ],
            "urls": [{"meta": meta(41), "url": "https://example.edu/~aking", "type": "personal"}],
            "roles": [
                {
                    "meta": meta(51),
                    "couId": "3",
                    "title": "Analyst",
                    "organization": "Analytical Engines Ltd",
                    "department": "Mathematics",
                    "validFrom": "2026-01-01T00:00:00Z",
                    "validThrough": "2027-06-30T23:59:59Z",
                    "affiliation": "staff",
                    "rank": "1",
                    "addresses": [
                        {
                            "meta": meta(61),
                            "streetAddress": "12 St James's Square",
                            "room": "4",
                            "locality": "London",
                            "region": "Westminster",
                            "postalCode": "SW1Y 4JH",
                            "country": "GB",
                            "language": "en",
                            "formatted": "12 St James's Square, London SW1Y 4JH, GB",
                            "type": "office",
                        }
                    ],
                    "telephoneNumbers": [
                        {"meta": meta(71), "number": "+44 20 7946 0000", "type": "fax"},
                        {"meta": meta(72), "number": "+44 20 7946 0123 x7", "type": "office"},
                        {"meta": meta(73), "number": "+44 7700 900123", "type": "mobile"},
                    ],
                    "status": "active",
                }
            ],
            "dateOfBirth": "1815-12-10",
            "members": ["CO:members:all", "Analysts"],
        },
    }


def delete_message(identifier: str) -> dict[str, Any]:
    """POST mode's delete, exactly as the Registry sends it (reference 2.6)."""
    return {
        "meta": {"version": "1.0.0", "objectType": "person"},
        "person": {"meta": {"id": identifier, "deleted": True}},
    }


def message(identifier: str, **person: Any) -> dict[str, Any]:
    """A message with only these properties of the person besides its meta (None: left out)."""
    body = {"meta": {"version": "1.0.0", "objectType": "person"}, "person": {"meta": {"id": identifier}}}
    body["person"].update({key: value for key, value in person.items() if value is not None})
    return body


async def provision(
    client: httpx.AsyncClient, headers: dict[str, str], body: Any, expected: int | None = None
) -> httpx.Response:
    """POST mode: the message to /comanage/people/ (expected: the status it must get)."""
    answer = await client.post(PEOPLE, json=body, headers=headers)
    if expected is not None:
        assert answer.status_code == expected, answer.text
    return answer


def stored(database: Database, identifier: str) -> Person:
    """The COMANAGE person with this identifier, as the database holds them."""
    with database.snapshot() as conn:
        person = find_by_identity(conn, "COMANAGE", identifier)
    assert person is not None, f"nobody has the identifier {identifier!r}"
    return person


def group_names(database: Database, person: Person) -> list[str]:
    with database.snapshot() as conn:
        return [name for _, name in groups_of(conn, [person.id]).get(person.id, [])]


def nobody(database: Database, identifier: str) -> bool:
    with database.snapshot() as conn:
        return find_by_identity(conn, "COMANAGE", identifier) is None
