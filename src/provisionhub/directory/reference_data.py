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


@dataclass(frozen=True, slots=True)
class AddUserType:
    id: str
    name: str
    ext_info: str | None = None


@dataclass(frozen=True, slots=True)
class LoginSource:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class UserType:
    id: str
    name: str
    ext_info: str | None


def list_login_sources(conn: Connection) -> list[LoginSource]:
    rows = conn.execute(select(tables.login_sources.c.code, tables.login_sources.c.name).order_by("code"))
    return [LoginSource(code=row.code, name=row.name) for row in rows]


def list_user_types(conn: Connection) -> list[UserType]:
    table = tables.user_types
    rows = conn.execute(select(table.c.id, table.c.name, table.c.ext_info))
    found = [UserType(id=row.id, name=row.name, ext_info=row.ext_info) for row in rows]
    # Numeric ids (OPS-COM's) sort as numbers, others after them by text.
    return sorted(found, key=lambda t: (0, int(t.id), "") if t.id.isdigit() else (1, 0, t.id))


class KnownCodes:
    """Which login sources and user types exist. Only hits are remembered: nothing is ever removed
    from these catalogues, so a remembered hit stays true, and a miss is always asked again."""

    def __init__(self) -> None:
        self._login_sources: set[str] = set()
        self._user_types: set[str] = set()

    def missing_login_sources(self, conn: Connection, codes: Iterable[str]) -> set[str]:
        return self._missing(conn, set(codes), self._login_sources, tables.login_sources.c.code)

    def missing_user_types(self, conn: Connection, ids: Iterable[str]) -> set[str]:
        return self._missing(conn, set(ids), self._user_types, tables.user_types.c.id)

    @staticmethod
    def _missing(conn: Connection, wanted: set[str], known: set[str], column: object) -> set[str]:
        unknown = wanted - known
        if unknown:
            found = set(conn.execute(select(column).where(column.in_(unknown))).scalars())  # type: ignore[attr-defined]
            known |= found
            unknown -= found
        return unknown
