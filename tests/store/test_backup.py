"""`provisionhub db backup FILE`: a consistent copy of the live SQLite database, made while another
connection writes; never over an existing file without --force; refused on PostgreSQL."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.backup import BackupRefused, backup_sqlite
from provisionhub.store.database import Database
from tests.provisioning.conftest import new_person


def people_in(path: Path) -> int:
    with sqlite3.connect(path) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file, no -wal needed
        return int(copy.execute("SELECT count(*) FROM people").fetchone()[0])


def people_now(database: Database) -> int:
    with database.snapshot() as conn:
        return conn.execute(select(func.count()).select_from(tables.people)).scalar_one()


def test_a_backup_made_while_another_connection_writes_is_whole(
    cli, database: Database, directory: Directory, tmp_path: Path
) -> None:
    if database.dialect != "sqlite":
        pytest.skip("db backup copies SQLite databases")
    for _ in range(200):
        new_person(directory)
    before = people_now(database)
    stop = threading.Event()
    written = 0

    def write() -> None:
        nonlocal written
        while not stop.is_set():
            new_person(directory)
            written += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written < 5:
            stop.wait(0.01)
        said = cli("db", "backup", str(tmp_path / "backup.db")).stdout
        while writer.is_alive() and written < 10:  # the writer went on past the backup: it held no lock
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()

    assert written >= 10
    assert "backed up to" in said
    assert "bytes in" in said
    copied = people_in(tmp_path / "backup.db")
    assert before + 5 <= copied <= people_now(database)
    assert stat.S_IMODE((tmp_path / "backup.db").stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".backup.db*")), "no partial file is left behind"


def test_an_existing_file_is_overwritten_only_with_force(
    cli, database: Database, directory: Directory, tmp_path: Path
) -> None:
    if database.dialect != "sqlite":
        pytest.skip("db backup copies SQLite databases")
    target = tmp_path / "backup.db"
    target.write_text("keep me")

    refused = cli("db", "backup", str(target), code=1)

    assert "exists" in refused.stderr
    assert "--force" in refused.stderr
    assert target.read_text() == "keep me"
    new_person(directory)
    cli("db", "backup", str(target), "--force")
    assert people_in(target) == 1


def test_postgresql_is_refused_with_pg_dump_named(cli, database: Database, tmp_path: Path) -> None:
    if database.dialect != "postgresql":
        pytest.skip("SQLite is backed up")

    refused = cli("db", "backup", str(tmp_path / "backup.db"), code=1)

    assert "pg_dump" in refused.stderr
    assert not (tmp_path / "backup.db").exists()


def test_a_database_file_that_is_not_there_is_refused_and_nothing_written(tmp_path: Path) -> None:
    missing = tmp_path / "var" / "provisionhub.db"

    with pytest.raises(BackupRefused, match="no SQLite database file at"):
        backup_sqlite(f"sqlite:///{missing}", tmp_path / "backup.db")

    assert list(tmp_path.iterdir()) == []
