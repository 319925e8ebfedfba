"""Groups: named sets of people, with a public id. Names are unique case-insensitively.

A change to a group is one change-log entry for the group and, for every person whose groups it changes
(a member added or removed; every member, when the group is renamed or deleted), one entry of their own
(`groups`: their group names before and after) with an `edited` event in the outbox: the targets that
carry a person's groups (COmanage's `members`) learn of it as of any other change to the person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from provisionhub.directory.changes import Change, Event, check_version, record
from provisionhub.directory.entitlements import UNSET, Unset
from provisionhub.directory.errors import Conflict, Invalid, NotFound, Reason
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.people import Status, bounded_text, max_length
from provisionhub.store import tables
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf

groups = tables.groups
members = tables.group_members
people = tables.people

NAME_LIMIT = max_length(groups.c.display_name)

_EXTERNAL_ID_LIMIT = max_length(groups.c.external_id)


@dataclass(frozen=True, slots=True)
class Group:
    """A group as stored, with its members' public ids (in the order they joined)."""

    id: int
    public_id: str
    display_name: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CreateGroup:
    """A new group of these people (public ids); public_id None: a fresh one."""

    display_name: str
    members: Sequence[str] = ()
    external_id: str | None = None
    public_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeGroup:
    """Change a group: what is UNSET stays. members replaces every member; add_members and
    remove_members change some (adding a member twice, or removing a non-member, changes nothing)."""

    public_id: str
    display_name: str | Unset = UNSET
    external_id: str | Unset | None = UNSET
    members: Sequence[str] | Unset = UNSET
    add_members: Sequence[str] = ()
    remove_members: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class DeleteGroup:
    public_id: str


@dataclass(frozen=True, slots=True)
class ExpectGroup:
    """Go on only if the group with this public id is there (NotFound) and, if versions is given, at one
    of those versions, its newest change-log seq (VersionMismatch): SCIM's If-Match."""

    public_id: str
    versions: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class SetSourceGroups:
    """Make the groups a source system gives the person with this public id (with the person's own
    record, as COmanage's `members` does) exactly these, by name (case-insensitively; a name no group
    has yet creates one). A membership this source gave and no longer names ends; memberships given
    otherwise (a SCIM client's) are left alone, and a group named that the person is already in stays
    as it was given."""

    public_id: str
    source: str
    names: Sequence[str]


