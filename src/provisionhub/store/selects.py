"""Running a hot SELECT on SQLite's own driver, its values typed as SQLAlchemy would type them.

SQLAlchemy's execution (parameter processing, result set-up, row objects) costs more a call than SQLite
takes to answer an index search (docs/benchmarks); each batch of pushes paid it for its two lookups (its
tokens, its people). So on SQLite such a statement is compiled once, its bind and result
processors looked up once, and it runs on the driver's cursor inside the SQLAlchemy-managed
transaction. On PostgreSQL, where the round trip is the cost, it goes through SQLAlchemy as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select
from sqlalchemy.engine import Dialect

from provisionhub.store.driver import driver_cursor

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    parameters: tuple[tuple[str, Processor], ...]  # in the statement's positional order
    columns: tuple[str, ...]
    processed: tuple[tuple[str, Callable[[Any], Any]], ...]  # the columns whose values are converted


@lru_cache(maxsize=64)
def _compiled(statement: Select[Any], dialect: Dialect) -> _Compiled:
    # Seam, pinned: the compiled SELECT's positiontup and binds (tests/store/test_library_seams.py).
    compiled = statement.compile(dialect=dialect)
    assert compiled.positiontup is not None, "fetch_all's fast path serves SQLite's positional parameters"
    parameters = tuple(
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in compiled.positiontup
    )
    selected = statement.selected_columns
    columns = tuple(_key(column) for column in selected)
    results = (column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected)
    processed = tuple((name, p) for name, p in zip(columns, results, strict=True) if p is not None)
    return _Compiled(str(compiled), parameters, columns, processed)


def _key(column: ColumnElement[Any]) -> str:
    """The key a selected column's values go under in fetch_all's rows: every column needs one."""
    if column.key is None:
        raise TypeError(f"fetch_all selects named columns (label an expression): {column!r} has no name")
    return column.key


def fetch_all(
    conn: Connection, statement: Select[Any], parameters: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """statement's rows as dicts by column key, with every bound parameter given in parameters."""
    if conn.dialect.name != "sqlite":
        return [dict(row) for row in conn.execute(statement, parameters).mappings()]
    compiled = _compiled(statement, conn.dialect)
    values = [
        value if processor is None or value is None else processor(value)
        for name, processor in compiled.parameters
        for value in (parameters[name],)
    ]
    with driver_cursor(conn, compiled.sql) as cursor:
        rows = cursor.execute(compiled.sql, values).fetchall()
    columns, processed = compiled.columns, compiled.processed
    found = [dict(zip(columns, row, strict=True)) for row in rows]
    # Most columns need no conversion: a person's row is fifty columns, of which a few are times or JSON.
    for row in found:
        for name, processor in processed:
            value = row[name]
            if value is not None:
                row[name] = processor(value)
    return found
