"""Retention: finished deliveries and their attempts removed once old, a batch a transaction; dead letters
and unsent deliveries kept; one change-log entry a prune; `provisionhub db prune`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy import event, func, insert, select

from provisionhub.app import create_app
from provisionhub.directory.changes import list_changes
from provisionhub.directory.service import Directory
from provisionhub.provisioning.deliveries import DeliveryState
from provisionhub.provisioning.retention import prune
from provisionhub.settings import Settings
from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.provisioning.conftest import new_person, new_target

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


def add_deliveries(
    database: Database, directory: Directory, state: DeliveryState, finished_at: datetime | None, n: int = 1
) -> list[int]:
    """n deliveries in state, finished at finished_at, each with two attempts; their ids."""
    public_id = new_person(directory)
    target = new_target(database, "http://127.0.0.1:9/people")
    with database.transaction() as conn:
        person_id = conn.execute(
            select(tables.people.c.id).where(tables.people.c.public_id == public_id)
        ).scalar_one()
        rows: list[dict[str, Any]] = [
            {
                "target_id": target.id,
                "person_id": person_id,
                "event": "edited",
                "state": state.value,
                "attempts": 2,
                "next_attempt_at": OLD,
                "created_at": OLD - timedelta(days=1),
                "finished_at": finished_at,
            }
            for _ in range(n)
        ]
        ids = [conn.execute(insert(tables.deliveries).values(row)).inserted_primary_key[0] for row in rows]
        attempt = {"target_id": target.id, "at": OLD, "ok": state == DeliveryState.DELIVERED}
        conn.execute(
            insert(tables.delivery_attempts), [{**attempt, "delivery_id": i} for i in ids for _ in range(2)]
        )
    return ids


def remaining(database: Database) -> tuple[dict[str, int], int]:
    """How many deliveries are left in each state, and how many attempts in all."""
    deliveries = tables.deliveries
    with database.snapshot() as conn:
        states = dict(
            conn.execute(select(deliveries.c.state, func.count()).group_by(deliveries.c.state)).all()
        )
        attempts = conn.execute(select(func.count()).select_from(tables.delivery_attempts)).scalar_one()
    return states, attempts


def prune_changes(database: Database) -> list[dict[str, list[Any]]]:
    with database.snapshot() as conn:
        return [dict(c.fields) for c in list_changes(conn, after=0, limit=1_000) if c.action == "prune"]


@pytest.mark.anyio
async def test_old_finished_deliveries_go_with_their_attempts_and_the_rest_stay(
    database: Database, directory: Directory
) -> None:
    add_deliveries(database, directory, DeliveryState.DELIVERED, OLD, n=3)
    add_deliveries(database, directory, DeliveryState.FOLDED, OLD)
    kept = add_deliveries(database, directory, DeliveryState.DELIVERED, RECENT)
    for state in (DeliveryState.DEAD, DeliveryState.PENDING, DeliveryState.SENDING):
        add_deliveries(database, directory, state, OLD if state == DeliveryState.DEAD else None)

    pruned = await prune(database, 30, NOW, "test")

    assert (pruned.deliveries, pruned.attempts) == (4, 8)
    assert remaining(database) == ({"delivered": 1, "dead": 1, "pending": 1, "sending": 1}, 8)
    with database.snapshot() as conn:
        delivered = conn.execute(
            select(tables.deliveries.c.id).where(tables.deliveries.c.state == "delivered")
        ).scalar_one()
    assert [delivered] == kept
    [logged] = prune_changes(database)
    assert (logged["deliveries"], logged["attempts"]) == ([None, 4], [None, 8])


@pytest.mark.anyio
async def test_a_large_prune_goes_in_batches_and_is_logged_once(
    database: Database, directory: Directory
) -> None:
    add_deliveries(database, directory, DeliveryState.DELIVERED, OLD, n=7)
    add_deliveries(database, directory, DeliveryState.PENDING, None)
    batches: list[int] = []

    def count_batches(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("DELETE FROM deliveries"):
            batches.append(cursor.rowcount)

    event.listen(database.engine, "after_cursor_execute", count_batches)
    try:
        pruned = await prune(database, 30, NOW, "test", batch_size=3)
    finally:
        event.remove(database.engine, "after_cursor_execute", count_batches)

    assert pruned.deliveries == 7
    assert batches == [3, 3, 1]
    assert remaining(database) == ({"pending": 1}, 2)
    assert len(prune_changes(database)) == 1


@pytest.mark.anyio
async def test_a_retention_of_zero_days_keeps_every_delivery(
    database: Database, directory: Directory
) -> None:
    add_deliveries(database, directory, DeliveryState.DELIVERED, NOW - timedelta(days=3_000))

    pruned = await prune(database, 0, NOW, "test")

    assert (pruned.deliveries, pruned.attempts) == (0, 0)
    assert remaining(database) == ({"delivered": 1}, 2)
    assert prune_changes(database) == []


@pytest.mark.anyio
async def test_a_prune_with_nothing_old_logs_nothing(database: Database, directory: Directory) -> None:
    add_deliveries(database, directory, DeliveryState.DELIVERED, RECENT)

    assert (await prune(database, 30, NOW, "test")).deliveries == 0
    assert prune_changes(database) == []


def test_the_prune_finds_old_deliveries_through_an_index(database: Database) -> None:
    deliveries = tables.deliveries
    query = select(deliveries.c.id).where(
        deliveries.c.state.in_(["delivered", "folded"]), deliveries.c.finished_at < NOW
    )
    with database.snapshot() as conn:
        compiled = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if database.dialect == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert "ix_deliveries_state_finished_at" in plan, plan
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "ix_deliveries_state_finished_at" in plan, plan


def test_db_prune_removes_old_deliveries_and_says_how_many(
    cli, database: Database, directory: Directory
) -> None:
    now = datetime.now(UTC)
    add_deliveries(database, directory, DeliveryState.DELIVERED, now - timedelta(days=10), n=2)
    add_deliveries(database, directory, DeliveryState.DELIVERED, now - timedelta(days=2))

    assert "removed 0 deliveries" in cli("db", "prune").stdout  # the default: 30 days
    said = cli("db", "prune", "--days", "7").stdout

    assert "removed 2 deliveries and 4 attempts older than 7 days" in said
    assert remaining(database) == ({"delivered": 1}, 2)
    [logged] = prune_changes(database)
    assert logged["deliveries"] == [None, 2]


def test_db_prune_with_retention_off_removes_nothing(
    cli, database: Database, directory: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_deliveries(database, directory, DeliveryState.DELIVERED, datetime.now(UTC) - timedelta(days=400))
    monkeypatch.setenv("PROVISIONHUB_RETENTION_DAYS", "0")

    assert "retention is off" in cli("db", "prune").stderr
    assert remaining(database) == ({"delivered": 1}, 2)


# -- retention inside serve ---------------------------------------------------------------------------


async def serve_briefly(database: Database, retention_days: int) -> None:
    """The app's lifespan over database for a moment: long enough for its prune at start."""
    settings = Settings(
        database_url=database.url, retention_days=retention_days, lifecycle_interval_seconds=0, dispatch=False
    )
    app = create_app(settings, database)
    async with app.router.lifespan_context(app):
        with anyio.fail_after(10):
            while not prune_changes(database) and retention_days:
                await anyio.sleep(0.01)
        await anyio.sleep(0.1)


@pytest.mark.anyio
async def test_serve_prunes_at_start(database: Database, directory: Directory) -> None:
    now = datetime.now(UTC)
    add_deliveries(database, directory, DeliveryState.DELIVERED, now - timedelta(days=40))
    add_deliveries(database, directory, DeliveryState.DELIVERED, now - timedelta(days=1))

    await serve_briefly(database, retention_days=30)

    assert remaining(database) == ({"delivered": 1}, 2)
    assert [c["deliveries"] for c in prune_changes(database)] == [[None, 1]]


@pytest.mark.anyio
async def test_serve_with_retention_off_keeps_every_delivery(
    database: Database, directory: Directory
) -> None:
    add_deliveries(database, directory, DeliveryState.DELIVERED, datetime.now(UTC) - timedelta(days=400))

    await serve_briefly(database, retention_days=0)

    assert remaining(database) == ({"delivered": 1}, 2)