def create_group(conn: Connection, command: CreateGroup, actor: str, now: datetime) -> Group:
    name = _name(command.display_name)
    external_id = _external_id(command.external_id)
    _require_free_name(conn, name, None)
    wanted = _people(conn, command.members)
    joined = set(wanted.values())
    before = _group_names(conn, joined)
    public_id = command.public_id or new_public_id()
    row = {
        "public_id": public_id,
        "display_name": name,
        "name_key": name.casefold(),
        "external_id": external_id,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    group_id = conn.execute(groups.insert().values(row).returning(groups.c.id)).scalar_one()
    fields: dict[str, tuple[Any, Any]] = {"display_name": (None, name)}
    if external_id is not None:
        fields["external_id"] = (None, external_id)
    if wanted:
        fields["members"] = (None, sorted(wanted))
    _write_members(conn, group_id, joined, set(), now)
    _log(conn, Change(actor, "group", public_id, "create", fields), joined, before, actor, now)
    return find_groups(conn, [public_id])[public_id]


def change_group(conn: Connection, command: ChangeGroup, actor: str, now: datetime) -> Group:
    current = _row(conn, command.public_id)
    fields: dict[str, tuple[Any, Any]] = {}
    values: dict[str, Any] = {}
    if not isinstance(command.display_name, Unset):
        name = _name(command.display_name)
        if name != current["display_name"]:
            _require_free_name(conn, name, current["id"])
            fields["display_name"] = (current["display_name"], name)
            values.update(display_name=name, name_key=name.casefold())
    if not isinstance(command.external_id, Unset):
        external_id = _external_id(command.external_id)
        if external_id != current["external_id"]:
            fields["external_id"] = (current["external_id"], external_id)
            values["external_id"] = external_id
    now_members = _member_ids(conn, current["id"])
    if isinstance(command.members, Unset):
        target = set(now_members)
    else:
        target = set(_people(conn, command.members).values())
    target |= set(_people(conn, command.add_members).values())
    target -= set(_people(conn, command.remove_members, only_existing=False).values())
    added, removed = target - set(now_members), set(now_members) - target
    if added or removed:
        ids = _public_ids(conn, added | removed)
        fields["members"] = (
            sorted(ids[p] for p in removed) or None,
            sorted(ids[p] for p in added) or None,
        )
    if not fields:
        return find_groups(conn, [command.public_id])[command.public_id]
    # Renaming the group changes the groups of everyone in it, not only of who joins or leaves.
    affected = added | removed | (target if "display_name" in fields else set())
    before = _group_names(conn, affected)
    conn.execute(
        groups.update()
        .where(groups.c.id == current["id"])
        .values(**values, updated_at=now, version=current["version"] + 1)
    )
    _write_members(conn, current["id"], added, removed, now)
    _log(conn, Change(actor, "group", current["public_id"], "update", fields), affected, before, actor, now)
    return find_groups(conn, [command.public_id])[command.public_id]


def delete_group(conn: Connection, command: DeleteGroup, actor: str, now: datetime) -> None:
    """Delete the group (the change log keeps its history); its members each get an event."""
    current = _row(conn, command.public_id)
    former = set(_member_ids(conn, current["id"]))
    before = _group_names(conn, former)
    conn.execute(delete(members).where(members.c.group_id == current["id"]))
    conn.execute(delete(groups).where(groups.c.id == current["id"]))
    fields = {"display_name": (current["display_name"], None)}
    _log(conn, Change(actor, "group", current["public_id"], "delete", fields), former, before, actor, now)


def set_source_groups(conn: Connection, command: SetSourceGroups, actor: str, now: datetime) -> bool:
    """Apply SetSourceGroups; whether anything changed. Each group created, joined or left is a change of
    its own in the log; the person's groups, before and after, one change with one event."""
    person_id = conn.execute(select(people.c.id).where(people.c.public_id == command.public_id)).scalar()
    if person_id is None:
        raise NotFound(f"no person with id {command.public_id!r}")
    wanted: dict[str, str] = {}  # name_key -> the name as first given
    for value in command.names:
        name = _name(value)
        wanted.setdefault(name.casefold(), name)
    found = dict(
        conn.execute(
            select(groups.c.name_key, groups.c.id).where(groups.c.name_key.in_(sorted(wanted)))
        ).all()
    )
    held = dict(
        conn.execute(
            select(members.c.group_id, members.c.source).where(members.c.person_id == person_id)
        ).all()
    )
    named = {found[key] for key in wanted if key in found}
    joined = sorted(group_id for group_id in named if group_id not in held)
    left = sorted(g for g, source in held.items() if source == command.source and g not in named)
    created = [(key, name) for key, name in wanted.items() if key not in found]
    if not (joined or left or created):
        return False

    before = _group_names(conn, {person_id})
    logged: list[Change] = []
    new_ids: list[int] = []
    for key, name in created:
        public_id = new_public_id()
        row = {"public_id": public_id, "display_name": name, "name_key": key, "external_id": None}
        new_ids.append(
            conn.execute(
                groups.insert()
                .values(**row, created_at=now, updated_at=now, version=1)
                .returning(groups.c.id)
            ).scalar_one()
        )
        fields: dict[str, tuple[Any, Any]] = {
            "display_name": (None, name),
            "members": (None, [command.public_id]),
        }
        logged.append(Change(actor, "group", public_id, "create", fields))
    changed = sorted({*joined, *left})
    if changed:
        conn.execute(
            groups.update()
            .where(groups.c.id.in_(changed))
            .values(updated_at=now, version=groups.c.version + 1)
        )
        public_ids = dict(
            conn.execute(select(groups.c.id, groups.c.public_id).where(groups.c.id.in_(changed))).all()
        )
        member = [command.public_id]
        for group_id in changed:
            fields = {"members": (member, None) if group_id in left else (None, member)}
            logged.append(Change(actor, "group", public_ids[group_id], "update", fields))
    if left:
        conn.execute(delete(members).where(members.c.person_id == person_id, members.c.group_id.in_(left)))
    source = command.source
    rows = [
        {"group_id": g, "person_id": person_id, "created_at": now, "source": source} for g in joined + new_ids
    ]
    if rows:
        conn.execute(members.insert(), rows)
    record(conn, [*logged, *_person_changes(conn, {person_id}, before, actor)], now)
    return True


def expect_group(conn: Connection, command: ExpectGroup) -> None:
    """NotFound unless the group is there; VersionMismatch unless at a version expected."""
    _row(conn, command.public_id)
    check_version(conn, "group", command.public_id, command.versions)


def find_groups(conn: Connection, public_ids: Iterable[str]) -> dict[str, Group]:
    """The groups with these public ids that exist, with their members."""
    wanted = sorted(set(public_ids))
    if not wanted:
        return {}
    rows = conn.execute(select(groups).where(groups.c.public_id.in_(wanted))).mappings().all()
    by_group: dict[int, list[str]] = defaultdict(list)
    if rows:
        listed = conn.execute(
            select(members.c.group_id, people.c.public_id)
            .join_from(members, people, members.c.person_id == people.c.id)
            .where(members.c.group_id.in_([row["id"] for row in rows]))
            .order_by(members.c.group_id, members.c.created_at, people.c.id)
        )
        for group_id, person in listed:
            by_group[group_id].append(person)
    return {
        row["public_id"]: Group(
            id=row["id"],
            public_id=row["public_id"],
            display_name=row["display_name"],
            external_id=row["external_id"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            version=row["version"],
            members=tuple(by_group[row["id"]]),
        )
        for row in rows
    }


#: The groups of a list of people, by person and name (built once: it runs on every SCIM User read).
_GROUPS_OF = (
    select(members.c.person_id, groups.c.public_id, groups.c.display_name)
    .join_from(members, groups, members.c.group_id == groups.c.id)
    .where(AnyOf(members.c.person_id, "people"))
    .order_by(members.c.person_id, groups.c.name_key)
)


def groups_of(conn: Connection, person_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """Each person's groups as (public id, display name), by name; people in none are left out."""
    wanted = sorted(set(person_ids))
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if wanted:
        for row in fetch_all(conn, _GROUPS_OF, {"people": wanted}):
            found[row["person_id"]].append((row["public_id"], row["display_name"]))
    return dict(found)


# -- the parts --------------------------------------------------------------------------------------------


def _write_members(
    conn: Connection, group_id: int, added: set[int], removed: set[int], now: datetime
) -> None:
    if removed:
        conn.execute(
            delete(members).where(members.c.group_id == group_id, members.c.person_id.in_(sorted(removed)))
        )
    if added:
        rows = [{"group_id": group_id, "person_id": p, "created_at": now} for p in sorted(added)]
        conn.execute(members.insert(), rows)


def _log(
    conn: Connection,
    change: Change,
    affected: set[int],
    before: dict[int, list[str]],
    actor: str,
    now: datetime,
) -> None:
    """Log the group's change and, with an event each, the change to every affected person's groups
    (before: their group names before the change)."""
    record(conn, [change, *_person_changes(conn, affected, before, actor)], now)


def _person_changes(
    conn: Connection, person_ids: set[int], before: dict[int, list[str]], actor: str
) -> list[Change]:
    after = _group_names(conn, person_ids)
    ids = _public_ids(conn, person_ids)
    return [
        Change(actor, "person", ids[p], "groups", {"groups": (before[p], after[p])}, p, Event.EDITED)
        for p in sorted(person_ids)
        if before[p] != after[p]
    ]


def _group_names(conn: Connection, person_ids: set[int]) -> dict[int, list[str]]:
    found = groups_of(conn, person_ids)
    return {p: [name for _, name in found.get(p, [])] for p in person_ids}


def _name(value: Any) -> str:
    name = bounded_text("display_name", value, NAME_LIMIT)
    if name is None:
        raise Invalid("display_name", Reason.REQUIRED, "display_name is required")
    return name


def _external_id(value: Any) -> str | None:
    return bounded_text("external_id", value, _EXTERNAL_ID_LIMIT) if value is not None else None


def _require_free_name(conn: Connection, name: str, own_id: int | None) -> None:
    holder = conn.execute(select(groups.c.id).where(groups.c.name_key == name.casefold())).scalar()
    if holder is not None and holder != own_id:
        raise Conflict("display_name", f"display_name {name!r} is already taken by another group")


def _row(conn: Connection, public_id: str) -> Any:
    row = conn.execute(select(groups).where(groups.c.public_id == public_id)).mappings().first()
    if row is None:
        raise NotFound(f"no group has the id {public_id!r}")
    return row


def _member_ids(conn: Connection, group_id: int) -> list[int]:
    return list(conn.execute(select(members.c.person_id).where(members.c.group_id == group_id)).scalars())


def _people(conn: Connection, public_ids: Sequence[str], *, only_existing: bool = True) -> dict[str, int]:
    """The row ids of these people, by public id. only_existing: an id of nobody (or of a deleted
    person) is Invalid; otherwise such ids are left out (removing who is not there changes nothing)."""
    for value in public_ids:
        if not isinstance(value, str):
            raise Invalid("members", Reason.INVALID, "members are people's ids, as text")
    wanted = sorted(set(public_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(people.c.public_id, people.c.id).where(
                people.c.public_id.in_(wanted[start : start + 500]), people.c.status != Status.DELETED.value
            )
        )
        found.update((public_id, person_id) for public_id, person_id in rows)
    missing = [public_id for public_id in wanted if public_id not in found]
    if missing and only_existing:
        raise Invalid("members", Reason.UNKNOWN, f"members: no person has the id {missing[0]!r}")
    return found


def _public_ids(conn: Connection, person_ids: set[int]) -> dict[int, str]:
    wanted = sorted(person_ids)
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        rows = conn.execute(
            select(people.c.id, people.c.public_id).where(people.c.id.in_(wanted[start : start + 500]))
        )
        found.update((person_id, public_id) for person_id, public_id in rows)
    return found
