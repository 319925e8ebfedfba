"""The change log (every committed change, numbered) and the outbox (one event per person change).

Both are written by the Directory service inside the transaction of the change they describe.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from provisionhub.directory.errors import VersionMismatch
from provisionhub.directory.people import MASK, SENSITIVE_FIELDS
from provisionhub.store import tables
from provisionhub.store.inserts import append_many, insert_many
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf

#: Set on a connection whose transaction appended outbox events; the dispatcher's hook on commits reads
#: and clears it, to wake at once.
OUTBOX_FLAG = "provisionhub_outbox_events"
#: PostgreSQL's NOTIFY channel for "outbox events were committed", for dispatchers in other processes.
OUTBOX_CHANNEL = "provisionhub_outbox"


class Event(StrEnum):
    """What happened to a person, as the outbox tells the targets (COmanage's transaction list)."""

    ADDED = "added"
    EDITED = "edited"
    GRACE_PERIOD = "grace_period"
    EXPIRED = "expired"
    UNEXPIRED = "unexpired"
    DELETED = "deleted"
    REPROVISION = "reprovision"


@dataclass(slots=True)  # not frozen: a batch makes one a person, and frozen is slower (docs/benchmarks)
class Change:
    """One changed entity: fields maps each changed field to (old, new); actor is who changed it."""

    actor: str
    entity_type: str
    entity_id: str
    action: str
    fields: Mapping[str, tuple[Any, Any]]
    person_id: int | None = None
    event: Event | None = None


@dataclass(frozen=True, slots=True)
class LoggedChange:
    seq: int
    occurred_at: datetime
    actor: str
    entity_type: str
    entity_id: str
    action: str
    fields: Mapping[str, list[Any]]


def _wire(fields: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    """{field: [old, new]} for the log, sensitive values masked. Dates and times stay objects: the
    engine's JSON serializer writes them as ISO 8601 (store/engine.py), and (old, new) pairs as arrays,
    so a change without sensitive fields goes as it is, copied rather than rebuilt (docs/benchmarks)."""
    if SENSITIVE_FIELDS.isdisjoint(fields):
        return dict(fields)
    return {
        name: [None if old is None else MASK, None if new is None else MASK]
        if name in SENSITIVE_FIELDS
        else [old, new]
        for name, (old, new) in fields.items()
    }


def record(conn: Connection, changes: Sequence[Change], at: datetime) -> list[int]:
    """Append changes to the log and their events to the outbox; returns the sequence numbers."""
    if not changes:
        return []
    rows = [
        {
            "occurred_at": at,
            "actor": change.actor,
            "entity_type": change.entity_type,
            "entity_id": change.entity_id,
            "action": change.action,
            "fields": _wire(change.fields),
        }
        for change in changes
    ]
    seqs = insert_many(conn, tables.changes, rows)
    events = [
        {"change_seq": seq, "person_id": change.person_id, "event": change.event.value, "created_at": at}
        for seq, change in zip(seqs, changes, strict=True)
        if change.event is not None and change.person_id is not None
    ]
    if events:
        append_many(conn, tables.outbox, events)
        if not conn.info.get(OUTBOX_FLAG):
            conn.info[OUTBOX_FLAG] = True
            if conn.dialect.name == "postgresql":  # delivered at commit, once per transaction
                conn.exec_driver_sql(f"NOTIFY {OUTBOX_CHANNEL}")
    return seqs


def list_changes(
    conn: Connection,
    *,
    after: int = 0,
    entity_type: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
) -> list[LoggedChange]:
    """The log in order, after sequence number `after`, optionally for one entity."""
    query = (
        select(tables.changes).where(tables.changes.c.seq > after).order_by(tables.changes.c.seq).limit(limit)
    )
    if entity_type is not None:
        query = query.where(tables.changes.c.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(tables.changes.c.entity_id == entity_id)
    return [LoggedChange(**row) for row in conn.execute(query).mappings()]


def logged_entities(conn: Connection) -> dict[str, int]:
    """How many entities of each type (person, organisation, api_token, target, ...) the change log
    names: everything ever written through the directory, the credentials and the targets, as nothing
    is erased. The rows the migrations ship (the built-in login sources) are not in it."""
    changes = tables.changes
    counted = (
        select(changes.c.entity_type, func.count(func.distinct(changes.c.entity_id)))
        .group_by(changes.c.entity_type)
        .order_by(changes.c.entity_type)
    )
    return {entity_type: count for entity_type, count in conn.execute(counted)}


#: The newest seq of each of a list of entities of one type (an index search each, on both databases).
_LATEST = (
    select(tables.changes.c.entity_id, func.max(tables.changes.c.seq).label("seq"))
    .where(tables.changes.c.entity_type == bindparam("entity_type"), AnyOf(tables.changes.c.entity_id, "ids"))
    .group_by(tables.changes.c.entity_id)
)


def latest_seqs(conn: Connection, entity_type: str, entity_ids: Sequence[str]) -> dict[str, int]:
    """The newest sequence number logged for each of these entities: a version that changes with every
    change to the entity, whatever changed it. One statement built once: a SCIM read asks on every
    request, and building it anew was a measurable share of the read (docs/benchmarks)."""
    wanted = sorted(set(entity_ids))
    if not wanted:
        return {}
    rows = fetch_all(conn, _LATEST, {"entity_type": entity_type, "ids": wanted})
    return {row["entity_id"]: row["seq"] for row in rows}


def check_version(
    conn: Connection, entity_type: str, public_id: str, versions: frozenset[int] | None
) -> None:
    """VersionMismatch unless the entity's version (its newest change-log seq) is one of versions."""
    if versions is None:
        return
    current = latest_seqs(conn, entity_type, [public_id]).get(public_id, 0)
    if current not in versions:
        raise VersionMismatch(f"the version is {current}, not one of those required", current)


def first_seq_since(conn: Connection, moment: datetime) -> int:
    """The first sequence number that could be logged at or after moment (past the last: none was).

    The log's seq grows with time, so a binary search over the primary key finds it in a few index
    searches, with no index on occurred_at.
    """
    changes = tables.changes
    low: int | None
    high: int | None
    low, high = conn.execute(select(func.min(changes.c.seq), func.max(changes.c.seq))).one()
    if low is None or high is None:  # an empty log: both are NULL
        return 1
    high += 1
    while low < high:
        middle = (low + high) // 2
        seq, occurred_at = conn.execute(
            select(changes.c.seq, changes.c.occurred_at)
            .where(changes.c.seq >= middle)
            .order_by(changes.c.seq)
            .limit(1)
        ).one()
        if occurred_at < moment:
            low = seq + 1
        else:
            high = middle
    return low


def person_changes_since(conn: Connection, moment: datetime) -> Iterator[LoggedChange]:
    """The log's entries about people, at or after moment, in order."""
    changes = tables.changes
    query = (
        select(changes)
        .where(
            changes.c.seq >= first_seq_since(conn, moment),
            changes.c.entity_type == "person",
            changes.c.occurred_at >= moment,
        )
        .order_by(changes.c.seq)
    )
    for row in conn.execute(query).mappings():
        yield LoggedChange(**row)
