"""Directory bulk benchmark: upsert_people in batches of 1,000 against raw sqlite3 executemany of the rows."""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.report import BenchError, Result
from provisionhub.directory.operations import Operations
from provisionhub.directory.people import UpsertPerson
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade

BATCH = 1_000
FULL_COUNT = 100_000
QUICK_COUNT = 10_000
RAW_REPEATS = 3
FIELDS = ("given_name", "family_name", "email", "username", "employee_number")
COLUMNS = ("login_source", "unique_id", *FIELDS)
REQUIRED_ON_CREATE = frozenset({"given_name", "family_name", "email"})

Row = tuple[str, ...]


def make_rows(count: int) -> list[Row]:
    """count distinct people, in COLUMNS order."""
    return [
        (
            "OPSCOM",
            f"person-{i:06d}",
            f"Given{i}",
            f"Family{i}",
            f"person{i}@example.org",
            f"person{i}",
            f"E{i:06d}",
        )
        for i in range(count)
    ]


def run(quick: bool, database_url: str | None = None) -> Result:
    """Time the directory once and the raw inserts RAW_REPEATS times (median), on fresh temp files."""
    rows = make_rows(QUICK_COUNT if quick else FULL_COUNT)
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        raw = [len(rows) / time_raw(rows, Path(tmp) / f"raw-{n}.db") for n in range(RAW_REPEATS)]
        print(f"bench:   raw sqlite3: {statistics.median(raw):,.0f} people/s", file=sys.stderr)
        directory = len(rows) / time_directory(rows, f"sqlite:///{Path(tmp) / 'directory.db'}")
        print(f"bench:   directory: {directory:,.0f} people/s", file=sys.stderr)
    return Result(
        name="directory_bulk",
        unit="people/s",
        figure=directory,
        reference=statistics.median(raw),
        reference_name="raw sqlite3",
        details={"people": len(rows), "batch": BATCH, "raw_runs": raw},
    )


def time_directory(rows: list[Row], url: str) -> float:
    """Seconds to upsert every row with Directory.upsert_people, one transaction per batch."""
    commands = [
        UpsertPerson(row[0], row[1], dict(zip(FIELDS, row[2:], strict=True)), REQUIRED_ON_CREATE)
        for row in rows
    ]
    database = Database(url)
    try:
        upgrade(database.engine)
        directory = Operations()
        created = 0
        start = time.perf_counter()
        for first in range(0, len(commands), BATCH):
            with database.transaction() as conn:
                results = directory.upsert_people(conn, commands[first : first + BATCH], "bench")
            created += sum(result.created for result in results)
        elapsed = time.perf_counter() - start
        with database.snapshot() as conn:
            stored = conn.execute(select(func.count()).select_from(tables.people)).scalar_one()
    finally:
        database.dispose()
    _check("directory", len(rows), created, stored)
    return elapsed


def time_raw(rows: list[Row], path: Path) -> float:
    """Seconds to executemany the rows into a plain table (same pragmas), one transaction per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"CREATE TABLE people ({', '.join(f'{name} TEXT' for name in COLUMNS)})")
        insert = f"INSERT INTO people ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        start = time.perf_counter()
        for first in range(0, len(rows), BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows[first : first + BATCH])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        stored = conn.execute("SELECT count(*) FROM people").fetchone()[0]
    finally:
        conn.close()
    _check("raw sqlite3", len(rows), len(rows), stored)
    return elapsed


def _check(name: str, expected: int, created: int, stored: int) -> None:
    if not expected == created == stored:
        raise BenchError(f"{name}: {expected} people given, {created} created, {stored} stored")
