"""People's profile-section items: read (with the fields bound to the person), added, edited, cleared.

A change to a person's items is a change to the person: one change-log entry a person (`sections`:
{path: [items before, items after]}) with an `edited` event in the outbox. Fields bound to the person are
not items: the Directory writes them to the person (sections_of_person_fields says which sections show
which person fields, for modified_since).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, delete, func, select

from provisionhub.directory.changes import Change, Event, person_changes_since, record
from provisionhub.directory.errors import Invalid, NotFound, Reason
from provisionhub.directory.section_catalogue import Wanted
from provisionhub.directory.section_values import shown_value, stored_value
from provisionhub.directory.sections import UNIT, Catalogue, Field, Language, Section
from provisionhub.store import tables
from provisionhub.store.inserts import append_many
from provisionhub.store.sql import AnyOf

items = tables.profile_section_items
people = tables.people
memberships = tables.memberships
organisations = tables.organisations

#: The change log's action for a change to a person's items.
ACTION = "sections"

#: What a membership's change-log entry names when it moves a person: their unit changes with it.
_UNIT_PARTS = frozenset({"account", "building"})


@dataclass(frozen=True, slots=True)
class AddItems:
    """Append items to a section of the person with this public id. On a single section, one item sent
    changes the item it has (only the fields sent), as UNIWeb's add does."""

    person: str
    section: str
    items: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class EditItem:
    """Change the fields sent of one item: item is its position (None: the section's only item, made if
    there is none). A field sent as None or "" is cleared."""

    person: str
    section: str
    values: Mapping[str, Any]
    item: int | None = None


@dataclass(frozen=True, slots=True)
class ClearSection:
    """Remove every item of a section of the person with this public id."""

    person: str
    section: str


SectionCommand = AddItems | EditItem | ClearSection


@dataclass(frozen=True, slots=True)
class ChangeSections:
    """Add, edit and clear items, in order, all or nothing (UNIWeb's add, edit and clear)."""

    commands: Sequence[SectionCommand]


@dataclass(slots=True)
class _Item:
    """An item as it will be: its row (None: a new one) and field values."""

    row: RowMapping | None
    values: dict[str, Any]


@dataclass(slots=True)
class SectionsPlan:
    """What a batch of section commands will do: each person's items afterwards, by (person id, path),
    the items before, and the person fields each person gets (public id -> {person field: value})."""

    persons: dict[str, RowMapping]
    before: dict[tuple[int, str], list[RowMapping]]
    after: dict[tuple[int, str], list[_Item]] = field(default_factory=dict)
    person_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    bound_paths: dict[str, dict[str, str]] = field(default_factory=dict)  # person field -> field path

    def changed_paths(self) -> dict[int, list[str]]:
        """The sections whose items change, by person id."""
        changed: dict[int, list[str]] = {}
        for key, after in self.after.items():
            if [i.values for i in after] != [r["field_values"] for r in self.before.get(key, [])]:
                changed.setdefault(key[0], []).append(key[1])
        return changed


# -- reading --------------------------------------------------------------------------------------

_ITEMS_OF = (
    select(items)
    .where(AnyOf(items.c.person_id, "people"), AnyOf(items.c.section, "sections"))
    .order_by(items.c.person_id, items.c.section, items.c.position)
)
_PEOPLE = select(people).where(AnyOf(people.c.public_id, "ids"))
_UNITS = (
    select(memberships.c.person_id, organisations.c.title)
    .join_from(
        memberships,
        organisations,
        organisations.c.id == func.coalesce(memberships.c.building_id, memberships.c.account_id),
    )
    .where(AnyOf(memberships.c.person_id, "people"))
    .order_by(memberships.c.id.desc())
)


