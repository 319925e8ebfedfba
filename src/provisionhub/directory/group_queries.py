"""Queries about groups: a group's members are shown as far as the asking principal sees them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select, true

from provisionhub.directory.access import Permission
from provisionhub.directory.changes import latest_seqs
from provisionhub.directory.condition_sql import sql_condition
from provisionhub.directory.conditions import Filter
from provisionhub.directory.errors import NotFound, OutOfScope
from provisionhub.directory.filter_attributes import group_attributes, sort_column
from provisionhub.directory.groups import Group, find_groups
from provisionhub.directory.listings import GroupEntry, list_groups
from provisionhub.directory.people import Status
from provisionhub.directory.queries import Query, Reading
from provisionhub.directory.scopes import unseen, visible_people
from provisionhub.store import tables

groups = tables.groups
people = tables.people


@dataclass(frozen=True, slots=True)
class GroupListing(Query[list[GroupEntry]]):
    """The groups (any of public_ids, if given; changed at or after changed_since, if given), by name,
    with their active members (UNIWeb's groups). group-read; OutOfScope if a member is outside the
    principal's scope (such a read is refused whole)."""

    public_ids: tuple[str, ...] | None = None
    changed_since: datetime | None = None

    def run(self, reading: Reading) -> list[GroupEntry]:
        reading.principal.require(Permission.GROUP_READ)
        found = list_groups(reading.conn, self.public_ids, self.changed_since)
        members = [member.public_id for group in found for member in group.members]
        if unseen(reading.conn, reading.principal, members):
            raise OutOfScope("a member of the groups read is outside this credential's scope")
        return found


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group as the asking principal sees it: its members those it sees (people not deleted), and its
    version (its newest change-log seq)."""

    group: Group
    version: int


@dataclass(frozen=True, slots=True)
class GroupPage:
    total: int
    views: list[GroupView]


@dataclass(frozen=True, slots=True)
class GroupById(Query[GroupView]):
    """The group with this public id. group-read (to_change: group-write will do, for what a write
    shows of the group it wrote)."""

    public_id: str
    to_change: bool = False

    def run(self, reading: Reading) -> GroupView:
        _require_reader(reading, self.to_change)
        found = find_groups(reading.conn, [self.public_id]).get(self.public_id)
        if found is None:
            raise NotFound(f"no Group has the id {self.public_id}")
        return group_views(reading, [found])[0]


@dataclass(frozen=True, slots=True)
class Groups(Query[GroupPage]):
    """A page of the groups condition keeps (None: all), sorted by the attribute path sort (None: by
    creation), with the total. group-read. Paths: filter_attributes.py."""

    condition: Filter | None
    sort: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 100

    def run(self, reading: Reading) -> GroupPage:
        _require_reader(reading, False)
        conn = reading.conn
        attributes = group_attributes(visible_people(reading.principal))
        where = sql_condition(self.condition, attributes) if self.condition is not None else true()
        order = sort_column(self.sort, attributes, groups.c.id, "Groups")
        total = conn.execute(select(func.count()).select_from(groups).where(where)).scalar_one()
        if self.limit <= 0:
            return GroupPage(total, [])
        ordering = (order.desc(), groups.c.id.desc()) if self.descending else (order.asc(), groups.c.id.asc())
        statement = select(groups.c.public_id).where(where).order_by(*ordering)
        ids = list(conn.execute(statement.offset(self.offset).limit(self.limit)).scalars())
        found = find_groups(conn, ids)
        return GroupPage(total, group_views(reading, [found[i] for i in ids]))


def group_views(reading: Reading, found: list[Group]) -> list[GroupView]:
    """Groups with the members the principal sees, and their versions."""
    conn = reading.conn
    versions = latest_seqs(conn, "group", [g.public_id for g in found])
    shown = _shown(reading, sorted({m for g in found for m in g.members}))
    return [
        GroupView(replace(g, members=tuple(m for m in g.members if m in shown)), versions.get(g.public_id, 0))
        for g in found
    ]


def _shown(reading: Reading, public_ids: list[str]) -> set[str]:
    """Those of these people who are members to show: not deleted, and seen by the principal."""
    seen = visible_people(reading.principal)
    shown: set[str] = set()
    for start in range(0, len(public_ids), 500):
        rows = reading.conn.execute(
            select(people.c.public_id).where(
                people.c.public_id.in_(public_ids[start : start + 500]),
                people.c.status != Status.DELETED.value,
                seen,
            )
        )
        shown.update(rows.scalars())
    return shown


def _require_reader(reading: Reading, to_change: bool) -> None:
    if to_change:
        reading.principal.require_any(Permission.GROUP_READ, Permission.GROUP_WRITE)
    else:
        reading.principal.require(Permission.GROUP_READ)
