"""Database: the engine, synchronous transactions, and the async doors (read, write) the routes use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine

from provisionhub.settings import Settings
from provisionhub.store.engine import WRITE, make_engine
from provisionhub.store.writes import BatchHandler, WriteQueue

T = TypeVar("T")


class Database:
    """One database, reached through one engine. Writes from async code go through a WriteQueue."""

    def __init__(self, url: str, *, write_batch_size: int = 256, write_mode: str = "auto") -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        if write_mode not in ("auto", "inline", "thread"):
            raise ValueError(f"write_mode must be auto, inline or thread, not {write_mode!r}")
        inline = write_mode == "inline" or (write_mode == "auto" and self.engine.dialect.name == "sqlite")
        self._writer = _WriterConnection(self.engine)
        self._writes = WriteQueue(self._writer.transaction, write_batch_size, inline=inline)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.database_url, write_batch_size=settings.write_batch_size, write_mode=settings.write_mode
        )

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
        """A read-only view: one transaction, never committed."""
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    def start(self) -> None:
        """Start serving write() and write_item() through the write queue."""
        self._writes.start()

    def stop(self) -> None:
        """Finish queued writes and stop the write queue."""
        self._writes.stop()
        self._writer.close()

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
        """Run work(conn) on a worker thread against a read snapshot."""
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


class _WriterConnection:
    """The write queue's one connection, kept open from batch to batch.

    Checking a connection out of the pool for every batch cost its events and reset each time, and on
    PostgreSQL a ping (pool_pre_ping): a round trip per batch. A connection lost mid-batch is
    invalidated by SQLAlchemy, which procures a new one at its next use. Used by the write queue's
    single writer (its thread, or the event loop) only.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if self._conn is None:
            self._conn = self._engine.connect()
            self._conn.execution_options(**{WRITE: True})
        with self._conn.begin():
            yield self._conn

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
