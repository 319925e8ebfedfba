"""SCIM filters (RFC 7644 3.4.2.2) and PATCH paths (3.5.2): a recursive-descent parser into a small AST.

Keywords, operators and attribute names are case-insensitive; the AST holds them lower-cased. Any syntax
error is a FilterError naming what was wrong and where, which the SCIM layer answers as invalidFilter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

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

#: Bounds that keep hostile input from costing much time or exhausting the stack.
MAX_FILTER_LENGTH = 4096
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH operation's path: `attribute` (with its sub-attribute, if any), and for `attr[filter]` or
    `attr[filter].sub` the filter that picks the values of attribute.name the operation applies to."""

    attribute: AttributePath
    value_filter: Filter | None = None


def parse_filter(text: str) -> Filter:
    """The AST of a filter; raises FilterError."""
    parser = _Parser(text)
    result = parser.filter(depth=0, in_brackets=False)
    parser.expect_end()
    return result


def parse_path(text: str) -> PatchPath:
    """The AST of a PATCH path; raises FilterError."""
    parser = _Parser(text)
    token = parser.take()
    attribute = parser.attribute_path(token, in_brackets=False)
    value_filter = None
    if parser.peek().kind == "[":
        value_filter, sub_attribute = parser.bracketed(attribute, token, depth=0)
        if sub_attribute is not None:
            attribute = AttributePath(attribute.name, sub_attribute, attribute.schema)
    parser.expect_end()
    return PatchPath(attribute, value_filter)


