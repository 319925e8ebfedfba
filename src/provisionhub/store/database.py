"""Database: the engine, synchronous transactions, and the async doors (read, write) the routes use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine

from provisionhub.settings import DEFAULT_DATABASE_POOL_SIZE, Settings
from provisionhub.store.engine import WRITE, make_engine
from provisionhub.store.writes import BatchHandler, WriteQueue

T = TypeVar("T")


class Database:
    """One database, reached through one engine. Writes from async code go through a WriteQueue."""

    def __init__(
        self,
        url: str,
        *,
        write_batch_size: int = 256,
        write_mode: str = "auto",
        read_mode: str = "auto",
        pool_size: int = DEFAULT_DATABASE_POOL_SIZE,
        sqlite_synchronous: str = "NORMAL",
    ) -> None:
        """sqlite_synchronous (NORMAL or FULL) is SQLite's synchronous level, on every connection the
        engine opens; PostgreSQL ignores it (make_engine)."""
        self.url = url
        self.engine: Engine = make_engine(url, pool_size=pool_size, sqlite_synchronous=sqlite_synchronous)
        self._writer = _KeptConnection(self.engine, writer=True)
        inline_writes = self._inline("write_mode", write_mode)
        self._writes = WriteQueue(self._writer.transaction, write_batch_size, inline=inline_writes)
        self._reader = _KeptConnection(self.engine, writer=False)
        self._inline_reads = self._inline("read_mode", read_mode)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.database_url,
            write_batch_size=settings.write_batch_size,
            write_mode=settings.write_mode,
            read_mode=settings.read_mode,
            pool_size=settings.database_pool_size,
            sqlite_synchronous=settings.sqlite_synchronous,
        )

    def _inline(self, name: str, mode: str) -> bool:
        """Whether a mode (auto, inline or thread) runs its work on the event loop: auto does on SQLite.

        SQLite answers from a local file in microseconds, while handing work to a thread and back costs
        more than that (wakeups, and every thread contending for the GIL); PostgreSQL's round trips over
        the network are better waited for on a thread.
        """
        if mode not in ("auto", "inline", "thread"):
            raise ValueError(f"{name} must be auto, inline or thread, not {mode!r}")
        return mode == "inline" or (mode == "auto" and self.engine.dialect.name == "sqlite")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only view: one transaction, never committed, which sees the database as it was when
        it began whatever commits meanwhile."""
        with self.engine.connect() as conn:
            _as_snapshot(conn)
            with conn.begin() as tx:
                yield conn
                tx.rollback()

    def start(self) -> None:
        """Start serving write() and write_item() through the write queue."""
        self._writes.start()

    def stop(self) -> None:
        """Finish queued writes and stop the write queue."""
        self._writes.stop()
        self._writer.close()
        self._reader.close()

    def dispose(self) -> None:
        self.stop()
        self.engine.dispose()

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run work(conn) in a write transaction, possibly committed together with other writes."""
        if not self._writes.running:
            return await anyio.to_thread.run_sync(self._write_now, work)
        return await self._writes.submit(work)

    async def write_item(self, handler: BatchHandler, item: Any) -> Any:
        """Hand item to a batch handler, which takes it together with the other items queued for it."""
        if not self._writes.running:
            return await anyio.to_thread.run_sync(self._write_item_now, handler, item)
        return await self._writes.submit_item(handler, item)

    async def read(self, work: Callable[[Connection], T]) -> T:
        """Run work(conn) against a read snapshot: on the event loop with inline reads (one connection
        kept open for them), else on a worker thread."""
        if self._inline_reads:
            with self._reader.snapshot() as conn:
                return work(conn)
        return await anyio.to_thread.run_sync(self._read_now, work)

    def _write_now(self, work: Callable[[Connection], T]) -> T:
        with self.transaction() as conn:
            return work(conn)

    def _write_item_now(self, handler: BatchHandler, item: Any) -> Any:
        with self.transaction() as conn:
            [outcome] = handler(conn, [item])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _read_now(self, work: Callable[[Connection], T]) -> T:
        with self.snapshot() as conn:
            return work(conn)


class _KeptConnection:
    """One connection kept open from transaction to transaction: the write queue's, or inline reads'.

    Checking a connection out of the pool for every batch or read cost its events and reset each time,
    and on PostgreSQL a ping (pool_pre_ping): a round trip each. A connection lost mid-transaction is
    invalidated by SQLAlchemy, which procures a new one at its next use. Used by one thread only (the
    write queue's, or the event loop), one transaction at a time.
    """

    def __init__(self, engine: Engine, *, writer: bool) -> None:
        self._engine = engine
        self._writer = writer
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
            if self._writer:
                self._conn.execution_options(**{WRITE: True})
            else:
                _as_snapshot(self._conn)
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction committed when the block ends, rolled back if it raises."""
        conn = self._connection()
        with conn.begin():
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A transaction never committed.

        On SQLite it is begun and rolled back on the driver itself: SQLAlchemy's transaction cost more
        than the reads of a SCIM GET (docs/benchmarks). A statement run through SQLAlchemy inside it begins
        SQLAlchemy's transaction on top (the engine's begin hook sees the driver's and adds none), and
        SQLAlchemy rolls that back.
        """
        conn = self._connection()
        if conn.dialect.name != "sqlite":
            with conn.begin() as tx:
                yield conn
                tx.rollback()
            return
        # Seam, pinned: driver_connection (tests/store/test_library_seams.py).
        driver: Any = conn.connection.driver_connection
        driver.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            elif driver.in_transaction:
                driver.execute("ROLLBACK")

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


def _as_snapshot(conn: Connection) -> None:
    """Make conn's transactions snapshots: on PostgreSQL, REPEATABLE READ (its default, READ COMMITTED,
    lets each statement see what committed before it, so a User's row and its version could disagree).
    A SQLite transaction is one already."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
