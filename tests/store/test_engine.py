"""How each database's connections are set up: what provisionhub relies on, as the server reports it."""

from __future__ import annotations

import time

import anyio
import pytest
from sqlalchemy import Connection, event, text

from provisionhub.store.database import Database

SQLITE = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": 1}


def test_connections_are_configured_as_provisionhub_needs(database: Database) -> None:
    with database.snapshot() as conn:
        if database.dialect == "sqlite":
            found = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE}
            assert (
                found == SQLITE
            )  # synchronous 1 is NORMAL: with WAL, durable at every commit but a power cut's last
        else:
            # A generic plan made while a table was empty stays a sequential scan as the table grows.
            assert conn.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "inline", "thread"])
async def test_reads_see_each_committed_write_in_every_read_mode(database_url: str, mode: str) -> None:
    database = Database(database_url, read_mode=mode)
    try:
        for n in range(3):
            await database.write(lambda conn, n=n: conn.execute(text_insert, {"name": f"read-mode-{n}"}))
            found = await database.read(lambda conn: conn.execute(text_count).scalar_one())
            assert found == n + 1
        with pytest.raises(ValueError, match="boom"):
            await database.read(_fail)
        # The kept connection's failed snapshot was rolled back: the next read works.
        assert await database.read(lambda conn: conn.execute(text_count).scalar_one()) == 3
    finally:
        database.dispose()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "inline", "thread"])
async def test_a_read_sees_one_snapshot_whatever_commits_meanwhile(database_url: str, mode: str) -> None:
    database = Database(database_url, read_mode=mode)
    other = Database(database_url)  # another process's connection
    try:

        def counted_around_a_commit(conn: Connection) -> tuple[int, int]:
            before = conn.execute(text_count).scalar_one()
            with other.transaction() as elsewhere:
                elsewhere.execute(text_insert, {"name": "read-mode-meanwhile"})
            return before, conn.execute(text_count).scalar_one()

        assert await database.read(counted_around_a_commit) == (0, 0)
        assert await database.read(lambda conn: conn.execute(text_count).scalar_one()) == 1
    finally:
        other.dispose()
        database.dispose()


@pytest.mark.anyio
async def test_concurrent_reads_on_threads_keep_their_connections_open(database_url: str) -> None:
    # Sixteen reads at once, ten times over. A pool that closes what it opened for a burst opens
    # connections all along (SQLAlchemy's default: five kept, 100 opened here).
    database = Database(database_url, read_mode="thread")
    opened: list[object] = []
    event.listen(
        database.engine, "connect", lambda dbapi_connection, _record: opened.append(dbapi_connection)
    )

    def read(conn: Connection) -> int:
        time.sleep(0.005)  # holds its connection while the others start
        return conn.execute(text_count).scalar_one()

    try:
        for _ in range(10):
            async with anyio.create_task_group() as group:
                for _ in range(16):
                    group.start_soon(database.read, read)
        assert len(opened) <= 16
    finally:
        database.dispose()


def test_an_unknown_read_mode_is_refused(database_url: str) -> None:
    with pytest.raises(ValueError, match="read_mode must be auto, inline or thread"):
        Database(database_url, read_mode="sometimes")


text_insert = text(
    "INSERT INTO login_sources (code, name, created_at) VALUES (:name, :name, CURRENT_TIMESTAMP)"
)
text_count = text("SELECT count(*) FROM login_sources WHERE code LIKE 'read-mode-%'")


def _fail(conn: Connection) -> None:
    conn.execute(text_count)
    raise ValueError("boom")
