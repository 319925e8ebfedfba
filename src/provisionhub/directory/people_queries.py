"""Queries about people, answered as the asking principal may see them.

People outside the principal's scope are not found (scopes.py). A person presenting their own credential
sees others without their private fields (contact details and sensitive fields: PRIVATE_FIELDS), and
inactive people not at all; everyone else who may read people sees them whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, func, select, true

from provisionhub.directory import memberships
from provisionhub.directory.access import Permission, Principal
from provisionhub.directory.changes import latest_seqs
from provisionhub.directory.condition_sql import sql_condition
from provisionhub.directory.conditions import Filter
from provisionhub.directory.errors import Forbidden, NotFound, OutOfScope
from provisionhub.directory.filter_attributes import people_attributes, sort_column
from provisionhub.directory.groups import groups_of
from provisionhub.directory.memberships import Member
from provisionhub.directory.people import SENSITIVE_FIELDS, Person, Status
from provisionhub.directory.people_search import (
    PeopleQuery,
    find_by_username,
    find_versioned,
    membership_counts,
    search_people,
)
from provisionhub.directory.queries import Query, Reading
from provisionhub.directory.scopes import sees, visible_people
from provisionhub.store import tables
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf

people = tables.people

#: Any of these lets a principal see the people it may write.
ANY_ON_PEOPLE = (
    Permission.USER_READ,
    Permission.USER_CREATE,
    Permission.USER_UPDATE,
    Permission.USER_DELETE,
)

#: What only the person and those who oversee people see of them.
PRIVATE_FIELDS: frozenset[str] = frozenset(
    {
        "email",
        "mobile_phone",
        "employee_phone",
        "student_phone",
        "street",
        "city",
        "region",
        "postal_code",
        "country",
        "alt_street",
        "alt_city",
        "alt_region",
        "alt_postal_code",
        "alt_country",
        "scim_values",
        *SENSITIVE_FIELDS,
    }
)


@dataclass(slots=True)  # not frozen: a list page makes a hundred, and freezing slows each
class PersonView:
    """A person as the asking principal sees them. private: whether their private fields are shown
    (else they are None). groups, version and organisations are filled when the query asks for them:
    their groups (public id, name), their newest change-log seq, how many accounts they belong to."""

    person: Person
    private: bool = True
    groups: tuple[tuple[str, str], ...] = ()
    version: int = 0
    organisations: int = 0
    #: The unique id of their identity in the asking principal's own login source (Users' externalId):
    #: None for a person of another source, or one created without one (their id stands for it).
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list, and how many the whole list holds."""

    total: int
    views: list[PersonView]


def view_of(principal: Principal, person: Person) -> PersonView:
    """person as principal sees them: without private fields unless principal oversees or is them."""
    if principal.oversees or principal.is_person(person.id):
        return PersonView(person)
    fields = {name: (None if name in PRIVATE_FIELDS else value) for name, value in person.fields.items()}
    return PersonView(replace(person, fields=fields), private=False)


def require_inactive_seen(principal: Principal, include_inactive: bool) -> None:
    """Inactive people are seen only by those who oversee people."""
    if include_inactive and not principal.oversees:
        raise Forbidden("only credentials that oversee people may see inactive ones")


def with_organisations(reading: Reading, views: Sequence[PersonView]) -> list[PersonView]:
    """views, each with how many accounts the person belongs to."""
    counts = membership_counts(reading.conn, [view.person.id for view in views])
    return [replace(view, organisations=counts.get(view.person.id, 0)) for view in views]


@dataclass(frozen=True, slots=True)
class PersonByUsername(Query[PersonView]):
    """The person with this username (case-insensitively), active unless include_inactive; with how
    many accounts they belong to. user-read (see to_change)."""

    username: str
    include_inactive: bool = False
    #: Any permission to write people will do: for the person a write is about to change.
    to_change: bool = False

    def run(self, reading: Reading) -> PersonView:
        principal = reading.principal
        if self.to_change:
            principal.require_any(*ANY_ON_PEOPLE)
        else:
            principal.require(Permission.USER_READ)
        require_inactive_seen(principal, self.include_inactive)
        person = find_by_username(reading.conn, self.username, self.include_inactive)
        if person is None or not _sees_person(reading, person):
            raise NotFound(f"no person has the username {self.username!r}")
        return with_organisations(reading, [view_of(principal, person)])[0]


@dataclass(frozen=True, slots=True)
class PersonById(Query[PersonView]):
    """The person with this public id, whatever their status, with how many accounts they belong to:
    what a write's answer shows of the person it wrote. user-read, or a permission to write people."""

    public_id: str

    def run(self, reading: Reading) -> PersonView:
        principal = reading.principal
        principal.require_any(*ANY_ON_PEOPLE)
        row = (
            reading.conn.execute(select(people).where(people.c.public_id == self.public_id))
            .mappings()
            .first()
        )
        if row is None or not sees(reading.conn, principal, row):
            raise NotFound(f"no person with id {self.public_id!r}")
        return with_organisations(reading, [view_of(principal, Person.from_row(row))])[0]


@dataclass(frozen=True, slots=True)
class Myself(Query[PersonView]):
    """The person presenting their own credential, with how many accounts they belong to."""

    def run(self, reading: Reading) -> PersonView:
        principal = reading.principal
        if principal.person_id is None:
            raise Forbidden("this credential is not a person's: it has no self")
        row = reading.conn.execute(select(people).where(people.c.id == principal.person_id)).mappings().one()
        return with_organisations(reading, [PersonView(Person.from_row(row))])[0]


