"""The internals of SQLAlchemy and psycopg that store/ steps past their public API to use, each in the shape
and behaviour relied on. pyproject.toml pins both below their next minor release: when an upgrade moves
one of these, the test named after it fails, before a write does."""

from __future__ import annotations

import inspect
import sqlite3
from typing import Any
from unittest.mock import Mock

import pytest
from sqlalchemy import Connection, create_engine, event, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.visitors import InternalTraversal

from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.engine import make_engine
from provisionhub.store.sql import AnyOf

#: SQLite's dialect as an engine has it (its driver loaded), for what needs no database.
SQLITE = create_engine("sqlite://").dialect


def test_a_connections_driver_connection_is_the_drivers_own(database: Database) -> None:
    # engine._begin, database._KeptConnection.snapshot, writes._savepoint and driver.driver_cursor run
    # statements on conn.connection.driver_connection, inside the transaction SQLAlchemy manages.
    with database.transaction() as conn:
        driver = conn.connection.driver_connection
        if database.dialect == "sqlite":
            assert isinstance(driver, sqlite3.Connection)
            assert driver.isolation_level is None  # ours to begin (engine._configure)
            assert driver.in_transaction  # begun by the engine's begin hook
            assert conn.dialect.loaded_dbapi.Error is sqlite3.Error
        else:
            import psycopg

            assert isinstance(driver, psycopg.Connection)
            assert conn.dialect.loaded_dbapi.Error is psycopg.Error


def test_sqlalchemy_leaves_sqlites_begin_to_the_begin_event(tmp_path: Any) -> None:
    # engine._begin issues BEGIN (IMMEDIATE) itself: pysqlite's dialect must emit none of its own, and
    # the "begin" event must hand over the Connection, whose execution options say whether it writes.
    engine = make_engine(f"sqlite:///{tmp_path / 'seams.db'}")
    try:
        driver = Mock()
        engine.dialect.do_begin(driver)
        assert driver.mock_calls == []

        given: list[Any] = []
        event.listen(engine, "begin", given.append)
        with engine.connect() as conn:
            conn.execution_options(seam=True)
            with conn.begin():
                conn.exec_driver_sql("SELECT 1")
                assert conn.connection.driver_connection.in_transaction
        [begun] = given
        assert isinstance(begun, Connection)
        assert begun.get_execution_options()["seam"] is True
    finally:
        engine.dispose()


def test_dbapierror_instance_wraps_a_driver_error_as_execute_would() -> None:
    # driver.driver_cursor turns the driver's errors into SQLAlchemy's, as conn.execute does.
    parameters = inspect.signature(DBAPIError.instance).parameters
    for name in ("statement", "params", "orig", "dbapi_base_err", "hide_parameters", "dialect"):
        assert name in parameters
    assert SQLITE.loaded_dbapi.Error is sqlite3.Error
    driver_error = sqlite3.IntegrityError("UNIQUE constraint failed: t.x")
    wrapped = DBAPIError.instance(
        "INSERT", None, driver_error, sqlite3.Error, hide_parameters=True, dialect=SQLITE
    )
    assert isinstance(wrapped, IntegrityError)
    assert wrapped.orig is driver_error


def test_a_compiled_statement_names_its_positional_parameters_and_their_types() -> None:
    # inserts._compiled and selects._compiled read positional, positiontup, binds and the statement's
    # text, and each type's bind and result processors, to run a statement on the driver's cursor.
    changes = tables.changes
    compiled = changes.insert().compile(dialect=SQLITE, column_keys=["actor", "occurred_at"])
    assert compiled.positional
    assert list(compiled.positiontup or ()) == ["occurred_at", "actor"]  # the table's order
    assert str(compiled).endswith(" VALUES (?, ?)")
    occurred_at = compiled.binds["occurred_at"].type.dialect_impl(SQLITE)
    assert callable(occurred_at.bind_processor(SQLITE))
    assert callable(occurred_at.result_processor(SQLITE, None))

    statement = select(changes.c.seq, changes.c.actor).where(AnyOf(changes.c.actor, "actors"))
    compiled = statement.compile(dialect=SQLITE)
    assert list(compiled.positiontup or ()) == ["actors"]
    assert [column.key for column in statement.selected_columns] == ["seq", "actor"]


def test_a_clause_elements_cache_key_and_rendering_come_from_its_class_attributes() -> None:
    # sql.AnyOf: _traverse_internals keys SQLAlchemy's statement cache, inherit_cache lets it be cached,
    # and _is_implicitly_boolean keeps SQLite's rendering free of "= 1".
    people = tables.people
    assert AnyOf.inherit_cache is True
    assert {"dp_clauseelement", "dp_string"} <= set(InternalTraversal.__members__)
    key = AnyOf(people.c.id, "ids")._generate_cache_key()
    assert key == AnyOf(people.c.id, "ids")._generate_cache_key()
    assert key != AnyOf(people.c.id, "others")._generate_cache_key()
    assert key != AnyOf(people.c.username, "ids")._generate_cache_key()
    rendered = str(select(people.c.id).where(AnyOf(people.c.id, "ids")).compile(dialect=SQLITE))
    assert rendered.endswith("people.id IN (SELECT value FROM json_each(?))")


def test_psycopg_sends_a_list_as_an_array_through_a_binary_placeholder(database: Database) -> None:
    # inserts._unnest_insert: one array per column, as %b::type[] on the driver's cursor.
    if database.dialect != "postgresql":
        pytest.skip("psycopg is PostgreSQL's driver")
    with database.transaction() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(
            "SELECT n FROM unnest(%b::bigint[]) WITH ORDINALITY AS t(n, i) ORDER BY i", [[3, 1, 2]]
        )
        assert [n for (n,) in cursor.fetchall()] == [3, 1, 2]


def test_psycopgs_error_text_carries_postgresqls_detail_after_its_message(database: Database) -> None:
    # driver.without_detail cuts the "\nDETAIL:" line (it repeats the refused row) out of args[0].
    if database.dialect != "postgresql":
        pytest.skip("psycopg is PostgreSQL's driver")
    import psycopg

    with database.engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        try:
            driver.execute("CREATE TEMPORARY TABLE seam (x text UNIQUE)")
            driver.execute("INSERT INTO seam VALUES ('secret')")
            with pytest.raises(psycopg.errors.UniqueViolation) as raised:
                driver.execute("INSERT INTO seam VALUES ('secret')")
        finally:
            driver.rollback()
    message = raised.value.args[0]
    assert isinstance(message, str)
    assert "\nDETAIL:" in message
    assert "secret" in message.split("\nDETAIL:", 1)[1]
    assert raised.value.diag.message_detail
