"""Group commit: one thread applies queued units of work, many to a transaction.

Requests hand their unit of work (a function of a connection) to the queue and await the result.
The thread takes whatever is queued, runs each unit inside its own SAVEPOINT of one transaction and
commits once, so a failing unit rolls back alone and N concurrent writes cost one commit. SQLite
gets one writer per process (no lock contention); PostgreSQL gets fewer commits and no blocked loop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)

Work = Callable[[Connection], Any]


@dataclass(slots=True)
class _Job:
    work: Work
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None


_STOP = object()


def _settle(future: asyncio.Future[Any], outcome: _Outcome) -> None:
    if future.cancelled():
        return
    if outcome.error is not None:
        future.set_exception(outcome.error)
    else:
        future.set_result(outcome.value)


class WriteQueue:
    """A writer thread that commits queued units of work together."""

    def __init__(
        self, transaction: Callable[[], AbstractContextManager[Connection]], batch_size: int = 256
    ) -> None:
        self._transaction = transaction
        self._batch_size = max(1, batch_size)
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="provisionhub-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def submit(self, work: Work) -> asyncio.Future[Any]:
        """Queue work; the returned future settles with its result or its exception."""
        if self._thread is None:
            raise RuntimeError("the write queue is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Job(work, loop, future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Job] = [first]  # type: ignore[list-item]
            while len(batch) < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            outcomes = self._run_one(batch[0]) if len(batch) == 1 else self._run_batch(batch)
            for job, outcome in zip(batch, outcomes, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)

    def _run_one(self, job: _Job) -> list[_Outcome]:
        # An IntegrityError here is most often a race with another process that committed the same
        # key first; one more try sees that row and takes the update (or the typed conflict) path.
        for attempt in _tries():
            try:
                with self._transaction() as conn:
                    value = job.work(conn)
                return [_Outcome(value=value)]
            except IntegrityError as exc:
                if attempt == 2:
                    return [_Outcome(error=exc)]
            except Exception as exc:
                return [_Outcome(error=exc)]
        raise AssertionError("unreachable")

    def _run_batch(self, batch: list[_Job]) -> list[_Outcome]:
        try:
            with self._transaction() as conn:
                outcomes = [self._run_nested(conn, job) for job in batch]
        except Exception:
            # The transaction as a whole failed (commit, lost connection): each job on its own.
            log.warning("batched commit of %d writes failed; retrying each alone", len(batch), exc_info=True)
            return [self._run_one(job)[0] for job in batch]
        return outcomes

    @staticmethod
    def _run_nested(conn: Connection, job: _Job) -> _Outcome:
        for attempt in _tries():
            savepoint = conn.begin_nested()
            try:
                value = job.work(conn)
            except IntegrityError as exc:
                savepoint.rollback()
                if attempt == 2:
                    return _Outcome(error=exc)
                continue
            except Exception as exc:
                savepoint.rollback()
                return _Outcome(error=exc)
            savepoint.commit()
            return _Outcome(value=value)
        raise AssertionError("unreachable")


def _tries() -> Iterator[int]:
    yield 1
    yield 2
