"""Passwords in commands: a dialect sends a person's new password as a Password among their fields; the
Directory hashes it before the write (auth's Argon2id, on worker threads) and stores only the hash.

A Password never shows its text in a repr, a log line or an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, select

from provisionhub.directory.memberships import UpsertMember, UpsertMembers
from provisionhub.directory.people import UpdatePerson, UpsertPerson
from provisionhub.store import tables
from provisionhub.store.sql import AnyOf

#: The field a command's fields carry a Password in, and the one its hash is stored in.
PASSWORD = "password"  # noqa: S105 (a field name)
PASSWORD_HASH = "password_hash"  # noqa: S105 (a field name)

#: Whose stored hash a password is compared with: ("id", public id), ("identity", source, unique id),
#: or ("new",) for a person about to be created.
Key = tuple[str, ...]
NEW: Key = ("new",)


@dataclass(frozen=True, slots=True)
class Password:
    """A new password, as sent. Checked against the rules and hashed by the Directory."""

    plain: str = field(repr=False)

    def __repr__(self) -> str:
        return "Password(***)"


@dataclass(frozen=True, slots=True)
class PasswordTarget:
    password: Password
    key: Key


def password_targets(command: object) -> list[PasswordTarget]:
    """The passwords a command sets, in order, each with whose it is."""
    if type(command) is UpsertPerson and PASSWORD not in command.fields:  # most writes: asked first
        return []
    match command:
        case UpsertPerson(fields=fields) if isinstance(fields.get(PASSWORD), Password):
            named = isinstance(command.login_source, str) and command.unique_id is not None
            key = ("identity", str(command.login_source), str(command.unique_id)) if named else NEW
            return [PasswordTarget(fields[PASSWORD], NEW if command.create_only else key)]
        case UpdatePerson(fields=fields) if isinstance(fields.get(PASSWORD), Password):
            return [PasswordTarget(fields[PASSWORD], ("id", command.public_id))]
        case UpsertMembers(items=items):
            return [
                PasswordTarget(item.person[PASSWORD], ("id", item.public_id) if item.public_id else NEW)
                for item in items
                if isinstance(item.person.get(PASSWORD), Password)
            ]
    return []


def with_password_hashes(command: Any, hashes: Iterator[str]) -> Any:
    """command with each password it sets (in password_targets' order) replaced by the next hash."""
    match command:
        case UpsertPerson() | UpdatePerson():
            return replace(command, fields=_hashed(command.fields, hashes))
        case UpsertMembers(items=items):
            return replace(command, items=tuple(_member_hashed(item, hashes) for item in items))
    return command


def _member_hashed(item: UpsertMember, hashes: Iterator[str]) -> UpsertMember:
    if not isinstance(item.person.get(PASSWORD), Password):
        return item
    return replace(item, person=_hashed(item.person, hashes))


def _hashed(fields: Mapping[str, Any], hashes: Iterator[str]) -> dict[str, Any]:
    changed = {name: value for name, value in fields.items() if name != PASSWORD}
    changed[PASSWORD_HASH] = next(hashes)
    return changed


_people = tables.people
_BY_ID = select(_people.c.public_id, _people.c.password_hash).where(AnyOf(_people.c.public_id, "ids"))


def stored_hashes(conn: Connection, keys: Sequence[Key]) -> dict[Key, str | None]:
    """The password hash each of these people has now (None: no password, or nobody yet)."""
    stored: dict[Key, str | None] = {}
    ids = sorted({key[1] for key in keys if key[0] == "id"})
    if ids:
        for row in conn.execute(_BY_ID, {"ids": ids}):
            stored[("id", row.public_id)] = row.password_hash
    for key in {key for key in keys if key[0] == "identity"}:
        found = conn.execute(
            select(_people.c.password_hash).where(
                _people.c.login_source == key[1], _people.c.unique_id == key[2]
            )
        ).first()
        stored[key] = found.password_hash if found is not None else None
    return stored
