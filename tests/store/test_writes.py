"""The write queue: concurrent writes share a commit, yet each succeeds or fails alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from provisionhub.directory.service import utcnow
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.writes import WriteQueue

pytestmark = pytest.mark.anyio


def add_user_type(type_id: str) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        conn.execute(
            insert(tables.user_types), {"id": type_id, "name": f"type {type_id}", "created_at": utcnow()}
        )
        return type_id

    return work


def user_type_ids(database: Database) -> list[str]:
    with database.snapshot() as conn:
        return sorted(conn.execute(select(tables.user_types.c.id)).scalars())


def lose_the_connection(database: Database) -> Callable[[Connection], str]:
    """A write during which the writer's connection dies: on PostgreSQL its backend is terminated (as a
    server restart would), on SQLite the connection is invalidated (there is no server to lose)."""

    def work(conn: Connection) -> str:
        if database.dialect == "postgresql":
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with database.engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")  # type: ignore[arg-type]
            conn.exec_driver_sql("SELECT 1")  # the first use of a dead connection
        else:
            conn.invalidate()
        return "not reached"

    return work


async def test_the_writer_reconnects_after_losing_its_connection(database: Database) -> None:
    database.start()
    try:
        first = await database.write(add_user_type("before"))
        with pytest.raises(SQLAlchemyError):
            await database.write(lose_the_connection(database))
        after = await database.write(add_user_type("after"))
    finally:
        database.stop()
    assert (first, after) == ("before", "after")
    assert user_type_ids(database) == ["after", "before"]


async def test_a_write_after_the_server_dropped_the_idle_writer_succeeds(database: Database) -> None:
    """PostgreSQL restarted (or a proxy closed the idle connection) between two batches: the writer's
    kept connection is dead, and the next write must still go through."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite has no server to drop a connection; the test above loses one mid-write")
    database.start()
    try:
        assert await database.write(add_user_type("before")) == "before"
        with database.engine.connect() as other:
            other.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert await database.write(add_user_type("after")) == "after"
    finally:
        database.stop()
    assert user_type_ids(database) == ["after", "before"]


async def test_writes_return_their_results(database: Database) -> None:
    database.start()
    try:
        results = await asyncio.gather(*(database.write(add_user_type(str(n))) for n in range(50)))
    finally:
        database.stop()
    assert results == [str(n) for n in range(50)]
    assert user_type_ids(database) == sorted(str(n) for n in range(50))


class CountingQueue:
    """A WriteQueue over database whose transactions are counted, held by a gate until released.

    fail_commit: the number of the transaction whose commit fails, as if the connection were lost.
    """

    def __init__(self, database: Database, fail_commit: int | None = None, *, inline: bool = False) -> None:
        self.database = database
        self.fail_commit = fail_commit
        self.transactions = 0
        self.gate = threading.Event()
        self.queue = WriteQueue(self._transaction, batch_size=64, inline=inline)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self.transactions += 1
        number = self.transactions
        with self.database.transaction() as conn:
            yield conn
            if number == self.fail_commit:
                raise OperationalError("COMMIT", {}, Exception("connection lost"))

    def hold(self) -> asyncio.Future[Any]:
        """Keep the writer busy, so that what is queued next goes as one batch once release() is called."""
        return self.queue.submit(lambda conn: self.gate.wait(5))

    async def as_one_batch(self, submit: Callable[[WriteQueue], list[asyncio.Future[Any]]]) -> list[Any]:
        """Queue what submit queues while the writer is held, so that it goes as one batch; its outcomes."""
        held = self.hold()
        await asyncio.sleep(0.05)
        futures = submit(self.queue)
        self.gate.set()
        await held
        return await asyncio.gather(*futures, return_exceptions=True)


@pytest.fixture
async def counted(database: Database) -> AsyncIterator[CountingQueue]:
    counting = CountingQueue(database)
    counting.queue.start()
    yield counting
    counting.gate.set()
    counting.queue.stop()


