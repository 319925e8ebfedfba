"""The write queue: concurrent writes share a commit, yet each succeeds or fails alone."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from provisionhub.directory.service import utcnow
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.writes import WriteQueue

pytestmark = pytest.mark.anyio


def add_user_type(type_id: str):
    def work(conn: Connection) -> str:
        conn.execute(
            insert(tables.user_types), {"id": type_id, "name": f"type {type_id}", "created_at": utcnow()}
        )
        return type_id

    return work


def user_type_ids(database: Database) -> list[str]:
    with database.snapshot() as conn:
        return sorted(conn.execute(select(tables.user_types.c.id)).scalars())


async def test_writes_return_their_results(database: Database) -> None:
    database.start()
    try:
        results = await asyncio.gather(*(database.write(add_user_type(str(n))) for n in range(50)))
    finally:
        database.stop()
    assert results == [str(n) for n in range(50)]
    assert user_type_ids(database) == sorted(str(n) for n in range(50))


async def test_a_failing_write_rolls_back_alone_within_a_batch(database: Database) -> None:
    """A unit that writes and then raises must leave nothing; its neighbours in the batch commit."""
    gate = threading.Event()
    batches: list[int] = []
    queue = WriteQueue(database.transaction, batch_size=64)

    def blocker(conn: Connection) -> None:
        gate.wait(5)  # hold the writer so that the next units queue up and go as one batch

    def writes_then_fails(conn: Connection) -> None:
        add_user_type("doomed")(conn)
        raise ValueError("refused after writing")

    original = queue._run_batch

    def counting(batch):
        batches.append(len(batch))
        return original(batch)

    queue._run_batch = counting  # type: ignore[method-assign]
    queue.start()
    try:
        first = queue.submit(blocker)
        await asyncio.sleep(0.05)
        futures = [
            queue.submit(add_user_type("a")),
            queue.submit(writes_then_fails),
            queue.submit(add_user_type("b")),
        ]
        gate.set()
        await first
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        queue.stop()

    assert batches == [3]
    assert outcomes[0] == "a"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == "b"
    assert user_type_ids(database) == ["a", "b"]


async def test_a_single_failing_write_leaves_nothing(database: Database) -> None:
    database.start()
    try:

        def writes_then_fails(conn: Connection) -> None:
            add_user_type("doomed")(conn)
            raise ValueError("refused after writing")

        with pytest.raises(ValueError, match="refused after writing"):
            await database.write(writes_then_fails)
    finally:
        database.stop()
    assert user_type_ids(database) == []


async def test_write_without_the_queue_runs_in_its_own_transaction(database: Database) -> None:
    assert await database.write(add_user_type("solo")) == "solo"
    assert user_type_ids(database) == ["solo"]


def test_database_errors_never_carry_the_values_written(database: Database) -> None:
    """An error's text may be logged; the parameters it would show (dates of birth...) must not be in it."""
    row = {"id": "6", "name": "DOB 1987-06-05", "created_at": utcnow()}
    with database.transaction() as conn:
        conn.execute(insert(tables.user_types), row)
    with pytest.raises(IntegrityError) as caught, database.transaction() as conn:
        conn.execute(insert(tables.user_types), row)
    assert "1987-06-05" not in str(caught.value)
