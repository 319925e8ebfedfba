"""Organisations: a tree of units with a kind (myON accounts and their buildings, UNIWeb units).

An account (a district) has no parent; a building (a school) sits under an account. Every organisation
has a public id (myON's `myon_id`). Changes are made many at a time and all or nothing: if one item of a
batch is wrong, nothing is written and every wrong item is named.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, select

from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import Invalid, ItemError, NotFound, Reason, Rejected
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.people import bounded_text, max_length
from provisionhub.store import tables
from provisionhub.store.inserts import insert_many
from provisionhub.store.rows import StoredRow
from provisionhub.store.sql import AnyOf

organisations = tables.organisations


class OrgKind(StrEnum):
    ACCOUNT = "account"
    BUILDING = "building"
    UNIT = "unit"


#: The kind an organisation of each kind must sit under (None: it has no parent).
PARENT_KIND: dict[OrgKind, OrgKind | None] = {
    OrgKind.ACCOUNT: None,
    OrgKind.BUILDING: OrgKind.ACCOUNT,
    OrgKind.UNIT: None,
}

#: Fields a command may set, in the order the change log lists them.
ORG_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "address_line_1",
    "address_line_2",
    "city",
    "state",
    "zip_code",
    "address_full",
    "time_zone",
    "sis_id",
    "mdr_id",
    "crm_id",
    "rpid",
)
_LIMITS = {name: max_length(organisations.c[name]) for name in ORG_FIELDS}
_KNOWN = frozenset(ORG_FIELDS)

#: The two-letter codes of the USPS: states, DC, territories and the armed forces' "states".
_US_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR VI UM FM MH PW AA AE AP"
)
US_STATES = frozenset(_US_STATE_CODES.split())
_ZIP = re.compile(r"\d{5}(?:-\d{4})?")


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation as stored. parent is its parent's public id; fields holds every ORG_FIELDS entry."""

    id: int
    public_id: str
    kind: OrgKind
    parent: str | None
    fields: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]


@dataclass(frozen=True, slots=True)
class UpsertOrganisation:
    """Create an organisation of `kind` (public_id None) or change the one with this public id.

    parent is the public id of the organisation it sits under (required to create a building; given on a
    change, it moves it). Fields not named are left as they are; a field given as None or "" is cleared.
    """

    kind: OrgKind
    public_id: str | None = None
    parent: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UpsertOrganisations:
    """Apply every item, or none: Rejected names each failing one (by position) and why."""

    items: Sequence[UpsertOrganisation]


@dataclass(frozen=True, slots=True)
class OrganisationResult:
    organisation: Organisation
    created: bool
    changed: tuple[str, ...]


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalise_org_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Each value checked against the organisation's rules: text trimmed, "" means cleared."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _KNOWN:
            raise Invalid(name, Reason.UNKNOWN, f"{name} is not a field of an organisation")
        text = None if value is None else bounded_text(name, value, _LIMITS[name])
        clean[name] = None if text is None else _checked(name, text)
    return clean


def _checked(name: str, text: str) -> str:
    if name == "state":
        if text.upper() not in US_STATES:
            raise Invalid(name, Reason.INVALID, f"state {text!r} is not a two-letter US state abbreviation")
        return text.upper()
    if name == "zip_code" and not _ZIP.fullmatch(text):
        raise Invalid(name, Reason.INVALID, f"zip_code {text!r} is not a ZIP code (12345 or 12345-6789)")
    if name == "time_zone" and text not in _time_zones():
        message = f"time_zone {text!r} is not a time zone of the IANA tz database"
        raise Invalid(name, Reason.INVALID, message)
    return text


_BY_PUBLIC_ID = select(organisations).where(AnyOf(organisations.c.public_id, "ids"))
_BY_ID = select(organisations).where(AnyOf(organisations.c.id, "ids"))
_PARENTS = select(organisations.c.id, organisations.c.public_id).where(AnyOf(organisations.c.id, "ids"))
_WRITE_COLUMNS = (*ORG_FIELDS, "parent_id", "updated_at", "version")
_UPDATE = (
    organisations.update()
    .where(organisations.c.id == bindparam("_id"))
    .values({name: bindparam(name) for name in _WRITE_COLUMNS})
)


