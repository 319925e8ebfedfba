"""Retention: finished deliveries (delivered, folded) and their attempts removed once older than the
retention period, a batch a transaction; dead letters and unsent deliveries are never removed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select

from provisionhub.directory.changes import Change, record
from provisionhub.provisioning.deliveries import DeliveryState
from provisionhub.store import tables
from provisionhub.store.database import Database

deliveries = tables.deliveries
attempts = tables.delivery_attempts

#: Final states whose deliveries may go: dead letters stay until replayed (or their target removed).
FINISHED = (DeliveryState.DELIVERED.value, DeliveryState.FOLDED.value)

#: Deliveries removed a transaction: small enough that SQLite's write lock is never held for long.
BATCH_SIZE = 1_000

#: How often serve prunes, in seconds: retention is counted in days, an hour late is no matter.
INTERVAL_SECONDS = 3_600.0


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one prune removed."""

    deliveries: int = 0
    attempts: int = 0


def prune_batch(conn: Connection, before: datetime, batch_size: int = BATCH_SIZE) -> Pruned:
    """Remove up to batch_size finished deliveries that finished before `before`, with their attempts.
    By ids chosen afresh each time: two processes pruning at once remove each row once, and neither fails."""
    ids = list(
        conn.execute(
            select(deliveries.c.id)
            .where(deliveries.c.state.in_(FINISHED), deliveries.c.finished_at < before)
            .limit(batch_size)
        ).scalars()
    )
    if not ids:
        return Pruned()
    gone_attempts = conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(ids))).rowcount
    gone = conn.execute(
        delete(deliveries).where(deliveries.c.id.in_(ids), deliveries.c.state.in_(FINISHED))
    ).rowcount
    return Pruned(gone, gone_attempts)


async def prune(
    database: Database, days: int, now: datetime, actor: str, batch_size: int = BATCH_SIZE
) -> Pruned:
    """Remove every finished delivery older than days (0: keep all), a batch a transaction; what went is
    recorded in one change-log entry (none when nothing went)."""
    if days <= 0:
        return Pruned()
    before = now - timedelta(days=days)
    total = Pruned()
    while True:
        batch = await database.write(lambda conn: prune_batch(conn, before, batch_size))
        total = Pruned(total.deliveries + batch.deliveries, total.attempts + batch.attempts)
        if batch.deliveries < batch_size:
            break
    if total.deliveries or total.attempts:
        fields = {
            "finished_before": (None, before),
            "deliveries": (None, total.deliveries),
            "attempts": (None, total.attempts),
        }
        change = Change(actor, "retention", "deliveries", "prune", fields)
        await database.write(lambda conn: record(conn, [change], now))
    return total


async def prune_pass(database: Database, days: int, now: Callable[[], datetime]) -> str | None:
    """serve's prune (on the scheduler's clock, every INTERVAL_SECONDS): what it removed, if anything."""
    pruned = await prune(database, days, now(), "retention")
    if not pruned.deliveries:
        return None
    return f"removed {pruned.deliveries} deliveries and {pruned.attempts} attempts"
