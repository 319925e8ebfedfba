"""Catalogues that person fields point into: login sources and user types.

A login source is how a person signs in (OPS-COM's `login_source`: `OPSCOM`, or an SSO source an
operator configured); a user type is a profile type (OPS-COM's `user_type_id`). Either may set the grace
period of its people (directory/lifecycle.py); the user type's wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from provisionhub.directory.access import Permission
from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import Invalid, NotFound, Reason
from provisionhub.directory.queries import Query, Reading
from provisionhub.store import tables

#: The longest grace period a user type or login source may set (ten years).
MAX_GRACE_DAYS = 3650


@dataclass(frozen=True, slots=True)
class AddLoginSource:
    code: str
    name: str
    requires_username: bool = False
    grace_days: int | None = None


@dataclass(frozen=True, slots=True)
class AddUserType:
    id: str
    name: str
    ext_info: str | None = None
    grace_days: int | None = None


@dataclass(frozen=True, slots=True)
class SetUserTypeGraceDays:
    """Set the grace days of a user type's people; None: not set (their login source's apply)."""

    id: str
    grace_days: int | None


@dataclass(frozen=True, slots=True)
class SetLoginSourceGraceDays:
    """Set the grace days of a login source's people whose user type sets none; None: not set (0)."""

    code: str
    grace_days: int | None


@dataclass(frozen=True, slots=True)
class LoginSource:
    code: str
    name: str
    requires_username: bool
    grace_days: int | None = None


@dataclass(frozen=True, slots=True)
class UserType:
    id: str
    name: str
    ext_info: str | None
    grace_days: int | None = None


def checked_grace_days(value: Any) -> int | None:
    """A grace period as a catalogue holds it: None (not set), or 0 to MAX_GRACE_DAYS days."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_GRACE_DAYS:
        message = f"grace_days must be a whole number of days from 0 to {MAX_GRACE_DAYS}"
        raise Invalid("grace_days", Reason.INVALID, message)
    return value


def set_grace_days(
    conn: Connection, command: SetUserTypeGraceDays | SetLoginSourceGraceDays, actor: str, now: datetime
) -> bool:
    """Change the grace days of a user type or login source; whether anything changed. Logged; people
    already expired stay so, and those in a grace period get the new length at the next run."""
    days = checked_grace_days(command.grace_days)
    if isinstance(command, SetUserTypeGraceDays):
        table, key, entity, what = tables.user_types, tables.user_types.c.id, "user_type", "user type"
        value = command.id
    else:
        table, key, entity, what = (
            tables.login_sources,
            tables.login_sources.c.code,
            "login_source",
            "login source",
        )
        value = command.code
    current = conn.execute(select(table.c.grace_days).where(key == value)).first()
    if current is None:
        raise NotFound(f"no {what} {value!r}")
    if current.grace_days == days:
        return False
    conn.execute(table.update().where(key == value).values(grace_days=days))
    record(conn, [Change(actor, entity, value, "update", {"grace_days": (current.grace_days, days)})], now)
    return True


def list_login_sources(conn: Connection) -> list[LoginSource]:
    table = tables.login_sources
    columns = (table.c.code, table.c.name, table.c.requires_username, table.c.grace_days)
    rows = conn.execute(select(*columns).order_by(table.c.code))
    return [LoginSource(row.code, row.name, row.requires_username, row.grace_days) for row in rows]


def list_user_types(conn: Connection) -> list[UserType]:
    table = tables.user_types
    rows = conn.execute(select(table.c.id, table.c.name, table.c.ext_info, table.c.grace_days))
    found = [UserType(row.id, row.name, row.ext_info, row.grace_days) for row in rows]
    # Numeric ids (OPS-COM's) sort as numbers, others after them by text.
    return sorted(found, key=lambda t: (0, int(t.id), "") if t.id.isdigit() else (1, 0, t.id))


@dataclass(frozen=True, slots=True)
class UserTypes(Query[list["UserType"]]):
    """The user types (what user_type_id refers to): user-create or user-read."""

    def run(self, reading: Reading) -> list[UserType]:
        reading.principal.require_any(Permission.USER_CREATE, Permission.USER_READ)
        return list_user_types(reading.conn)


@dataclass(frozen=True, slots=True)
class UserTypeIds(Query[list[str]]):
    """The ids of the user types: anyone may ask (they are codes, not anyone's data)."""

    def run(self, reading: Reading) -> list[str]:
        return [user_type.id for user_type in list_user_types(reading.conn)]


class KnownCodes:
    """What the catalogues hold. Only hits are remembered: nothing is ever removed from these catalogues,
    and what is remembered of an entry (that it exists, whether it requires usernames) never changes, so
    a remembered hit stays true, and a miss is always asked again. Grace days, which change, are not
    remembered."""

    def __init__(self) -> None:
        self._login_sources: dict[str, bool] = {}  # code -> requires_username
        self._user_types: set[str] = set()

    def login_sources(self, conn: Connection, codes: Iterable[str]) -> dict[str, bool]:
        """For each of codes that exists: whether its people need a username."""
        wanted = set(codes)
        unknown = wanted - self._login_sources.keys()
        if unknown:
            table = tables.login_sources
            query = select(table.c.code, table.c.requires_username).where(table.c.code.in_(unknown))
            self._login_sources.update({row.code: row.requires_username for row in conn.execute(query)})
        return {code: self._login_sources[code] for code in wanted if code in self._login_sources}

    def missing_user_types(self, conn: Connection, ids: Iterable[str]) -> set[str]:
        unknown = set(ids) - self._user_types
        if unknown:
            column = tables.user_types.c.id
            found = set(conn.execute(select(column).where(column.in_(unknown))).scalars())
            self._user_types |= found
            unknown -= found
        return unknown
