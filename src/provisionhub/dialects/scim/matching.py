"""A parsed SCIM filter as a Python predicate over the values of one multi-valued attribute, as PATCH's
`attr[filter]` paths select them (RFC 7644 3.5.2). Its comparisons follow those of filter_sql.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

from provisionhub.dialects.scim.schemas import Attribute
from provisionhub.dialects.scim.values import as_datetime, sub_value
from provisionhub.directory.condition_sql import as_boolean
from provisionhub.directory.conditions import (
    And,
    AttributePath,
    Comparison,
    Filter,
    FilterError,
    Not,
    Operator,
    Or,
    Present,
    Value,
    ValuePath,
)

#: A predicate over one value of a multi-valued attribute (a value object, or a simple value).
Predicate = Callable[[Any], bool]

_ORDERINGS: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.EQ: operator.eq,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
    Operator.CO: lambda actual, wanted: wanted in actual,
    Operator.SW: lambda actual, wanted: actual.startswith(wanted),
    Operator.EW: lambda actual, wanted: actual.endswith(wanted),
}
_SUBSTRINGS = frozenset({Operator.CO, Operator.SW, Operator.EW})


def value_predicate(node: Filter, attribute: Attribute) -> Predicate:
    """The predicate that node, the filter inside `attribute[...]`, stands for; raises FilterError for a
    sub-attribute attribute does not have or a comparison its type does not allow.

    As in filter_sql: `ne` is `not eq` (so it holds where the sub-attribute has no value), `eq null` is
    `not pr`, a string compares case-insensitively unless caseExact (references and binary exactly), and a
    boolean also compares with the strings "true" and "false" in any case. The values of a multi-valued
    attribute without sub-attributes are compared as its `value` (RFC 7643 2.4).
    """
    match node:
        case And(operands):
            predicates = [value_predicate(operand, attribute) for operand in operands]
            return lambda value: all(predicate(value) for predicate in predicates)
        case Or(operands):
            predicates = [value_predicate(operand, attribute) for operand in operands]
            return lambda value: any(predicate(value) for predicate in predicates)
        case Not(operand):
            inner = value_predicate(operand, attribute)
            return lambda value: not inner(value)
        case ValuePath():
            raise FilterError("a value path cannot hold another value path")
        case Present(path):
            read = _reader(path, attribute)[0]
            return lambda value: _present(read(value))
        case Comparison(path, Operator.NE, wanted):
            inner = value_predicate(Comparison(path, Operator.EQ, wanted), attribute)
            return lambda value: not inner(value)
        case Comparison(path, Operator.EQ, None):
            read = _reader(path, attribute)[0]
            return lambda value: not _present(read(value))
        case Comparison(path, op, wanted):
            read, sub = _reader(path, attribute)
            compare = _comparison(f"{attribute.name}.{sub.name}", sub, op, wanted)
            return lambda value: compare(read(value))
    raise FilterError(f"not a filter: {node!r}")


def _reader(path: AttributePath, attribute: Attribute) -> tuple[Callable[[Any], Any], Attribute]:
    """How to read the sub-attribute path names from a value, and that sub-attribute."""
    if not attribute.sub_attributes and path.name == "value":
        return (lambda value: None if isinstance(value, dict) else value), attribute
    sub = attribute.sub_attribute(path.name)
    if sub is None:
        raise FilterError(f"{attribute.name} has no sub-attribute {path.name!r}")
    return (lambda value: sub_value(value, sub.name)), sub


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _comparison(name: str, sub: Attribute, op: Operator, wanted: Value) -> Callable[[Any], bool]:
    """A test of a sub-attribute's value against `op wanted`, for op other than ne."""
    if wanted is None:
        raise FilterError(f"{name} {op} null: only eq and ne compare with null")
    if sub.type == "boolean":
        if op is not Operator.EQ:
            raise FilterError(f"{name} is a boolean: {op} does not apply (only eq, ne and pr)")
        flag = as_boolean(wanted)
        if flag is None:
            raise FilterError(f"{name} is a boolean: compare it with true or false, not {_json(wanted)}")
        return lambda actual: as_boolean(actual) is flag
    if sub.type in ("string", "reference", "binary"):
        if not isinstance(wanted, str):
            raise FilterError(f"{name} is a string: compare it with a string, not {_json(wanted)}")
        exact = sub.case_exact or sub.type != "string"
        test, folded = _ORDERINGS[op], wanted if exact else wanted.casefold()
        return lambda actual: isinstance(actual, str) and test(actual if exact else actual.casefold(), folded)
    if op in _SUBSTRINGS:
        raise FilterError(f"{name} is of type {sub.type}: {op} applies only to strings")
    test = _ORDERINGS[op]
    if sub.type in ("integer", "decimal"):
        if isinstance(wanted, bool) or not isinstance(wanted, int | float):
            raise FilterError(f"{name} is a number: compare it with a number, not {_json(wanted)}")
        return lambda actual: _is_number(actual) and test(actual, wanted)
    moment = as_datetime(wanted)
    if moment is None:
        raise FilterError(f"{name} is a dateTime: {_json(wanted)} is not an ISO 8601 date and time")
    return lambda actual: (found := as_datetime(actual)) is not None and test(found, moment)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json(value: Value) -> str:
    return json.dumps(value, ensure_ascii=False)
