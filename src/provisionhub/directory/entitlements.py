"""The entitlement catalogue (myON's "permissions") and the grants of its entitlements to buildings.

A grant has an optional start and end and an active flag. Times without a zone are wall-clock times in
the building's own time zone (UTC when it has none); they are stored in UTC and read back in that zone.
Grants are made many at a time and all or nothing, as organisations are.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import Enum
from typing import Any, Final

from sqlalchemy import Connection, RowMapping, Select, bindparam, select

from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import Conflict, Invalid, ItemError, Reason, Rejected
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.organisations import OrgKind, row_of_kind
from provisionhub.directory.people import bounded_text, clean_text, max_length
from provisionhub.store import tables
from provisionhub.store.inserts import append_many
from provisionhub.store.sql import AnyOf

entitlements = tables.entitlements
grants = tables.grants
organisations = tables.organisations

_CODE_LIMIT = max_length(entitlements.c.code)
_TITLE_LIMIT = max_length(entitlements.c.title)
_CODE = re.compile(r"[A-Za-z0-9._:-]+")

#: What a grant command may set, in the order the change log lists them.
GRANT_FIELDS: tuple[str, ...] = ("start_date", "end_date", "active")


class Unset(Enum):
    """The type of UNSET: a field a command leaves out, as opposed to one it sets to None."""

    UNSET = "unset"


#: A field not sent: it keeps its value (None, sent, clears it).
UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class AddEntitlement:
    """Add an entitlement to the catalogue: a unique code (letters, digits and `. _ : -`) and a title."""

    code: str
    title: str


@dataclass(frozen=True, slots=True)
class Entitlement:
    public_id: str
    code: str
    title: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GrantEntitlement:
    """Grant the entitlement with this public id to the building with this public id, or change that grant.

    A date without a zone is wall-clock time in the building's time zone (UTC when it has none); None is
    an open end. A field left UNSET keeps its value on a grant that exists; a new grant is active unless
    told otherwise.
    """

    building: str
    entitlement: str
    start_date: datetime | Unset | None = UNSET
    end_date: datetime | Unset | None = UNSET
    active: bool | Unset = UNSET


@dataclass(frozen=True, slots=True)
class GrantEntitlements:
    """Apply every item, or none: Rejected names each failing one (by position) and why."""

    items: Sequence[GrantEntitlement]


@dataclass(frozen=True, slots=True)
class GrantResult:
    """What became of one GrantEntitlement: building and entitlement are public ids."""

    building: str
    entitlement: str
    created: bool
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Grant:
    """An entitlement a building holds, its dates in the building's time zone."""

    entitlement: str
    code: str
    title: str
    start_date: datetime | None
    end_date: datetime | None
    active: bool


# -- the catalogue ---------------------------------------------------------------------------------


def add_entitlement(conn: Connection, command: AddEntitlement, actor: str, now: datetime) -> Entitlement:
    """Add one entitlement to the catalogue; Conflict on "code" if the code is taken."""
    code = clean_text("code", command.code)
    if not code:
        raise Invalid("code", Reason.REQUIRED, "code is required")
    if len(code) > _CODE_LIMIT:
        raise Invalid("code", Reason.TOO_LONG, f"code must be at most {_CODE_LIMIT} characters")
    if not _CODE.fullmatch(code):
        message = f"code {code!r} may hold only letters, digits, '.', '_', ':' and '-'"
        raise Invalid("code", Reason.INVALID, message)
    title = bounded_text("title", command.title, _TITLE_LIMIT)
    if title is None:
        raise Invalid("title", Reason.REQUIRED, "title is required")
    if conn.execute(select(entitlements.c.id).where(entitlements.c.code == code)).first():
        raise Conflict("code", f"an entitlement with the code {code!r} already exists")
    added = Entitlement(new_public_id(), code, title, now)
    conn.execute(
        entitlements.insert(),
        {"public_id": added.public_id, "code": code, "title": title, "created_at": now},
    )
    fields = {"code": (None, code), "title": (None, title)}
    record(conn, [Change(actor, "entitlement", added.public_id, "create", fields)], now)
    return added


def list_entitlements(conn: Connection) -> list[Entitlement]:
    """The catalogue, by code."""
    columns = (entitlements.c.public_id, entitlements.c.code, entitlements.c.title, entitlements.c.created_at)
    rows = conn.execute(select(*columns).order_by(entitlements.c.code))
    return [Entitlement(row.public_id, row.code, row.title, row.created_at) for row in rows]


