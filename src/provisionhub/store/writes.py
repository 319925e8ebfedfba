"""Group commit: one thread applies queued writes, many to a transaction.

Requests queue their writes and await the result. The thread takes whatever is queued and commits it
in one transaction, so N concurrent writes cost one commit. Two kinds of write:

- a unit of work, `work(conn) -> value`, run inside a SAVEPOINT of its own, so that one failing unit
  rolls back alone;
- an item for a batch handler, `handler(conn, items) -> outcomes`: all items queued for the same
  handler go to one call, which does the work of many requests in a few statements. Its outcome for
  an item is the value, or an exception instance for an item it refused having written nothing for it.

Where the batches run:
- "thread" (PostgreSQL): on a writer thread, so the event loop never waits on a network round trip;
- "inline" (SQLite): on the event loop itself, for whatever the requests queued until the loop's turns
  stopped bringing more (see _flush). A SQLite transaction is a few hundred microseconds of local
  work; running it in place saves thread hand-offs and the GIL contention between two threads, which
  cost more than the work itself (docs/benchmarks).
Either way there is one writer per process: SQLite sees no lock contention between our own writes.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

log = logging.getLogger(__name__)

T = TypeVar("T")

Work = Callable[[Connection], Any]
BatchHandler = Callable[[Connection, list[Any]], list[Any]]


@dataclass(slots=True)
class _Job:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    work: Work | None = None
    handler: BatchHandler | None = None
    item: Any = None


@dataclass(slots=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None


_STOP = object()
#: Tries of a write that hit an IntegrityError or a dead connection (see _settled).
_TRIES = 2
#: Inline mode: a commit waits until _QUIET_TURNS turns of the event loop have brought no new write,
#: at most _GATHER_SECONDS.
_QUIET_TURNS = 2
_GATHER_SECONDS = 0.003


def _settle(future: asyncio.Future[Any], outcome: _Outcome) -> None:
    if future.cancelled():
        return
    if outcome.error is not None:
        future.set_exception(outcome.error)
    else:
        future.set_result(outcome.value)


def _outcome_of(result: Any) -> _Outcome:
    return _Outcome(error=result) if isinstance(result, BaseException) else _Outcome(value=result)


class WriteQueue:
    """Commits queued writes together: on a writer thread, or inline on the event loop."""

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Connection]],
        batch_size: int = 256,
        *,
        inline: bool = False,
    ) -> None:
        self._transaction = transaction
        self._batch_size = max(1, batch_size)
        self._inline = inline
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending: list[_Job] = []
        self._flush_scheduled = False
        self._arrived = False
        self._quiet_turns = 0
        self._deadline = 0.0
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        if not self._inline:
            self._thread = threading.Thread(target=self._run, name="provisionhub-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop taking writes."""
        if not self._started:
            return
        self._started = False
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        while self._pending:
            self._flush(force=True)

    @property
    def running(self) -> bool:
        return self._started

    def submit(self, work: Callable[[Connection], T]) -> asyncio.Future[T]:
        """Queue a unit of work; the future settles with its result or its exception."""
        return self._put(work=work)

    def submit_item(self, handler: BatchHandler, item: Any) -> asyncio.Future[Any]:
        """Queue an item for a batch handler; the future settles with the handler's outcome for it."""
        return self._put(handler=handler, item=item)

    def _put(self, **job: Any) -> asyncio.Future[Any]:
        if not self._started:
            raise RuntimeError("the write queue is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._inline:
            self._queue.put(_Job(loop, future, **job))
            return future
        self._pending.append(_Job(loop, future, **job))
        self._arrived = True
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._quiet_turns = 0
            self._deadline = loop.time() + _GATHER_SECONDS
            loop.call_soon(self._flush)
        return future

    def _flush(self, force: bool = False) -> None:
        """Inline mode: commit the writes queued since the last commit.

        Writes that arrive close together share one commit: the commit waits until _QUIET_TURNS turns
        of the event loop have brought no new write (the requests already read from the sockets have all
        queued theirs), the batch is full, or _GATHER_SECONDS have passed since the first. Under load
        that makes batches of nearly every request in flight, each costing far less than its own
        commit, and the loop never sits idle waiting for a timer; an idle server adds two loop turns
        (microseconds) to a write's latency.
        """
        if not self._pending:
            self._flush_scheduled = False
            return
        loop = self._pending[0].loop
        now = loop.time()
        self._quiet_turns = 0 if self._arrived else self._quiet_turns + 1
        self._arrived = False
        waiting = self._quiet_turns < _QUIET_TURNS and now < self._deadline
        if waiting and not force and len(self._pending) < self._batch_size:
            loop.call_soon(self._flush)
            return
        self._flush_scheduled = False
        jobs, self._pending = self._pending[: self._batch_size], self._pending[self._batch_size :]
        if self._pending and not force:  # stop() drains the rest itself, maybe with no loop left to run on
            self._flush_scheduled = True
            self._deadline = now + _GATHER_SECONDS
            loop.call_soon(self._flush)
        for job, outcome in self._commit(_groups(jobs)):
            _settle(job.future, outcome)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if not isinstance(first, _Job):  # _STOP
                break
            jobs = [first]
            while len(jobs) < self._batch_size:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, _Job):  # _STOP
                    stopping = True
                    break
                jobs.append(item)
            for job, outcome in self._commit(_groups(jobs)):
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)

    def _commit(self, groups: list[list[_Job]]) -> list[tuple[_Job, _Outcome]]:
        if len(groups) == 1:
            return _settled(groups[0], self._transaction)
        try:
            with self._transaction() as conn:
                return [pair for group in groups for pair in _settled(group, lambda: _savepoint(conn))]
        except Exception:
            # The transaction as a whole failed (commit, lost connection): each group on its own.
            log.warning("a batched commit failed; retrying its parts alone", exc_info=True)
            return [pair for group in groups for pair in _settled(group, self._transaction)]


