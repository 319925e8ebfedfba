"""insert_many: the keys it returns are the keys of the rows it inserted, in order, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import String, cast, insert, select
from sqlalchemy.exc import IntegrityError

from provisionhub.directory.service import utcnow
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.inserts import append_many, insert_many


def change_row(actor: str) -> dict[str, object]:
    return {
        "occurred_at": utcnow(),
        "actor": actor,
        "entity_type": "test",
        "entity_id": actor,
        "action": "create",
        "fields": {"n": [None, actor]},
    }


def test_keys_belong_to_their_rows_across_calls_and_transactions(database: Database) -> None:
    with database.transaction() as conn:
        first = insert_many(conn, tables.changes, [change_row(f"a{n}") for n in range(3)])
        second = insert_many(conn, tables.changes, [change_row(f"b{n}") for n in range(250)])
    with database.transaction() as conn:
        third = insert_many(conn, tables.changes, [change_row("c0")])
        assert insert_many(conn, tables.changes, []) == []

    with database.snapshot() as conn:
        actor_of = dict(conn.execute(select(tables.changes.c.seq, tables.changes.c.actor)).all())
        stored = conn.execute(
            select(tables.changes.c.fields).where(tables.changes.c.seq == third[0])
        ).scalar()
    assert [actor_of[k] for k in first] == ["a0", "a1", "a2"]
    assert [actor_of[k] for k in second] == [f"b{n}" for n in range(250)]
    assert [actor_of[k] for k in third] == ["c0"]
    assert len(set(first + second + third)) == 254
    assert stored == {"n": [None, "c0"]}  # values went through their column's type (JSON here)


def test_append_many_writes_rows_without_keys(database: Database) -> None:
    with database.transaction() as conn:
        append_many(conn, tables.changes, [change_row(f"x{n}") for n in range(4)])
        append_many(conn, tables.changes, [])
    with database.snapshot() as conn:
        actors = sorted(conn.execute(select(tables.changes.c.actor)).scalars())
    assert actors == ["x0", "x1", "x2", "x3"]


def test_values_are_stored_as_sqlalchemy_itself_stores_them(database: Database) -> None:
    """The fast path and an ordinary INSERT leave the same text behind (timestamps on a whole second
    included), so that comparing and sorting stored values never depends on how a row was written."""
    on_the_second = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
    rows = [{**change_row(name), "occurred_at": on_the_second} for name in ("fast", "plain")]
    with database.transaction() as conn:
        insert_many(conn, tables.changes, rows[:1])
        conn.execute(insert(tables.changes), rows[1:])
    with database.snapshot() as conn:
        stored = conn.execute(
            select(tables.changes.c.actor, cast(tables.changes.c.occurred_at, String))
        ).all()
    assert dict(stored)["fast"] == dict(stored)["plain"]


def test_a_violated_constraint_is_sqlalchemys_integrity_error_without_the_values(database: Database) -> None:
    """The write queue retries IntegrityError (another process committed the same key first); the fast
    path must raise it as conn.execute would, and no more reveal the row's values."""
    row = {"name": "t", "secret_hash": "0" * 64, "permissions": ["admin"], "created_at": utcnow()}
    with database.transaction() as conn:
        append_many(conn, tables.api_tokens, [row])
    for write in (append_many, insert_many):
        with pytest.raises(IntegrityError) as caught, database.transaction() as conn:
            write(conn, tables.api_tokens, [{**row, "permissions": ["user-read", "DOB 1987-06-05"]}])
        assert "1987-06-05" not in str(caught.value)


def test_columns_left_out_take_their_default(database: Database) -> None:
    row = {"name": "t", "secret_hash": "1" * 64, "permissions": ["admin"], "created_at": utcnow()}
    columns = ("name", "secret_hash", "permissions", "created_at")
    with database.transaction() as conn:
        [key] = insert_many(conn, tables.api_tokens, [{**row, "revoked_at": utcnow()}], columns)
    with database.snapshot() as conn:
        stored = conn.execute(select(tables.api_tokens).where(tables.api_tokens.c.id == key)).one()
    assert stored.name == "t"
    assert stored.revoked_at is None  # in the row, but not among the columns written


def test_each_row_keeps_its_own_time_when_a_batch_mixes_them(database: Database) -> None:
    """A batch's rows mostly share one timestamp, converted once; the others are converted each."""
    shared = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
    times = [shared, datetime(2026, 9, 2, tzinfo=UTC), shared, datetime(2026, 9, 1, 8, 30, 0, 1, tzinfo=UTC)]
    rows = [{**change_row(f"t{n}"), "occurred_at": moment} for n, moment in enumerate(times)]
    with database.transaction() as conn:
        keys = insert_many(conn, tables.changes, rows)
    with database.snapshot() as conn:
        stored = dict(conn.execute(select(tables.changes.c.seq, tables.changes.c.occurred_at)).all())
    assert [stored[key] for key in keys] == times
