"""Inserting many rows and learning their generated keys, fast on both backends.

SQLite: a statement's own work is tens of microseconds, while SQLAlchemy's execution machinery
(parameter building, type processing, result setup) costs several times that; on the hot path it was
most of a push's cost (docs/benchmarks). So the INSERT is compiled once per table and column set, each
column's bind processor looked up once, and the rows go to the driver's cursor as lists, inside the
same SQLAlchemy-managed transaction.

PostgreSQL: each column's values travel as one array and the rows come out of unnest(), so a batch is
one statement, one round trip and one execution whatever its size, with one statement text (parsed and
planned once). Row by row (even pipelined) the server executed one INSERT per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table
from sqlalchemy.engine import Dialect

from provisionhub.store.driver import driver_cursor

#: SQLite: rows go in this many to a statement (INSERT ... VALUES (...), (...), ...), the rest one by one.
#: Each execution of an INSERT has a fixed cost beside its rows' (a table with AUTOINCREMENT reads and
#: writes its counter in sqlite_sequence once per statement, and the driver steps and resets it), so
#: batches of rows share it: a hundred to a statement halved the time of a thousand (docs/benchmarks).
_ROWS_PER_STATEMENT = 100
#: The fewest parameters any SQLite allows in one statement (SQLITE_MAX_VARIABLE_NUMBER before 3.32).
_MOST_PARAMETERS = 999


#: Turns a column's values into what the driver gets (None stays None).
Converter = Callable[[Sequence[Any]], list[Any]]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values, in the statement's order
    converters: tuple[tuple[int, Converter], ...]  # (position, converter), where the column's type has one
    rows_per_statement: int = 1
    sql_of_many: str = ""  # SQLite: the INSERT of rows_per_statement rows


@lru_cache(maxsize=256)
def _compiled(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> _Compiled:
    """The INSERT of these columns into table, for dialect, and how to turn a row into its parameters."""
    if dialect.name == "postgresql":
        return _unnest_insert(table, dialect, columns)
    # Seam, pinned: the compiled INSERT's positiontup and text (tests/store/test_library_seams.py).
    statement = table.insert().compile(dialect=dialect, column_keys=list(columns))
    assert statement.positional, "insert_many's fast path serves SQLite's positional parameters"
    order = tuple(statement.positiontup or ())  # the table's column order, not ours
    sql = str(statement)
    row = "(" + ", ".join("?" * len(order)) + ")"
    assert sql.endswith(f" VALUES {row}"), sql
    count = max(1, min(_ROWS_PER_STATEMENT, _MOST_PARAMETERS // len(order)))
    return _Compiled(
        sql, _getter(order), _converters(table, dialect, order), count, sql + f", {row}" * (count - 1)
    )


def _unnest_insert(table: Table, dialect: Dialect, columns: tuple[str, ...]) -> _Compiled:
    """INSERT ... SELECT FROM unnest(one array per column) WITH ORDINALITY ORDER BY it, RETURNING the
    key: the rows go in in their order, so their keys, drawn from the sequence as they go in, ascend."""
    quote = dialect.identifier_preparer.quote
    (key,) = table.primary_key.columns
    names = [f"c{position}" for position in range(len(columns))]
    # Seam, pinned: psycopg sends a list through %b as an array (tests/store/test_library_seams.py).
    arrays = ", ".join(f"%b::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "  # noqa: S608 (names from our schema)
        f"({', '.join(quote(name) for name in columns)}) "
        f"SELECT {', '.join(names)} FROM unnest({arrays}) WITH ORDINALITY AS rows({', '.join(names)}, n) "
        f"ORDER BY n RETURNING {quote(key.name)}"
    )
    return _Compiled(sql, _getter(columns), _converters(table, dialect, columns))


def _getter(order: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    getter = itemgetter(*order)
    return getter if len(order) > 1 else lambda row: (getter(row),)


def _converters(table: Table, dialect: Dialect, order: tuple[str, ...]) -> tuple[tuple[int, Converter], ...]:
    # The dialect's own processors, as SQLAlchemy's execution uses them: the generic type's would hand
    # the driver datetime objects, stored in another text form than SQLAlchemy's.
    return tuple(
        (position, _each_distinct(processor) if _is_time(table, name) else _each(processor))
        for position, name in enumerate(order)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )


def _is_time(table: Table, name: str) -> bool:
    column_type = table.c[name].type
    return isinstance(getattr(column_type, "impl", column_type), DateTime | Date)


def _each(processor: Callable[[Any], Any]) -> Converter:
    def convert(values: Sequence[Any]) -> list[Any]:
        return [None if value is None else processor(value) for value in values]

    return convert


def _each_distinct(processor: Callable[[Any], Any]) -> Converter:
    """For timestamps and dates: each distinct value converted once. The rows of a batch share one
    timestamp (its `now`), so a column of a thousand is one conversion, and the rest lookups in C."""

    def convert(values: Sequence[Any]) -> list[Any]:
        converted = {value: processor(value) for value in set(values) if value is not None}
        return list(map(converted.get, values))

    return convert


def append_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows (each with the same keys) when nobody needs their keys back."""
    if rows:
        _insert(conn, table, rows, keys=False)


def insert_many(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> list[int]:
    """Insert rows (each with the same keys); return their new primary keys, in the order of rows.

    columns: the columns to write, if not every key of the rows (those left out take their default).

    PostgreSQL: the keys come back from the INSERT, ascending in the order the rows went in. SQLite:
    writers hold the database lock for the whole transaction (BEGIN IMMEDIATE) and our tables use
    AUTOINCREMENT, so the keys of rows inserted one after another are consecutive and end at
    last_insert_rowid().
    """
    return _insert(conn, table, rows, columns, keys=True) if rows else []


def _insert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None = None,
    *,
    keys: bool,
) -> list[int]:
    """Run the INSERT on the driver's cursor, inside the SQLAlchemy transaction; the keys if asked."""
    (key,) = table.primary_key.columns
    names = tuple(name for name in (rows[0] if columns is None else columns) if name != key.name)
    compiled = _compiled(table, conn.dialect, names)
    # Column by column (a transposition in C): each column's values converted in one call.
    by_column: list[Sequence[Any]] = list(zip(*map(compiled.values, rows), strict=True))
    for position, convert in compiled.converters:
        by_column[position] = convert(by_column[position])
    with driver_cursor(conn, compiled.sql) as cursor:
        if conn.dialect.name == "postgresql":
            cursor.execute(compiled.sql, [list(column) for column in by_column])
            return sorted(key for (key,) in cursor.fetchall()) if keys else []
        values = list(zip(*by_column, strict=True))
        count = compiled.rows_per_statement
        whole = len(values) - len(values) % count if count > 1 else 0
        for start in range(0, whole, count):
            cursor.execute(compiled.sql_of_many, list(chain.from_iterable(values[start : start + count])))
        if whole < len(values):
            cursor.executemany(compiled.sql, values[whole:])
        if not keys:
            return []
        (last,) = cursor.execute("SELECT last_insert_rowid()").fetchone()
    return list(range(last - len(rows) + 1, last + 1))
