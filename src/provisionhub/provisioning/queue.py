"""The delivery queue: outbox events fanned out to targets, claimed, settled, replayed.

A delivery is one person's changes owed to one target. Events for a person that a target has not been
sent yet are coalesced into one pending delivery, which sends the person's state at the time it goes out.
Per target and person, deliveries go out one at a time, oldest first: a delivery is claimable only when
no older one of its pair is pending or being sent.

On PostgreSQL several dispatchers share the queue: events are taken with FOR UPDATE SKIP LOCKED (each is
fanned out once), deliveries claimed the same way and leased, and a lease that runs out (its dispatcher
died) makes the delivery claimable again. On SQLite every writer holds the database for its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, false, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from provisionhub.directory.changes import Change, Event, record
from provisionhub.directory.errors import NotFound
from provisionhub.directory.groups import groups_of
from provisionhub.directory.people import Person, Status
from provisionhub.provisioning.targets import State, Target, find_target
from provisionhub.store import tables

outbox = tables.outbox
deliveries = tables.deliveries
attempts = tables.delivery_attempts
targets = tables.targets
links = tables.target_links
people = tables.people

#: Texts kept of a response or an error, for the delivery log.
SHORT = 500


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"
    FOLDED = "folded"  # taken into an older delivery of its pair, which sends the newest state


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a dispatcher has claimed, with what it needs to send it."""

    id: int
    target: Target
    person: Person
    groups: list[str]
    event: str
    event_id: str
    attempts: int
    remote_id: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one try of a claimed delivery went.

    ok: the target took it. status: the HTTP status (None: no answer). retry_after: seconds the target
    asked us to wait (429, 503). final: no try could ever succeed (the person has no identifier of the
    target's type): dead at once. remote_id: the id the target gave the person (SCIM), "" to forget it.
    """

    ok: bool
    status: int | None = None
    response: str | None = None
    error: str | None = None
    retry_after: float | None = None
    final: bool = False
    remote_id: str | None = None
    elapsed_ms: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    """A delivery as `target deliveries` shows it."""

    id: int
    person: str
    event: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class TargetSummary:
    """A target as `target list` shows it: never its secret."""

    name: str
    kind: str
    url: str
    mode: str
    identifier_type: str
    auth: str
    state: str
    queued: int
    dead: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def summaries(conn: Connection) -> list[TargetSummary]:
    """Every target, by name, with its queue depth, dead letters, last success and last error."""
    counts: dict[tuple[int, str], int] = {
        (row.target_id, row.state): row.n
        for row in conn.execute(
            select(deliveries.c.target_id, deliveries.c.state, func.count().label("n"))
            .where(deliveries.c.state.in_((DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.DEAD)))
            .group_by(deliveries.c.target_id, deliveries.c.state)
        )
    }
    return [
        TargetSummary(
            name=row["name"],
            kind=row["kind"],
            url=row["url"],
            mode=row["mode"],
            identifier_type=row["identifier_type"],
            auth=row["auth"],
            state=row["state"],
            queued=counts.get((row["id"], DeliveryState.PENDING), 0)
            + counts.get((row["id"], DeliveryState.SENDING), 0),
            dead=counts.get((row["id"], DeliveryState.DEAD), 0),
            last_success_at=row["last_success_at"],
            last_error=row["last_error"],
            last_error_at=row["last_error_at"],
        )
        for row in conn.execute(select(targets).order_by(targets.c.name)).mappings()
    ]


#: Most outbox events one pass fans out.
EVENTS_A_PASS = 1_000


def dispatch_events(conn: Connection, now: datetime, limit: int = EVENTS_A_PASS) -> tuple[int, bool]:
    """Fan up to limit undispatched outbox events out into deliveries: (how many were taken, whether any
    target exists). With no target, events are left as they are: adding the first target marks them
    dispatched (add_target), as owed to nobody."""
    target_ids = list(conn.execute(select(targets.c.id)).scalars())
    if not target_ids:
        return 0, False
    statement = (
        select(outbox.c.id, outbox.c.person_id, outbox.c.event)
        .where(outbox.c.dispatched == false())
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    events = conn.execute(statement).all()
    if not events:
        return 0, True
    newest: dict[int, tuple[int, str]] = {}
    for event_id, person_id, event in events:
        newest[person_id] = (event_id, event)
    _owe(conn, target_ids, newest, now)
    ids = [event_id for event_id, _, _ in events]
    for start in range(0, len(ids), 500):
        conn.execute(update(outbox).where(outbox.c.id.in_(ids[start : start + 500])).values(dispatched=True))
    return len(events), True


def _owe(
    conn: Connection, target_ids: Sequence[int], newest: dict[int, tuple[int, str]], now: datetime
) -> None:
    """For each target and person of newest ({person: (outbox id, event)}): fold the event into the
    pair's pending delivery, or queue a new one. The pending rows are locked first (FOR UPDATE) so that
    a dispatcher claiming one meanwhile is waited for, and the row then seen as no longer pending."""
    person_ids = list(newest)
    pending: dict[tuple[int, int], int] = {}
    for start in range(0, len(person_ids), 500):
        found = (
            select(deliveries.c.id, deliveries.c.target_id, deliveries.c.person_id)
            .where(
                deliveries.c.state == DeliveryState.PENDING,
                deliveries.c.person_id.in_(person_ids[start : start + 500]),
            )
            .order_by(deliveries.c.id)
        )
        if conn.dialect.name == "postgresql":
            found = found.with_for_update()
        for delivery_id, target_id, person_id in conn.execute(found):
            pending.setdefault((target_id, person_id), delivery_id)
    folded: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for target_id in target_ids:
        for person_id, (event_id, event) in newest.items():
            delivery_id = pending.get((target_id, person_id))
            if delivery_id is not None:
                folded.append({"d_id": delivery_id, "d_outbox": event_id, "d_event": event})
            else:
                new.append(_new_delivery(target_id, person_id, event_id, event, now))
    if folded:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("d_id"))
            .values(outbox_id=bindparam("d_outbox"), event=bindparam("d_event")),
            folded,
        )
    if new:
        conn.execute(insert(deliveries), new)


def _new_delivery(
    target_id: int, person_id: int, outbox_id: int | None, event: str, now: datetime
) -> dict[str, Any]:
    return {
        "target_id": target_id,
        "person_id": person_id,
        "outbox_id": outbox_id,
        "event": event,
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def claim(conn: Connection, worker: str, now: datetime, lease: timedelta, limit: int = 200) -> list[Claimed]:
    """Claim up to limit deliveries that are due, for worker, leased until now + lease.

    Due: pending with its next try reached, or sending with its lease run out; its target active (or
    tripped with its probe due: then one delivery, the probe); and no older delivery of its target and
    person pending or being sent.
    """
    older = aliased(deliveries)
    due = or_(
        and_(deliveries.c.state == DeliveryState.PENDING, deliveries.c.next_attempt_at <= now),
        and_(deliveries.c.state == DeliveryState.SENDING, deliveries.c.lease_until < now),
    )
    first_of_pair = ~exists().where(
        older.c.target_id == deliveries.c.target_id,
        older.c.person_id == deliveries.c.person_id,
        older.c.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)),
        older.c.id < deliveries.c.id,
    )
    base = select(deliveries.c.id, deliveries.c.target_id).where(due, first_of_pair)
    active = select(targets.c.id).where(targets.c.state == State.ACTIVE)
    statement = (
        base.where(deliveries.c.target_id.in_(active.scalar_subquery()))
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=deliveries)
    chosen = [row.id for row in conn.execute(statement)]
    chosen += _probes(conn, base, now)
    if not chosen:
        return []
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(chosen))
        .values(state=DeliveryState.SENDING, lease_until=now + lease, claimed_by=worker)
    )
    return _claimed(conn, chosen)


#: How long a tripped target waits before its next probe.
PROBE_INTERVAL = timedelta(seconds=30)


def _probes(conn: Connection, base: Any, now: datetime) -> list[int]:
    """One delivery of each tripped target whose probe is due; its next probe moved on, so that no
    other dispatcher probes it at the same time."""
    tripped = select(targets.c.id).where(targets.c.state == State.TRIPPED, targets.c.probe_at <= now)
    if conn.dialect.name == "postgresql":
        tripped = tripped.with_for_update(skip_locked=True)
    chosen: list[int] = []
    for target_id in conn.execute(tripped).scalars().all():
        probe = base.where(deliveries.c.target_id == target_id).order_by(deliveries.c.id).limit(1)
        if conn.dialect.name == "postgresql":
            probe = probe.with_for_update(skip_locked=True, of=deliveries)
        found = conn.execute(probe).first()
        conn.execute(update(targets).where(targets.c.id == target_id).values(probe_at=now + PROBE_INTERVAL))
        if found is not None:
            chosen.append(found.id)
    return chosen


def _claimed(conn: Connection, ids: list[int]) -> list[Claimed]:
    rows = conn.execute(
        select(deliveries.c.id, deliveries.c.target_id, deliveries.c.person_id, deliveries.c.event,
               deliveries.c.outbox_id, deliveries.c.attempts)
        .where(deliveries.c.id.in_(ids))
        .order_by(deliveries.c.id)
    ).all()  # fmt: skip
    person_ids = sorted({row.person_id for row in rows})
    found = {
        row["id"]: Person.from_row(row)
        for row in conn.execute(select(people).where(people.c.id.in_(person_ids))).mappings()
    }
    groups = groups_of(conn, person_ids)
    target_rows = {row.target_id for row in rows}
    by_id = {
        row["id"]: Target.from_row(row)
        for row in conn.execute(select(targets).where(targets.c.id.in_(target_rows))).mappings()
    }
    remote = {
        (row.target_id, row.person_id): row.remote_id
        for row in conn.execute(
            select(links.c.target_id, links.c.person_id, links.c.remote_id).where(
                links.c.person_id.in_(person_ids), links.c.target_id.in_(target_rows)
            )
        )
    }
    return [
        Claimed(
            id=row.id,
            target=by_id[row.target_id],
            person=found[row.person_id],
            groups=[name for _, name in groups.get(row.person_id, [])],
            event=row.event,
            event_id=f"{row.outbox_id or 'r'}-{row.id}",
            attempts=row.attempts,
            remote_id=remote.get((row.target_id, row.person_id)),
        )
        for row in rows
    ]


#: Of a target's newest attempts, this many at least, and this share of them failed: it trips.
TRIP_WINDOW = 20
TRIP_MINIMUM = 10
TRIP_SHARE = 0.8


#: One statement settles every delivery of a batch (executemany): a delivery's next try stays as it was
#: unless the row gives one.
_SETTLE = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("d_id"),
        deliveries.c.state == DeliveryState.SENDING,
        deliveries.c.claimed_by == bindparam("d_worker"),
    )
    .values(
        attempts=bindparam("d_attempts"),
        lease_until=None,
        claimed_by=None,
        last_status=bindparam("d_status"),
        last_error=bindparam("d_error"),
        state=bindparam("d_state"),
        finished_at=bindparam("d_finished"),
        next_attempt_at=func.coalesce(bindparam("d_next", type_=deliveries.c.next_attempt_at.type),
                                      deliveries.c.next_attempt_at),
    )
)  # fmt: skip


def settle(
    conn: Connection,
    results: Sequence[tuple[Claimed, Outcome]],
    now: datetime,
    backoff: Any,
    worker: str,
) -> None:
    """Record each try (the delivery log), and move each delivery on: delivered; pending again with its
    next try (backoff(attempts, retry_after) -> seconds); or dead once its target's max attempts are
    spent. A target whose newest calls mostly failed trips (probed now and then, see claim).

    A delivery whose lease ran out may have been claimed by another dispatcher: only its holder settles
    it (the attempt is recorded all the same). A batch is a few statements, whatever its size: on
    PostgreSQL a statement per delivery was a round trip each.
    """
    if not results:
        return
    attempt_rows, settled = [], []
    succeeded: set[int] = set()
    failed: dict[int, str] = {}
    for claimed, outcome in results:
        tries = claimed.attempts + 1
        target = claimed.target
        next_at = None
        if outcome.ok:
            state = DeliveryState.DELIVERED
        elif outcome.final or tries >= target.max_attempts:
            state = DeliveryState.DEAD
        else:
            state = DeliveryState.PENDING
            next_at = now + timedelta(seconds=backoff(tries, outcome.retry_after))
        settled.append(
            {
                "d_id": claimed.id,
                "d_worker": worker,
                "d_attempts": tries,
                "d_status": outcome.status,
                "d_error": _short(outcome.error),
                "d_state": state.value,
                "d_finished": None if state is DeliveryState.PENDING else now,
                "d_next": next_at,
            }
        )
        attempt_rows.append(
            {
                "delivery_id": claimed.id,
                "target_id": target.id,
                "at": now,
                "status": outcome.status,
                "ok": outcome.ok,
                "response": _short(outcome.response),
                "error": _short(outcome.error),
                "next_attempt_at": next_at,
                "elapsed_ms": outcome.elapsed_ms,
            }
        )
        if outcome.ok:
            succeeded.add(target.id)
        else:
            failed[target.id] = _short(outcome.error or f"HTTP {outcome.status}") or ""
    conn.execute(_SETTLE, settled)
    for (claimed, outcome), row in zip(results, settled, strict=True):
        if row["d_state"] == DeliveryState.PENDING:
            _fold_newer(conn, claimed, now)
        if outcome.remote_id is not None:
            _link(conn, claimed.target.id, claimed.person.id, outcome.remote_id, now)
    conn.execute(insert(attempts), attempt_rows)
    for target_id in succeeded:
        conn.execute(
            update(targets)
            .where(targets.c.id == target_id)
            .values(last_success_at=now, state=_recovered(), probe_at=None)
        )
    for target_id, error in failed.items():
        conn.execute(
            update(targets).where(targets.c.id == target_id).values(last_error=error, last_error_at=now)
        )
        _maybe_trip(conn, target_id, now)


def _recovered() -> Any:
    """A tripped target whose call succeeded is active again; a paused one stays paused."""
    return case((targets.c.state == State.TRIPPED, State.ACTIVE.value), else_=targets.c.state)


def _fold_newer(conn: Connection, claimed: Claimed, now: datetime) -> None:
    """A failed delivery that will be tried again takes in a newer pending one of its pair (queued while
    it was being sent): one delivery, with the newest event, keeps its place and its backoff."""
    newer = conn.execute(
        select(deliveries.c.id, deliveries.c.outbox_id, deliveries.c.event)
        .where(
            deliveries.c.target_id == claimed.target.id,
            deliveries.c.person_id == claimed.person.id,
            deliveries.c.state == DeliveryState.PENDING,
            deliveries.c.id > claimed.id,
        )
        .order_by(deliveries.c.id.desc())
    ).all()
    if not newer:
        return
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == claimed.id)
        .values(outbox_id=newer[0].outbox_id, event=newer[0].event)
    )
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_([row.id for row in newer]))
        .values(state=DeliveryState.FOLDED, finished_at=now, last_error=f"folded into delivery {claimed.id}")
    )


def _link(conn: Connection, target_id: int, person_id: int, remote_id: str, now: datetime) -> None:
    conn.execute(links.delete().where(links.c.target_id == target_id, links.c.person_id == person_id))
    if remote_id:
        conn.execute(
            insert(links).values(
                target_id=target_id, person_id=person_id, remote_id=remote_id, created_at=now
            )
        )


def _maybe_trip(conn: Connection, target_id: int, now: datetime) -> None:
    newest = conn.execute(
        select(attempts.c.ok)
        .where(attempts.c.target_id == target_id)
        .order_by(attempts.c.id.desc())
        .limit(TRIP_WINDOW)
    ).scalars().all()  # fmt: skip
    failed = sum(1 for ok in newest if not ok)
    if len(newest) >= TRIP_MINIMUM and failed >= TRIP_SHARE * len(newest):
        conn.execute(
            update(targets)
            .where(targets.c.id == target_id, targets.c.state == State.ACTIVE)
            .values(state=State.TRIPPED, probe_at=now + PROBE_INTERVAL)
        )


def renew(conn: Connection, ids: Sequence[int], worker: str, until: datetime) -> None:
    """Extend worker's leases on the deliveries it is sending."""
    conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id.in_(ids),
            deliveries.c.state == DeliveryState.SENDING,
            deliveries.c.claimed_by == worker,
        )
        .values(lease_until=until)
    )