# -- the lexer -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")
      | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![\w.$]))
      | (?P<word>[A-Za-z$][\w$:.\-]*)
      | (?P<sub>\.[A-Za-z$][\w$\-]*)
      | (?P<punct>[()\[\]])
      | (?P<other>"|\S)
    )""",
    re.VERBOSE | re.ASCII,
)

_PATH = re.compile(
    r"(?:(?P<schema>urn:[\w.:\-]+):)?(?P<name>[A-Za-z$][\w$\-]*)(?:\.(?P<sub>[A-Za-z$][\w$\-]*))?",
    re.ASCII | re.IGNORECASE,
)

_LITERALS: dict[str, Value] = {"true": True, "false": False, "null": None}
_OPERATORS: dict[str, Operator] = {operator.value: operator for operator in Operator}
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # string, number, word, sub, one of ( ) [ ], other, or end
    text: str
    offset: int


def _tokens(text: str) -> list[_Token]:
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"a filter may be at most {MAX_FILTER_LENGTH} characters long, not {len(text)}")
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:  # only whitespace was left
            break
        start = match.start(kind)
        value = match.group(kind)
        if kind == "other":
            what = "an unterminated or invalid string" if value == '"' else f"unexpected {value!r}"
            raise FilterError(what, start)
        tokens.append(_Token(value if kind == "punct" else kind, value, start))
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the filter"
    # A message quotes at most the start of a long token.
    return repr(token.text if len(token.text) <= 40 else f"{token.text[:40]}...")


# -- the parser ------------------------------------------------------------------------------------


class _Parser:
    """filter     := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" "(" filter ")" | "(" filter ")" | path "[" filter "]" [sub [test]] | path test
    test       := "pr" | operator value
    """

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def keyword(self) -> str | None:
        """The next token lower-cased if it is a word, else None."""
        token = self.peek()
        return token.text.lower() if token.kind == "word" else None

    def names_operator(self) -> bool:
        """Whether the next token is an operator: then a 'not' before it is an attribute's name."""
        word = self.keyword()
        return word == "pr" or word in _OPERATORS

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            expected = "'and', 'or' or the end of the filter"
            raise FilterError(f"expected {expected}, found {_describe(token)}", token.offset)

    def filter(self, depth: int, in_brackets: bool) -> Filter:
        if depth > MAX_DEPTH:
            raise FilterError(f"a filter may nest at most {MAX_DEPTH} levels deep", self.peek().offset)
        operands = [self.conjunction(depth, in_brackets)]
        while self.keyword() == "or":
            self.take()
            operands.append(self.conjunction(depth, in_brackets))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self, depth: int, in_brackets: bool) -> Filter:
        operands = [self.unary(depth, in_brackets)]
        while self.keyword() == "and":
            self.take()
            operands.append(self.unary(depth, in_brackets))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, depth: int, in_brackets: bool) -> Filter:
        token = self.take()
        if token.kind == "word" and token.text.lower() == "not" and not self.names_operator():
            opening = self.take()
            if opening.kind != "(":
                raise FilterError(f"expected '(' after 'not', found {_describe(opening)}", opening.offset)
            return Not(self.grouped(opening, depth, in_brackets))
        if token.kind == "(":
            return self.grouped(token, depth, in_brackets)
        if token.kind != "word" or (token.text.lower() in ("and", "or") and not self.names_operator()):
            raise FilterError(f"expected an attribute, 'not' or '(', found {_describe(token)}", token.offset)
        path = self.attribute_path(token, in_brackets)
        if self.peek().kind != "[":
            return self.test(path)
        if in_brackets:
            raise FilterError("a value path cannot hold another value path", self.peek().offset)
        value_filter, sub_attribute = self.bracketed(path, token, depth)
        if sub_attribute is not None:
            # attr[f].sub op v: some value of attr matches f and has sub op v.
            test = self.test(AttributePath(sub_attribute))
            value_filter = And((*_operands(value_filter), test))
        return ValuePath(path, value_filter)

    def grouped(self, opening: _Token, depth: int, in_brackets: bool) -> Filter:
        inner = self.filter(depth + 1, in_brackets)
        self.close(opening, ")")
        return inner

    def close(self, opening: _Token, kind: str) -> None:
        closing = self.take()
        if closing.kind != kind:
            opened = f"the {opening.kind!r} at offset {opening.offset}"
            raise FilterError(
                f"expected {kind!r} to close {opened}, found {_describe(closing)}", closing.offset
            )

    def bracketed(self, path: AttributePath, token: _Token, depth: int) -> tuple[Filter, str | None]:
        """`[filter]` after a path, and the `.sub` after it if any."""
        if path.sub_attribute is not None:
            raise FilterError(
                f"a value path needs a multi-valued attribute, not {_describe(token)}", token.offset
            )
        opening = self.take()
        value_filter = self.filter(depth + 1, in_brackets=True)
        self.close(opening, "]")
        if self.peek().kind != "sub":
            return value_filter, None
        return value_filter, self.take().text[1:].lower()

    def attribute_path(self, token: _Token, in_brackets: bool) -> AttributePath:
        if token.kind != "word":
            raise FilterError(f"expected an attribute, found {_describe(token)}", token.offset)
        match = _PATH.fullmatch(token.text)
        if match is None:
            raise FilterError(f"{_describe(token)} is not an attribute path", token.offset)
        schema, name, sub = match.group("schema", "name", "sub")
        if in_brackets and (schema or sub):
            raise FilterError(
                f"inside a value path's brackets {_describe(token)} must be a plain sub-attribute name",
                token.offset,
            )
        return AttributePath(name.lower(), sub.lower() if sub else None, schema.lower() if schema else None)

    def test(self, path: AttributePath) -> Filter:
        token = self.take()
        word = token.text.lower() if token.kind == "word" else ""
        if word == "pr":
            return Present(path)
        if word not in _OPERATORS:
            expected = "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)"
            raise FilterError(
                f"expected {expected} after {str(path)!r}, found {_describe(token)}", token.offset
            )
        return Comparison(path, _OPERATORS[word], self.value())

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return _string(token)
        if token.kind == "number":
            return _number(token)
        if token.kind == "word" and token.text.lower() in _LITERALS:
            return _LITERALS[token.text.lower()]
        raise FilterError(
            f"expected a value (a string, number, true, false or null), found {_describe(token)}",
            token.offset,
        )


def _operands(node: Filter) -> tuple[Filter, ...]:
    return node.operands if isinstance(node, And) else (node,)


def _string(token: _Token) -> str:
    text: str = json.loads(token.text)
    # Databases take neither NUL nor a lone surrogate in text: refuse them here rather than fail there.
    if "\x00" in text:
        raise FilterError("a string may not hold the character U+0000", token.offset)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FilterError(
            "a string may not hold a lone surrogate (\\ud800 to \\udfff)", token.offset
        ) from None
    return text


def _number(token: _Token) -> int | float:
    if any(c in token.text for c in ".eE"):
        number = float(token.text)
        if number in (float("inf"), float("-inf")):
            raise FilterError(f"the number {token.text} is out of range", token.offset)
        return number
    integer = int(token.text)
    if integer not in _INT64:
        raise FilterError(f"the number {token.text} is out of range", token.offset)
    return integer
