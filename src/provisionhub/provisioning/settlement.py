"""Settling tried deliveries: each try recorded in the delivery log, each delivery delivered, pending again
with its next try, or dead; the ids targets gave people kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, insert, select, update

from provisionhub.provisioning.breaker import record_failures, record_successes
from provisionhub.provisioning.deliveries import Claimed, DeliveryState, Outcome
from provisionhub.store import tables

deliveries = tables.deliveries
attempts = tables.delivery_attempts
links = tables.target_links

#: Texts kept of a response or an error, for the delivery log.
SHORT = 500

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
    backoff: Callable[[int, float | None], float],
    worker: str,
) -> None:
    """Record each try (the delivery log), and move each delivery on: delivered; pending again with its
    next try (backoff(attempts, retry_after) -> seconds); or dead once its target's max attempts are
    spent. A target whose newest calls mostly failed trips (see breaker).

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
    record_successes(conn, succeeded, now)
    record_failures(conn, failed, now)


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


def _short(text: str | None) -> str | None:
    return None if text is None else text[:SHORT]
