"""Directory: applies commands in one transaction: validate, match, write, log the change, queue the event.

Every dialect, the CLI and the bulk importers change the directory through this one service, so the
rules (matching, uniqueness, what counts as a change, which events to emit) live here once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, tuple_

from provisionhub.directory.changes import Change, Event, record
from provisionhub.directory.errors import Conflict, Invalid, ItemError, NotFound, Reason, Rejected
from provisionhub.directory.people import (
    PERSON_FIELDS,
    Person,
    PersonResult,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
    clean_text,
    folded,
    normalise_fields,
)
from provisionhub.directory.reference_data import AddLoginSource, AddUserType, KnownCodes
from provisionhub.store import tables
from provisionhub.store.database import Database

Clock = Callable[[], datetime]

#: How many keys go into one IN (...) list.
CHUNK = 500

_IDENTITY_LIMITS = {"login_source": 20, "unique_id": 255}

_WRITE_COLUMNS = (*PERSON_FIELDS, "username_key", "email_key", "status", "updated_at", "version")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Item:
    """One person to create or change, between matching and writing."""

    index: int
    login_source: str
    unique_id: str
    fields: dict[str, Any]
    required_on_create: frozenset[str]
    existing: Mapping[str, Any] | None = None
    requires_username: bool = False
    row: dict[str, Any] | None = None
    diff: dict[str, tuple[Any, Any]] | None = None


class Directory:
    """The one way into the directory. Methods taking `conn` run inside the caller's transaction;
    `apply` opens its own."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self.database = database
        self._clock = clock
        self._known = KnownCodes()

    # -- entry points -------------------------------------------------------------------------

    def apply(self, command: object, actor: str) -> Any:
        """Apply one command in a transaction of its own."""
        with self.database.transaction() as conn:
            return self.execute(conn, command, actor)

    async def submit(self, command: object, actor: str) -> Any:
        """Apply one command from async code, through the database's write queue."""
        return await self.database.write(lambda conn: self.execute(conn, command, actor))

    def execute(self, conn: Connection, command: object, actor: str) -> Any:
        """Apply one command inside the caller's transaction."""
        match command:
            case UpsertPerson():
                return self.upsert_person(conn, command, actor)
            case UpdatePerson():
                return self.update_person(conn, command, actor)
            case SetStatus():
                return self.set_status(conn, command, actor)
            case AddUserType():
                return self._add_user_type(conn, command, actor)
            case AddLoginSource():
                return self._add_login_source(conn, command, actor)
        raise TypeError(f"not a directory command: {command!r}")

    # -- people ------------------------------------------------------------------------------

    def upsert_person(self, conn: Connection, command: UpsertPerson, actor: str) -> PersonResult:
        try:
            return self.upsert_people(conn, [command], actor)[0]
        except Rejected as rejected:
            raise rejected.errors[0].error from None

    def upsert_people(
        self, conn: Connection, commands: Sequence[UpsertPerson], actor: str
    ) -> list[PersonResult]:
        """Create or change many people at once, all or nothing, in a few batched statements."""
        errors: list[ItemError] = []
        items: list[_Item] = []
        seen: dict[tuple[str, str], int] = {}
        for index, command in enumerate(commands):
            try:
                login_source = _identity_part("login_source", command.login_source)
                unique_id = _identity_part("unique_id", command.unique_id)
                fields = normalise_fields(command.fields)
            except Invalid as exc:
                errors.append(ItemError(index, exc))
                continue
            if (login_source, unique_id) in seen:
                message = f"unique_id {unique_id!r} appears twice in this batch"
                errors.append(ItemError(index, Conflict("unique_id", message)))
                continue
            seen[(login_source, unique_id)] = index
            items.append(_Item(index, login_source, unique_id, fields, command.required_on_create))

        sources = self._known.login_sources(conn, {item.login_source for item in items})
        for item in items:
            if item.login_source not in sources:
                message = f"login_source {item.login_source!r} is not a configured login source"
                errors.append(ItemError(item.index, Invalid("login_source", Reason.UNKNOWN, message)))
        items = [item for item in items if item.login_source in sources]

        existing = _people_by_identity(conn, [(item.login_source, item.unique_id) for item in items])
        for item in items:
            item.existing = existing.get((item.login_source, item.unique_id))
            item.requires_username = sources[item.login_source]
        return self._write_people(conn, items, errors, actor)

    def update_person(self, conn: Connection, command: UpdatePerson, actor: str) -> PersonResult:
        existing = _person_row(conn, command.public_id)
        fields = normalise_fields(command.fields)
        item = _Item(0, existing["login_source"], existing["unique_id"], fields, frozenset(), existing)
        item.requires_username = self._known.login_sources(conn, [item.login_source])[item.login_source]
        try:
            return self._write_people(conn, [item], [], actor)[0]
        except Rejected as rejected:
            raise rejected.errors[0].error from None

    def set_status(self, conn: Connection, command: SetStatus, actor: str) -> PersonResult:
        existing = _person_row(conn, command.public_id)
        old = Status(existing["status"])
        new = Status(command.status)
        if old == new:
            return PersonResult(Person.from_row(existing), created=False, changed=())
        now = self._clock()
        row = {**existing, "status": new.value, "updated_at": now, "version": existing["version"] + 1}
        conn.execute(
            tables.people.update().where(tables.people.c.id == existing["id"]),
            {"status": new.value, "updated_at": now, "version": row["version"]},
        )
        change = Change(
            "person", existing["public_id"], "status", {"status": (old.value, new.value)},
            existing["id"], _status_event(old, new),
        )  # fmt: skip
        record(conn, [change], actor, now)
        return PersonResult(Person.from_row(row), created=False, changed=("status",))

    def find_person(self, conn: Connection, public_id: str) -> Person:
        return Person.from_row(_person_row(conn, public_id))

    def find_person_by_identity(self, conn: Connection, login_source: str, unique_id: str) -> Person | None:
        row = _people_by_identity(conn, [(login_source, unique_id)]).get((login_source, unique_id))
        return Person.from_row(row) if row is not None else None

    # -- the shared write path ------------------------------------------------------------------

    def _write_people(
        self, conn: Connection, items: list[_Item], errors: list[ItemError], actor: str
    ) -> list[PersonResult]:
        user_types = {item.fields["user_type_id"] for item in items if item.fields.get("user_type_id")}
        missing_types = self._known.missing_user_types(conn, user_types)
        now = self._clock()
        planned: list[_Item] = []
        for item in items:
            try:
                if item.fields.get("user_type_id") in missing_types:
                    type_id = item.fields["user_type_id"]
                    raise Invalid(
                        "user_type_id", Reason.UNKNOWN, f"user_type_id {type_id!r} is not a user type"
                    )
                _plan(item, now)
            except Invalid as exc:
                errors.append(ItemError(item.index, exc))
                continue
            planned.append(item)
        errors.extend(_uniqueness_errors(conn, planned))
        if errors:
            raise Rejected(sorted(errors, key=lambda e: e.index))

        creates = [item for item in planned if item.existing is None]
        updates = [item for item in planned if item.existing is not None and item.diff]
        if creates:
            inserted = conn.execute(
                tables.people.insert().returning(tables.people.c.id, sort_by_parameter_order=True),
                [item.row for item in creates],
            )
            for item, person_id in zip(creates, inserted.scalars(), strict=True):
                assert item.row is not None
                item.row["id"] = person_id
        if updates:
            statement = (
                tables.people.update()
                .where(tables.people.c.id == bindparam("_id"))
                .values({name: bindparam(name) for name in _WRITE_COLUMNS})
            )
            conn.execute(
                statement,
                [{"_id": item.row["id"], **{n: item.row[n] for n in _WRITE_COLUMNS}} for item in updates],
            )  # type: ignore[index]
        record(conn, [_change_of(item) for item in creates + updates], actor, now)

        results: list[PersonResult] = []
        for item in sorted(planned, key=lambda i: i.index):
            assert item.row is not None
            assert item.diff is not None
            results.append(PersonResult(Person.from_row(item.row), item.existing is None, tuple(item.diff)))
        return results

    # -- reference data ---------------------------------------------------------------------------

    def _add_user_type(self, conn: Connection, command: AddUserType, actor: str) -> AddUserType:
        _require_code("id", command.id, 20)
        _require_code("name", command.name, 100)
        exists = conn.execute(
            select(tables.user_types.c.id).where(tables.user_types.c.id == command.id)
        ).first()
        if exists:
            raise Conflict("id", f"user type {command.id!r} already exists")
        now = self._clock()
        conn.execute(
            tables.user_types.insert(),
            {"id": command.id, "name": command.name, "ext_info": command.ext_info, "created_at": now},
        )
        fields = {"name": (None, command.name), "ext_info": (None, command.ext_info)}
        record(conn, [Change("user_type", command.id, "create", fields)], actor, now)
        return command

    def _add_login_source(self, conn: Connection, command: AddLoginSource, actor: str) -> AddLoginSource:
        _require_code("code", command.code, 20)
        _require_code("name", command.name, 100)
        table = tables.login_sources
        if conn.execute(select(table.c.code).where(table.c.code == command.code)).first():
            raise Conflict("code", f"login source {command.code!r} already exists")
        now = self._clock()
        conn.execute(table.insert(), {"code": command.code, "name": command.name, "created_at": now})
        record(
            conn, [Change("login_source", command.code, "create", {"name": (None, command.name)})], actor, now
        )
        return command