# -- grants ----------------------------------------------------------------------------------------

_BUILDINGS = select(
    organisations.c.id,
    organisations.c.public_id,
    organisations.c.kind,
    organisations.c.parent_id,
    organisations.c.time_zone,
).where(AnyOf(organisations.c.public_id, "ids"))
_ENTITLEMENTS = select(entitlements.c.id, entitlements.c.public_id).where(
    AnyOf(entitlements.c.public_id, "ids")
)
# Every grant between any of the buildings and any of the entitlements: a superset of the pairs asked
# for, in one query, which the index on (organisation_id, entitlement_id) answers.
_GRANTS_BETWEEN = select(grants).where(
    AnyOf(grants.c.organisation_id, "buildings"), AnyOf(grants.c.entitlement_id, "entitlements")
)
_WRITTEN = (*GRANT_FIELDS, "updated_at")
_UPDATE = (
    grants.update()
    .where(grants.c.id == bindparam("_id"))
    .values({name: bindparam(name) for name in _WRITTEN})
)
_GRANTS_OF = (
    select(
        organisations.c.public_id.label("building"),
        organisations.c.time_zone,
        entitlements.c.public_id.label("entitlement"),
        entitlements.c.code,
        entitlements.c.title,
        grants.c.start_date,
        grants.c.end_date,
        grants.c.active,
    )
    .select_from(
        grants.join(organisations, grants.c.organisation_id == organisations.c.id).join(
            entitlements, grants.c.entitlement_id == entitlements.c.id
        )
    )
    .where(AnyOf(organisations.c.public_id, "ids"))
    .order_by(entitlements.c.code)
)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One command's grant: the row to write, the row as it was (None: a new one), and what changes."""

    command: GrantEntitlement
    row: dict[str, Any]
    existing: RowMapping | None
    diff: dict[str, tuple[Any, Any]]


def grant_entitlements(
    conn: Connection,
    commands: Sequence[GrantEntitlement],
    actor: str,
    now: datetime,
    scope: str | None = None,
) -> list[GrantResult]:
    """Apply every command, or none: Rejected names each failing one (by position) and why.

    scope, an account's public id, hides the buildings of every other account: they are refused as if
    they did not exist.
    """
    named = {c.building for c in commands} | ({scope} if scope is not None else set())
    buildings = _rows(conn, _BUILDINGS, {"ids": sorted(named)}, "public_id")
    if scope is not None:
        account = buildings.get(scope)
        buildings = {
            public_id: row
            for public_id, row in buildings.items()
            if account is not None and row["parent_id"] == account["id"]
        }
    known = _rows(conn, _ENTITLEMENTS, {"ids": sorted({c.entitlement for c in commands})}, "public_id")
    held = _grants_between(conn, buildings.values(), known.values())
    errors: list[ItemError] = []
    plans: list[_Plan] = []
    seen: set[tuple[int, int]] = set()
    for index, command in enumerate(commands):
        try:
            plans.append(_plan(command, buildings, known, held, seen, now))
        except Invalid as exc:
            errors.append(ItemError(index, exc))
    if errors:
        raise Rejected(errors)

    append_many(conn, grants, [plan.row for plan in plans if plan.existing is None])
    updates = [plan.row for plan in plans if plan.existing is not None and plan.diff]
    if updates:
        conn.execute(_UPDATE, [{"_id": row["id"], **{n: row[n] for n in _WRITTEN}} for row in updates])
    record(conn, [_change(plan, actor) for plan in plans if plan.diff], now)
    return [
        GrantResult(p.command.building, p.command.entitlement, p.existing is None, tuple(p.diff))
        for p in plans
    ]


