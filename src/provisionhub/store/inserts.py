"""Inserting many rows and learning their generated keys, fast on both backends.

SQLite: a statement's own work is tens of microseconds, while SQLAlchemy's execution machinery
(parameter building, type processing, result setup) costs several times that; on the hot path it was
most of a push's cost (bench/, README). So the INSERT is compiled once per table and column set, each
column's bind processor looked up once, and the rows go to the driver's cursor as lists, inside the
same SQLAlchemy-managed transaction.

PostgreSQL: one statement text whatever the number of rows (psycopg's pipelined executemany), so it is
parsed and planned once; generated keys come from the column's sequence beforehand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table, text
from sqlalchemy.engine import Dialect


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values, in the statement's order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor), where one exists


_NEXT_KEYS = text("SELECT nextval(pg_get_serial_sequence(:table, :column)) FROM generate_series(1, :count)")


@lru_cache(maxsize=256)
def _compiled(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> _Compiled:
    """The INSERT of these columns into table, for dialect, and how to turn a row into its parameters."""
    statement = table.insert().compile(dialect=dialect, column_keys=list(columns))
    assert statement.positional, "insert_many's fast path serves SQLite's positional parameters"
    order = tuple(statement.positiontup or ())  # the table's column order, not ours
    # The dialect's own processors, as SQLAlchemy's execution uses them: the generic type's would hand
    # the driver datetime objects, stored in another text form than SQLAlchemy's.
    processors = tuple(
        (position, _remembering(processor) if _is_time(table, name) else processor)
        for position, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    getter = itemgetter(*order)
    values = getter if len(order) > 1 else lambda row: (getter(row),)
    return _Compiled(str(statement), values, processors)


def _is_time(table: Table, name: str) -> bool:
    column_type = table.c[name].type
    return isinstance(getattr(column_type, "impl", column_type), DateTime | Date)


def _remembering(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """processor, answering again at once for the same object as last time. The rows of a batch share
    one timestamp object (its `now`), which then is converted once; timestamps are immutable."""
    last: tuple[Any, Any] = (object(), None)

    def process(value: Any) -> Any:
        nonlocal last
        seen, converted = last  # one tuple, swapped whole: safe if two threads share the statement
        if value is not seen:
            converted = processor(value)
            last = (value, converted)
        return converted

    return process


def append_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (each with the same keys) when nobody needs their keys back."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), list(rows))
        return
    cursor = _sqlite_insert(conn, table, rows)
    cursor.close()


def _sqlite_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> Any:
    (key,) = table.primary_key.columns
    columns = tuple(name for name in rows[0] if name != key.name)
    compiled = _compiled(table, conn.dialect, columns)
    values = []
    for row in rows:
        row_values = list(compiled.values(row))
        for position, processor in compiled.processors:
            if row_values[position] is not None:
                row_values[position] = processor(row_values[position])
        values.append(row_values)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(compiled.sql, values)
    except BaseException:
        cursor.close()
        raise
    return cursor


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows (each with the same keys); return their new primary keys, in the order of rows.

    PostgreSQL: the keys are taken from the column's sequence first. SQLite: the rows go in first and
    the keys are derived: writers hold the database lock for the whole transaction (BEGIN IMMEDIATE)
    and our tables use AUTOINCREMENT, so the keys of rows inserted one after another are consecutive
    and end at last_insert_rowid().
    """
    if not rows:
        return []
    (key,) = table.primary_key.columns
    if conn.dialect.name != "sqlite":
        # Keys from the sequence in one static query, then one static INSERT for psycopg's pipelined
        # executemany: a multi-row VALUES ... RETURNING would be a new statement text (parsed and planned
        # again) for every batch size.
        parameters = {"table": table.name, "column": key.name, "count": len(rows)}
        keys = list(conn.execute(_NEXT_KEYS, parameters).scalars())
        conn.execute(table.insert(), [{**row, key.name: k} for row, k in zip(rows, keys, strict=True)])
        return keys
    cursor = _sqlite_insert(conn, table, rows)
    try:
        (last,) = cursor.execute("SELECT last_insert_rowid()").fetchone()
    finally:
        cursor.close()
    return list(range(last - len(rows) + 1, last + 1))
