"""SCIM Users over the people table: the filter resolver, sorting, and the pages of a list.

Filters and sorting become SQL against the people table's columns (and its lower-cased username and
email keys, so that `userName eq` and `emails eq` are index searches); no list loads people to filter
them in Python. Deleted people are not Users any more: no list or read finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, case, func, literal, select, true

from provisionhub.dialects.scim.filter_sql import DataType, SqlAttribute, sql_condition
from provisionhub.dialects.scim.filters import AttributePath, parse_filter
from provisionhub.dialects.scim.http import sort_key
from provisionhub.dialects.scim.schemas import ENTERPRISE, PROVISIONHUB, USER
from provisionhub.dialects.scim.users import (
    CORE_FIELDS,
    ENTERPRISE_FIELDS,
    NAME_FIELDS,
    PROVISIONHUB_FIELDS,
    PROVISIONHUB_MOMENTS,
)
from provisionhub.directory.people import ACTIVE_STATUSES, Person, Status
from provisionhub.store import tables
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf

people = tables.people
_ACTIVE = sorted(status.value for status in ACTIVE_STATUSES)
NOT_DELETED = people.c.status != Status.DELETED.value


@lru_cache(maxsize=64)
def resolver(bound_source: str) -> Mapping[str, SqlAttribute]:
    """What each attribute path (lower-cased, without its schema) is in SQL, for a token bound to
    bound_source (its externalId is the unique_id of that source's people only). Made once for each login
    source (it cost half a millisecond, on every list and filter)."""
    c = people.c
    mapped: dict[str, SqlAttribute] = {
        "id": SqlAttribute(c.public_id, case_exact=True),
        "externalid": SqlAttribute(case((c.login_source == bound_source, c.unique_id)), case_exact=True),
        "username": SqlAttribute(c.username, folded_column=c.username_key),
        "active": SqlAttribute(c.status.in_(_ACTIVE), DataType.BOOLEAN),
        "emails": SqlAttribute(c.email, folded_column=c.email_key),
        "emails.value": SqlAttribute(c.email, folded_column=c.email_key),
        "emails.type": SqlAttribute(case((c.email.is_not(None), literal("work")))),
        "emails.primary": SqlAttribute(c.email.is_not(None), DataType.BOOLEAN),
        "meta.created": SqlAttribute(c.created_at, DataType.DATETIME),
        "meta.lastmodified": SqlAttribute(c.updated_at, DataType.DATETIME),
        "meta.resourcetype": SqlAttribute(literal("User"), case_exact=True),
        "manager.value": SqlAttribute(c.manager_id, case_exact=True),
        "loginsource": SqlAttribute(c.login_source, case_exact=True),
    }
    for names in (CORE_FIELDS, ENTERPRISE_FIELDS, PROVISIONHUB_FIELDS):
        for name, column in names.items():
            mapped.setdefault(name.lower(), SqlAttribute(c[column]))
    for name, column in NAME_FIELDS.items():
        mapped[f"name.{name.lower()}"] = SqlAttribute(c[column])
    for name, column in PROVISIONHUB_MOMENTS.items():
        mapped[name.lower()] = SqlAttribute(c[column], DataType.DATETIME)
    return mapped


_SCHEMAS = {USER.casefold(), ENTERPRISE.casefold(), PROVISIONHUB.casefold()}


def condition(text: str | None, bound_source: str) -> ColumnElement[bool]:
    """The SQL condition of a filter (none: every User)."""
    if not text:
        return true()
    mapped = resolver(bound_source)

    def resolve(path: AttributePath) -> SqlAttribute | None:
        if path.schema is not None and path.schema not in _SCHEMAS:
            return None
        return mapped.get(path.key)

    return sql_condition(parse_filter(text), resolve)


def sort_column(sort_by: str | None, bound_source: str) -> ColumnElement[Any]:
    """The column a sortBy names; by creation when none."""
    return sort_key(sort_by, resolver(bound_source), people.c.id, "Users")


def page(
    conn: Connection,
    where: ColumnElement[bool],
    order: ColumnElement[Any],
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[int, list[Person]]:
    """The total of Users matching where, and the page of them from offset."""
    total = conn.execute(select(func.count()).select_from(people).where(NOT_DELETED, where)).scalar_one()
    if limit == 0:
        return total, []
    ordering = (order.desc(), people.c.id.desc()) if descending else (order.asc(), people.c.id.asc())
    # The page's ids first (the offset skipped through the narrow (id, status) index, not the wide rows),
    # then their rows, by one statement built once (fetch_all: on SQLite, only the columns that need it
    # are converted), put in the ids' order.
    ids = select(people.c.id).where(NOT_DELETED, where).order_by(ordering[0].nulls_last(), ordering[1])
    wanted = list(conn.execute(ids.offset(offset).limit(limit)).scalars())
    rows = {row["id"]: row for row in fetch_all(conn, _BY_ROW_IDS, {"ids": wanted})} if wanted else {}
    return total, [Person.from_row(rows[i]) for i in wanted if i in rows]


_BY_ROW_IDS = select(people).where(AnyOf(people.c.id, "ids"))


#: A person's newest change-log seq: their User's version (an index search, as latest_seqs makes).
_LATEST_SEQ = (
    select(func.max(tables.changes.c.seq))
    .where(
        tables.changes.c.entity_type == bindparam("entity_type"),
        tables.changes.c.entity_id == people.c.public_id,
    )
    .scalar_subquery()
)
_BY_ID = select(people, _LATEST_SEQ.label("latest_seq")).where(
    people.c.public_id == bindparam("public_id"), people.c.status != bindparam("deleted")
)


def find(conn: Connection, public_id: str) -> tuple[Person, int] | None:
    """The User with this id and the newest change-log seq about them, in one statement (None: nobody,
    or a deleted person)."""
    parameters = {"public_id": public_id, "deleted": Status.DELETED.value, "entity_type": "person"}
    rows = fetch_all(conn, _BY_ID, parameters)
    return (Person.from_row(rows[0]), rows[0]["latest_seq"] or 0) if rows else None