@dataclass(frozen=True, slots=True)
class SearchPeople(Query[Page]):
    """A page of the people with a username that query asks for (OCL's list), each with how many
    accounts they belong to when with_organisations. user-read."""

    query: PeopleQuery
    with_organisations: bool = False

    def run(self, reading: Reading) -> Page:
        principal = reading.principal
        principal.require(Permission.USER_READ)
        require_inactive_seen(principal, self.query.include_inactive)
        found = search_people(reading.conn, self.query, visible_people(principal))
        views = [view_of(principal, person) for person in found.people]
        if self.with_organisations:
            views = with_organisations(reading, views)
        return Page(found.total, views)


@dataclass(frozen=True, slots=True)
class MemberById(Query[Member]):
    """The member (a person who belongs to an account) with this public id. user-read."""

    public_id: str

    def run(self, reading: Reading) -> Member:
        principal = reading.principal
        principal.require(Permission.USER_READ)
        found = memberships.find_members(reading.conn, [self.public_id], principal.account, principal.sources)
        member = found.get(self.public_id)
        if member is None:
            raise NotFound(f"no user has the myon_id {self.public_id}")
        return member


@dataclass(frozen=True, slots=True)
class UserById(Query[PersonView]):
    """The person with this public id, not deleted, with their groups, version and external id (home:
    the login source of a principal that is limited to none, or to several). user-read (see to_change)."""

    public_id: str
    home: str
    #: user-update will do: for what a write shows of the person it wrote, or is about to change.
    to_change: bool = False

    def run(self, reading: Reading) -> PersonView:
        if self.to_change:
            reading.principal.require_any(Permission.USER_READ, Permission.USER_UPDATE)
        else:
            reading.principal.require(Permission.USER_READ)
        found = find_versioned(reading.conn, self.public_id)
        if found is None:
            raise NotFound(f"no User has the id {self.public_id}")
        person, version = found
        if reading.principal.scoped and not _sees_person(reading, person):
            raise OutOfScope(f"no User has the id {self.public_id}")
        return user_views(reading, [person], self.home, {person.public_id: version})[0]


@dataclass(frozen=True, slots=True)
class Users(Query[Page]):
    """A page of the people not deleted that condition keeps (None: all), sorted by the attribute path
    sort (None: by creation), with the total, each with their groups, version and external id (home as
    UserById's). user-read. Paths: filter_attributes.py."""

    condition: Filter | None
    home: str
    sort: str | None = None
    descending: bool = False
    offset: int = 0
    limit: int = 100

    def run(self, reading: Reading) -> Page:
        principal, conn = reading.principal, reading.conn
        principal.require(Permission.USER_READ)
        attributes = people_attributes(principal.home_source or self.home)
        where = and_(
            NOT_DELETED,
            visible_people(principal),
            sql_condition(self.condition, attributes) if self.condition is not None else true(),
        )
        order = sort_column(self.sort, attributes, people.c.id, "Users")
        total = conn.execute(select(func.count()).select_from(people).where(where)).scalar_one()
        if self.limit <= 0:
            return Page(total, [])
        ordering = (order.desc(), people.c.id.desc()) if self.descending else (order.asc(), people.c.id.asc())
        # The page's ids first (the offset skipped through the narrow (id, status) index, not the wide
        # rows), then their rows, by one statement built once, put in the ids' order.
        ids = select(people.c.id).where(where).order_by(ordering[0].nulls_last(), ordering[1])
        wanted = list(conn.execute(ids.offset(self.offset).limit(self.limit)).scalars())
        rows = {row["id"]: row for row in fetch_all(conn, _BY_ROW_IDS, {"ids": wanted})} if wanted else {}
        found = [Person.from_row(rows[i]) for i in wanted if i in rows]
        return Page(total, user_views(reading, found, self.home))


NOT_DELETED = people.c.status != Status.DELETED.value
_BY_ROW_IDS = select(people).where(AnyOf(people.c.id, "ids"))


def user_views(
    reading: Reading,
    found: Sequence[Person],
    home: str,
    versions: Mapping[str, int] | None = None,
    groups: Mapping[int, list[tuple[str, str]]] | None = None,
) -> list[PersonView]:
    """People as Users are shown: with their groups, versions (looked up unless given) and external ids."""
    if versions is None:
        versions = latest_seqs(reading.conn, "person", [p.public_id for p in found])
    if groups is None:
        groups = groups_of(reading.conn, [p.id for p in found])
    principal = reading.principal
    own = principal.home_source or home
    sees_all = principal.oversees
    views = []
    for p in found:  # a list page makes a hundred: each view built once
        shown = PersonView(p) if sees_all or principal.is_person(p.id) else view_of(principal, p)
        shown.groups = tuple(groups.get(p.id, ()))
        shown.version = versions.get(p.public_id, 0)
        if p.login_source == own and p.unique_id != p.public_id:
            shown.external_id = p.unique_id
        views.append(shown)
    return views


def _sees_person(reading: Reading, person: Person) -> bool:
    row: dict[str, Any] = {"id": person.id, "login_source": person.login_source}
    return sees(reading.conn, reading.principal, row)
