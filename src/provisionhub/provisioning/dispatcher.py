"""The dispatcher: drains the outbox into deliveries and sends them, as soon as a change commits.

It runs inside `serve` (and alone as `provisionhub worker`). Its loop fans new outbox events out into
deliveries, claims what is due, and sends each claimed delivery on a task of its own; a settler records
each outcome (delivered, a retry later, or dead) in batches. A commit that appended outbox events wakes
the loop (a hook on the engine's commits in this process; PostgreSQL's NOTIFY from other processes), so a
change goes out within milliseconds of its commit; a timer wakes it for retries that fall due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, event

from provisionhub.directory.changes import OUTBOX_CHANNEL as CHANNEL
from provisionhub.directory.changes import OUTBOX_FLAG
from provisionhub.provisioning.calls import client_session
from provisionhub.provisioning.claims import claim, next_due, release, renew
from provisionhub.provisioning.connectors import connector_for
from provisionhub.provisioning.deliveries import Claimed, Outcome
from provisionhub.provisioning.fanout import EVENTS_A_PASS, dispatch_events
from provisionhub.provisioning.settlement import settle
from provisionhub.settings import Settings
from provisionhub.store.database import Database

log = logging.getLogger(__name__)


#: The longest Retry-After honoured: a target asking for more is tried again after an hour.
RETRY_AFTER_MAX_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Policy:
    """How deliveries are tried: the backoff's first step and cap (seconds), the lease a claim holds,
    each call's timeout, the most deliveries in flight, the longest sleep with nothing due, how long a
    wake waits for more commits to come before the pass that serves them all, and where the backoff's
    jitter comes from (a draw between two bounds: random.uniform; a test hands in one it knows)."""

    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 120.0
    timeout_seconds: float = 30.0
    in_flight: int = 256
    idle_seconds: float = 1.0
    gather_seconds: float = 0.01
    jitter: Callable[[float, float], float] = field(default=random.uniform, repr=False, compare=False)

    def backoff(self, tries: int, retry_after: float | None) -> float:
        """Seconds before try number tries + 1: exponential with jitter (a half to the whole of
        base * 2^(tries-1), capped); a target's Retry-After wins when it asks for longer."""
        step: float = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** min(tries - 1, 60))
        delay = step * self.jitter(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, RETRY_AFTER_MAX_SECONDS))
        return delay

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            backoff_seconds=settings.delivery_backoff_seconds,
            backoff_max_seconds=settings.delivery_backoff_max_seconds,
            lease_seconds=settings.delivery_lease_seconds,
            timeout_seconds=settings.delivery_timeout_seconds,
        )


