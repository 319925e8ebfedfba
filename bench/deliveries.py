"""Delivery benchmark: provisionhub's dispatcher (inside `serve`) delivering to 4 ApiProvisioner targets
on a loopback sink (a plain ASGI app under uvicorn in a process of its own).

- Latency: OPS-COM pushes one at a time, at a steady pace; for each delivery, the time from the push's
  answer (its change committed) to the sink's receipt of the message. p50 and p99 over every delivery.
- Throughput: the targets paused, pushes queue deliveries; the targets resumed, the deliveries per
  second from the first to the last receipt. Reference: as many PUTs of a message the sink received to
  the same sink by the dispatcher's HTTP client and call alone (bench/sender.py), under the dispatcher's
  conditions: uvloop, as many in flight, on the servers' cores, timed the same way. In rounds, our server
  idle before each side's turn.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bench import host
from bench.report import BenchError, Result
from bench.rounds import median_or_none
from bench.server import REPO, Server, per_unit_us, request, serve, serve_app
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.provisioning.dispatcher import Policy
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
    rounds: int
    paced: int  # people pushed one at a time for the latency, each round
    pace: float  # pushes a second
    queued: int  # people pushed while the targets are paused, each round


@dataclass(frozen=True, slots=True)
class RateRound:
    """One round of the rate: our deliveries, their rate and our server's CPU per delivery; the
    reference sender's rate for as many, and its CPU per call."""

    deliveries: int
    rate: float
    cpu_us: float | None
    reference: float
    reference_cpu_us: float | None


FULL = Plan(rounds=5, paced=100, pace=50, queued=1_200)
QUICK = Plan(rounds=2, paced=30, pace=50, queued=200)


