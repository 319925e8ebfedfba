"""What a database server must do for provisionhub's queries to stay fast, checked when serving starts.

PostgreSQL plans each query from its statistics of the tables, which autovacuum's ANALYZE keeps current. A
table never analysed is planned as if it were nearly empty: a SCIM `userName eq` filter then walked the
primary key's index through every person, slower with each one, where the `username_key` index answers it
at once (docs/benchmarks). With autovacuum off, nothing analyses the tables.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from provisionhub.store import tables
from provisionhub.store.database import Database

log = logging.getLogger(__name__)

_TABLES_WITHOUT_AUTOVACUUM = text(
    "SELECT relname FROM pg_class"
    " WHERE relkind = 'r' AND relname = ANY(:names)"
    " AND relnamespace = to_regnamespace(current_schema())"
    " AND 'autovacuum_enabled=false' = ANY(coalesce(reloptions, '{}'))"
    " ORDER BY relname"
)


def upkeep_warnings(conn: Connection) -> list[str]:
    """What is wrong with the server's upkeep of our tables, each as one sentence (none on SQLite, which
    plans from its indexes' shape rather than from statistics)."""
    if conn.dialect.name != "postgresql":
        return []
    warnings = []
    if conn.exec_driver_sql("SHOW autovacuum").scalar() != "on":
        warnings.append(
            "PostgreSQL's autovacuum is off: nothing keeps the tables' statistics current, and queries "
            "planned from stale ones can read whole tables. Turn it on, or run ANALYZE after loading people."
        )
    names = sorted(tables.metadata.tables)
    off = list(conn.execute(_TABLES_WITHOUT_AUTOVACUUM, {"names": names}).scalars())
    if off:
        warnings.append(
            f"PostgreSQL's autovacuum is off for {', '.join(off)} (autovacuum_enabled=false): their "
            "statistics go stale, and queries planned from them can read whole tables."
        )
    return warnings


async def warn_about_upkeep(database: Database) -> None:
    """Log upkeep_warnings; a database that can't be asked now is left to the requests to report."""
    try:
        warnings = await database.read(upkeep_warnings)
    except SQLAlchemyError:
        log.warning("could not check the database server's upkeep (autovacuum)", exc_info=True)
        return
    for warning in warnings:
        log.warning(warning)
