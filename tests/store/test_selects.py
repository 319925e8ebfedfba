"""fetch_all: the same rows, with the same Python values, as SQLAlchemy's own execution gives."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.directory.service import Directory
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf
from tests.factories import upsert

PEOPLE = select(tables.people).where(AnyOf(tables.people.c.unique_id, "ids")).order_by(tables.people.c.id)
TOKENS = select(tables.api_tokens).where(AnyOf(tables.api_tokens.c.name, "names"))


def test_rows_and_values_are_those_sqlalchemy_gives(directory: Directory, database: Database) -> None:
    start = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
    directory.apply(upsert("s1", date_of_birth=date(2001, 1, 31), valid_from=start), "test")
    directory.apply(upsert("s2", middle_name="Byron"), "test")
    with database.transaction() as conn:
        create_token(conn, "reader", [Permission.USER_READ], actor="test", login_sources=["OPSCOM"])

    with database.snapshot() as conn:
        cases = [(PEOPLE, {"ids": ["s1", "s2", "nobody"]}), (TOKENS, {"names": ["reader"]})]
        for statement, parameters in cases:
            fast = fetch_all(conn, statement, parameters)
            plain = [dict(row) for row in conn.execute(statement, parameters).mappings()]
            assert fast == plain
            assert fast  # the comparison covered rows, not two empty lists

        [first, _] = fetch_all(conn, PEOPLE, {"ids": ["s1", "s2"]})
        assert fetch_all(conn, PEOPLE, {"ids": []}) == []
    assert (first["date_of_birth"], first["valid_from"], first["created_at"].tzinfo) == (
        date(2001, 1, 31),
        start,
        UTC,
    )