def next_due(conn: Connection) -> datetime | None:
    """When the next pending delivery, lease or probe falls due (None: nothing is waiting)."""
    moments = [
        conn.execute(
            select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.state == DeliveryState.PENDING)
        ).scalar(),
        conn.execute(
            select(func.min(deliveries.c.lease_until)).where(deliveries.c.state == DeliveryState.SENDING)
        ).scalar(),
        conn.execute(select(func.min(targets.c.probe_at)).where(targets.c.state == State.TRIPPED)).scalar(),
    ]
    found = [moment for moment in moments if moment is not None]
    return min(found) if found else None


def reprovision(conn: Connection, target_name: str, person: str | None, actor: str, now: datetime) -> int:
    """COmanage's manual provision: queue a delivery of a person (by public id, username or email), or
    with person None of everyone not deleted, to one target; the number queued."""
    target = find_target(conn, target_name)
    chosen = select(people.c.id).where(people.c.status != Status.DELETED.value)
    if person is not None:
        chosen = select(people.c.id).where(
            or_(people.c.public_id == person, people.c.username == person, people.c.email == person)
        )
    person_ids = list(conn.execute(chosen.order_by(people.c.id)).scalars())
    if person is not None and not person_ids:
        raise NotFound(f"no person is {person!r}")
    pending = set(
        conn.execute(
            select(deliveries.c.person_id).where(
                deliveries.c.target_id == target.id, deliveries.c.state == DeliveryState.PENDING
            )
        ).scalars()
    )
    rows = [
        _new_delivery(target.id, person_id, None, Event.REPROVISION.value, now)
        for person_id in person_ids
        if person_id not in pending
    ]
    for start in range(0, len(rows), 1_000):
        conn.execute(insert(deliveries), rows[start : start + 1_000])
    fields = {"people": (None, person or "all"), "queued": (None, len(rows))}
    record(conn, [Change(actor, "target", target.name, "reprovision", fields)], now)
    return len(rows)


