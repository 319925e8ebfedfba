"""Directory bulk benchmark: upsert_people in batches of 1,000, against raw inserts of the very rows it
wrote (people, change log, outbox) into the migrated schema, and against raw inserts into a bare table.

A warm-up load by the directory gives the rows it writes. Each round then times all three on new SQLite
files, in turn (in the reverse order every other round): the directory; those rows inserted by
`executemany` on sqlite3 into a newly migrated database (every index, key and trigger the directory's
inserts pay for, the same pragmas: the connection is one of the engine's own); and the people's seven
text fields inserted into a table with no key, index or log. Every insert is committed per batch of
1,000 people, as the directory commits. The first reference is the floor for the same work: what storing
those rows costs with nothing of the directory's own (no matching, validation, id drawing or change
building); the bare table says what SQLite does with nothing to maintain at all.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.report import BenchError, Result
from provisionhub.directory.operations import Operations
from provisionhub.directory.people import UpsertPerson
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.engine import make_engine
from provisionhub.store.migrate import upgrade

BATCH = 1_000
FULL_COUNT = 100_000
QUICK_COUNT = 10_000
ROUNDS = 5
FIELDS = ("given_name", "family_name", "email", "username", "employee_number")
COLUMNS = ("login_source", "unique_id", *FIELDS)
REQUIRED_ON_CREATE = frozenset({"given_name", "family_name", "email"})
#: The tables a new person's upsert writes to, in the order their keys need, and each one's key.
WRITTEN = {"people": "id", "changes": "seq", "outbox": "id"}

Row = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Timed:
    """One timed load: seconds of wall time and of this process's CPU time."""

    seconds: float
    cpu_seconds: float


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


def run(quick: bool, database_url: str | None = None) -> list[Result]:
    """A warm-up load by the directory, whose rows the raw schema insert then inserts; then ROUNDS rounds
    of the directory, the raw schema insert and the bare insert, in turn and in the reverse order every
    other round (what runs first in a round must not be what always meets the host's state first), each
    on new files, removed after its round."""
    rows = make_rows(QUICK_COUNT if quick else FULL_COUNT)
    rounds: list[dict[str, Timed]] = []
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        folder = Path(tmp)
        time_directory(rows, f"sqlite:///{folder / 'warm-up.db'}")
        written = _written_rows(folder / "warm-up.db")
        loads: dict[str, Callable[[Path], Timed]] = {
            "directory": lambda path: time_directory(rows, f"sqlite:///{path}"),
            "schema": lambda path: time_schema(written, len(rows), f"sqlite:///{path}"),
            "bare": lambda path: time_raw(rows, path),
        }
        for number in range(ROUNDS):
            order = list(loads) if number % 2 == 0 else list(reversed(loads))
            timed: dict[str, Timed] = {}
            for name in order:
                path = folder / f"{name}-{number}.db"
                timed[name] = loads[name](path)
                for leftover in folder.glob(f"{path.name}*"):  # the database, its WAL and shared memory
                    leftover.unlink()
            rounds.append(timed)
            print(
                f"bench:   round {number}: directory {len(rows) / timed['directory'].seconds:,.0f} people/s, "
                f"raw into the schema {len(rows) / timed['schema'].seconds:,.0f}, "
                f"raw into a bare table {len(rows) / timed['bare'].seconds:,.0f}",
                file=sys.stderr,
            )
    return [
        _result("directory_bulk", "raw inserts of its rows", "schema", rows, rounds),
        _result("directory_bulk (bare table)", "raw sqlite3, bare table", "bare", rows, rounds),
    ]


