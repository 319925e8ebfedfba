"""How each database's connections are set up: what provisionhub relies on, as the server reports it."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import anyio
import pytest
from sqlalchemy import Connection, event, text

from provisionhub.settings import Settings
from provisionhub.store.database import Database
from provisionhub.store.engine import make_engine

SQLITE = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": 1}
#: PRAGMA synchronous's answers: the level's number.
NORMAL, FULL = 1, 2


def test_connections_are_configured_as_provisionhub_needs(database: Database) -> None:
    with database.snapshot() as conn:
        if database.dialect == "sqlite":
            found = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in SQLITE}
            # synchronous 1 is NORMAL: with WAL a commit survives a killed process; the last ones before
            # a power loss or OS crash may not.
            assert found == SQLITE
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


@pytest.mark.anyio
@pytest.mark.parametrize(("level", "number"), [("FULL", FULL), ("NORMAL", NORMAL)], ids=["full", "normal"])
async def test_sqlite_synchronous_is_set_on_the_writer_the_reader_and_pooled_connections(
    tmp_path: Path, level: str, number: int
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'synchronous.db'}", sqlite_synchronous=level)
    assert await _levels_on_every_connection(database) == {number}


@pytest.mark.anyio
async def test_sqlite_synchronous_is_normal_by_default(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'synchronous.db'}")
    assert await _levels_on_every_connection(database) == {NORMAL}


@pytest.mark.anyio
async def test_from_settings_carries_sqlite_synchronous_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'synchronous.db'}")
    monkeypatch.setenv("PROVISIONHUB_SQLITE_SYNCHRONOUS", "full")
    database = Database.from_settings(Settings())
    assert await _levels_on_every_connection(database) == {FULL}


@pytest.mark.parametrize("level", ["OFF", "EXTRA", "full", "", "FULL; DROP TABLE people"])
def test_make_engine_refuses_a_synchronous_level_other_than_normal_or_full(
    tmp_path: Path, level: str
) -> None:
    # The level goes into the pragma's text: nothing but the two words may reach it.
    with pytest.raises(ValueError, match="sqlite_synchronous must be NORMAL or FULL"):
        make_engine(f"sqlite:///{tmp_path / 'synchronous.db'}", sqlite_synchronous=level)


def test_an_unknown_sqlite_synchronous_is_refused_on_every_backend(database_url: str) -> None:
    with pytest.raises(ValueError, match="sqlite_synchronous must be NORMAL or FULL"):
        Database(database_url, sqlite_synchronous="OFF")


def test_sqlite_synchronous_leaves_postgresql_durability_to_the_server(database_url: str) -> None:
    levels: list[object] = []
    for level in ("NORMAL", "FULL"):
        database = Database(database_url, sqlite_synchronous=level)
        try:
            with database.snapshot() as conn:
                if database.dialect == "sqlite":
                    levels.append(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
                else:
                    levels.append(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())
        finally:
            database.dispose()
    if database.dialect == "sqlite":
        assert levels == [NORMAL, FULL]
    else:  # the server's own synchronous_commit, whichever level was asked for
        assert levels[0] == levels[1]


text_insert = text(
    "INSERT INTO login_sources (code, name, created_at) VALUES (:name, :name, CURRENT_TIMESTAMP)"
)
text_count = text("SELECT count(*) FROM login_sources WHERE code LIKE 'read-mode-%'")


def _fail(conn: Connection) -> None:
    conn.execute(text_count)
    raise ValueError("boom")


def _synchronous(conn: Connection) -> tuple[int, int]:
    """The driver connection conn runs on (its id), and that connection's synchronous level."""
    return id(conn.connection.driver_connection), conn.exec_driver_sql("PRAGMA synchronous").scalar_one()


async def _levels_on_every_connection(database: Database) -> set[int]:
    """The levels of PRAGMA synchronous on the connections the database uses, which must be four (the
    write queue's kept one, inline reads' kept one, and two from the pool: a transaction and a
    snapshot); the database is disposed of afterwards."""
    found: list[tuple[int, int]] = []
    database.start()
    try:
        found.append(await database.write(_synchronous))  # the writer's kept connection
        found.append(await database.read(_synchronous))  # the reader's kept connection (inline, SQLite's)
        # While both are kept (stop() returns them to the pool), pooled connections are others.
        with database.transaction() as conn:
            found.append(_synchronous(conn))
            with database.snapshot() as other:
                found.append(_synchronous(other))
    finally:
        database.stop()
        database.dispose()
    by_connection = dict(found)
    assert len(by_connection) == 4  # four distinct connections, each asked
    return set(by_connection.values())


def test_a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "provisionhub.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    finally:
        engine.dispose()
    assert modes["provisionhub.db"] == 0o600
    assert modes["provisionhub.db-wal"] == 0o600
