"""Which people a principal may see: in Python, for one person at hand, and in SQL, for a list.

A principal sees the people in its scope (access.py): of the login sources it reaches and, when scoped to
an account, members of that account. A person presenting their own credential sees everyone a list
shows (OCL lets anyone signed in read the active users), their private fields aside (person_views.py).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, Connection, and_, select, true

from provisionhub.directory.access import Kind, Principal
from provisionhub.store import tables
from provisionhub.store.rows import StoredRow

people = tables.people
memberships = tables.memberships
organisations = tables.organisations


def sees(conn: Connection, principal: Principal, row: StoredRow) -> bool:
    """Whether the principal may see the person whose row this is."""
    if principal.kind is Kind.PERSON:
        return True
    if not principal.may_write_source(row["login_source"]):
        return False
    return principal.account is None or principal.account in accounts_of(conn, row["id"])


def accounts_of(conn: Connection, person_id: int) -> set[str]:
    """The public ids of the accounts the person is a member of."""
    statement = (
        select(organisations.c.public_id)
        .join_from(memberships, organisations, memberships.c.account_id == organisations.c.id)
        .where(memberships.c.person_id == person_id)
    )
    return set(conn.execute(statement).scalars())


def visible_people(principal: Principal) -> ColumnElement[bool]:
    """The condition on the people table that keeps those the principal sees (true() for all)."""
    if principal.kind is Kind.PERSON:
        return true()
    parts: list[ColumnElement[bool]] = []
    sources = principal.sources
    if sources is not None:
        parts.append(people.c.login_source.in_(sorted(sources)))
    if principal.account is not None:
        members = (
            select(memberships.c.person_id)
            .join_from(memberships, organisations, memberships.c.account_id == organisations.c.id)
            .where(organisations.c.public_id == principal.account)
        )
        parts.append(people.c.id.in_(members))
    if not parts:
        return true()
    return and_(*parts)


def unseen(conn: Connection, principal: Principal, public_ids: Collection[str]) -> list[str]:
    """Those of these people (public ids) the principal does not see, in order."""
    if not principal.scoped or not public_ids:
        return []
    wanted = sorted(set(public_ids))
    rows = conn.execute(
        select(people.c.id, people.c.public_id, people.c.login_source).where(people.c.public_id.in_(wanted))
    ).mappings()
    hidden = {row["public_id"] for row in rows if not sees(conn, principal, row)}
    return [public_id for public_id in public_ids if public_id in hidden]
