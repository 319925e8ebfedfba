"""Engines for SQLite (the embedded default) and PostgreSQL, set up the way provisionhub needs them."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any, get_args

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from provisionhub.settings import DEFAULT_DATABASE_POOL_SIZE, SqliteSynchronous
from provisionhub.store.driver import without_detail

#: Execution option that marks a connection as a writer: on SQLite its transactions take the write
#: lock up front (BEGIN IMMEDIATE), so a read-then-write never fails halfway on a busy database.
WRITE = "provisionhub_write"


#: The synchronous levels make_engine sets on SQLite (settings.SqliteSynchronous says what each means).
SQLITE_SYNCHRONOUS_LEVELS: tuple[str, ...] = get_args(SqliteSynchronous)


def make_engine(
    url: str,
    *,
    pool_size: int = DEFAULT_DATABASE_POOL_SIZE,
    sqlite_synchronous: str = "NORMAL",
    **kwargs: Any,
) -> Engine:
    """An Engine for url, whose pool keeps pool_size connections open (as many again in a burst). SQLite
    gets WAL at the sqlite_synchronous level (NORMAL or FULL), a busy timeout, foreign keys and real
    transactions; PostgreSQL ignores sqlite_synchronous (its durability is the server's
    synchronous_commit), though a value other than NORMAL or FULL is refused there too (ValueError).

    Statement parameters, and PostgreSQL's DETAIL (which repeats a refused row), are kept out of logs and
    exception messages: they carry dates of birth and driver's licences, which must never reach a log
    line.
    """
    # The level goes into the pragma's text (a pragma takes no parameters): only a known word may.
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS_LEVELS:
        levels = " or ".join(SQLITE_SYNCHRONOUS_LEVELS)
        raise ValueError(f"sqlite_synchronous must be {levels}, not {sqlite_synchronous!r}")
    synchronous = f"PRAGMA synchronous={sqlite_synchronous}"
    kwargs.setdefault("hide_parameters", True)
    # JSON columns (the change log's fields, token permissions) through orjson: several times faster
    # than the standard library on the write path, and the same documents.
    kwargs.setdefault("json_serializer", _json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # executemany goes to psycopg as one statement text (pipelined), not rewritten by SQLAlchemy
        # into multi-row VALUES whose text, and so whose plan, differs with every batch size.
        kwargs.setdefault("use_insertmanyvalues", False)
        # psycopg prepares a statement once it has run five times, and PostgreSQL then keeps one generic
        # plan for it. Planned while a table is empty (a new install's first load), that plan is a
        # sequential scan, kept while the table grows: the batch match query slowed with every row.
        # Custom plans are made for each execution from the table's current size, and planning costs
        # far less than such a scan (docs/benchmarks).
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args["options"] = f"{connect_args.get('options', '')} -c plan_cache_mode=force_custom_plan"
        engine = create_engine(url, pool_pre_ping=True, **_pool(pool_size), **kwargs)

        @event.listens_for(engine, "handle_error")
        def _hide_row_values(context: Any) -> None:
            without_detail(context.original_exception)
            if context.sqlalchemy_exception is not None:  # its text was made from the driver's
                without_detail(context.sqlalchemy_exception)

        return engine

    _bind_null_directly()
    file = sqlite_file(url)
    if file is not None:
        create_private(file)
        kwargs.update(_pool(pool_size))  # a file's pool; a database in memory has one per thread
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(synchronous)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # SQLite's default page cache is 2 MiB: far too small once a directory's indexes outgrow it,
        # and every insert then reads back the index pages it touches.
        cursor.execute("PRAGMA cache_size=-65536")  # KiB: 64 MiB per connection, allocated as used
        cursor.execute("PRAGMA mmap_size=268435456")  # 256 MiB of the file read through the page cache
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        writer = connection.get_execution_options().get(WRITE, False)
        # Seam, pinned: driver_connection; pysqlite leaves BEGIN to us (tests/store/test_library_seams.py).
        driver = connection.connection.driver_connection
        if driver.in_transaction:  # begun on the driver (a kept reader's snapshot): SQLAlchemy joins it
            return
        # Straight to the driver: SQLAlchemy's statement machinery cost more than BEGIN itself.
        driver.execute("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def _pool(size: int) -> dict[str, int]:
    """The pool's arguments: size connections kept, as many again opened for a burst."""
    return {"pool_size": size, "max_overflow": size}


def _bind_null_directly() -> None:
    """Register None -> None as the sqlite3 module's adapter for None.

    With no adapter registered for a parameter's type, sqlite3 (CPython 3.11) looks for `__adapt__` on
    its protocol and `__conform__` on the value before binding it as it is, and each miss raises an
    AttributeError inside the driver: a None parameter cost several times a text one, and a person row
    is forty-odd columns, many of them empty (docs/benchmarks).
    The adapter is a C function that answers None for any argument: `{}.get`. Adapters are global to
    the sqlite3 module; this one changes no value, so every other user of the module binds as before.
    """
    sqlite3.register_adapter(type(None), _NONE)


#: A C-level callable returning None for any one argument (a lookup in an empty dict).
_NONE: Any = {}.get


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for another database, one in memory, or a `file:` URI
    (whose options SQLite reads, not we)."""
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    return Path(name)


def create_private(path: Path) -> None:
    """A new file made readable and writable by its owner only (0600), before a byte is written: a SQLite
    database (SQLite gives its -wal and -shm files the database file's permissions) or a copy of one,
    each holding people's personal data. An existing file is left as its owner set it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