def replay(conn: Connection, target_name: str, actor: str, now: datetime) -> int:
    """Dead deliveries of a target back to the queue, with their attempts counted afresh; how many."""
    target = find_target(conn, target_name)
    moved = conn.execute(
        update(deliveries)
        .where(deliveries.c.target_id == target.id, deliveries.c.state == DeliveryState.DEAD)
        .values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, finished_at=None)
    ).rowcount
    record(conn, [Change(actor, "target", target.name, "replay", {"replayed": (None, moved)})], now)
    return moved


def list_deliveries(
    conn: Connection, target_name: str, state: str | None = None, limit: int = 100
) -> list[DeliveryInfo]:
    """A target's newest deliveries; state "failed" is the pending ones that have failed at least once."""
    target = find_target(conn, target_name)
    statement = (
        select(deliveries, people.c.public_id)
        .join(people, people.c.id == deliveries.c.person_id)
        .where(deliveries.c.target_id == target.id)
    )
    if state == "failed":
        statement = statement.where(deliveries.c.state == DeliveryState.PENDING, deliveries.c.attempts > 0)
    elif state is not None:
        statement = statement.where(deliveries.c.state == state)
    rows = conn.execute(statement.order_by(deliveries.c.id.desc()).limit(limit)).mappings()
    return [
        DeliveryInfo(
            id=row["id"],
            person=row["public_id"],
            event=row["event"],
            state=row["state"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"] if row["state"] == DeliveryState.PENDING else None,
            last_status=row["last_status"],
            last_error=row["last_error"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
        )
        for row in rows
    ]


def attempts_of(conn: Connection, delivery_id: int) -> list[dict[str, Any]]:
    """Every try of a delivery, oldest first."""
    rows = conn.execute(
        select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def _short(text: str | None) -> str | None:
    return None if text is None else text[:SHORT]
