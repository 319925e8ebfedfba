"""`db backup`: a copy of a live SQLite database through SQLite's online backup API, consistent while
other connections write. PostgreSQL has its own tool for this (pg_dump)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from provisionhub.store.engine import create_private, sqlite_file


class BackupRefused(Exception):
    """The backup cannot be made as asked; the message says why and what to do."""


def backup_sqlite(url: str, file: Path, *, force: bool = False) -> int:
    """Copy the SQLite database at url into file (created 0600; an existing file only with force); the
    backup's size in bytes."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupRefused(
            "db backup copies SQLite databases; back up PostgreSQL with pg_dump "
            "(pg_dump --format=custom --file=FILE DATABASE)"
        )
    source = sqlite_file(url)
    if source is None or not source.exists():
        raise BackupRefused(f"no SQLite database file at {parsed.database or '(memory)'}")
    if file.exists() and not force:
        raise BackupRefused(f"{file} exists; choose another file, or overwrite it with --force")
    partial = file.with_name(f".{file.name}.partial")
    partial.unlink(missing_ok=True)
    create_private(partial)  # the copy holds every person and every credential's hash
    try:
        live = sqlite3.connect(source, timeout=30)
        try:
            target = sqlite3.connect(partial)
            try:
                # In one step: a read transaction on the source, which in WAL mode holds no writer back.
                # In small steps, each write by another connection would start the copy over.
                live.backup(target)
                # A single file, readable without its -wal beside it.
                target.execute("PRAGMA journal_mode=DELETE")
            finally:
                target.close()
        finally:
            live.close()
        partial.replace(file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return file.stat().st_size