def _result(
    name: str, reference_name: str, reference: str, rows: list[Row], rounds: list[dict[str, Timed]]
) -> Result:
    people = len(rows)

    def rates(side: str) -> list[float]:
        return [people / r[side].seconds for r in rounds]

    def cpu(side: str) -> float:
        return statistics.median(r[side].cpu_seconds * 1e6 / people for r in rounds)

    return Result(
        name=name,
        unit="people/s",
        figure=statistics.median(rates("directory")),
        reference=statistics.median(rates(reference)),
        reference_name=reference_name,
        round_ratios=tuple(r[reference].seconds / r["directory"].seconds for r in rounds),
        cpu_us=cpu("directory"),
        reference_cpu_us=cpu(reference),
        cpu_per="person",
        details={
            "people": people,
            "batch": BATCH,
            "rates": {side: rates(side) for side in ("directory", reference)},
        },
    )


def time_directory(rows: list[Row], url: str) -> Timed:
    """Upsert every row with Operations.upsert_people, one transaction per batch."""
    commands = [
        UpsertPerson(row[0], row[1], dict(zip(FIELDS, row[2:], strict=True)), REQUIRED_ON_CREATE)
        for row in rows
    ]
    database = Database(url)
    try:
        upgrade(database.engine)
        directory = Operations()
        created = 0
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(commands), BATCH):
            with database.transaction() as conn:
                results = directory.upsert_people(conn, commands[first : first + BATCH], "bench")
            created += sum(result.created for result in results)
        timed = Timed(time.perf_counter() - started, time.process_time() - cpu)
        with database.snapshot() as conn:
            stored = conn.execute(select(func.count()).select_from(tables.people)).scalar_one()
    finally:
        database.dispose()
    _check("directory", len(rows), created, stored)
    return timed


Written = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def _written_rows(path: Path) -> Written:
    """Every row of the tables the directory wrote to, by table: (its columns, its rows in id order)."""
    conn = sqlite3.connect(path)
    try:
        written: Written = {}
        for table, key in WRITTEN.items():
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY {key}")
            written[table] = ([d[0] for d in cursor.description], cursor.fetchall())
        return written
    finally:
        conn.close()


def time_schema(written: Written, people: int, url: str) -> Timed:
    """Insert the directory's rows into a newly migrated database, raw: executemany on the driver of one
    of the engine's own connections (its pragmas), each batch of BATCH people with their change-log and
    outbox rows in one transaction, as the directory committed them."""
    batches = people // BATCH + (people % BATCH > 0)
    for table, (_, table_rows) in written.items():
        if len(table_rows) != people:
            raise BenchError(f"the directory wrote {len(table_rows)} {table} rows for {people} new people")
    engine = make_engine(url)
    try:
        upgrade(engine)
        pooled = engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection
            inserts = {
                table: f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                for table, (columns, _) in written.items()
            }
            started, cpu = time.perf_counter(), time.process_time()
            for batch in range(batches):
                driver.execute("BEGIN IMMEDIATE")
                for table, (_, table_rows) in written.items():
                    driver.executemany(inserts[table], table_rows[batch * BATCH : (batch + 1) * BATCH])
                driver.execute("COMMIT")
            timed = Timed(time.perf_counter() - started, time.process_time() - cpu)
            stored = driver.execute("SELECT count(*) FROM people").fetchone()[0]
        finally:
            pooled.close()
    finally:
        engine.dispose()
    _check("raw into the schema", people, people, stored)
    return timed


def time_raw(rows: list[Row], path: Path) -> Timed:
    """executemany the rows into a bare table (no key, index, log or outbox; WAL and synchronous=NORMAL),
    one transaction per batch."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"CREATE TABLE people ({', '.join(f'{name} TEXT' for name in COLUMNS)})")
        insert = f"INSERT INTO people ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(rows), BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, rows[first : first + BATCH])
            conn.execute("COMMIT")
        timed = Timed(time.perf_counter() - started, time.process_time() - cpu)
        stored = conn.execute("SELECT count(*) FROM people").fetchone()[0]
    finally:
        conn.close()
    _check("raw into a bare table", len(rows), len(rows), stored)
    return timed


def _check(name: str, expected: int, created: int, stored: int) -> None:
    if not expected == created == stored:
        raise BenchError(f"{name}: {expected} people given, {created} created, {stored} stored")
