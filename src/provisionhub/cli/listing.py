"""How every `list` command prints what it found: a table whose values to copy (ids, URLs, names) are never
cut or wrapped, however narrow the terminal; or, with --json, one JSON array of objects on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.segment import Segments
from rich.table import Column, Table

from provisionhub.cli.doors import out

#: A list command's --json option.
JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON array of objects on stdout, for scripts. Never secrets.")
]

#: Wider than any table: the width a table is measured at, for its natural size.
_UNBOUNDED = 100_000

Record = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Field:
    """A column of a listing: key, the record's key (and JSON's); header, the table's (default: key, in
    words). whole: a value to copy, shown whole on one line. shown: the table's text of a record (default:
    its value, in words); table False: in JSON only."""

    key: str
    header: str | None = None
    whole: bool = False
    shown: Callable[[Record], str] | None = None
    table: bool = True

    def column(self) -> Column:
        header = self.header or self.key.replace("_", " ")
        if self.whole:
            return Column(header, no_wrap=True, overflow="fold")  # fold: had it to be cut, nothing is lost
        return Column(header, overflow="fold")  # wrapped, and a long word folded: nothing is lost

    def text(self, record: Record) -> str:
        return self.shown(record) if self.shown is not None else cell(record[self.key])


def show(fields: Sequence[Field], records: Iterable[Record], as_json: bool) -> None:
    """Print records: as JSON, every field's key; as a table, the fields for the table."""
    if as_json:
        keys = [field.key for field in fields]
        found = [{key: _json_value(record[key]) for key in keys} for record in records]
        sys.stdout.write(json.dumps(found, ensure_ascii=False) + "\n")
        return
    columns = [field for field in fields if field.table]
    table = Table(*(field.column() for field in columns))
    for record in records:
        table.add_row(*(field.text(record) for field in columns))
    print_table(out, table)


def print_table(console: Console, table: Table) -> None:
    """Print table no narrower than its values to copy need: on a terminal wider than the terminal when
    they must (the terminal wraps the lines, the values stay whole), other columns wrapped at words; to a
    file or a pipe at its natural width, never wrapped."""
    natural = console.measure(table, options=console.options.update_width(_UNBOUNDED))
    width = max(console.width, natural.minimum) if console.is_terminal else natural.maximum
    if width <= console.width:
        console.print(table)
        return
    # Console.print never draws wider than the console: the table is rendered at its width, then printed
    # as lines the console neither crops nor wraps.
    lines = console.render(table, console.options.update_width(width))
    console.print(Segments(lines), crop=False, soft_wrap=True)


def cell(value: Any) -> str:
    """A value as a table shows it: nothing for None, times to the second in UTC, yes or no, lists
    space-separated."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " ".join(cell(item) for item in value)
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _json_value(value: Any) -> Any:
    """A value as JSON holds it: times in ISO 8601, UTC, with Z; dates in ISO 8601; enumerations by
    value; tuples as lists."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _json_value(item) for key, item in value.items()}
    return value
