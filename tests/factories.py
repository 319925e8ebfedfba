"""Small builders of test data, with defaults a test overrides only where it matters."""

from __future__ import annotations

import itertools
from typing import Any

from provisionhub.directory.organisations import OrgKind, UpsertOrganisation
from provisionhub.directory.people import UpsertPerson
from provisionhub.directory.service import Directory

_serial = itertools.count(1)


def person_fields(**overrides: Any) -> dict[str, Any]:
    n = next(_serial)
    fields: dict[str, Any] = {
        "username": f"person{n}",
        "given_name": "Ada",
        "family_name": f"Lovelace{n}",
        "email": f"person{n}@school.example.org",
    }
    fields.update(overrides)
    return fields


def upsert(unique_id: str | None = None, login_source: str = "OPSCOM", **fields: Any) -> UpsertPerson:
    """An UpsertPerson for a person of the given identity (a fresh one by default)."""
    return UpsertPerson(
        login_source=login_source,
        unique_id=unique_id or f"uid-{next(_serial)}",
        fields=person_fields(**fields),
    )


def opscom_push(token: str, **overrides: Any) -> dict[str, Any]:
    """A valid OPS-COM push body for a new person; overrides replace (None: remove) attributes."""
    n = next(_serial)
    body: dict[str, Any] = {
        "apiToken": token,
        "unique_id": f"student-{n}",
        "login_source": "OPSCOM",
        "first_name": "Grace",
        "last_name": "Hopper",
        "user_name": f"ghopper{n}",
        "email": f"ghopper{n}@school.example.org",
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def new_organisation(directory: Directory, kind: OrgKind, parent: str | None = None, **fields: Any) -> str:
    """Create an account (or a building under parent) through the directory; its public id."""
    fields.setdefault("title", f"{kind.value.title()} {next(_serial)}")
    with directory.database.transaction() as conn:
        [result] = directory.upsert_organisations(
            conn, [UpsertOrganisation(kind, None, parent, fields)], "test"
        )
    return result.organisation.public_id
