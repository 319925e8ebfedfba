"""What every command of the command line shares: its actor, its consoles, and its doors: the directory
(for what changes people and catalogues) and the database (for credentials and targets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from provisionhub.auth.authenticator import directory_over
from provisionhub.directory.errors import DirectoryError
from provisionhub.settings import Settings
from provisionhub.store.database import Database
from provisionhub.store.engine import sqlite_file
from provisionhub.store.migrate import revisions

T = TypeVar("T")

#: Who the change log names for what the command line changes.
ACTOR = "cli"
out = Console()
err = Console(stderr=True, soft_wrap=True)  # a message is never cut: it may hold a command to copy


#: What to do next after a refusal, by what was refused: its error's type, or its type and field (for a
#: NotFound: what was not found). The command that applies them knows the words: names, ids, commands.
Hints = Mapping[type[DirectoryError] | tuple[type[DirectoryError], str], str]


def fail(message: str, hint: str | None = None) -> NoReturn:
    """End the command (exit status 1), saying what went wrong and, in hint, what to do next."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    if hint is not None:
        err.print(f"hint: {escape(hint)}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def refusals(hints: Hints | None = None) -> Iterator[None]:
    """A DirectoryError raised in the block ends the command, with its message and the hint for it."""
    try:
        yield
    except DirectoryError as exc:
        fail(exc.message, _hint(exc, hints or {}))


def _hint(error: DirectoryError, hints: Hints) -> str | None:
    about = getattr(error, "field", None) or getattr(error, "what", None)
    for kind in type(error).__mro__:
        if not issubclass(kind, DirectoryError):
            break
        found = hints.get((kind, about)) if about is not None else None
        if found is None:
            found = hints.get(kind)
        if found is not None:
            return found
    return None


@contextmanager
def database(*, create: bool = False) -> Iterator[Database]:
    """The configured database, disposed of afterwards. A SQLite file that is not there ends the command
    before anything makes it (unless create: `db upgrade`), and so does a database that cannot be reached
    or is not migrated, once a statement fails: each saying what to do."""
    settings = Settings()
    if not create:
        _require_file(settings.database_url)
    opened = Database.from_settings(settings)
    try:
        yield opened
    except DBAPIError:
        _explain_failure(opened, create)
        raise
    finally:
        opened.dispose()


#: Where the command line's database comes from, for an error about it.
WHICH_DATABASE = (
    "PROVISIONHUB_DATABASE_URL says which database the command line uses; without it, "
    "./var/provisionhub.db below the folder it runs in"
)


def _require_file(url: str) -> None:
    file = sqlite_file(url)
    if file is not None and not file.exists():
        fail(
            f"no database at {file.resolve()}",
            f"{WHICH_DATABASE}. Run the command in the server's folder, or set PROVISIONHUB_DATABASE_URL as "
            "the server has it; or make a new database there with `provisionhub db upgrade`",
        )


def _explain_failure(opened: Database, create: bool) -> None:
    """A statement failed: end the command saying why when it is the database's reach or its schema (not
    migrated, or not to this version); otherwise return, and the failure goes on."""
    where = make_url(opened.url).render_as_string(hide_password=True)
    try:
        current, head = revisions(opened.engine)
    except DBAPIError as unreachable:
        reason = str(unreachable.orig).strip().splitlines()[0] if unreachable.orig else "no answer"
        fail(f"could not reach the database {where}: {reason}", f"is its server up? {WHICH_DATABASE}")
    if current != head and not create:
        fail(
            f"the database {where} is not migrated to this version of provisionhub "
            f"(its schema: {current or 'none'}; this version's: {head})",
            "run `provisionhub db upgrade` (`provisionhub serve` and `make run` also do, as they start)",
        )


def in_transaction(work: Callable[[Connection], T], hints: Hints | None = None) -> T:
    """Run work in one transaction on the configured database; a DirectoryError ends the command, with
    the hint for it."""
    with database() as opened, refusals(hints), opened.transaction() as conn:
        return work(conn)


def apply(command: object, hints: Hints | None = None) -> Any:
    """Apply a directory command as the command line (an operator): its result; a refusal ends the
    command, with the hint for it."""
    with database() as opened, refusals(hints):
        return directory_over(opened).apply(command, ACTOR)
