"""What every command of the command line shares: its actor, its consoles, and its doors: the directory
(for what changes people and catalogues) and the database (for credentials and targets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Connection

from provisionhub.auth.authenticator import directory_over
from provisionhub.directory.errors import DirectoryError
from provisionhub.settings import Settings
from provisionhub.store.database import Database

T = TypeVar("T")

#: Who the change log names for what the command line changes.
ACTOR = "cli"
out = Console()
err = Console(stderr=True)


@contextmanager
def database() -> Iterator[Database]:
    """The configured database, disposed of afterwards."""
    opened = Database.from_settings(Settings())
    try:
        yield opened
    finally:
        opened.dispose()


def in_transaction(work: Callable[[Connection], T]) -> T:
    """Run work in one transaction on the configured database; a DirectoryError ends the command."""
    with database() as opened:
        try:
            with opened.transaction() as conn:
                return work(conn)
        except DirectoryError as exc:
            err.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(1) from None


def apply(command: object) -> Any:
    """Apply a directory command as the command line (an operator): its result; a refusal ends the
    command."""
    with database() as opened:
        try:
            return directory_over(opened).apply(command, ACTOR)
        except DirectoryError as exc:
            err.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(1) from None
