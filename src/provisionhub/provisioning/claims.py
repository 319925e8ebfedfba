"""Claiming due deliveries for a dispatcher, each under a lease it renews while sending and releases if it
stops first; and when the next delivery, lease or probe falls due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from provisionhub.directory.groups import groups_of
from provisionhub.directory.people import Person
from provisionhub.provisioning.breaker import probes
from provisionhub.provisioning.deliveries import Claimed, DeliveryState
from provisionhub.provisioning.targets import PRESENT, State, Target
from provisionhub.store import tables

deliveries = tables.deliveries
targets = tables.targets
links = tables.target_links
people = tables.people


def claim(conn: Connection, worker: str, now: datetime, lease: timedelta, limit: int = 200) -> list[Claimed]:
    """Claim up to limit deliveries that are due, for worker, leased until now + lease.

    Due: pending with its next try reached, or sending with its lease run out (its dispatcher died); its
    target active (or tripped with its probe due: then one delivery, the probe); and no older delivery of
    its target and person pending or being sent, so that a pair's deliveries go out one at a time, oldest
    first. On PostgreSQL several dispatchers claim side by side, with FOR UPDATE SKIP LOCKED.
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
    active = select(targets.c.id).where(targets.c.state == State.ACTIVE, PRESENT)
    statement = (
        base.where(deliveries.c.target_id.in_(active.scalar_subquery()))
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True, of=deliveries)
    chosen = [row.id for row in conn.execute(statement)]
    chosen += probes(conn, base, now)
    if not chosen:
        return []
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(chosen))
        .values(state=DeliveryState.SENDING, lease_until=now + lease, claimed_by=worker)
    )
    return _claimed(conn, chosen)


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


def renew(conn: Connection, ids: Sequence[int], worker: str, until: datetime) -> None:
    """Extend worker's leases on the deliveries it is sending."""
    conn.execute(update(deliveries).where(_held(ids, worker)).values(lease_until=until))


def release(conn: Connection, ids: Sequence[int], worker: str) -> None:
    """Give back, unsent, the deliveries worker is sending: pending again, the try not counted."""
    conn.execute(
        update(deliveries)
        .where(_held(ids, worker))
        .values(state=DeliveryState.PENDING, lease_until=None, claimed_by=None)
    )


def _held(ids: Sequence[int], worker: str) -> ColumnElement[bool]:
    """Of ids, the deliveries worker holds: being sent, and claimed by it (not since by another)."""
    return and_(
        deliveries.c.id.in_(ids),
        deliveries.c.state == DeliveryState.SENDING,
        deliveries.c.claimed_by == worker,
    )


def next_due(conn: Connection) -> datetime | None:
    """When the next pending delivery, lease or probe falls due (None: nothing is waiting).

    Only an active target's deliveries count, as only theirs are claimed: a paused target's backlog is due
    and stays unclaimed, and counting it kept the dispatcher looking again at once, a core busy for as
    long as the target stayed paused. A tripped target's probe counts by its own moment.
    """
    active = deliveries.c.target_id.in_(select(targets.c.id).where(targets.c.state == State.ACTIVE, PRESENT))
    moments = [
        conn.execute(
            select(func.min(deliveries.c.next_attempt_at)).where(
                deliveries.c.state == DeliveryState.PENDING, active
            )
        ).scalar(),
        conn.execute(
            select(func.min(deliveries.c.lease_until)).where(
                deliveries.c.state == DeliveryState.SENDING, active
            )
        ).scalar(),
        conn.execute(
            select(func.min(targets.c.probe_at)).where(targets.c.state == State.TRIPPED, PRESENT)
        ).scalar(),
    ]
    found = [moment for moment in moments if moment is not None]
    return min(found) if found else None
