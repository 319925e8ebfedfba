"""Delivery benchmark: provisionhub's dispatcher (inside `serve`) delivering to 4 ApiProvisioner targets
on a loopback sink (a plain ASGI app under uvicorn in a process of its own).

- Latency: OPS-COM pushes one at a time, at a steady pace; for each delivery, the time from the push's
  answer (its change committed) to the sink's receipt of the message. p50 and p99 over every delivery.
- Throughput: the targets paused, pushes queue deliveries; the targets resumed, the deliveries per
  second from the first to the last receipt. Reference: as many PUTs of a message to the same sink by the
  dispatcher's HTTP client alone, in this process, 64 at a time: the ceiling of sending.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.report import BenchError, Result
from bench.server import Server, request, serve, serve_app
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.provisioning.calls import client_session
from provisionhub.provisioning.targets import AddTarget, Kind, Mode, add_target, set_paused
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade

TARGETS = 4
PUSH = "/opscom/api/OC_TOMA/v1/profiles/push"
THROUGHPUT_FLOOR = 1_000.0
LATENCY_LIMIT_MS = 50.0


@dataclass(frozen=True, slots=True)
class Plan:
    paced: int  # people pushed one at a time for the latency
    pace: float  # pushes a second
    queued: int  # people pushed while the targets are paused


FULL = Plan(paced=500, pace=50, queued=2_000)
QUICK = Plan(paced=100, pace=50, queued=400)


def run(quick: bool, database_url: str | None) -> list[Result]:
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'deliveries.db'}"
        with serve_app("bench.sink:create_sink", "/ready", {}, folder / "sink.log") as sink:
            token = _prepare(url, sink.base)
            with serve(url, folder / "ours.log") as ours:
                latencies = _latencies(url, ours, sink, token, plan)
                rate, rate_details = _throughput(url, ours, sink, token, plan)
            reference = asyncio.run(_reference(sink, rate_details["deliveries"]))
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(f"bench:   latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; {rate:,.0f} deliveries/s "
          f"against {reference:,.0f} plain PUTs/s", file=sys.stderr)  # fmt: skip
    details = {"plan": asdict(plan), "targets": TARGETS, **rate_details}
    return [
        Result("delivery_rate", "deliveries/s", rate, reference, "plain PUTs to the sink",
               details=details, floor=THROUGHPUT_FLOOR),
        Result("delivery_latency", "ms", p50, p99, "p99", lower_is_better=True, limit=LATENCY_LIMIT_MS,
               details={"plan": asdict(plan), "p50_ms": p50, "p99_ms": p99, "deliveries": len(latencies)}),
    ]  # fmt: skip


def _prepare(url: str, sink: str) -> str:
    database = Database(url)
    try:
        upgrade(database.engine)
        with database.transaction() as conn:
            now = datetime.now(UTC)
            for n in range(TARGETS):
                add_target(
                    conn, AddTarget(f"sink-{n}", Kind.APIPROVISIONER, f"{sink}/t{n}", Mode.PUT), "bench", now
                )
            return create_token(conn, "bench-deliveries", [Permission.USER_CREATE], actor="bench")
    finally:
        database.dispose()


def _push(server: Server, token: str, n: int, tag: str) -> None:
    body = {
        "apiToken": token,
        "unique_id": f"{tag}-{n}",
        "login_source": "OPSCOM",
        "first_name": "Del",
        "last_name": f"Ivery{n}",
        "user_name": f"{tag}{n}",
        "email": f"{tag}{n}@bench.example.org",
    }
    answer = request(
        server.base, "POST", PUSH, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    if answer.status != 200:
        raise BenchError(f"a push answered {answer.status}: {answer.text[:500]}")


def _arrivals(sink: Server, since: int = 0) -> list[tuple[str, str, float]]:
    answer = request(sink.base, "GET", f"/stats?since={since}")
    return [tuple(item) for item in answer.json]  # type: ignore[misc]


def _wait_for(sink: Server, count: int, since: int, timeout: float) -> list[tuple[str, str, float]]:
    deadline = time.monotonic() + timeout
    while True:
        found = _arrivals(sink, since)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise BenchError(f"{len(found)} of {count} deliveries arrived within {timeout:.0f} s")
        time.sleep(0.2)


def _latencies(url: str, ours: Server, sink: Server, token: str, plan: Plan) -> list[float]:
    committed: dict[str, float] = {}
    interval = 1 / plan.pace
    for n in range(plan.paced):
        started = time.monotonic()
        _push(ours, token, n, "lat")
        committed[f"lat{n}"] = time.time()
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    arrived = _wait_for(sink, plan.paced * TARGETS, 0, 60)
    # Each message's path ends in the person's public id (the targets' identifier type, uuid).
    latencies = []
    first_seen: dict[str, float] = {}
    for _, path, at in arrived:
        first_seen.setdefault(path, at)
    by_person = _people_by_uuid(url)
    for path, at in first_seen.items():
        name = by_person.get(path.rsplit("/", 1)[-1])
        if name in committed:
            latencies.append((at - committed[name]) * 1000)
    if len(latencies) < plan.paced * TARGETS:
        raise BenchError(f"only {len(latencies)} deliveries could be matched to their pushes")
    return latencies


def _people_by_uuid(url: str) -> dict[str, str]:
    """{public id: username} of everyone stored, read from the database the server uses."""
    database = Database(url)
    try:
        with database.snapshot() as conn:
            rows = conn.execute(select(tables.people.c.public_id, tables.people.c.username)).all()
    finally:
        database.dispose()
    return {public_id: username for public_id, username in rows}


def _throughput(url: str, ours: Server, sink: Server, token: str, plan: Plan) -> tuple[float, dict[str, Any]]:
    database = Database(url)
    try:
        before = len(_arrivals(sink))
        _pause_all(database, True)
        for n in range(plan.queued):
            _push(ours, token, n, "rate")
        _pause_all(database, False)
        _push(ours, token, 0, "wake")  # a commit wakes the dispatcher at once
        expected = (plan.queued + 1) * TARGETS
        arrived = _wait_for(sink, expected, before, 120)
    finally:
        database.dispose()
    times = sorted(at for _, _, at in arrived)
    elapsed = times[-1] - times[0]
    if elapsed <= 0:
        raise BenchError("every delivery arrived at once: nothing to measure")
    return (len(times) - 1) / elapsed, {"deliveries": len(times), "seconds": elapsed}


def _pause_all(database: Database, paused: bool) -> None:
    with database.transaction() as conn:
        for n in range(TARGETS):
            set_paused(conn, f"sink-{n}", paused, "bench", datetime.now(UTC))


async def _reference(sink: Server, count: int) -> float:
    """PUTs/s of a plain client (the dispatcher's own, calls.client_session) sending count messages to the
    sink, 64 at a time: the ceiling of sending alone, with no queue, database or message to build."""
    body = json.dumps({"meta": {"version": "1.0.0", "objectType": "person"},
                       "person": {"meta": {"id": "x"}, "status": "active"}}).encode()  # fmt: skip
    semaphore = asyncio.Semaphore(64)
    async with client_session(30.0, 64) as client:

        async def one(n: int) -> None:
            async with (
                semaphore,
                client.put(
                    f"{sink.base}/ref/{n}", data=body, headers={"Content-Type": "application/json"}
                ) as answer,
            ):
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return count / (time.perf_counter() - started)


def _percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[p - 1] if len(ordered) > 1 else ordered[0]
