"""A condition of the directory's filter language (conditions.py) as a SQL condition, over the columns a
resolver maps attribute paths to (filter_attributes.py: people's and groups').

The condition is two-valued: a `not` is pushed down to the comparisons (De Morgan), and a negated
comparison holds for a row whose attribute is NULL, as an attribute without a value equals nothing.
Without a NOT above them, NULLs in `and` and `or` already act as false in a WHERE clause.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer

from provisionhub.directory.conditions import (
    And,
    AttributePath,
    Comparison,
    Constant,
    Filter,
    FilterError,
    Not,
    Operator,
    Or,
    Present,
    Value,
    ValuePath,
)
from provisionhub.store.sql import LIKE_ESCAPE, like_literal


class DataType(StrEnum):
    """An attribute's data type (RFC 7643 2.3)."""

    STRING = "string"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    REFERENCE = "reference"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class SqlAttribute:
    """Where an attribute lives in SQL and how it compares.

    column: a column or any SQL expression (`literal("work")` for a value every row has).
    case_exact: strings compare case-insensitively unless this is set; references and binary values
    always compare exactly (RFC 7643 2.3.7, 2.3.6).
    folded_column: a copy of column's values put through str.casefold() (as `people.username_key`):
    case-insensitive comparisons use it, so that its index serves them.
    """

    column: ColumnElement[Any]
    type: DataType = DataType.STRING
    case_exact: bool = False
    folded_column: ColumnElement[Any] | None = None
    #: For a multi-valued attribute whose values are rows of their own (a group's members): the
    #: condition that some value satisfies a condition over those rows' columns (an EXISTS). Its
    #: sub-attributes' columns are those rows'.
    rows: Callable[[ColumnElement[bool]], ColumnElement[bool]] | None = None


#: Which attribute a path names, or None for one the resolver does not know. A mapping is looked up by
#: path.key (`name.familyname`), ignoring any schema URN; a callable sees the whole path and may check it.
Resolver = Mapping[str, SqlAttribute] | Callable[[AttributePath], SqlAttribute | None]


def sql_condition(node: Filter, resolver: Resolver) -> ColumnElement[bool]:
    """The condition that selects the rows node matches; raises FilterError for an attribute the
    resolver does not know, or a comparison its type does not allow.

    Semantics beyond RFC 7644 3.4.2.2, chosen to be lenient with clients:
    - `attr ne v` is `not (attr eq v)`, so it holds where attr has no value.
    - `attr eq null` is `not (attr pr)`, `attr ne null` is `attr pr`; a string attribute is present when
      it is neither NULL nor empty.
    - a boolean compares with true or false, or with the strings "true" and "false" in any case
      (Microsoft Entra ID sends "True").
    - `attr[f]` is f with each path inside prefixed by `attr.` (`attr[f].sub op v` was parsed as
      `attr[f and sub op v]`); if the resolver knows `attr` itself (as the column of its one value), it
      is `attr pr and f`, so that `attr[not (...)]` needs a value. The resolver maps each `attr.sub`.
      This holds while a row has at most one value of a multi-valued attribute (one email column);
      an attribute whose values are rows of their own (a group's members) says so with `rows`, and then
      `attr[f]` (and `attr.sub op v`, and `attr pr`) is an EXISTS of a value that matches.
    """
    if isinstance(resolver, Mapping):
        return _Translator(lambda path: resolver.get(path.key)).condition(node)
    return _Translator(resolver).condition(node)


class _Translator:
    def __init__(self, resolve: Callable[[AttributePath], SqlAttribute | None]) -> None:
        self.resolve = resolve

    def condition(
        self, node: Filter, negated: bool = False, scope: AttributePath | None = None
    ) -> ColumnElement[bool]:
        match node:
            case Constant(value):
                return true() if value != negated else false()
            case Not(operand):
                return self.condition(operand, not negated, scope)
            case And(operands) | Or(operands):
                parts = [self.condition(operand, negated, scope) for operand in operands]
                return or_(*parts) if isinstance(node, And) == negated else and_(*parts)
            case ValuePath(path, inner):
                if scope is not None:
                    raise FilterError("a value path cannot hold another value path")
                container = self.resolve(path)
                if container is not None and container.rows is not None:
                    some = container.rows(self.condition(inner, False, path))
                    return not_(some) if negated else some
                matched = self.condition(inner, negated, path)
                if container is None:
                    return matched
                # The row must hold a value of the attribute for that value to match inner.
                present = self.condition(Present(path), negated)
                return or_(present, matched) if negated else and_(present, matched)
            case Comparison(path) | Present(path) if scope is None and self.in_rows(path):
                # `members.value eq "x"` is `members[value eq "x"]`: some member's value is x.
                whole = AttributePath(path.name, None, path.schema)
                inner = replace(node, path=AttributePath(str(path.sub_attribute)))
                return self.condition(ValuePath(whole, inner), negated)
            case Present(path) if scope is None and (rows := self.rows_of(path)) is not None:
                some = rows(true())
                return not_(some) if negated else some
            case Comparison(path, Operator.NE, value):
                return self.condition(Comparison(path, Operator.EQ, value), not negated, scope)
            case Comparison(path, Operator.EQ, None):
                return self.condition(Present(path), not negated, scope)
            case Comparison(path, op, value):
                name, attribute = self.attribute(path, scope)
                subject, positive = _compared(name, attribute, op, value)
            case Present(path):
                name, attribute = self.attribute(path, scope)
                subject, positive = attribute.column, _present(attribute)
            case _:
                raise TypeError(f"not a filter: {node!r}")
        # Where subject is not NULL, positive is true or false: its negation needs only the NULL case.
        return or_(subject.is_(None), not_(positive)) if negated else positive

    def rows_of(self, path: AttributePath) -> Callable[[ColumnElement[bool]], ColumnElement[bool]] | None:
        """The EXISTS builder of a multi-valued attribute kept in rows of its own (None: it is not)."""
        found = self.resolve(path) if path.sub_attribute is None else None
        return found.rows if found is not None else None

    def in_rows(self, path: AttributePath) -> bool:
        """Whether path is a sub-attribute of an attribute kept in rows of its own."""
        return (
            path.sub_attribute is not None
            and self.rows_of(AttributePath(path.name, None, path.schema)) is not None
        )

    def attribute(self, path: AttributePath, scope: AttributePath | None) -> tuple[str, SqlAttribute]:
        if scope is not None:
            path = AttributePath(scope.name, path.name, scope.schema)
        attribute = self.resolve(path)
        if attribute is None:
            raise FilterError(f"unknown attribute {str(path)!r}")
        return str(path), attribute


