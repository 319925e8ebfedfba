"""The circuit breaker: a target whose newest calls mostly failed trips, is sent one delivery (a probe) now
and then, and is active again once a call to it succeeds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, case, select, update

from provisionhub.provisioning.targets import PRESENT, State
from provisionhub.store import tables

deliveries = tables.deliveries
attempts = tables.delivery_attempts
targets = tables.targets

#: Of a target's newest attempts, this many at least, and this share of them failed: it trips.
TRIP_WINDOW = 20
TRIP_MINIMUM = 10
TRIP_SHARE = 0.8

#: How long a tripped target waits before its next probe.
PROBE_INTERVAL = timedelta(seconds=30)


def probes(conn: Connection, due: Select[Any], now: datetime) -> list[int]:
    """Of the deliveries due (a select of their ids), one of each tripped target whose probe is due; its
    next probe moved on, so that no other dispatcher probes it at the same time."""
    tripped = select(targets.c.id).where(targets.c.state == State.TRIPPED, targets.c.probe_at <= now, PRESENT)
    if conn.dialect.name == "postgresql":
        tripped = tripped.with_for_update(skip_locked=True)
    chosen: list[int] = []
    for target_id in conn.execute(tripped).scalars().all():
        probe = due.where(deliveries.c.target_id == target_id).order_by(deliveries.c.id).limit(1)
        if conn.dialect.name == "postgresql":
            probe = probe.with_for_update(skip_locked=True, of=deliveries)
        found = conn.execute(probe).first()
        conn.execute(update(targets).where(targets.c.id == target_id).values(probe_at=now + PROBE_INTERVAL))
        if found is not None:
            chosen.append(found.id)
    return chosen


def record_successes(conn: Connection, target_ids: Iterable[int], now: datetime) -> None:
    """Targets a call succeeded to: their last success is now, and a tripped one is active again."""
    for target_id in target_ids:
        conn.execute(
            update(targets)
            .where(targets.c.id == target_id)
            .values(last_success_at=now, state=_recovered(), probe_at=None)
        )


def record_failures(conn: Connection, errors: dict[int, str], now: datetime) -> None:
    """Targets a call failed to ({target id: the error}): their last error, and a trip when their newest
    calls mostly failed."""
    for target_id, error in errors.items():
        conn.execute(
            update(targets).where(targets.c.id == target_id).values(last_error=error, last_error_at=now)
        )
        _maybe_trip(conn, target_id, now)


def _recovered() -> Any:
    """A tripped target whose call succeeded is active again; a paused one stays paused."""
    return case((targets.c.state == State.TRIPPED, State.ACTIVE.value), else_=targets.c.state)


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
