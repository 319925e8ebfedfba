"""Finding people by username or source identity, and listing them a page at a time: filter, sort, count
and page in SQL.

A person's name, for the dialects that show one name (OCL), is their display name, or else their given
and family names. NAME says it in SQL (to search and sort by it), full_name in Python (to show it);
tests hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, literal, or_, select, true

from provisionhub.directory.people import ACTIVE_STATUSES, Person, Status, folded
from provisionhub.store import tables
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import LIKE_ESCAPE, like_literal

people = tables.people

_GIVEN_AND_FAMILY = (
    func.coalesce(people.c.given_name, "") + literal(" ") + func.coalesce(people.c.family_name, "")
)
NAME: ColumnElement[str] = func.coalesce(people.c.display_name, func.nullif(func.trim(_GIVEN_AND_FAMILY), ""))

_ACTIVE = sorted(status.value for status in ACTIVE_STATUSES)


def full_name(fields: Mapping[str, Any]) -> str | None:
    """The name NAME computes, from a person's fields."""
    display_name: str | None = fields["display_name"]
    if display_name:
        return display_name
    joined = " ".join(part for part in (fields["given_name"], fields["family_name"]) if part)
    return joined or None


class SortKey(StrEnum):
    USERNAME = "username"
    NAME = "name"
    CREATED = "created"