def read_sections(
    conn: Connection,
    catalogue: Catalogue,
    persons: Sequence[str],
    wanted: Wanted,
    language: Language = Language.EN,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The items of the sections asked for (a page or parent section: every section under it), by
    person public id, then by section path: a list of items, each {field name: value as read}, the
    empty fields left out. NotFound if a person does not exist; Invalid names an unknown path or field."""
    asked = _asked(catalogue, wanted)
    rows = _people_rows(conn, persons)
    ids = [row["id"] for row in rows.values()]
    stored = _stored_items(conn, ids, [s.path for s, _ in asked])
    units = _units(conn, ids) if any(f.person == UNIT for _, fs in asked for f in fs) else {}
    read: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for public_id in persons:
        row = rows[public_id]
        by_path: dict[str, list[dict[str, Any]]] = {}
        for section, fields in asked:
            held = [r["field_values"] for r in stored.get((row["id"], section.path), [])]
            if section.single and any(f.person is not None for f in fields):
                held = held[:1] or [{}]
            shown = [_shown_item(fields, values, row, units, language) for values in held]
            by_path[section.path] = [item for item in shown if item] if section.single else shown
        read[public_id] = by_path
    return read


def _asked(catalogue: Catalogue, wanted: Wanted) -> list[tuple[Section, tuple[Field, ...]]]:
    asked: dict[str, tuple[Section, tuple[Field, ...]]] = {}
    for path, names in wanted.items():
        for section in catalogue.expand(path):
            fields = section.fields if names is None else tuple(section.field(n) for n in names)
            asked[section.path] = (section, fields)
    return list(asked.values())


def _shown_item(
    fields: Sequence[Field],
    values: Mapping[str, Any],
    person: RowMapping,
    units: Mapping[int, str],
    language: Language,
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for field_ in fields:
        if field_.person == UNIT:
            value = units.get(person["id"])
        elif field_.person is not None:
            value = person[field_.person]
        else:
            value = shown_value(field_, values.get(field_.name), language)
        if value is not None:
            shown[field_.name] = value
    return shown


def _people_rows(conn: Connection, public_ids: Sequence[str]) -> dict[str, RowMapping]:
    wanted = sorted(set(public_ids))
    rows = (
        {row["public_id"]: row for row in conn.execute(_PEOPLE, {"ids": wanted}).mappings()} if wanted else {}
    )
    missing = [public_id for public_id in public_ids if public_id not in rows]
    if missing:
        raise NotFound(f"no person with id {missing[0]!r}")
    return rows


def _stored_items(
    conn: Connection, person_ids: Sequence[int], paths: Sequence[str]
) -> dict[tuple[int, str], list[RowMapping]]:
    if not person_ids or not paths:
        return {}
    found: dict[tuple[int, str], list[RowMapping]] = {}
    params = {"people": sorted(set(person_ids)), "sections": sorted(set(paths))}
    for row in conn.execute(_ITEMS_OF, params).mappings():
        found.setdefault((row["person_id"], row["section"]), []).append(row)
    return found


def _units(conn: Connection, person_ids: Sequence[int]) -> dict[int, str]:
    """The title of each person's unit: their membership's building, or else its account (the newest
    membership, should there be several)."""
    if not person_ids:
        return {}
    found: dict[int, str] = {}
    for person_id, title in conn.execute(_UNITS, {"people": sorted(set(person_ids))}):
        found.setdefault(person_id, title)
    return found


# -- writing --------------------------------------------------------------------------------------


def plan_changes(conn: Connection, catalogue: Catalogue, commands: Sequence[SectionCommand]) -> SectionsPlan:
    """Check every command and work out what it does, in order, writing nothing.

    NotFound for an unknown person; Invalid names the section or field path of the first mistake.
    """
    resolved = [(command, catalogue.section(command.section)) for command in commands]
    rows = _people_rows(conn, [command.person for command in commands])
    stored = _stored_items(
        conn, [row["id"] for row in rows.values()], sorted({section.path for _, section in resolved})
    )
    plan = SectionsPlan(rows, stored)
    for command, section in resolved:
        key = (rows[command.person]["id"], section.path)
        if key not in plan.after:
            plan.after[key] = [_Item(row, dict(row["field_values"])) for row in stored.get(key, [])]
        _apply(plan, command, section, plan.after[key])
    for key, after in plan.after.items():
        if catalogue.section(key[1]).single:
            after[:] = [item for item in after if item.values]  # a single section's empty item is no item
    return plan


def _apply(plan: SectionsPlan, command: SectionCommand, section: Section, held: list[_Item]) -> None:
    if not section.fields:
        raise Invalid(section.path, Reason.INVALID, f"{section.path} holds sections, not items")
    if isinstance(command, ClearSection):
        if not section.holds_items:
            message = f"{section.path} shows the person's own fields: edit them rather than clear them"
            raise Invalid(section.path, Reason.INVALID, message)
        held.clear()
    elif isinstance(command, AddItems):
        if section.single and len(command.items) > 1:
            message = f"{section.path} holds one item: {len(command.items)} were sent"
            raise Invalid(section.path, Reason.INVALID, message)
        for sent in command.items:
            if section.single:
                _edit(plan, command.person, section, held, sent, None)
            else:
                held.append(_Item(None, _checked(plan, command.person, section, sent, {})))
    else:
        _edit(plan, command.person, section, held, command.values, command.item)


def _edit(
    plan: SectionsPlan,
    person: str,
    section: Section,
    held: list[_Item],
    values: Mapping[str, Any],
    position: int | None,
) -> None:
    if position is None:
        if len(held) > 1:
            message = f"{section.path} holds {len(held)} items: say which one to edit"
            raise Invalid(section.path, Reason.REQUIRED, message)
        if not held:
            held.append(_Item(None, {}))
        position = 0
    if not 0 <= position < len(held):
        message = f"{section.path} has no item {position} (it holds {len(held)})"
        raise Invalid(section.path, Reason.INVALID, message)
    item = held[position]
    item.values = _checked(plan, person, section, values, item.values)


def _checked(
    plan: SectionsPlan, person: str, section: Section, sent: Mapping[str, Any], before: Mapping[str, Any]
) -> dict[str, Any]:
    """An item's values with sent's over before's; the person fields sent go to plan.person_fields."""
    if not isinstance(sent, Mapping):
        raise Invalid(section.path, Reason.INVALID, f"{section.path}: an item is an object of field values")
    values = dict(before)
    for name, value in sent.items():
        field_ = section.field(str(name))
        path = f"{section.path}/{field_.name}"
        if field_.person == UNIT:
            message = f"{path} is the person's unit, set by where they belong: it cannot be written here"
            raise Invalid(path, Reason.INVALID, message)
        stored = stored_value(field_, value, path, before.get(field_.name))
        if field_.person is not None:
            plan.person_fields.setdefault(person, {})[field_.person] = stored
            plan.bound_paths.setdefault(person, {})[field_.person] = path
        elif stored is None:
            values.pop(field_.name, None)
        else:
            values[field_.name] = stored
    return values


_UPDATE = (
    items.update()
    .where(items.c.id == bindparam("_id"))
    .values(
        position=bindparam("position"),
        field_values=bindparam("field_values"),
        updated_at=bindparam("updated_at"),
        version=bindparam("v"),
    )
)


def write_changes(conn: Connection, plan: SectionsPlan, actor: str, now: datetime) -> dict[str, list[str]]:
    """Write a plan's items and log each person's change; the paths changed, by person public id."""
    changed = plan.changed_paths()
    public_ids = {row["id"]: public_id for public_id, row in plan.persons.items()}
    gone: list[int] = []
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[Change] = []
    for person_id, paths in changed.items():
        diff: dict[str, tuple[Any, Any]] = {}
        for path in paths:
            before, after = plan.before.get((person_id, path), []), plan.after[(person_id, path)]
            kept = {item.row["id"] for item in after if item.row is not None}
            gone += [row["id"] for row in before if row["id"] not in kept]
            for position, item in enumerate(after):
                if item.row is None:
                    creates.append(
                        {
                            "person_id": person_id,
                            "section": path,
                            "position": position,
                            "field_values": item.values,
                            "created_at": now,
                            "updated_at": now,
                            "version": 1,
                        }
                    )
                elif (item.row["position"], item.row["field_values"]) != (position, item.values):
                    updates.append(
                        {
                            "_id": item.row["id"],
                            "position": position,
                            "field_values": item.values,
                            "updated_at": now,
                            "v": item.row["version"] + 1,
                        }
                    )
            diff[path] = ([row["field_values"] for row in before], [item.values for item in after])
        changes.append(Change(actor, "person", public_ids[person_id], ACTION, diff, person_id, Event.EDITED))
    if gone:
        conn.execute(delete(items).where(AnyOf(items.c.id, "ids")), {"ids": sorted(gone)})
    if updates:
        conn.execute(_UPDATE, updates)
    append_many(conn, items, creates)
    record(conn, changes, now)
    return {public_ids[person_id]: paths for person_id, paths in changed.items()}


# -- what changed ---------------------------------------------------------------------------------


def sections_of_person_fields(catalogue: Catalogue) -> dict[str, set[str]]:
    """The sections that show each person field (and, under "account" and "building", the person's unit:
    the parts of a membership the change log names)."""
    shown: dict[str, set[str]] = {}
    for bound, pairs in catalogue.bound_to_person().items():
        for name in _UNIT_PARTS if bound == UNIT else (bound,):
            shown.setdefault(name, set()).update(section.path for section, _ in pairs)
    return shown


def modified_since(
    conn: Connection, catalogue: Catalogue, since: datetime, persons: Sequence[str] | None = None
) -> dict[str, set[str]]:
    """The sections of each person (by public id) changed at or after since, from the change log: the
    items of a section, or the person fields (and unit) a section shows. persons: only these people."""
    shown = sections_of_person_fields(catalogue)
    changed: dict[str, set[str]] = {}
    wanted = None if persons is None else set(persons)
    for entry in person_changes_since(conn, since):
        if wanted is not None and entry.entity_id not in wanted:
            continue
        if entry.action == ACTION:
            paths = set(entry.fields)
        else:
            paths = {path for name in entry.fields for path in shown.get(name, ())}
        if paths:
            changed.setdefault(entry.entity_id, set()).update(paths)
    return changed