def run(quick: bool, database_url: str | None) -> list[Result]:
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'deliveries.db'}"
        # The sink plays the part of the targets, on the clients' cores: the dispatcher (in our server)
        # and the reference sender run on the servers'.
        sink_log = folder / "sink.log"
        with serve_app("bench.sink:create_sink", "/ready", {}, sink_log, on_client_cores=True) as sink:
            token = _prepare(url, sink.base)
            with serve(url, folder / "ours.log") as ours:
                paced = [_latencies(url, ours, sink, token, plan, n) for n in range(plan.rounds)]
                sample = folder / "sample.json"
                sample.write_text(request(sink.base, "GET", "/sample").text)
                rates: list[RateRound] = []
                for number in range(plan.rounds):
                    ours.wait_idle()
                    rate, deliveries, cpu = _throughput(url, ours, sink, token, plan, number)
                    ours.wait_idle()
                    reference, reference_cpu = _reference(sink, sample, deliveries)
                    rates.append(RateRound(deliveries, rate, cpu, reference, reference_cpu))
                    print(f"bench:   round {number}: {rate:,.0f} deliveries/s against {reference:,.0f} "
                          "PUTs/s of the reference sender", file=sys.stderr)  # fmt: skip
    latencies = [latency for one in paced for latency, _ in one]
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(f"bench:   latency p50 {p50:.1f} ms, p99 {p99:.1f} ms", file=sys.stderr)
    per_round = [([latency for latency, _ in one], one[0][1]) for one in paced]
    return [
        Result(
            "delivery_rate", "deliveries/s",
            statistics.median(r.rate for r in rates),
            statistics.median(r.reference for r in rates),
            "the dispatcher's client alone", floor=THROUGHPUT_FLOOR,
            round_ratios=tuple(r.rate / r.reference for r in rates),
            cpu_us=median_or_none([r.cpu_us for r in rates]),
            reference_cpu_us=median_or_none([r.reference_cpu_us for r in rates]),
            cpu_per="delivery",
            details={"plan": asdict(plan), "targets": TARGETS, "in_flight": Policy().in_flight,
                     "rounds": [asdict(r) for r in rates]},
        ),
        Result(
            "delivery_latency", "ms", p50, p99, "p99", lower_is_better=True, limit=LATENCY_LIMIT_MS,
            pooled=True,
            round_ratios=tuple(_percentile(one, 50) / _percentile(one, 99) for one, _ in per_round),
            cpu_us=median_or_none([cpu for _, cpu in per_round]),
            cpu_per="push and its deliveries",
            details={"plan": asdict(plan), "p50_ms": p50, "p99_ms": p99, "deliveries": len(latencies),
                     "rounds_p50_ms": [_percentile(one, 50) for one, _ in per_round]},
        ),
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


def _latencies(
    url: str, ours: Server, sink: Server, token: str, plan: Plan, number: int
) -> list[tuple[float, float | None]]:
    """One round of paced pushes: each delivery's latency (ms), with the server's CPU per push and its
    deliveries (the same figure on every item; None: unknown)."""
    ours.wait_idle()
    since = len(_arrivals(sink))
    tag = f"lat{number}x"
    committed: dict[str, float] = {}
    interval = 1 / plan.pace
    before = ours.cpu_seconds()
    for n in range(plan.paced):
        started = time.monotonic()
        _push(ours, token, n, tag)
        committed[f"{tag}{n}"] = time.time()
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    arrived = _wait_for(sink, plan.paced * TARGETS, since, 60)
    ours.wait_idle()
    cpu = per_unit_us(ours.cpu_since(before), plan.paced)
    # Each message's path ends in the person's public id (the targets' identifier type, uuid).
    latencies = []
    first_seen: dict[str, float] = {}
    for _, path, at in arrived:
        first_seen.setdefault(path, at)
    by_person = _people_by_uuid(url)
    for path, at in first_seen.items():
        name = by_person.get(path.rsplit("/", 1)[-1])
        if name in committed:
            latencies.append(((at - committed[name]) * 1000, cpu))
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


def _throughput(
    url: str, ours: Server, sink: Server, token: str, plan: Plan, number: int
) -> tuple[float, int, float | None]:
    """The targets paused, queue plan.queued pushes' deliveries; resumed, time them out. (Deliveries a
    second, first receipt to last; how many; the server's CPU per delivery meanwhile.)"""
    database = Database(url)
    try:
        since = len(_arrivals(sink))
        _pause_all(database, True)
        for n in range(plan.queued):
            _push(ours, token, n, f"rate{number}x")
        ours.wait_idle()
        before = ours.cpu_seconds()
        _pause_all(database, False)
        _push(ours, token, 0, f"wake{number}x")  # a commit wakes the dispatcher at once
        expected = (plan.queued + 1) * TARGETS
        arrived = _wait_for(sink, expected, since, 120)
        used = ours.cpu_since(before)
    finally:
        database.dispose()
    return _rate(arrived), len(arrived), per_unit_us(used, expected)


def _rate(arrived: list[tuple[str, str, float]]) -> float:
    """Calls a second from the first arrival to the last."""
    times = sorted(at for _, _, at in arrived)
    elapsed = times[-1] - times[0]
    if elapsed <= 0:
        raise BenchError("every call arrived at once: nothing to measure")
    return (len(times) - 1) / elapsed


def _pause_all(database: Database, paused: bool) -> None:
    with database.transaction() as conn:
        for n in range(TARGETS):
            set_paused(conn, f"sink-{n}", paused, "bench", datetime.now(UTC))


def _reference(sink: Server, sample: Path, count: int) -> tuple[float, float | None]:
    """The reference sender (bench/sender.py) on the servers' cores, sending count copies of a delivered
    message: its calls a second, by their arrivals at the sink, and its CPU per call."""
    before = len(_arrivals(sink))
    command = [sys.executable, "-m", "bench.sender", str(sample), sink.base, str(count)]
    done = subprocess.run(
        host.under_taskset(command, host.cores().server),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"the reference sender failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    arrived = _wait_for(sink, count, before, 60)
    return _rate(arrived), per_unit_us(json.loads(done.stdout)["cpu_seconds"], count)


def _percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[p - 1] if len(ordered) > 1 else ordered[0]
