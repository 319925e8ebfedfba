"""Catalogues that person fields point into: login sources and user types.

A login source is how a person signs in (OPS-COM's `login_source`: `OPSCOM`, or an SSO source an
operator configured); a user type is a profile type (OPS-COM's `user_type_id`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from provisionhub.store import tables


@dataclass(frozen=True, slots=True)
class AddLoginSource:
    code: str
    name: str
    requires_username: bool = False


@dataclass(frozen=True, slots=True)
class AddUserType:
    id: str
    name: str
    ext_info: str | None = None


@dataclass(frozen=True, slots=True)
class LoginSource:
    code: str
    name: str
    requires_username: bool


@dataclass(frozen=True, slots=True)
class UserType:
    id: str
    name: str
    ext_info: str | None


def list_login_sources(conn: Connection) -> list[LoginSource]:
    table = tables.login_sources
    rows = conn.execute(select(table.c.code, table.c.name, table.c.requires_username).order_by(table.c.code))
    return [LoginSource(row.code, row.name, row.requires_username) for row in rows]


def list_user_types(conn: Connection) -> list[UserType]:
    table = tables.user_types
    rows = conn.execute(select(table.c.id, table.c.name, table.c.ext_info))
    found = [UserType(id=row.id, name=row.name, ext_info=row.ext_info) for row in rows]
    # Numeric ids (OPS-COM's) sort as numbers, others after them by text.
    return sorted(found, key=lambda t: (0, int(t.id), "") if t.id.isdigit() else (1, 0, t.id))


class KnownCodes:
    """What the catalogues hold. Only hits are remembered: nothing is ever removed from these
    catalogues or changed in them, so a remembered hit stays true, and a miss is always asked again."""

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
