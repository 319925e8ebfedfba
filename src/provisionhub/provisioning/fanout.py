"""Outbox events fanned out into deliveries: one per target and person, coalesced while it is pending, so
that it sends the person's state at the time it goes out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, false, insert, select, update

from provisionhub.provisioning.deliveries import DeliveryState, new_delivery
from provisionhub.provisioning.targets import PRESENT
from provisionhub.store import tables

outbox = tables.outbox
deliveries = tables.deliveries
targets = tables.targets

#: Most outbox events one pass fans out.
EVENTS_A_PASS = 1_000


def dispatch_events(conn: Connection, now: datetime, limit: int = EVENTS_A_PASS) -> tuple[int, bool]:
    """Fan up to limit undispatched outbox events out into deliveries: (how many were taken, whether any
    target exists). With no target, events are left as they are: adding the first target marks them
    dispatched (add_target), as owed to nobody.

    On PostgreSQL several dispatchers share the outbox: events are taken with FOR UPDATE SKIP LOCKED, so
    each is fanned out once. On SQLite every writer holds the database for its transaction.
    """
    target_ids = list(conn.execute(select(targets.c.id).where(PRESENT)).scalars())
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
                new.append(new_delivery(target_id, person_id, event_id, event, now))
    if folded:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("d_id"))
            .values(outbox_id=bindparam("d_outbox"), event=bindparam("d_event")),
            folded,
        )
    if new:
        conn.execute(insert(deliveries), new)
