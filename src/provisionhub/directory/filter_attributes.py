"""What each attribute path of people and groups is in SQL, for conditions (condition_sql.py) and sorting.

People's paths are their field names (`username`, `family_name`, `date_of_birth`, ...) and `public_id`,
`login_source`, `unique_id`, `status`, `active` (an active status), `created_at`, `updated_at`, and
`external_id`: the unique id of their identity in the asking principal's own login source (none for
people of another source). Usernames and emails compare through their case-folded keys (index searches);
other text case-insensitively, ids exactly.

Groups' paths: `public_id`, `external_id`, `display_name`, `created_at`, `updated_at`, and `members`,
whose sub-attribute `public_id` is a member's (a member is a person not deleted).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select

from provisionhub.directory.condition_sql import DataType, SqlAttribute
from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.people import ACTIVE_STATUSES, DATE_FIELDS, TEXT_FIELDS, TIME_FIELDS, Status
from provisionhub.store import tables

people = tables.people
groups = tables.groups
members = tables.group_members

_ACTIVE = sorted(status.value for status in ACTIVE_STATUSES)
#: Text fields that are ids of something else: compared exactly.
_EXACT = frozenset({"manager_id"})
_FOLDED = {"username": people.c.username_key, "email": people.c.email_key}


@lru_cache(maxsize=64)
def people_attributes(home: str) -> Mapping[str, SqlAttribute]:
    """People's attribute paths, for a principal whose own login source is home (its external_id).
    Made once for each home: every list and filter asks for it (docs/benchmarks)."""
    c = people.c
    mapped: dict[str, SqlAttribute] = {
        "public_id": SqlAttribute(c.public_id, case_exact=True),
        "login_source": SqlAttribute(c.login_source, case_exact=True),
        "unique_id": SqlAttribute(c.unique_id, case_exact=True),
        "external_id": SqlAttribute(case((c.login_source == home, c.unique_id)), case_exact=True),
        "status": SqlAttribute(c.status, case_exact=True),
        "active": SqlAttribute(c.status.in_(_ACTIVE), DataType.BOOLEAN),
        "created_at": SqlAttribute(c.created_at, DataType.DATETIME),
        "updated_at": SqlAttribute(c.updated_at, DataType.DATETIME),
    }
    for name in TEXT_FIELDS:
        folded = _FOLDED.get(name)
        mapped[name] = SqlAttribute(c[name], case_exact=name in _EXACT, folded_column=folded)
    for name in (*DATE_FIELDS, *TIME_FIELDS):
        mapped[name] = SqlAttribute(c[name], DataType.DATETIME)
    return mapped


def group_attributes(seen: ColumnElement[bool]) -> Mapping[str, SqlAttribute]:
    """Groups' attribute paths, for a principal who sees the people seen keeps (a condition on people):
    a group's members are those, not deleted."""

    def some_member(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """Whether some member of the group in the outer query satisfies condition."""
        return exists(
            select(members.c.person_id)
            .join_from(members, people, members.c.person_id == people.c.id)
            .where(
                members.c.group_id == groups.c.id,
                people.c.status != Status.DELETED.value,
                seen,
                condition,
            )
        )

    return {
        "public_id": SqlAttribute(groups.c.public_id, case_exact=True),
        "external_id": SqlAttribute(groups.c.external_id, case_exact=True),
        "display_name": SqlAttribute(groups.c.display_name, folded_column=groups.c.name_key),
        "created_at": SqlAttribute(groups.c.created_at, DataType.DATETIME),
        "updated_at": SqlAttribute(groups.c.updated_at, DataType.DATETIME),
        "members": SqlAttribute(people.c.public_id, case_exact=True, rows=some_member),
        "members.public_id": SqlAttribute(people.c.public_id, case_exact=True),
    }


def sort_column(
    sort_by: str | None, attributes: Mapping[str, SqlAttribute], default: ColumnElement[Any], what: str
) -> ColumnElement[Any]:
    """The expression an attribute path sorts by (default when none): strings that are not case-exact
    sort as lower-cased (RFC 7644 3.4.2.3). Invalid on "sortBy" for a path that is not one."""
    if not sort_by:
        return default
    found = attributes.get(sort_by)
    if found is None or found.rows is not None:
        message = f"sortBy: {sort_by} is not an attribute {what} can be sorted by"
        raise Invalid("sortBy", Reason.INVALID, message)
    if found.folded_column is not None:
        return found.folded_column
    if found.type is DataType.STRING and not found.case_exact:
        return func.lower(found.column)
    return found.column
