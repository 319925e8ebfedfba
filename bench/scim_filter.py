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
from provisionhub.dialects.scim.access import DEFAULT_SOURCE
from provisionhub.directory.people import UpsertPerson
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database

SEED_BATCH = 1_000
WARMUP_REQUESTS = 100


@dataclass(frozen=True, slots=True)
class Latency:
    """One stage's rounds: the p99 of each round (ms), their median, and the people stored."""

    people: int
    p99_ms: list[float]
    p50_ms: list[float]

    @property
    def p99(self) -> float:
        return statistics.median(self.p99_ms)


def username(nonce: str, n: int) -> str:
    return f"filter-{nonce}-{n}@bench.example.org"


def seed(url: str, nonce: str, start: int, stop: int) -> int:
    """Upsert SCIM people start..stop-1 (as SCIM creates them: login source SCIM, a userName), in batches
    of SEED_BATCH, each one transaction; return how many people the database now holds."""
    database = Database(url)
    try:
        directory = Directory(database)
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
        with database.snapshot() as conn:
            stored = int(conn.execute(select(func.count()).select_from(tables.people)).scalar_one())
    finally:
        database.dispose()
    print(
        f"bench:   seeded {stop - start:,} SCIM people in {seconds:.1f} s ({stored:,} stored)",
        file=sys.stderr,
    )
    return stored


def measure(
    base: str, authorization: str, names: Sequence[str], rounds: int, requests: int
) -> list[list[float]]:
    """Per round, each request's latency in ms: a filter on a userName drawn from names, answered
    200 with exactly that one User, requests after WARMUP_REQUESTS that are not counted."""
    chosen = random.Random(len(names))
    latencies: list[list[float]] = []
    with httpx.Client(base_url=base, headers={"Authorization": authorization}, timeout=30) as client:
        for number in range(-1, rounds):
            measured: list[float] = []
            for _ in range(WARMUP_REQUESTS if number < 0 else requests):
                name = chosen.choice(names)
                params = {"filter": f'userName eq "{name}"'}
                began = time.perf_counter()
                response = client.get("/scim/v2/Users", params=params)
                measured.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200 or response.json().get("totalResults") != 1:
                    raise BenchError(f"filter on {name}: {response.status_code} {response.text[:1000]}")
            if number >= 0:
                latencies.append(measured)
    return latencies


def stage(people: int, latencies: list[list[float]]) -> Latency:
    """The p99 and p50 of each round's latencies."""
    return Latency(
        people=people,
        p99_ms=[statistics.quantiles(round_, n=100)[98] for round_ in latencies],
        p50_ms=[statistics.median(round_) for round_ in latencies],
    )