# -- rules, as plain functions --------------------------------------------------------------------


def _identity_part(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(name, Reason.REQUIRED, f"{name} is required")
    value = clean_text(name, value)
    if len(value) > _IDENTITY_LIMITS[name]:
        raise Invalid(name, Reason.TOO_LONG, f"{name} must be at most {_IDENTITY_LIMITS[name]} characters")
    return value


def _require_code(name: str, value: str, limit: int) -> None:
    if not value or not value.strip():
        raise Invalid(name, Reason.REQUIRED, f"{name} is required")
    if len(value) > limit:
        raise Invalid(name, Reason.TOO_LONG, f"{name} must be at most {limit} characters")


def _plan(item: _Item, now: datetime) -> None:
    """Work out the row to write and the fields that change; an unchanged person gets an empty diff."""
    if item.existing is None:
        for name in sorted(item.required_on_create):
            if item.fields.get(name) is None:
                raise Invalid(name, Reason.REQUIRED, f"{name} is required for a new person")
        row: dict[str, Any] = dict.fromkeys(PERSON_FIELDS)
        row.update(item.fields)
        row.update(
            public_id=str(uuid.uuid4()),
            login_source=item.login_source,
            unique_id=item.unique_id,
            status=Status.ACTIVE.value,
            created_at=now,
            updated_at=now,
            version=1,
        )
        item.diff = {name: (None, value) for name, value in item.fields.items() if value is not None}
    else:
        item.diff = {
            name: (item.existing[name], value)
            for name, value in item.fields.items()
            if item.existing[name] != value
        }
        row = dict(item.existing)
        if item.diff:
            row.update(item.fields)
            row.update(updated_at=now, version=item.existing["version"] + 1)
    if item.requires_username and row["username"] is None:
        message = f"username is required: people of login source {item.login_source} sign in with it"
        raise Invalid("username", Reason.REQUIRED, message)
    row["username_key"] = folded(row["username"])
    row["email_key"] = folded(row["email"])
    item.row = row


def _uniqueness_errors(conn: Connection, items: list[_Item]) -> list[ItemError]:
    """Username and email are unique, case-insensitively, across the directory and within the batch."""
    claims: list[tuple[str, str, _Item]] = []
    for item in items:
        assert item.row is not None
        assert item.diff is not None
        for name in ("username", "email"):
            if name in item.diff and item.row[name] is not None:
                claims.append((name, item.row[f"{name}_key"], item))
    if not claims:
        return []
    owners: dict[tuple[str, str], int] = {}
    for start in range(0, len(claims), CHUNK):
        chunk = claims[start : start + CHUNK]
        usernames = [key for name, key, _ in chunk if name == "username"]
        emails = [key for name, key, _ in chunk if name == "email"]
        query = select(tables.people.c.id, tables.people.c.username_key, tables.people.c.email_key).where(
            or_(tables.people.c.username_key.in_(usernames), tables.people.c.email_key.in_(emails))
        )
        for row in conn.execute(query):
            owners[("username", row.username_key)] = row.id
            owners[("email", row.email_key)] = row.id
    errors: list[ItemError] = []
    claimed_in_batch: dict[tuple[str, str], int] = {}
    for name, key, item in claims:
        own_id = item.existing["id"] if item.existing is not None else None
        owner = owners.get((name, key))
        value = item.row[name]  # type: ignore[index]
        if (owner is not None and owner != own_id) or (name, key) in claimed_in_batch:
            errors.append(ItemError(item.index, Conflict(name, f"{name} {value!r} is already taken")))
        claimed_in_batch[(name, key)] = item.index
    return errors


def _change_of(item: _Item) -> Change:
    assert item.row is not None
    assert item.diff is not None
    created = item.existing is None
    return Change(
        entity_type="person",
        entity_id=item.row["public_id"],
        action="create" if created else "update",
        fields=item.diff,
        person_id=item.row["id"],
        event=Event.ADDED if created else Event.EDITED,
    )


def _status_event(old: Status, new: Status) -> Event:
    if new is Status.DELETED:
        return Event.DELETED
    if new is Status.GRACE_PERIOD:
        return Event.GRACE_PERIOD
    if new is Status.EXPIRED:
        return Event.EXPIRED
    if old is Status.EXPIRED and new is Status.ACTIVE:
        return Event.UNEXPIRED
    return Event.EDITED


def _people_by_identity(conn: Connection, identities: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    key = tuple_(tables.people.c.login_source, tables.people.c.unique_id)
    for start in range(0, len(identities), CHUNK):
        chunk = identities[start : start + CHUNK]
        if not chunk:
            continue
        for row in conn.execute(select(tables.people).where(key.in_(chunk))).mappings():
            found[(row["login_source"], row["unique_id"])] = row
    return found


def _person_row(conn: Connection, public_id: str) -> Mapping[str, Any]:
    row = conn.execute(select(tables.people).where(tables.people.c.public_id == public_id)).mappings().first()
    if row is None:
        raise NotFound(f"no person with id {public_id!r}")
    return row
