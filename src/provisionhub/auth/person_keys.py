"""People as credential holders: who signs in (by username and password, or by a key they got by signing
in), and the keys themselves.

A key is 40 hexadecimal characters, like the tokens of OCL's Django REST framework, and is stored only as
its SHA-256 (a key is high-entropy: a slow hash would add nothing). Each sign-in issues a new key; a
person keeps their newest MAX_KEYS, so a script that signs in on every run does not pile them up. A key
works only while its person is active: deactivation anywhere (any dialect) shuts every key out at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, select

from provisionhub.auth.tokens import digest
from provisionhub.directory.people import ACTIVE_STATUSES, folded
from provisionhub.store import tables

#: How many keys a person keeps; signing in again drops the oldest beyond it.
MAX_KEYS = 10

people = tables.people
keys = tables.person_keys


@dataclass(frozen=True, slots=True)
class Holder:
    """A person as a credential holder."""

    id: int
    public_id: str
    username: str
    login_source: str
    active: bool
    staff: bool
    #: The stored Argon2id hash (None: no password). Never shown: not even in a repr.
    password_hash: str | None = field(repr=False)

    @property
    def actor(self) -> str:
        """How the change log names this person when they change something."""
        return f"person:{self.username}"


_HOLDER = select(
    people.c.id,
    people.c.public_id,
    people.c.username,
    people.c.login_source,
    people.c.status,
    people.c.staff,
    people.c.password_hash,
)


def _holder(conn: Connection, statement: Select[*tuple[Any, ...]]) -> Holder | None:
    row = conn.execute(statement).first()
    if row is None or row.username is None:
        return None
    return Holder(
        id=row.id,
        public_id=row.public_id,
        username=row.username,
        login_source=row.login_source,
        active=row.status in ACTIVE_STATUSES,
        staff=row.staff,
        password_hash=row.password_hash,
    )


def holder_by_username(conn: Connection, username: str) -> Holder | None:
    """The person who signs in with this username (compared case-insensitively, as it is unique)."""
    return _holder(conn, _HOLDER.where(people.c.username_key == folded(username)))


def holder_by_id(conn: Connection, person_id: int) -> Holder | None:
    return _holder(conn, _HOLDER.where(people.c.id == person_id))


def holder_by_key(conn: Connection, key: str) -> Holder | None:
    """The person a key was issued to (None: no such key). The lookup is by hash, an index search."""
    statement = _HOLDER.join_from(people, keys, keys.c.person_id == people.c.id).where(
        keys.c.key_hash == digest(key)
    )
    return _holder(conn, statement)


def issue_key(conn: Connection, person_id: int, now: datetime) -> str:
    """A new key for the person (the only time anyone sees it); their oldest beyond MAX_KEYS go."""
    key = secrets.token_hex(20)
    conn.execute(keys.insert(), {"person_id": person_id, "key_hash": digest(key), "created_at": now})
    kept = (
        select(keys.c.id)
        .where(keys.c.person_id == person_id)
        .order_by(keys.c.id.desc())
        .limit(MAX_KEYS)
        .scalar_subquery()
    )
    # A LIMIT inside IN (...) is fine on both databases; MySQL is the one that refuses it.
    conn.execute(delete(keys).where(keys.c.person_id == person_id, keys.c.id.not_in(kept)))
    return key


def revoke_keys(conn: Connection, person_id: int) -> int:
    """Revoke every key the person holds (their password changed); how many there were."""
    return conn.execute(delete(keys).where(keys.c.person_id == person_id)).rowcount
