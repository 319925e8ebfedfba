"""The directory's filter language: conditions over attribute paths of people and groups, as SCIM's
filters (RFC 7644 3.4.2.2) spell them: comparisons, presence, and, or, not, and value paths over a
multi-valued attribute. A dialect (SCIM) parses its clients' filters into these nodes, naming the
directory's attributes (condition_sql.py says what each is), and the directory turns them into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from provisionhub.directory.errors import Invalid, Reason


class FilterError(Invalid):
    """A filter or path that cannot be parsed or translated; offset is where (None: not one place)."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(
            "filter", Reason.INVALID, message if offset is None else f"{message} (at offset {offset})"
        )
        self.offset = offset


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    CO = "co"
    SW = "sw"
    EW = "ew"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"


#: A comparison's value, as JSON gives it.
Value = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttributePath:
    """`[schema:]name[.sub_attribute]`, all lower-cased; inside a value path's brackets, name is the
    sub-attribute of the value path's attribute and schema is None."""

    name: str
    sub_attribute: str | None = None
    schema: str | None = None
    #: How the client named it, when the dialect renamed it to the directory's: what messages show.
    label: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """`name` or `name.sub_attribute`: what a resolver looks attributes up by."""
        return self.name if self.sub_attribute is None else f"{self.name}.{self.sub_attribute}"

    def __str__(self) -> str:
        if self.label is not None:
            return self.label
        return self.key if self.schema is None else f"{self.schema}:{self.key}"


@dataclass(frozen=True, slots=True)
class Comparison:
    path: AttributePath
    operator: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class Present:
    """`path pr`: the attribute has a value."""

    path: AttributePath


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`attribute[filter]`: some value of a multi-valued attribute matches filter, whose paths name
    sub-attributes of attribute. `attribute[f].sub op v` is parsed as `attribute[f and sub op v]`."""

    attribute: AttributePath
    filter: Filter


@dataclass(frozen=True, slots=True)
class Constant:
    """A condition that holds for every row (True) or none (False): what a dialect makes of a comparison
    it can answer itself (an attribute whose value is the same for all)."""

    value: bool


Filter = Comparison | Present | And | Or | Not | ValuePath | Constant
