"""OCL fixtures: people who sign in (with a password, some of them staff), and their credentials."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from provisionhub.auth.passwords import hash_password
from provisionhub.directory.people import SetStaff, UpsertPerson
from provisionhub.directory.service import Directory

PASSWORD = "correct horse battery staple"
#: One hash for every test person: Argon2id takes ~20 ms, and these tests make many people.
_HASH = hash_password(PASSWORD)
_serial = itertools.count(1)


@dataclass(frozen=True)
class Member:
    """A person who signs in to OCL: their username, public id and Basic credentials."""

    username: str
    public_id: str
    email: str

    @property
    def basic(self) -> dict[str, str]:
        return basic(self.username, PASSWORD)


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def key_auth(key: str, scheme: str = "Token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {key}"}


MakeMember = Callable[..., Member]


@pytest.fixture
def make_member(directory: Directory) -> MakeMember:
    """make_member(staff=False, **fields): a new person of login source OCL with the test password."""

    def make(staff: bool = False, **fields: Any) -> Member:
        n = next(_serial)
        values: dict[str, Any] = {
            "username": f"member{n}",
            "email": f"member{n}@ocl.example.org",
            "display_name": f"Member {n}",
            "password_hash": _HASH,
            **fields,
        }
        with directory.database.transaction() as conn:
            result = directory.upsert_person(conn, UpsertPerson("OCL", f"ocl-{n}", values), "test")
            if staff:
                directory.set_staff(conn, SetStaff(values["username"], True), "test")
        return Member(values["username"], result.person.public_id, values["email"])

    return make


@pytest.fixture
def staff(make_member: MakeMember) -> Member:
    return make_member(staff=True)


@pytest.fixture
def member(make_member: MakeMember) -> Member:
    return make_member()
