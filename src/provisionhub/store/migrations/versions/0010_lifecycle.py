"""lifecycle: grace days of user types and login sources; indexes for the due transitions of people

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (index, columns, predicate): only people with that moment set are indexed.
_INDEXES = (
    ("ix_people_status_valid_from", ["status", "valid_from"], "valid_from IS NOT NULL"),
    ("ix_people_status_valid_through", ["status", "valid_through"], "valid_through IS NOT NULL"),
)


def upgrade() -> None:
    for catalogue in ("login_sources", "user_types"):
        with op.batch_alter_table(catalogue, schema=None) as batch_op:
            batch_op.add_column(sa.Column("grace_days", sa.Integer(), nullable=True))

    with op.batch_alter_table("people", schema=None) as batch_op:
        for name, columns, predicate in _INDEXES:
            batch_op.create_index(
                name,
                columns,
                unique=False,
                sqlite_where=sa.text(predicate),
                postgresql_where=sa.text(predicate),
            )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        for name, _, _ in reversed(_INDEXES):
            batch_op.drop_index(name)

    for catalogue in ("user_types", "login_sources"):
        with op.batch_alter_table(catalogue, schema=None) as batch_op:
            batch_op.drop_column("grace_days")
