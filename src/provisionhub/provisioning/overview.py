"""What an operator sees of the queue: each target with its queue depth and dead letters, a target's
newest deliveries, and a delivery's tries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from provisionhub.provisioning.deliveries import DeliveryState
from provisionhub.provisioning.targets import PRESENT, find_target
from provisionhub.store import tables

deliveries = tables.deliveries
attempts = tables.delivery_attempts
targets = tables.targets
people = tables.people


@dataclass(frozen=True, slots=True)
class TargetSummary:
    """A target as `target list` shows it: never its secret."""

    name: str
    kind: str
    url: str
    mode: str
    upsert_method: str
    identifier_type: str
    auth: str
    username: str | None
    include_date_of_birth: bool
    rate_limit: int | None
    max_attempts: int
    timeout_seconds: float | None
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
            upsert_method=row["upsert_method"],
            identifier_type=row["identifier_type"],
            auth=row["auth"],
            username=row["username"],
            include_date_of_birth=row["include_date_of_birth"],
            rate_limit=row["rate_limit"],
            max_attempts=row["max_attempts"],
            timeout_seconds=row["timeout_seconds"],
            state=row["state"],
            queued=counts.get((row["id"], DeliveryState.PENDING), 0)
            + counts.get((row["id"], DeliveryState.SENDING), 0),
            dead=counts.get((row["id"], DeliveryState.DEAD), 0),
            last_success_at=row["last_success_at"],
            last_error=row["last_error"],
            last_error_at=row["last_error_at"],
        )
        for row in conn.execute(select(targets).where(PRESENT).order_by(targets.c.name)).mappings()
    ]


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
