"""targets removed: kept for their deliveries' history, their names free again

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import provisionhub.store.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRESENT = sa.text("removed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", provisionhub.store.types.UTCDateTime(timezone=True)))
        batch_op.drop_constraint(batch_op.f("uq_targets_name"), type_="unique")
        batch_op.create_index(
            batch_op.f("ix_targets_name"),
            ["name"],
            unique=True,
            sqlite_where=PRESENT,
            postgresql_where=PRESENT,
        )


def downgrade() -> None:
    # Without removed_at a removed target would be live again: it is paused instead, and renamed so that
    # names are unique across every row once more.
    op.execute(
        "UPDATE targets SET state = 'paused', name = substr(name, 1, 80) || ' (removed ' || id || ')' "
        "WHERE removed_at IS NOT NULL"
    )
    with op.batch_alter_table("targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_targets_name"), sqlite_where=PRESENT, postgresql_where=PRESENT)
        batch_op.create_unique_constraint(batch_op.f("uq_targets_name"), ["name"])
        batch_op.drop_column("removed_at")
