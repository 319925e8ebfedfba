"""Alembic environment: the URL comes from the caller's config or from Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from provisionhub.settings import Settings
from provisionhub.store.engine import make_engine
from provisionhub.store.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings().database_url
connection = config.attributes.get("connection")


def run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