def find_organisations(
    conn: Connection, public_ids: Sequence[str], scope: str | None = None
) -> dict[str, Organisation]:
    """The organisations with these public ids that exist (within scope, if given), by public id."""
    rows = _rows_by_public_id(conn, public_ids)
    parents = _parent_public_ids(conn, rows.values())
    found = {public_id: _organisation(row, parents) for public_id, row in rows.items()}
    return {
        public_id: o
        for public_id, o in found.items()
        if scope is None or in_subtree(scope, o.public_id, o.parent)
    }


def organisations_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, Organisation]:
    """The organisations with these row ids, by row id."""
    if not ids:
        return {}
    rows = list(conn.execute(_BY_ID, {"ids": sorted(set(ids))}).mappings())
    parents = _parent_public_ids(conn, rows)
    return {row["id"]: _organisation(row, parents) for row in rows}


def in_subtree(scope: str, public_id: str, parent: str | None) -> bool:
    """Whether the organisation public_id (under parent) is in the subtree of the account scope: the
    account itself or one of its buildings. An account's tree has those two levels."""
    return scope in (public_id, parent)


def upsert_organisations(
    conn: Connection,
    commands: Sequence[UpsertOrganisation],
    actor: str,
    now: datetime,
    scope: str | None = None,
) -> list[OrganisationResult]:
    """Apply every command, or none: Rejected names each failing one (by position) and why.

    scope, an account's public id, hides everything outside that account's subtree: an id outside it is
    refused as if it did not exist, and no account can be created.
    """
    named = [c.public_id for c in commands if c.public_id] + [c.parent for c in commands if c.parent]
    known = _rows_by_public_id(conn, named)
    # Public ids by row id of every organisation a row may point to afterwards: the parents the
    # existing rows have now, and the ones the commands name (which are among `known`).
    parents = _parent_public_ids(conn, known.values())
    if scope is not None:
        known = {
            public_id: row
            for public_id, row in known.items()
            if in_subtree(scope, public_id, parents.get(row["parent_id"]))
        }
    parents.update((row["id"], public_id) for public_id, row in known.items())
    errors: list[ItemError] = []
    plans: list[tuple[dict[str, Any], RowMapping | None, dict[str, tuple[Any, Any]]]] = []
    seen: set[str] = set()
    for index, command in enumerate(commands):
        try:
            if command.public_id is not None and command.public_id in seen:
                message = f"{command.public_id} appears twice in this batch"
                raise Invalid("public_id", Reason.INVALID, message)
            if command.public_id is not None:
                seen.add(command.public_id)
            if scope is not None and command.public_id is None and command.kind == OrgKind.ACCOUNT:
                message = f"this token is scoped to the account {scope}: it cannot create accounts"
                raise Invalid("public_id", Reason.OUT_OF_SCOPE, message)
            plans.append(_plan(command, known, parents, now))
        except (Invalid, NotFound) as exc:
            errors.append(ItemError(index, exc))
    if errors:
        raise Rejected(errors)

    creates = [row for row, existing, _ in plans if existing is None]
    for row, new_id in zip(creates, insert_many(conn, organisations, creates), strict=True):
        row["id"] = new_id
    updates = [row for row, existing, diff in plans if existing is not None and diff]
    if updates:
        conn.execute(_UPDATE, [{"_id": row["id"], **{n: row[n] for n in _WRITE_COLUMNS}} for row in updates])
    changes = [
        Change(actor, "organisation", row["public_id"], "create" if existing is None else "update", diff)
        for row, existing, diff in plans
        if diff
    ]
    record(conn, changes, now)
    return [
        OrganisationResult(_organisation(row, parents), existing is None, tuple(diff))
        for row, existing, diff in plans
    ]