def _plan(
    command: GrantEntitlement,
    buildings: Mapping[str, RowMapping],
    known: Mapping[str, RowMapping],
    held: Mapping[tuple[int, int], RowMapping],
    seen: set[tuple[int, int]],
    now: datetime,
) -> _Plan:
    building = row_of_kind(buildings, command.building, OrgKind.BUILDING, "building")
    entitlement = known.get(command.entitlement)
    if entitlement is None:
        raise Invalid("entitlement", Reason.UNKNOWN, f"no entitlement has the id {command.entitlement}")
    key = (building["id"], entitlement["id"])
    if key in seen:
        message = (
            f"entitlement {command.entitlement} is granted to building {command.building} twice in this batch"
        )
        raise Invalid("entitlement", Reason.INVALID, message)
    seen.add(key)
    zone = building_zone(building["time_zone"])
    sent = {name: _checked(name, getattr(command, name), zone) for name in GRANT_FIELDS}
    sent = {name: value for name, value in sent.items() if value is not UNSET}
    existing = held.get(key)
    if existing is None:
        row: dict[str, Any] = {
            "organisation_id": building["id"],
            "entitlement_id": entitlement["id"],
            "start_date": None,
            "end_date": None,
            "active": True,
            **sent,
            "created_at": now,
            "updated_at": now,
        }
        diff = {name: (None, row[name]) for name in GRANT_FIELDS if row[name] is not None}
    else:
        row = {**existing, **sent}
        diff = {name: (existing[name], value) for name, value in sent.items() if existing[name] != value}
        if diff:
            row["updated_at"] = now
    start, end = row["start_date"], row["end_date"]
    if start is not None and end is not None and end < start:
        shown = [_in_zone(value, zone).isoformat() for value in (end, start)]
        message = "end_date {} is before start_date {}".format(*shown)
        raise Invalid("end_date", Reason.INVALID, message)
    return _Plan(command, row, existing, diff)


def _checked(name: str, value: Any, zone: tzinfo) -> Any:
    """A sent value as stored: a date in UTC, a flag as a bool; UNSET and None as they are."""
    if name == "active":
        if value is not UNSET and not isinstance(value, bool):
            raise Invalid(name, Reason.INVALID, f"{name} must be true or false")
        return value
    if value is UNSET or value is None:
        return value
    if not isinstance(value, datetime):
        raise Invalid(name, Reason.INVALID, f"{name} must be a date and time")
    try:
        return (value if value.tzinfo is not None else value.replace(tzinfo=zone)).astimezone(UTC)
    except OverflowError:
        raise Invalid(name, Reason.INVALID, f"{name} is out of the range of dates") from None


def _change(plan: _Plan, actor: str) -> Change:
    # The log's entity is the building; the entitlement, named in every entry, says which grant it was.
    named = (None if plan.existing is None else plan.command.entitlement, plan.command.entitlement)
    action = "create" if plan.existing is None else "update"
    return Change(actor, "grant", plan.command.building, action, {"entitlement": named, **plan.diff})


def _rows(conn: Connection, query: Select[Any], params: dict[str, Any], key: str) -> dict[Any, RowMapping]:
    if not all(params.values()):
        return {}
    return {row[key]: row for row in conn.execute(query, params).mappings()}


def _grants_between(
    conn: Connection, buildings: Iterable[RowMapping], known: Iterable[RowMapping]
) -> dict[tuple[int, int], RowMapping]:
    params = {
        "buildings": sorted(row["id"] for row in buildings),
        "entitlements": sorted(row["id"] for row in known),
    }
    rows = _rows(conn, _GRANTS_BETWEEN, params, "id")
    return {(row["organisation_id"], row["entitlement_id"]): row for row in rows.values()}


# -- reading ---------------------------------------------------------------------------------------


def building_zone(time_zone: str | None) -> tzinfo:
    """The zone a building's wall-clock times are in: its own, or UTC when it has none."""
    return UTC if time_zone is None else zoneinfo.ZoneInfo(time_zone)


def grants_of(conn: Connection, building_ids: Sequence[str]) -> dict[str, list[Grant]]:
    """The grants each of these buildings holds (by public id), by code; absent: none."""
    held: dict[str, list[Grant]] = {}
    wanted = sorted(set(building_ids))
    if not wanted:
        return held
    for row in conn.execute(_GRANTS_OF, {"ids": wanted}):
        zone = building_zone(row.time_zone)
        start, end = (
            None if value is None else _in_zone(value, zone) for value in (row.start_date, row.end_date)
        )
        grant = Grant(row.entitlement, row.code, row.title, start, end, row.active)
        held.setdefault(row.building, []).append(grant)
    return held


def _in_zone(value: datetime, zone: tzinfo) -> datetime:
    try:
        return value.astimezone(zone)
    except OverflowError:
        # Only a date at the very edge of the calendar, in a zone the building took on after the grant.
        return value