@contextmanager
def _savepoint(conn: Connection) -> Iterator[Connection]:
    """A savepoint around one group of a shared transaction.

    On SQLite, straight to the driver: SQLAlchemy compiles its SAVEPOINT and RELEASE statements anew each
    time, a noticeable share of a SCIM create (docs/benchmarks). Savepoints SQLAlchemy opens inside
    (begin_nested) nest within this one as usual. A failed ROLLBACK TO raises, and so fails the shared
    transaction, whose groups are then retried alone: a group's half-done work is never committed.
    """
    if conn.dialect.name != "sqlite":
        with conn.begin_nested():
            yield conn
        return
    # Seam, pinned: driver_connection (tests/store/test_library_seams.py).
    driver: Any = conn.connection.driver_connection
    driver.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        yield conn
    except BaseException:
        driver.execute(f"ROLLBACK TO {_SAVEPOINT}")
        driver.execute(f"RELEASE {_SAVEPOINT}")
        raise
    driver.execute(f"RELEASE {_SAVEPOINT}")


_SAVEPOINT = "provisionhub_group"


def _settled(
    group: list[_Job], begin: Callable[[], AbstractContextManager[Connection]]
) -> list[tuple[_Job, _Outcome]]:
    """Run a group in a unit of its own (begin: a transaction, or a savepoint inside the shared one).

    Two failures get one more try: an IntegrityError (on PostgreSQL, most often another process
    committed the same key first; the retry sees that row), and a connection found dead (the writer
    keeps its connection between batches, and the server may have restarted meanwhile; SQLAlchemy
    opens a new one for the retry). A group that still fails is split: each job alone, so only the
    failing one gets the error.
    """
    failure: Exception | None = None
    for _ in range(_TRIES):
        try:
            with begin() as conn:
                return list(zip(group, _call(conn, group), strict=True))
        except IntegrityError as exc:
            failure = exc
        except DBAPIError as exc:
            failure = exc
            if not exc.connection_invalidated:
                break
        except Exception as exc:
            failure = exc
            break
    if len(group) == 1:
        return [(group[0], _Outcome(error=failure))]
    return [pair for job in group for pair in _settled([job], begin)]


def _groups(jobs: list[_Job]) -> list[list[_Job]]:
    """Items of one handler together (in queue order); each unit of work alone."""
    groups: list[list[_Job]] = []
    by_handler: dict[BatchHandler, list[_Job]] = {}
    for job in jobs:
        if job.handler is None:
            groups.append([job])
        elif job.handler in by_handler:
            by_handler[job.handler].append(job)
        else:
            by_handler[job.handler] = [job]
            groups.append(by_handler[job.handler])
    return groups


def _call(conn: Connection, group: list[_Job]) -> list[_Outcome]:
    """Run a group: a unit of work, or one batch handler over its items."""
    first = group[0]
    if first.handler is None:
        assert first.work is not None
        return [_Outcome(value=first.work(conn))]
    results = first.handler(conn, [job.item for job in group])
    if len(results) != len(group):
        raise RuntimeError(f"batch handler answered {len(results)} outcomes for {len(group)} items")
    return [_outcome_of(result) for result in results]
