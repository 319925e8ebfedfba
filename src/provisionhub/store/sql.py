"""SQL constructs that render differently per database, so that hot statements keep one text.

PostgreSQL plans a statement again for every new text; an IN list of N values is a new text for each N,
so every batch paid for planning, more than for running the query. `= ANY(:array)` is one text,
prepared once by psycopg. SQLite has no arrays; there the list travels as one JSON text and the column
is matched against `json_each` of it, which SQLite answers with index searches like an IN list, but
without SQLAlchemy rendering a new statement text for every call (docs/benchmarks).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import orjson
from sqlalchemy import ColumnElement, Text, TypeDecorator, any_, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean


class AnyOf(ColumnElement[bool]):
    """`column` equals one of the values of the list parameter `name`."""

    # Seam, pinned: these and _traverse_internals (tests/store/test_library_seams.py).
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison, not a boolean column: no "= 1" on SQLite

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name

    # What the statement cache keys on: two AnyOf are the same SQL only for the same column and name.
    # SQLAlchemy declares it an instance variable, but reads it from the class, as it sets its own.
    _traverse_internals: ClassVar[list[tuple[str, Any]]] = [  # type: ignore[misc]
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]


@compiles(AnyOf)
def _in_list(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


class _JsonList(TypeDecorator[Iterable[Any]]):
    """A list parameter sent as a JSON array (SQLite)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Iterable[Any] | None, dialect: Any) -> str | None:
        return None if value is None else orjson.dumps(list(value)).decode()


@compiles(AnyOf, "sqlite")
def _json_each(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    values = compiler.process(bindparam(element.name, type_=_JsonList()), **kw)
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608 (compiled SQL, no values)


@compiles(AnyOf, "postgresql")
def _any_array(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column == any_(bindparam(element.name)), **kw)


#: The escape character of like_literal's patterns: pass it as LIKE's escape.
LIKE_ESCAPE = "\\"


def like_literal(text: str) -> str:
    """text as part of a LIKE pattern, its wildcards (% and _) and the escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
