"""Deliveries an operator queues: a reprovision of people to a target (COmanage's manual provision), and a
replay of a target's dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, or_, select, update

from provisionhub.directory.changes import Change, Event, record
from provisionhub.directory.errors import NotFound
from provisionhub.directory.people import Status
from provisionhub.provisioning.deliveries import DeliveryState, new_delivery
from provisionhub.provisioning.targets import find_target
from provisionhub.store import tables

deliveries = tables.deliveries
people = tables.people


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
        raise NotFound(f"no person is {person!r}", what="person")
    pending = set(
        conn.execute(
            select(deliveries.c.person_id).where(
                deliveries.c.target_id == target.id, deliveries.c.state == DeliveryState.PENDING
            )
        ).scalars()
    )
    rows = [
        new_delivery(target.id, person_id, None, Event.REPROVISION.value, now)
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