def utcnow() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Dispatcher:
    """One dispatcher over a database. start() and stop() run it on the current event loop."""

    def __init__(
        self,
        database: Database,
        policy: Policy | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.policy = policy or Policy()
        self.name = worker_name()
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._settle_wake = asyncio.Event()
        self._sending: dict[int, asyncio.Task[None]] = {}
        self._outcomes: list[tuple[Claimed, Outcome]] = []
        self._main: asyncio.Task[None] | None = None
        self._heart: asyncio.Task[None] | None = None
        self._settler: asyncio.Task[None] | None = None
        self._buckets: dict[int, _Bucket] = {}
        self._stopping = False
        self._targets = True  # whether the last pass found any target
        self._backlog = False  # whether the last pass left outbox events for the next
        self._unhook: Callable[[], None] | None = None
        self._listener: _Listener | None = None

    # -- running ----------------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = client_session(self.policy.timeout_seconds, self.policy.in_flight)
        self._unhook = _hook_commits(self.database, self.wake)
        if self.database.dialect == "postgresql":
            self._listener = _Listener(self.database.url, self.wake)
            self._listener.start()
        self._main = asyncio.create_task(self._run(), name="provisionhub-dispatcher")
        self._settler = asyncio.create_task(self._settle_loop(), name="provisionhub-settler")
        self._heart = asyncio.create_task(self._heartbeat(), name="provisionhub-lease")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop claiming; give calls in flight grace_seconds to finish and settles what finished; what is
        still in flight is released back to the queue (not counted as a try)."""
        self._stopping = True
        if self._unhook is not None:
            self._unhook()
        if self._listener is not None:
            self._listener.stop()
        for task in (self._main, self._heart):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._sending:
            await asyncio.wait(list(self._sending.values()), timeout=grace_seconds)
        unfinished = list(self._sending)
        for task in self._sending.values():
            task.cancel()
        if self._settler is not None:
            self._settler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._settler
        await self._settle_now()
        if unfinished:
            with contextlib.suppress(Exception):
                await self.database.write(lambda conn: release(conn, unfinished, self.name))
        await self._client.close()

    def wake(self) -> None:
        """Look for work now (callable from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("the dispatcher could not claim deliveries; trying again shortly")
                claimed = []
                await asyncio.sleep(self.policy.idle_seconds)
            for delivery in claimed:
                self._sending[delivery.id] = asyncio.create_task(self._send(delivery))
            if (claimed and len(self._sending) < self.policy.in_flight) or self._backlog:
                continue  # more may be due
            await self._sleep()

    async def _claim(self) -> list[Claimed]:
        now = self._clock()
        room = self.policy.in_flight - len(self._sending)
        lease = timedelta(seconds=self.policy.lease_seconds)

        def work(conn: Connection) -> list[Claimed]:
            taken, self._targets = dispatch_events(conn, now)
            self._backlog = taken == EVENTS_A_PASS
            return claim(conn, self.name, now, lease, room) if room > 0 and self._targets else []

        return await self.database.write(work)

    async def _sleep(self) -> None:
        """Until woken, or until the next retry, lease or probe falls due (at most idle_seconds)."""
        timeout = self.policy.idle_seconds
        if not self._targets:
            # Nobody to deliver to: a look for a target once a second, whatever commits meanwhile (events
            # wait undispatched; the first target added marks them so, as owed to no one).
            await asyncio.sleep(timeout)
            return
        if not self._sending:
            due = await self.database.read(next_due)
            if due is not None:
                timeout = min(timeout, max(0.0, (due - self._clock()).total_seconds()))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return
        # Woken by a commit: under load, commits come by the hundred a second; a pass for each cost the
        # pushes half their rate (docs/benchmarks). The commits of the next few milliseconds share one.
        await asyncio.sleep(self.policy.gather_seconds)

    async def _send(self, claimed: Claimed) -> None:
        try:
            outcome = await self._send_one(claimed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a connector's bug must not stop the dispatcher
            log.exception("delivery %s to %s failed unexpectedly", claimed.id, claimed.target.name)
            outcome = Outcome(False, error=f"{type(exc).__name__} in the connector")
        self._outcomes.append((claimed, outcome))
        self._settle_wake.set()

    async def _send_one(self, claimed: Claimed) -> Outcome:
        limit = claimed.target.rate_limit
        if limit:
            await self._bucket(claimed.target.id, limit).take()
        return await connector_for(claimed.target.kind)(self._client, claimed)

    def _bucket(self, target_id: int, rate: int) -> _Bucket:
        """The target's token bucket; a new one once its rate limit was edited."""
        bucket = self._buckets.get(target_id)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[target_id] = _Bucket(rate)
        return bucket

    async def _heartbeat(self) -> None:
        """Renew the leases of the deliveries being sent, three times a lease: a lease runs out only when
        its dispatcher is gone (killed, or cut off from the database), never under a slow target."""
        every = self.policy.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            ids = list(self._sending)
            if not ids:
                continue
            until = self._clock() + timedelta(seconds=self.policy.lease_seconds)
            try:
                await self.database.write(partial(renew, ids=ids, worker=self.name, until=until))
            except Exception:
                log.warning("the dispatcher could not renew its leases", exc_info=True)

    async def _settle_loop(self) -> None:
        while True:
            await self._settle_wake.wait()
            self._settle_wake.clear()
            try:
                await self._settle_now()
            except Exception:
                log.exception("the dispatcher could not record delivery outcomes; trying again shortly")
                await asyncio.sleep(self.policy.idle_seconds)
                self._settle_wake.set()

    async def _settle_now(self) -> None:
        if not self._outcomes:
            return
        results, self._outcomes = self._outcomes, []
        try:
            await self.database.write(
                lambda conn: settle(conn, results, self._clock(), self.policy.backoff, self.name)
            )
        except Exception:
            self._outcomes[:0] = results
            raise
        for claimed, _ in results:
            self._sending.pop(claimed.id, None)
        self.wake()  # their pairs' next deliveries may now go


class _Bucket:
    """A token bucket: at most rate takes a second, in bursts of at most rate."""

    def __init__(self, rate: int) -> None:
        self.rate = float(rate)
        self.tokens = float(rate)
        self.stamp = asyncio.get_running_loop().time()

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


def _hook_commits(database: Database, wake: Callable[[], None]) -> Callable[[], None]:
    """Call wake after each commit (in this process) of a transaction that appended outbox events.

    SQLAlchemy's commit event comes just before the driver's commit. On the event loop (SQLite's inline
    writes) the wake is seen after the commit has finished; from PostgreSQL's writer thread a pass may
    start before it, find nothing, and the NOTIFY delivered at the commit wakes the dispatcher again.
    """
    engine = database.engine

    def committed(conn: Any) -> None:
        if conn.info.pop(OUTBOX_FLAG, False):
            wake()

    def rolled_back(conn: Any) -> None:
        conn.info.pop(OUTBOX_FLAG, None)

    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)

    def unhook() -> None:
        event.remove(engine, "commit", committed)
        event.remove(engine, "rollback", rolled_back)

    return unhook


class _Listener:
    """LISTEN on PostgreSQL for other processes' commits of outbox events, on a thread of its own."""

    def __init__(self, url: str, wake: Callable[[], None]) -> None:
        self._url = url
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="provisionhub-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _run(self) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        url = make_url(self._url).set(drivername="postgresql")
        while not self._stop.is_set():
            try:
                with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._wake()
            except Exception:
                log.warning("listening for outbox commits failed; retrying", exc_info=True)
                self._stop.wait(1.0)