def _plan(
    command: UpsertOrganisation,
    known: Mapping[str, RowMapping],
    parents: Mapping[int, str],
    now: datetime,
) -> tuple[dict[str, Any], RowMapping | None, dict[str, tuple[Any, Any]]]:
    """The row to write, the row as it was (None: a new one), and what changes: (old, new) by field."""
    kind = OrgKind(command.kind)
    fields = normalise_org_fields(command.fields)
    existing: RowMapping | None = None
    if command.public_id is not None:
        existing = known.get(command.public_id)
        if existing is None:
            raise NotFound(f"no {kind.value} has the id {command.public_id}")
        if existing["kind"] != kind.value:
            message = f"{command.public_id} is {with_article(existing['kind'])}, not {with_article(kind)}"
            raise Invalid("public_id", Reason.INVALID, message)
    parent_id = _parent_id(kind, command, known, existing)
    if existing is None:
        if not fields.get("title"):
            raise Invalid("title", Reason.REQUIRED, f"title is required for a new {kind.value}")
        row: dict[str, Any] = {
            **dict.fromkeys(ORG_FIELDS),
            **fields,
            "public_id": new_public_id(),
            "kind": kind.value,
            "parent_id": parent_id,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        diff: dict[str, tuple[Any, Any]] = {
            name: (None, value) for name, value in fields.items() if value is not None
        }
        if parent_id is not None:
            diff["parent"] = (None, command.parent)
        return row, None, diff
    if "title" in fields and not fields["title"]:
        raise Invalid("title", Reason.REQUIRED, f"the title of {with_article(kind)} cannot be cleared")
    diff = {name: (existing[name], value) for name, value in fields.items() if existing[name] != value}
    if parent_id != existing["parent_id"]:
        diff["parent"] = (parents.get(existing["parent_id"]), command.parent)
    row = dict(existing)
    if diff:
        row.update(fields, parent_id=parent_id, updated_at=now, version=existing["version"] + 1)
    return row, existing, diff


def _parent_id(
    kind: OrgKind,
    command: UpsertOrganisation,
    known: Mapping[str, RowMapping],
    existing: RowMapping | None,
) -> int | None:
    wanted = PARENT_KIND[kind]
    if command.parent is None:
        if existing is not None:
            kept: int | None = existing["parent_id"]  # left where it is
            return kept
        if wanted is not None:
            message = f"{with_article(kind)} must name the {wanted.value} it belongs to"
            raise Invalid("parent", Reason.REQUIRED, message)
        return None
    if wanted is None:
        raise Invalid(
            "parent", Reason.INVALID, f"{with_article(kind)} does not belong to another organisation"
        )
    return int(row_of_kind(known, command.parent, wanted, "parent")["id"])


def row_of_kind(known: Mapping[str, RowMapping], public_id: str, kind: OrgKind, field: str) -> RowMapping:
    """The row with this public id among known, if it is of kind; otherwise Invalid on field."""
    row = known.get(public_id)
    require_kind(row["kind"] if row is not None else None, public_id, kind, field)
    assert row is not None
    return row


def require_kind(found: str | None, public_id: str, kind: OrgKind, field: str) -> None:
    """Refuse (Invalid on field) an id that names no organisation (found None) or one of another kind."""
    if found is None:
        raise Invalid(field, Reason.UNKNOWN, f"no {kind.value} has the id {public_id}")
    if found != kind.value:
        message = f"{public_id} is {with_article(found)}, not {with_article(kind)}"
        raise Invalid(field, Reason.INVALID, message)


def with_article(kind: str) -> str:
    """The kind with its indefinite article: "an account", "a building"."""
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _rows_by_public_id(conn: Connection, public_ids: Sequence[str]) -> dict[str, RowMapping]:
    wanted = sorted(set(public_ids))
    if not wanted:
        return {}
    return {row["public_id"]: row for row in conn.execute(_BY_PUBLIC_ID, {"ids": wanted}).mappings()}


def _parent_public_ids(conn: Connection, rows: Any) -> dict[int, str]:
    ids = sorted({row["parent_id"] for row in rows if row["parent_id"] is not None})
    if not ids:
        return {}
    return {row.id: row.public_id for row in conn.execute(_PARENTS, {"ids": ids})}


def _organisation(row: StoredRow, public_ids: Mapping[int, str]) -> Organisation:
    parent_id = row["parent_id"]
    return Organisation(
        id=row["id"],
        public_id=row["public_id"],
        kind=OrgKind(row["kind"]),
        parent=public_ids[parent_id] if parent_id is not None else None,
        fields={name: row[name] for name in ORG_FIELDS},
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )
