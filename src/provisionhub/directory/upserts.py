"""Creating and changing many people in a few batched statements: match, check, plan, write.

One pipeline serves a single push, a concurrent batch of pushes (each item succeeds or fails alone)
and a bulk request that is all or nothing. What it checks: the person's field rules, the catalogues
(login source, user type), who must have a username, and that usernames and emails are unique
case-insensitively, in the directory and within the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, overload

from sqlalchemy import Connection, and_, bindparam, or_, select

from provisionhub.directory import lifecycle
from provisionhub.directory.changes import Change, Event, record
from provisionhub.directory.errors import Conflict, DirectoryError, Invalid, Reason
from provisionhub.directory.ids import new_public_id, new_public_ids
from provisionhub.directory.people import (
    PERSON_FIELDS,
    SECRET_FIELDS,
    PersonResult,
    Status,
    UpsertPerson,
    clean_text,
    folded,
    max_length,
    normalise_fields,
)
from provisionhub.directory.reference_data import KnownCodes
from provisionhub.store import tables
from provisionhub.store.inserts import insert_many
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf

#: How many keys go into one IN (...) list.
CHUNK = 500

_IDENTITY_LIMITS = {name: max_length(tables.people.c[name]) for name in ("login_source", "unique_id")}
#: The fields unique whatever their case, each with the column of its case-folded key.
_UNIQUE = (("username", "username_key"), ("email", "email_key"))
_WRITE_COLUMNS = (
    *PERSON_FIELDS,
    *SECRET_FIELDS,
    "username_key",
    "email_key",
    "status",
    "updated_at",
    "version",
)
_EMPTY_ROW = dict.fromkeys(PERSON_FIELDS + SECRET_FIELDS)
#: What a new person's row always has; its fields are written only where some new person sets them.
_CREATE_COLUMNS = ("public_id", "login_source", "unique_id", "status", "created_at", "updated_at", "version")
_KEY_COLUMNS = ("username_key", "email_key")
_ACTIVE = Status.ACTIVE.value

people = tables.people
# Not a row-value IN ((source, id), ...): SQLite answers that by scanning the whole index. Two IN lists
# are index searches on both databases; pairs that merely cross (one batch's source, another's id)
# are dropped in Python.
_IDENTITY = and_(AnyOf(people.c.login_source, "sources"), AnyOf(people.c.unique_id, "unique_ids"))
_HOLDERS = or_(AnyOf(people.c.username_key, "usernames"), AnyOf(people.c.email_key, "emails"))
#: One query for a batch: the people it names, and whoever holds the usernames and emails it asks for.
_MATCHES = select(people).where(or_(_IDENTITY, _HOLDERS))
_UPDATE = (
    people.update().where(people.c.id == bindparam("_id")).values({n: bindparam(n) for n in _WRITE_COLUMNS})
)


@dataclass(slots=True)
class Item:
    """One person to create or change, between matching and writing."""

    index: int
    actor: str
    login_source: str
    unique_id: str | None  # None: the new person's public id, drawn with the batch's (create_only)
    fields: dict[str, Any]
    required_on_create: frozenset[str] = frozenset()
    public_id: str | None = None
    #: Changes the caller makes beside the person's fields (where they belong, say), logged with them.
    extra: Mapping[str, tuple[Any, Any]] | None = None
    create_only: bool = False
    existing: Mapping[str, Any] | None = None
    requires_username: bool = False
    row: dict[str, Any] | None = None
    diff: dict[str, tuple[Any, Any]] | None = None
    seq: int | None = None  # the change log's, once written

    def planned_row(self) -> dict[str, Any]:
        """The row plan() worked out for the item (it has run)."""
        assert self.row is not None, "the item is not planned yet"
        return self.row


Outcome = PersonResult | DirectoryError
#: Asked of each request once its person is matched: (its position, the person's row or None for a new
#: person) -> the error that refuses it, or None to go on (the Directory's authorization).
Allow = Callable[[int, Mapping[str, Any] | None], DirectoryError | None]


@overload
def upsert(
    conn: Connection,
    known: KnownCodes,
    requests: Sequence[tuple[UpsertPerson, str]],
    now: datetime,
    *,
    isolate: Literal[True],
    extras: Sequence[Mapping[str, tuple[Any, Any]] | None] | None = None,
    allow: Allow | None = None,
) -> list[Outcome]: ...


@overload
def upsert(
    conn: Connection,
    known: KnownCodes,
    requests: Sequence[tuple[UpsertPerson, str]],
    now: datetime,
    *,
    isolate: Literal[False],
    extras: Sequence[Mapping[str, tuple[Any, Any]] | None] | None = None,
    allow: Allow | None = None,
) -> list[Outcome | None]: ...


def upsert(
    conn: Connection,
    known: KnownCodes,
    requests: Sequence[tuple[UpsertPerson, str]],
    now: datetime,
    *,
    isolate: bool,
    extras: Sequence[Mapping[str, tuple[Any, Any]] | None] | None = None,
    allow: Allow | None = None,
) -> Sequence[Outcome | None]:
    """Apply (command, actor) pairs whose identities are distinct; one outcome per request, in order.

    isolate=True: each request succeeds or fails alone. isolate=False: if any fails, nothing is written
    and every outcome is the failing requests' errors (the others' outcomes are None).
    extras: for each request, what else changes about the person, {name: (old, new)}: it joins the
    person's diff, so it is one change in the log (and one event), and it counts as a change of the person.
    allow: asked of each request once matched; an error it answers refuses the request.
    """
    outcomes: list[Outcome | None] = [None] * len(requests)
    items: list[Item] = []
    seen: set[tuple[str, str]] = set()
    for index, (command, actor) in enumerate(requests):
        try:
            login_source = identity_part("login_source", command.login_source)
            unique_id = None if command.unique_id is None else identity_part("unique_id", command.unique_id)
            fields = normalise_fields(command.fields)
        except Invalid as exc:
            outcomes[index] = exc
            continue
        if unique_id is not None:
            if (login_source, unique_id) in seen:
                message = f"unique_id {unique_id!r} appears twice in this batch"
                outcomes[index] = Conflict("unique_id", message)
                continue
            seen.add((login_source, unique_id))
        extra = extras[index] if extras is not None else None
        items.append(
            Item(
                index,
                actor,
                login_source,
                unique_id,
                fields,
                command.required_on_create,
                command.public_id,
                extra,
                command.create_only,
            )
        )

    sources = known.login_sources(conn, {item.login_source for item in items})
    existing, owners = _matches(conn, [item for item in items if item.login_source in sources])
    matched: list[Item] = []
    for item in items:
        if item.login_source not in sources:
            message = f"login_source {item.login_source!r} is not a configured login source"
            outcomes[item.index] = Invalid("login_source", Reason.UNKNOWN, message)
            continue
        if item.unique_id is not None:  # without one, the person is new
            item.existing = existing.get((item.login_source, item.unique_id))
        refusal = allow(item.index, item.existing) if allow is not None else None
        if refusal is not None:
            outcomes[item.index] = refusal
            continue
        if item.create_only and item.existing is not None:
            outcomes[item.index] = Conflict("unique_id", f"unique_id {item.unique_id!r} is already taken")
            continue
        item.requires_username = sources[item.login_source]
        matched.append(item)
    return _write(conn, known, matched, outcomes, now, isolate=isolate, owners=owners)


def _write(
    conn: Connection,
    known: KnownCodes,
    items: list[Item],
    outcomes: list[Outcome | None],
    now: datetime,
    *,
    isolate: bool,
    owners: dict[tuple[str, str], int],
) -> list[Outcome | None]:
    """Check, plan and write matched items; outcomes holds the errors found so far, and owners who
    holds each username and email the items ask for."""
    wanted_types = {item.fields["user_type_id"] for item in items if item.fields.get("user_type_id")}
    missing_types = known.missing_user_types(conn, wanted_types)
    unnamed = [item for item in items if item.existing is None and item.public_id is None]
    for item, public_id in zip(unnamed, new_public_ids(len(unnamed)), strict=True):
        item.public_id = public_id  # the ids of a batch's new people, drawn at once
        if item.unique_id is None:
            item.unique_id = public_id
    planned: list[Item] = []
    for item in items:
        try:
            type_id = item.fields.get("user_type_id")
            if type_id in missing_types:
                raise Invalid("user_type_id", Reason.UNKNOWN, f"user_type_id {type_id!r} is not a user type")
            plan(item, now)
        except Invalid as exc:
            outcomes[item.index] = exc
            continue
        planned.append(item)
    _follow_windows(conn, planned, now)
    planned = _unique(planned, outcomes, owners)
    if not isolate and any(outcome is not None for outcome in outcomes):
        return outcomes

    creates = [item for item in planned if item.existing is None]
    updates = [item for item in planned if item.existing is not None and item.diff]
    created = [item.planned_row() for item in creates]
    new_ids = insert_many(conn, people, created, _columns_to_create(creates))
    for row, person_id in zip(created, new_ids, strict=True):
        row["id"] = person_id
    if updates:
        changed = [item.planned_row() for item in updates]
        conn.execute(_UPDATE, [{"_id": row["id"], **{n: row[n] for n in _WRITE_COLUMNS}} for row in changed])
    written = creates + updates
    for item, seq in zip(written, record(conn, [change_of(item) for item in written], now), strict=True):
        item.seq = seq
    for item in planned:
        assert item.row is not None
        assert item.diff is not None
        outcomes[item.index] = PersonResult(item.row, item.existing is None, tuple(item.diff), item.seq)
    return outcomes


def _columns_to_create(creates: list[Item]) -> tuple[str, ...]:
    """The columns the new people's INSERT writes: the fields no new person sets (or sets to None) are
    left out, and so NULL. sqlite3 binds each None through an adapter lookup, and a person's row is mostly
    empty fields: leaving them out makes a batch's INSERT markedly cheaper (docs/benchmarks).
    """
    given = {name for item in creates for name, value in item.fields.items() if value is not None}
    fields = tuple(name for name in _EMPTY_ROW if name in given)
    return _CREATE_COLUMNS + fields + _KEY_COLUMNS


def identity_part(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(name, Reason.REQUIRED, f"{name} is required")
    value = clean_text(name, value)
    if len(value) > _IDENTITY_LIMITS[name]:
        raise Invalid(name, Reason.TOO_LONG, f"{name} must be at most {_IDENTITY_LIMITS[name]} characters")
    return value


def plan(item: Item, now: datetime) -> None:
    """Work out the row to write and the fields that change; an unchanged person gets an empty diff."""
    if item.existing is None:
        missing = [name for name in item.required_on_create if item.fields.get(name) is None]
        if missing:
            name = min(missing)  # the same field named whatever the set's order
            raise Invalid(name, Reason.REQUIRED, f"{name} is required for a new person")
        row: dict[str, Any] = {
            **_EMPTY_ROW,
            **item.fields,
            "public_id": item.public_id or new_public_id(),
            "login_source": item.login_source,
            "unique_id": item.unique_id,
            "status": _ACTIVE,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        item.diff = {name: (None, value) for name, value in item.fields.items() if value is not None}
    else:
        item.diff = {
            name: (item.existing[name], value)
            for name, value in item.fields.items()
            if item.existing[name] != value
        }
        row = dict(item.existing)
    if item.extra:
        item.diff.update(item.extra)
    if item.existing is not None and item.diff:
        row.update(item.fields)
        row.update(updated_at=now, version=item.existing["version"] + 1)
    if item.requires_username and row["username"] is None:
        message = f"username is required: people of login source {item.login_source} sign in with it"
        raise Invalid("username", Reason.REQUIRED, message)
    row["username_key"] = folded(row["username"])
    row["email_key"] = folded(row["email"])
    item.row = row


def _follow_windows(conn: Connection, items: list[Item], now: datetime) -> None:
    """Give the status their validity window calls for to the people whose window decides it in this
    write: a valid_from yet to come makes them pending, an extended valid_through unexpires them, at once.
    The status joins the diff, so it is logged with the write and its event is the status's."""
    moving = [item for item in items if _window_decides(item)]
    if not moving:
        return
    rows = [(item.planned_row(), item.login_source) for item in moving]
    lapsed = {(row["user_type_id"], source) for row, source in rows if lifecycle.lapsed(row, now)}
    graces = lifecycle.grace_days(conn, lapsed) if lapsed else {}
    for item in moving:
        row, diff = item.row, item.diff
        assert row is not None
        assert diff is not None
        old = Status(row["status"])
        days = graces.get((row["user_type_id"], item.login_source), 0)
        new = lifecycle.window_status(row["valid_from"], row["valid_through"], days, now)
        if new is not old:
            row["status"] = new.value
            diff["status"] = (old.value if item.existing is not None else None, new.value)


def _window_decides(item: Item) -> bool:
    """Whether the write decides the person's status by their window: a new person with a window, or a
    person in a window status (not suspended or deleted) whose window it changes."""
    if item.existing is None:
        return item.fields.get("valid_from") is not None or item.fields.get("valid_through") is not None
    assert item.diff is not None
    return item.existing["status"] in lifecycle.WINDOW_VALUES and (
        "valid_from" in item.diff or "valid_through" in item.diff
    )


def _unique(
    items: list[Item], outcomes: list[Outcome | None], owners: dict[tuple[str, str], int]
) -> list[Item]:
    """The items whose new usernames and emails nobody else holds; the others get a Conflict.

    Within the batch, items are taken in order, as if they had come one after another: an item claims
    its values only if it gets all of them, so one refused on its email does not block a later one
    that wants the username it asked for.
    """
    claimed: set[tuple[str, str]] = set()
    survivors: list[Item] = []
    for item in items:
        row, diff = item.row, item.diff
        assert row is not None
        assert diff is not None
        own_id = item.existing["id"] if item.existing is not None else None
        wanted = [(name, row[key]) for name, key in _UNIQUE if name in diff and row[name] is not None]
        taken = [
            name for name, key in wanted
            if (owners.get((name, key), own_id) != own_id) or (name, key) in claimed
        ]  # fmt: skip
        if taken:
            value = row[taken[0]]
            outcomes[item.index] = Conflict(taken[0], f"{taken[0]} {value!r} is already taken")
            continue
        claimed.update(wanted)
        survivors.append(item)
    return survivors


def change_of(item: Item) -> Change:
    assert item.row is not None
    assert item.diff is not None
    created = item.existing is None
    if created:
        event = Event.ADDED
    elif "status" in item.diff:
        old, new = item.diff["status"]
        event = lifecycle.status_event(Status(old), Status(new))
    else:
        event = Event.EDITED
    return Change(
        item.actor,
        "person",
        item.row["public_id"],
        "create" if created else "update",
        item.diff,
        item.row["id"],
        event,
    )


def _matches(
    conn: Connection, items: list[Item]
) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str], int]]:
    """The people the items name, by identity; and who holds each username and email they give."""
    wanted = {(item.login_source, item.unique_id) for item in items if item.unique_id is not None}
    existing: dict[tuple[str, str], Any] = {}
    owners: dict[tuple[str, str], int] = {}
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        parameters = {
            "sources": sorted({item.login_source for item in chunk}),
            # An item without a unique_id is new: it names nobody (an empty list matches no row).
            "unique_ids": [item.unique_id for item in chunk if item.unique_id is not None],
            "usernames": [folded(item.fields["username"]) for item in chunk if item.fields.get("username")],
            "emails": [folded(item.fields["email"]) for item in chunk if item.fields.get("email")],
        }
        for row in fetch_all(conn, _MATCHES, parameters):
            key = (row["login_source"], row["unique_id"])
            if key in wanted:
                existing[key] = row
            owners[("username", row["username_key"])] = row["id"]
            owners[("email", row["email_key"])] = row["id"]
    return existing, owners
