"""Lifecycle: the status a person's validity window calls for, and the scheduled transitions that apply it.

Before valid_from a person is pending; through valid_through, active; for the grace days of their user
type (or else their login source) after it, in grace_period; then expired. Suspended and deleted people
are set by hand and the window never moves them. A write that sets the window applies it at once
(directory/upserts.py); a run applies what the passing of time does, in batches through the Directory
(provisionhub/scheduler.py runs them).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select, union

from provisionhub.directory.changes import Change, Event, record
from provisionhub.directory.people import Status
from provisionhub.store import tables
from provisionhub.store.rows import StoredRow
from provisionhub.store.types import UTCDateTime

people, user_types, login_sources = tables.people, tables.user_types, tables.login_sources

#: Who the change log says made a scheduled transition.
LIFECYCLE_ACTOR = "lifecycle"
#: People moved in one transaction.
BATCH_SIZE = 500

#: The statuses the window decides, in lifecycle order; suspended and deleted are set by hand.
WINDOW_STATUSES: tuple[Status, ...] = (Status.PENDING, Status.ACTIVE, Status.GRACE_PERIOD, Status.EXPIRED)
WINDOW_VALUES: frozenset[str] = frozenset(status.value for status in WINDOW_STATUSES)


def window_status(
    valid_from: datetime | None, valid_through: datetime | None, grace_days: int, now: datetime
) -> Status:
    """The status a window calls for at now. Both ends are inclusive: a person is active at valid_from and
    still at valid_through. A valid_from yet to come wins over a valid_through gone by."""
    if valid_from is not None and valid_from > now:
        return Status.PENDING
    if valid_through is None or valid_through >= now:
        return Status.ACTIVE
    # A difference, not valid_through + grace: a far-off valid_through (9999-12-31) must not overflow.
    if now - valid_through <= timedelta(days=grace_days):
        return Status.GRACE_PERIOD
    return Status.EXPIRED


def status_event(old: Status, new: Status) -> Event:
    """The outbox event of a status change: COmanage's transaction for it, else an edit (a pending
    person's activation among them: their `added` went out when they were created)."""
    if new is Status.DELETED:
        return Event.DELETED
    if new is Status.GRACE_PERIOD:
        return Event.GRACE_PERIOD
    if new is Status.EXPIRED:
        return Event.EXPIRED
    if new is Status.ACTIVE and old in (Status.GRACE_PERIOD, Status.EXPIRED):
        return Event.UNEXPIRED
    return Event.EDITED


def _effective(by_user_type: int | None, by_login_source: int | None) -> int:
    if by_user_type is not None:
        return by_user_type
    return by_login_source if by_login_source is not None else 0


def grace_days(
    conn: Connection, keys: Collection[tuple[str | None, str]]
) -> dict[tuple[str | None, str], int]:
    """The grace days of people by (user_type_id, login_source): the user type's when it sets them, else
    the login source's, else 0."""
    type_ids = sorted({type_id for type_id, _ in keys if type_id is not None})
    codes = sorted({code for _, code in keys})
    by_type: dict[str | None, int | None] = {}
    by_source: dict[str, int | None] = {}
    if type_ids:
        query = select(user_types.c.id, user_types.c.grace_days).where(user_types.c.id.in_(type_ids))
        by_type = {row.id: row.grace_days for row in conn.execute(query)}
    if codes:
        query = select(login_sources.c.code, login_sources.c.grace_days).where(
            login_sources.c.code.in_(codes)
        )
        by_source = {row.code: row.grace_days for row in conn.execute(query)}
    return {(t, s): _effective(by_type.get(t), by_source.get(s)) for t, s in keys}


def status_for(conn: Connection, row: StoredRow, now: datetime) -> Status:
    """The status a stored person's window calls for at now."""
    key = (row["user_type_id"], row["login_source"])
    days = grace_days(conn, [key])[key] if lapsed(row, now) else 0
    return window_status(row["valid_from"], row["valid_through"], days, now)