def writes_then_fails(conn: Connection) -> None:
    add_user_type("doomed")(conn)
    raise ValueError("refused after writing")


async def test_a_failing_write_rolls_back_alone_within_a_batch(
    counted: CountingQueue, database: Database
) -> None:
    """A unit that writes and then raises must leave nothing; its neighbours in the batch commit."""
    held = counted.hold()
    await asyncio.sleep(0.05)
    queue = counted.queue
    futures = [
        queue.submit(add_user_type("a")),
        queue.submit(writes_then_fails),
        queue.submit(add_user_type("b")),
    ]
    counted.gate.set()
    await held
    outcomes = await asyncio.gather(*futures, return_exceptions=True)

    assert counted.transactions == 2  # the holder's, then one for all three
    assert outcomes[0] == "a"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == "b"
    assert user_type_ids(database) == ["a", "b"]


def type_batch(calls: list[list[str]]) -> Callable[[Connection, list[str]], list[Any]]:
    """A batch handler that adds one user type per item and refuses items starting with "x"."""

    def handler(conn: Connection, items: list[str]) -> list[Any]:
        calls.append(list(items))
        outcomes: list[Any] = []
        for item in items:
            if item.startswith("boom"):
                add_user_type(item)(conn)
                raise RuntimeError("the whole call fails after writing")
            if item.startswith("x"):
                outcomes.append(LookupError(f"{item} refused"))
            else:
                outcomes.append(add_user_type(item)(conn))
        return outcomes

    return handler


async def test_items_of_one_handler_go_to_one_call_with_units_in_the_same_commit(
    counted: CountingQueue, database: Database
) -> None:
    calls: list[list[str]] = []
    handler = type_batch(calls)
    outcomes = await counted.as_one_batch(
        lambda queue: [
            queue.submit_item(handler, "p1"),
            queue.submit(add_user_type("unit")),
            queue.submit_item(handler, "x-refused"),
            queue.submit_item(handler, "p2"),
        ]
    )

    assert calls == [["p1", "x-refused", "p2"]]
    assert counted.transactions == 2
    assert outcomes[0] == "p1"
    assert outcomes[1] == "unit"
    assert isinstance(outcomes[2], LookupError)
    assert outcomes[3] == "p2"
    assert user_type_ids(database) == ["p1", "p2", "unit"]


async def test_a_failing_handler_call_is_retried_item_by_item(
    counted: CountingQueue, database: Database
) -> None:
    calls: list[list[str]] = []
    handler = type_batch(calls)
    outcomes = await counted.as_one_batch(
        lambda queue: [queue.submit_item(handler, name) for name in ("q1", "boom", "q2")]
    )

    assert calls[0] == ["q1", "boom", "q2"]
    assert sorted(map(tuple, calls[1:])) == [("boom",), ("q1",), ("q2",)]
    assert outcomes[0] == "q1"
    assert isinstance(outcomes[1], RuntimeError)
    assert outcomes[2] == "q2"
    assert user_type_ids(database) == ["q1", "q2"]  # nothing of "boom" survived


async def test_write_item_without_the_queue_runs_in_its_own_transaction(database: Database) -> None:
    handler = type_batch([])
    assert await database.write_item(handler, "solo") == "solo"
    with pytest.raises(LookupError):
        await database.write_item(handler, "x-solo")
    assert user_type_ids(database) == ["solo"]


async def test_a_single_failing_write_leaves_nothing(database: Database) -> None:
    database.start()
    try:
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
    # PostgreSQL's DETAIL repeats a refused row whole ("Failing row contains (...)").
    unnamed = {"id": "7", "name": None, "ext_info": "DOB 1987-06-05", "created_at": utcnow()}
    with pytest.raises(IntegrityError) as caught, database.transaction() as conn:
        conn.execute(insert(tables.user_types), unnamed)
    assert "1987-06-05" not in str(caught.value)


