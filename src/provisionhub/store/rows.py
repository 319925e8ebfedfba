"""What the code that reads a stored row asks of it: its values, by column name."""

from __future__ import annotations

from typing import Any, Protocol


class StoredRow(Protocol):
    """A row read by column name: SQLAlchemy's RowMapping, or a dict made from one (selects.fetch_all).

    Not Mapping[str, Any]: a RowMapping's keys may also be Column objects, and Mapping's key type is
    invariant.
    """

    def __getitem__(self, key: str, /) -> Any: ...