def lapsed(row: StoredRow, now: datetime) -> bool:
    """Whether a person's valid_through has gone by: then, and only then, their grace days matter."""
    return row["valid_through"] is not None and row["valid_through"] < now


# -- the scheduled transitions -----------------------------------------------------------------------------

_GRACE = func.coalesce(user_types.c.grace_days, login_sources.c.grace_days, 0)
_CANDIDATES = select(
    people.c.id,
    people.c.public_id,
    people.c.status,
    people.c.valid_from,
    people.c.valid_through,
    _GRACE.label("grace_days"),
).select_from(
    people.outerjoin(user_types, people.c.user_type_id == user_types.c.id).join(
        login_sources, people.c.login_source == login_sources.c.code
    )
)
_MOVE = (
    people.update()
    .where(people.c.id == bindparam("_id"))
    .values(
        status=bindparam("_status"),
        updated_at=bindparam("_now", type_=UTCDateTime()),
        version=people.c.version + 1,
    )
)


@dataclass(frozen=True, slots=True)
class Transition:
    """A person moved from one status to another by the lifecycle."""

    person_id: int
    public_id: str
    old: Status
    new: Status


def _due(conn: Connection, now: datetime) -> list[list[ColumnElement[bool]]]:
    """The conditions that find people whose status the window changes at now, each an index range of
    ix_people_status_valid_from or ix_people_status_valid_through. Every person they find moves: none is
    found again in the same pass."""
    status, valid_from, valid_through = people.c.status, people.c.valid_from, people.c.valid_through
    grace = _GRACE
    values = union(
        select(user_types.c.grace_days).where(user_types.c.grace_days.is_not(None)),
        select(login_sources.c.grace_days).where(login_sources.c.grace_days.is_not(None)),
    )
    graces = {0, *conn.execute(values).scalars()}
    return [
        # valid_from has come (a valid_through gone by meanwhile takes them further).
        [status == Status.PENDING.value, valid_from <= now],
        # valid_through has gone by: grace period or expired.
        [status == Status.ACTIVE.value, valid_through < now],
        # the grace period is over, for each length of grace the catalogues set.
        [
            status == Status.GRACE_PERIOD.value,
            or_(
                *(and_(grace == days, valid_through < now - timedelta(days=days)) for days in sorted(graces))
            ),
        ],
        # valid_through extended by a write that did not apply it (the write normally does: upserts.py).
        [status.in_([Status.GRACE_PERIOD.value, Status.EXPIRED.value]), valid_through >= now],
    ]


def due_transitions(conn: Connection, now: datetime, limit: int = BATCH_SIZE) -> list[Transition]:
    """Up to limit people whose window calls for another status at now, with it. On PostgreSQL their rows
    are locked, and rows another transaction holds are skipped: two processes' runs share the work."""
    found: list[Transition] = []
    for condition in _due(conn, now):
        if len(found) >= limit:
            break
        query = _CANDIDATES.where(*condition).limit(limit - len(found))
        query = query.with_for_update(of=people, skip_locked=True)
        for row in conn.execute(query):
            new = window_status(row.valid_from, row.valid_through, row.grace_days, now)
            if new.value != row.status:
                found.append(Transition(row.id, row.public_id, Status(row.status), new))
    return found


def move(conn: Connection, transitions: Collection[Transition], actor: str, now: datetime) -> None:
    """Write the transitions: the people's status, one change-log entry and one outbox event each."""
    if not transitions:
        return
    conn.execute(_MOVE, [{"_id": t.person_id, "_status": t.new.value, "_now": now} for t in transitions])
    changes = [
        Change(
            actor,
            "person",
            t.public_id,
            "status",
            {"status": (t.old.value, t.new.value)},
            t.person_id,
            status_event(t.old, t.new),
        )
        for t in transitions
    ]
    record(conn, changes, now)
