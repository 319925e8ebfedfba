"""Queries: what a dialect may ask of the directory, each run in one snapshot as a principal.

A query is a small value (what is asked) with a run method (how the directory answers it); the Directory
resolves the credential to the principal the query runs as. Every query decides what that principal may
see (scopes.py), so no dialect filters people itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Connection

from provisionhub.directory.access import Principal

T = TypeVar("T")


@dataclass(slots=True)  # not frozen: made for every read
class Reading:
    """What a query runs with: the snapshot (or the write's transaction), and who asks."""

    conn: Connection
    principal: Principal


class Query(ABC, Generic[T]):
    """A question to the directory; subclasses are frozen dataclasses of what is asked."""

    __slots__ = ()

    @abstractmethod
    def run(self, reading: Reading) -> T:
        """The answer, as reading.principal may see it."""