_SORT_COLUMNS: dict[SortKey, ColumnElement[Any]] = {
    SortKey.USERNAME: people.c.username_key,
    SortKey.NAME: func.lower(NAME),
    SortKey.CREATED: people.c.created_at,
}


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    """Which people with a username to list: text found (case-insensitively) in their username, name,
    company or location; inactive ones too or not; the order; and the page (offset, limit)."""

    text: str | None = None
    include_inactive: bool = False
    sort: SortKey = SortKey.CREATED
    descending: bool = False
    offset: int = 0
    limit: int = 10


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list, and how many people the whole list holds."""

    total: int
    people: list[Person]


def _filtered(statement: Select[Any], query: PeopleQuery, visible: ColumnElement[bool]) -> Select[Any]:
    statement = statement.where(people.c.username.is_not(None), visible)
    if not query.include_inactive:
        statement = statement.where(people.c.status.in_(_ACTIVE))
    if query.text:
        pattern = f"%{like_literal(query.text)}%"
        searched = (people.c.username, NAME, people.c.company, people.c.location)
        statement = statement.where(or_(*(column.ilike(pattern, escape=LIKE_ESCAPE) for column in searched)))
    return statement


def search_people(conn: Connection, query: PeopleQuery, visible: ColumnElement[bool] | None = None) -> Page:
    """The page of people query asks for (of those visible, if given: a condition on the people table),
    in its order (ties broken by creation), and the total."""
    seen = true() if visible is None else visible
    total = conn.execute(_filtered(select(func.count()).select_from(people), query, seen)).scalar_one()
    column = _SORT_COLUMNS[query.sort]
    order = (column.desc(), people.c.id.desc()) if query.descending else (column.asc(), people.c.id.asc())
    rows = conn.execute(
        _filtered(select(people), query, seen)
        .order_by(order[0].nulls_last(), order[1])
        .offset(query.offset)
        .limit(query.limit)
    ).mappings()
    return Page(total, [Person.from_row(row) for row in rows])


def find_by_username(conn: Connection, username: str, include_inactive: bool = False) -> Person | None:
    """The person with this username, compared case-insensitively (None: nobody, or only an inactive
    person when include_inactive is false)."""
    row = conn.execute(select(people).where(people.c.username_key == folded(username))).mappings().first()
    if row is None or (not include_inactive and row["status"] not in _ACTIVE):
        return None
    return Person.from_row(row)


def find_by_identity(conn: Connection, login_source: str, unique_id: str) -> Person | None:
    """The person with this source identity, whatever their status (None: nobody)."""
    row = (
        conn.execute(
            select(people).where(people.c.login_source == login_source, people.c.unique_id == unique_id)
        )
        .mappings()
        .first()
    )
    return Person.from_row(row) if row is not None else None


def membership_counts(conn: Connection, person_ids: Iterable[int]) -> dict[int, int]:
    """How many accounts each of these people belongs to (people in none are left out)."""
    wanted = sorted(set(person_ids))
    if not wanted:
        return {}
    members = tables.memberships
    rows = conn.execute(
        select(members.c.person_id, func.count())
        .where(members.c.person_id.in_(wanted))
        .group_by(members.c.person_id)
    )
    return {person_id: count for person_id, count in rows}


def staff(conn: Connection) -> list[Person]:
    """Everyone flagged staff, by username."""
    rows = conn.execute(select(people).where(people.c.staff).order_by(people.c.username_key)).mappings()
    return [Person.from_row(row) for row in rows]


# -- UNIWeb's members --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberQuery:
    """Which people a UNIWeb read is about, each None when not asked: login (their username, email or
    public id), unit (the title of the account or building they belong to, case-insensitively), title
    (their position title, case-insensitively), units (public ids of the organisations they belong to)."""

    login: str | None = None
    unit: str | None = None
    title: str | None = None
    units: tuple[str, ...] | None = None


def find_by_login(conn: Connection, login: str) -> Person | None:
    """The person whose username or email (case-insensitively) or public id is login; None if nobody."""
    key = folded(login.strip())
    row = (
        conn.execute(
            select(people)
            .where(or_(people.c.username_key == key, people.c.email_key == key, people.c.public_id == login))
            .order_by(people.c.id)
        )
        .mappings()
        .first()
    )
    return None if row is None else Person.from_row(row)


def find_members(conn: Connection, query: MemberQuery) -> list[Person]:
    """The people query matches (all of its parts), active or in their grace period, by creation."""
    statement = select(people).where(people.c.status.in_(_ACTIVE))
    if query.login is not None:
        key = folded(query.login)
        statement = statement.where(
            or_(people.c.username_key == key, people.c.email_key == key, people.c.public_id == query.login)
        )
    if query.title is not None:
        statement = statement.where(func.lower(people.c.title) == query.title.lower())
    if query.unit is not None or query.units is not None:
        statement = statement.where(people.c.id.in_(_belonging(query)))
    rows = conn.execute(statement.order_by(people.c.id)).mappings()
    return [Person.from_row(row) for row in rows]


def _belonging(query: MemberQuery) -> Select[Any]:
    """The ids of the people whose account or building matches query's unit and units."""
    members, organisations = tables.memberships, tables.organisations
    joined = or_(organisations.c.id == members.c.account_id, organisations.c.id == members.c.building_id)
    statement = select(members.c.person_id).join(organisations, joined)
    if query.unit is not None:
        statement = statement.where(func.lower(organisations.c.title) == query.unit.lower())
    if query.units is not None:
        statement = statement.where(organisations.c.public_id.in_(query.units))
    return statement


#: A person's newest change-log seq: their version (an index search, as latest_seqs makes).
_LATEST_SEQ = (
    select(func.max(tables.changes.c.seq))
    .where(
        tables.changes.c.entity_type == bindparam("entity_type"),
        tables.changes.c.entity_id == people.c.public_id,
    )
    .scalar_subquery()
)
_VERSIONED = select(people, _LATEST_SEQ.label("latest_seq")).where(
    people.c.public_id == bindparam("public_id"), people.c.status != bindparam("deleted")
)


def find_versioned(conn: Connection, public_id: str) -> tuple[Person, int] | None:
    """The person with this public id and the newest change-log seq about them, in one statement (None:
    nobody, or a deleted person)."""
    parameters = {"public_id": public_id, "deleted": Status.DELETED.value, "entity_type": "person"}
    rows = fetch_all(conn, _VERSIONED, parameters)
    return (Person.from_row(rows[0]), rows[0]["latest_seq"] or 0) if rows else None
