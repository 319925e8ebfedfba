"""Storage faults a test injects: every INSERT into one table fails, inside the database itself.

A trigger, not a SQLAlchemy event: the change log's and the outbox's rows go to the driver's own cursor
(store/inserts.py), past SQLAlchemy's before_cursor_execute, and whichever way a future version sends
them, the database still refuses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from provisionhub.store import tables
from provisionhub.store.database import Database

FAULT = "injected fault"
_FUNCTION = "provisionhub_test_injected_fault"


@contextmanager
def failing_inserts(database: Database, table: str) -> Iterator[None]:
    """While the block runs, every INSERT into table raises (SQLite and PostgreSQL alike)."""
    if table not in tables.metadata.tables:
        raise ValueError(f"no table {table}")
    trigger = f"{table}_{_FUNCTION}"
    if database.dialect == "sqlite":
        create = [
            f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, '{FAULT}'); END"
        ]
        drop = [f"DROP TRIGGER IF EXISTS {trigger}"]
    else:
        create = [
            f"CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{FAULT}'; END $$",
            f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_FUNCTION}()",
        ]
        drop = [f"DROP TRIGGER IF EXISTS {trigger} ON {table}", f"DROP FUNCTION IF EXISTS {_FUNCTION}()"]
    _run(database, create)
    try:
        yield
    finally:
        _run(database, drop)


def _run(database: Database, statements: list[str]) -> None:
    with database.transaction() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def contents(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in an order that does not depend on the backend's: what a test compares
    before and after a write that must have left no trace."""
    with database.snapshot() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for table in tables.metadata.sorted_tables
        }