async def test_inline_mode_commits_one_loop_iterations_writes_together(database: Database) -> None:
    """SQLite's default: what the requests of one loop iteration queue is one transaction on the loop."""
    counting = CountingQueue(database, inline=True)
    queue = counting.queue
    calls: list[list[str]] = []
    queue.start()
    try:
        futures = [
            queue.submit(add_user_type("i1")),
            queue.submit(writes_then_fails),
            queue.submit_item(type_batch(calls), "i2"),
            queue.submit_item(type_batch(calls), "x-refused"),
        ]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        queue.stop()

    assert counting.transactions == 1
    assert outcomes[0] == "i1"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == "i2"
    assert isinstance(outcomes[3], LookupError)
    assert user_type_ids(database) == ["i1", "i2"]


async def test_inline_mode_waits_while_each_loop_turn_brings_more_writes(database: Database) -> None:
    """Requests read from the sockets in successive loop turns share one commit; a write that comes
    after the loop has gone quiet gets the next one."""
    counting = CountingQueue(database, inline=True)
    queue = counting.queue

    async def after_turns(turns: int, code: str) -> str:
        for _ in range(turns):
            await asyncio.sleep(0)
        return await queue.submit(add_user_type(code))

    queue.start()
    try:
        together = await asyncio.gather(*(after_turns(turns, f"t{turns}") for turns in range(5)))
        assert counting.transactions == 1
        await asyncio.sleep(0.01)
        assert await queue.submit(add_user_type("later")) == "later"
    finally:
        queue.stop()

    assert together == ["t0", "t1", "t2", "t3", "t4"]
    assert counting.transactions == 2
    assert user_type_ids(database) == ["later", "t0", "t1", "t2", "t3", "t4"]


def flaky_handler(failures: list[str]) -> Callable[[Connection, list[str]], list[Any]]:
    """Adds a user type per item; the first call raises IntegrityError, as when another process
    committed the same key first."""

    def handler(conn: Connection, items: list[str]) -> list[Any]:
        failures.append("call")
        if len(failures) == 1:
            add_user_type("half-written")(conn)
            raise IntegrityError("INSERT ...", {}, Exception("duplicate key, committed elsewhere"))
        return [add_user_type(item)(conn) for item in items]

    return handler


async def test_an_integrity_error_is_tried_once_more_alone(
    counted: CountingQueue, database: Database
) -> None:
    calls: list[str] = []
    outcomes = await counted.as_one_batch(lambda queue: [queue.submit_item(flaky_handler(calls), "r1")])

    assert outcomes == ["r1"]
    assert len(calls) == 2
    assert user_type_ids(database) == ["r1"]


async def test_an_integrity_error_is_tried_once_more_within_a_batch(
    counted: CountingQueue, database: Database
) -> None:
    calls: list[str] = []
    outcomes = await counted.as_one_batch(
        lambda queue: [queue.submit(add_user_type("u1")), queue.submit_item(flaky_handler(calls), "r2")]
    )

    assert outcomes == ["u1", "r2"]
    assert len(calls) == 2
    assert user_type_ids(database) == ["r2", "u1"]


async def test_a_failed_shared_commit_is_retried_part_by_part(database: Database) -> None:
    """If the shared transaction fails as a whole (its commit, the connection), each part goes alone."""
    counting = CountingQueue(database, fail_commit=2)  # 1 is the holder's; 2 the shared batch
    counting.queue.start()
    try:
        outcomes = await counting.as_one_batch(
            lambda queue: [queue.submit(add_user_type("p1")), queue.submit(add_user_type("p2"))]
        )
    finally:
        counting.gate.set()
        counting.queue.stop()

    assert outcomes == ["p1", "p2"]
    assert counting.transactions == 4  # holder, failed batch, then each part alone
    assert user_type_ids(database) == ["p1", "p2"]
