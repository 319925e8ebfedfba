"""Listings of organisations and groups with who is in them: what UNIWeb's `units` and `groups` reads show.

An organisation's members are the active people whose membership names it as their account or building
(so an account counts the people of its buildings too); a group's are the active people in it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select
from sqlalchemy.orm import aliased

from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.people import ACTIVE_STATUSES
from provisionhub.store import tables

organisations = tables.organisations
memberships = tables.memberships
groups = tables.groups
group_members = tables.group_members
people = tables.people

_ACTIVE = sorted(status.value for status in ACTIVE_STATUSES)


@dataclass(frozen=True, slots=True)
class OrganisationQuery:
    """Which organisations to list, each None when not asked: public_ids (any of them), title (equal,
    case-insensitively), changed_since (their own row changed at or after it)."""

    public_ids: tuple[str, ...] | None = None
    title: str | None = None
    changed_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrganisationEntry:
    """An organisation as listed: its public id, kind, title, parent's public id, and member count."""

    public_id: str
    kind: OrgKind
    title: str
    parent: str | None
    member_count: int


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A member of a listed group: their public id and login source (who may see them)."""

    public_id: str
    login_source: str


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """A group as listed: its public id, display name, and its active members in the order they joined."""

    public_id: str
    display_name: str
    members: tuple[GroupMember, ...]


def list_organisations(conn: Connection, query: OrganisationQuery) -> list[OrganisationEntry]:
    """The organisations query keeps, by title then public id, each with its member count."""
    parent = aliased(organisations)
    statement: Select[Any] = select(
        organisations.c.id,
        organisations.c.public_id,
        organisations.c.kind,
        organisations.c.title,
        parent.c.public_id.label("parent"),
    ).outerjoin(parent, parent.c.id == organisations.c.parent_id)
    if query.public_ids is not None:
        statement = statement.where(organisations.c.public_id.in_(sorted(set(query.public_ids))))
    if query.title is not None:
        statement = statement.where(func.lower(organisations.c.title) == query.title.lower())
    if query.changed_since is not None:
        statement = statement.where(organisations.c.updated_at >= query.changed_since)
    rows = conn.execute(statement.order_by(organisations.c.title, organisations.c.public_id)).mappings().all()
    counts = _member_counts(conn, [row["id"] for row in rows])
    return [
        OrganisationEntry(
            public_id=row["public_id"],
            kind=OrgKind(row["kind"]),
            title=row["title"],
            parent=row["parent"],
            member_count=counts.get(row["id"], 0),
        )
        for row in rows
    ]


def _member_counts(conn: Connection, organisation_ids: list[int]) -> dict[int, int]:
    """How many active people belong to each of these organisations (as account or building)."""
    if not organisation_ids:
        return {}
    belongs = or_(
        organisations.c.id == memberships.c.account_id, organisations.c.id == memberships.c.building_id
    )
    rows = conn.execute(
        select(organisations.c.id, func.count(func.distinct(memberships.c.person_id)))
        .join_from(organisations, memberships, belongs)
        .join(people, people.c.id == memberships.c.person_id)
        .where(organisations.c.id.in_(organisation_ids), people.c.status.in_(_ACTIVE))
        .group_by(organisations.c.id)
    )
    return {organisation_id: count for organisation_id, count in rows}


def list_groups(
    conn: Connection, public_ids: tuple[str, ...] | None = None, changed_since: datetime | None = None
) -> list[GroupEntry]:
    """The groups (any of public_ids, if given; changed at or after changed_since, if given), by name,
    each with its active members."""
    statement: Select[Any] = select(groups.c.id, groups.c.public_id, groups.c.display_name)
    if public_ids is not None:
        statement = statement.where(groups.c.public_id.in_(sorted(set(public_ids))))
    if changed_since is not None:
        statement = statement.where(groups.c.updated_at >= changed_since)
    rows = conn.execute(statement.order_by(groups.c.name_key)).mappings().all()
    listed: dict[int, list[GroupMember]] = defaultdict(list)
    if rows:
        found = conn.execute(
            select(group_members.c.group_id, people.c.public_id, people.c.login_source)
            .join_from(group_members, people, group_members.c.person_id == people.c.id)
            .where(group_members.c.group_id.in_([row["id"] for row in rows]), people.c.status.in_(_ACTIVE))
            .order_by(group_members.c.group_id, group_members.c.created_at, people.c.id)
        )
        for group_id, person, login_source in found:
            listed[group_id].append(GroupMember(person, login_source))
    return [GroupEntry(row["public_id"], row["display_name"], tuple(listed[row["id"]])) for row in rows]
