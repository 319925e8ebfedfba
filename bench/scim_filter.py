"""The SCIM benchmark's filter latency: `userName eq "..."` lists, one request after another on one
kept-alive connection, against a database of SCIM people seeded through the Directory."""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select

from bench.report import BenchError
from bench.server import per_unit_us
from provisionhub.dialects.scim.access import DEFAULT_SOURCE
from provisionhub.directory.operations import Operations
from provisionhub.directory.people import UpsertPerson
from provisionhub.store import tables
from provisionhub.store.database import Database

SEED_BATCH = 1_000
WARMUP_REQUESTS = 100


@dataclass(frozen=True, slots=True)
class Latency:
    """One stage: the people stored, the p99 and p50 of each round (ms), the p99 of every measured
    request of every round together (the figure: fifty requests above it in 5,000, not ten in 1,000), and
    the server's CPU time per request (µs; None: unknown)."""

    people: int
    p99_ms: list[float]
    p50_ms: list[float]
    pooled_p99_ms: float
    cpu_us: float | None

    @property
    def p99(self) -> float:
        return self.pooled_p99_ms


def username(nonce: str, n: int) -> str:
    return f"filter-{nonce}-{n}@bench.example.org"


def seed(url: str, nonce: str, start: int, stop: int) -> int:
    """Upsert SCIM people start..stop-1 (as SCIM creates them: login source SCIM, a userName), in batches
    of SEED_BATCH, each one transaction; return how many people the database now holds."""
    database = Database(url)
    try:
        directory = Operations()
        began = time.perf_counter()
        for first in range(start, stop, SEED_BATCH):
            commands = [
                UpsertPerson(
                    DEFAULT_SOURCE,
                    f"filter-{nonce}-{n}",
                    {
                        "username": username(nonce, n),
                        "given_name": "Barbara",
                        "family_name": f"Jensen {n}",
                        "email": username(nonce, n),
                    },
                    frozenset({"username"}),
                )
                for n in range(first, min(first + SEED_BATCH, stop))
            ]
            with database.transaction() as conn:
                directory.upsert_people(conn, commands, "bench")
        seconds = time.perf_counter() - began
        analyze(database)
        with database.snapshot() as conn:
            stored = int(conn.execute(select(func.count()).select_from(tables.people)).scalar_one())
    finally:
        database.dispose()
    print(
        f"bench:   seeded {stop - start:,} SCIM people in {seconds:.1f} s ({stored:,} stored)",
        file=sys.stderr,
    )
    return stored


@dataclass(frozen=True, slots=True)
class Target:
    """A server to filter on: its base URL, its Authorization header's value, and the userNames it holds."""

    base: str
    authorization: str
    names: Sequence[str]


def analyze(database: Database) -> None:
    """On PostgreSQL, ANALYZE: what autovacuum does some time after a load, done here at once (and done
    at all where autovacuum is off; see store/upkeep.py)."""
    if database.dialect == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def measure(targets: Sequence[Target], rounds: int, requests: int) -> list[list[list[float]]]:
    """Per target, per round, each request's latency in ms: a filter on a userName drawn from the target's
    names, answered 200 with exactly that one User. The targets take turns request by request (in one
    order, then the other), so that each sees the same moments of the host's load; WARMUP_REQUESTS each
    come first and are not counted."""
    chosen = random.Random(sum(len(target.names) for target in targets))
    latencies: list[list[list[float]]] = [[] for _ in targets]
    clients = [
        httpx.Client(base_url=target.base, headers={"Authorization": target.authorization}, timeout=30)
        for target in targets
    ]
    try:
        for number in range(-1, rounds):
            measured: list[list[float]] = [[] for _ in targets]
            for turn in range(WARMUP_REQUESTS if number < 0 else requests):
                order = range(len(targets)) if turn % 2 == 0 else reversed(range(len(targets)))
                for index in order:
                    measured[index].append(_filter_once(clients[index], chosen.choice(targets[index].names)))
            if number >= 0:
                for index, latency in enumerate(measured):
                    latencies[index].append(latency)
    finally:
        for client in clients:
            client.close()
    return latencies


def _filter_once(client: httpx.Client, name: str) -> float:
    """One filter on name, checked; its latency in ms."""
    params = {"filter": f'userName eq "{name}"'}
    began = time.perf_counter()
    response = client.get("/scim/v2/Users", params=params)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200 or response.json().get("totalResults") != 1:
        raise BenchError(f"filter on {name}: {response.status_code} {response.text[:1000]}")
    return elapsed


def stage(people: int, latencies: list[list[float]], cpu_seconds: float | None) -> Latency:
    """The p99 and p50 of each round's latencies, the p99 of all of them, and the server's CPU per
    request from the CPU seconds it used for them (the warm-up's requests too)."""
    requests = sum(len(round_) for round_ in latencies) + WARMUP_REQUESTS
    return Latency(
        people=people,
        p99_ms=[_p99(round_) for round_ in latencies],
        p50_ms=[statistics.median(round_) for round_ in latencies],
        pooled_p99_ms=_p99([latency for round_ in latencies for latency in round_]),
        cpu_us=per_unit_us(cpu_seconds, requests),
    )


def _p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98]