_STRINGS = frozenset({DataType.STRING, DataType.REFERENCE, DataType.BINARY})
_NUMBERS = frozenset({DataType.INTEGER, DataType.DECIMAL})
_ORDERINGS: dict[Operator, Callable[[Any, Any], Any]] = {
    Operator.EQ: operator.eq,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
}
_SUBSTRINGS = frozenset({Operator.CO, Operator.SW, Operator.EW})


def _present(attribute: SqlAttribute) -> ColumnElement[bool]:
    column = attribute.column
    if attribute.type in _STRINGS:
        return and_(column.is_not(None), column != "")
    return column.is_not(None)


def _compared(
    name: str, attribute: SqlAttribute, op: Operator, value: Value
) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """The expression compared (its NULLs make the comparison NULL), and the comparison."""
    if value is None:
        raise FilterError(f"{name} {op} null: only eq and ne compare with null")
    if attribute.type in _STRINGS:
        return _compared_text(name, attribute, op, value)
    if attribute.type is DataType.BOOLEAN:
        if op is not Operator.EQ:
            raise FilterError(f"{name} is a boolean: {op} does not apply (only eq, ne and pr)")
        return attribute.column, attribute.column.is_(_boolean(name, value))
    if op in _SUBSTRINGS:
        raise FilterError(f"{name} is of type {attribute.type}: {op} applies only to strings")
    if attribute.type in _NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FilterError(f"{name} is a number: compare it with a number, not {_json(value)}")
        return attribute.column, _ORDERINGS[op](attribute.column, value)
    return attribute.column, _ORDERINGS[op](attribute.column, _datetime(name, value))


def _compared_text(
    name: str, attribute: SqlAttribute, op: Operator, value: Value
) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    if not isinstance(value, str):
        raise FilterError(f"{name} is a string: compare it with a string, not {_json(value)}")
    if attribute.type is DataType.BINARY and op is not Operator.EQ:
        raise FilterError(f"{name} is binary: {op} does not apply (only eq, ne and pr)")
    if attribute.case_exact or attribute.type is not DataType.STRING:
        column = attribute.column
        return column, _exact_substring(column, op, value) if op in _SUBSTRINGS else _ORDERINGS[op](
            column, value
        )
    if attribute.folded_column is not None:
        subject = column = attribute.folded_column
        value = value.casefold()
    else:
        subject, column, value = attribute.column, func.lower(attribute.column), value.lower()
    if op in _SUBSTRINGS:
        return subject, column.like(_like_pattern(op, value), escape=LIKE_ESCAPE)
    return subject, _ORDERINGS[op](column, value)


def _like_pattern(op: Operator, text: str) -> str:
    escaped = like_literal(text)
    return {Operator.CO: f"%{escaped}%", Operator.SW: f"{escaped}%", Operator.EW: f"%{escaped}"}[op]


def _exact_substring(column: ColumnElement[Any], op: Operator, text: str) -> ColumnElement[bool]:
    """co, sw or ew, minding case; SQLite's LIKE ignores the case of ASCII letters, so not with LIKE."""
    if op is Operator.CO:
        return _Position(column, text) > 0
    if op is Operator.SW:
        return func.substr(column, 1, len(text)) == text
    # Both databases agree on substr(s, start) for start >= 1, not below.
    start = func.length(column) - len(text) + 1
    return and_(start >= 1, func.substr(column, start) == text)


class _Position(FunctionElement[int]):
    """Where text first occurs in a string, counting from 1; 0 where it does not."""

    type = Integer()
    inherit_cache = True


@compiles(_Position)
def _position_default(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


@compiles(_Position, "sqlite")
def _position_sqlite(element: _Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


def as_boolean(value: object) -> bool | None:
    """A boolean, or the strings "true" and "false" in any case (Microsoft Entra ID sends "True");
    None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _boolean(name: str, value: Value) -> bool:
    read = as_boolean(value)
    if read is None:
        raise FilterError(f"{name} is a boolean: compare it with true or false, not {_json(value)}")
    return read


def _datetime(name: str, value: Value) -> datetime:
    """An ISO 8601 date and time; one without an offset is taken as UTC."""
    if not isinstance(value, str) or len(value) < 16:  # a date alone is not an xsd:dateTime
        raise FilterError(f"{name} is a dateTime: compare it with a date and time, not {_json(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} is a dateTime: {_json(value)} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _json(value: Value) -> str:
    """value as the client wrote it, for messages."""
    return json.dumps(value, ensure_ascii=False)
