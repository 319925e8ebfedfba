"""The driver's own cursor, for the hot statements that bypass SQLAlchemy's execution (inserts.py,
selects.py), failing the way conn.execute fails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


@contextmanager
def driver_cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A cursor on conn's driver connection, inside conn's transaction, closed afterwards.

    The driver's errors come out as SQLAlchemy's (an IntegrityError stays an IntegrityError, which the
    write queue retries), without the values written, like every other database error.
    """
    # Seam, pinned: loaded_dbapi, driver_connection, DBAPIError.instance (tests/store/test_library_seams.py).
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        yield cursor
    except dbapi_error as exc:
        without_detail(exc)
        raise DBAPIError.instance(
            sql, None, exc, dbapi_error, hide_parameters=True, dialect=conn.dialect
        ) from exc
    finally:
        cursor.close()


def without_detail(error: BaseException) -> None:
    """Drop PostgreSQL's DETAIL line from a driver error's text: it repeats the values of the row it
    refused ("Failing row contains (...)"), dates of birth included, and error texts reach logs. The
    message and the constraint's name stay; the detail stays on error.diag for code that needs it."""
    # Seam, pinned: psycopg's error text, its DETAIL after the message (tests/store/test_library_seams.py).
    if error.args and isinstance(error.args[0], str) and "\nDETAIL:" in error.args[0]:
        error.args = (error.args[0].split("\nDETAIL:", 1)[0], *error.args[1:])
