"""Queries about profile sections (UNIWeb's): the catalogue, what its sections are, and members' items.

Which sections a request wants is the dialect's to read from its wire, against the catalogue in force:
a query takes that reading as a function of the catalogue (`wanted_of`), so that both come from one
snapshot. A read naming people outside the principal's scope is refused whole (OutOfScope): the members
a request is about are all seen, or none is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from provisionhub.directory.access import Permission, Principal
from provisionhub.directory.errors import NotFound, OutOfScope
from provisionhub.directory.people import Person
from provisionhub.directory.people_search import MemberQuery, find_by_login, find_members
from provisionhub.directory.queries import Query, Reading
from provisionhub.directory.scopes import sees
from provisionhub.directory.section_catalogue import Wanted, current_catalogue, section_info, section_options
from provisionhub.directory.section_items import modified_since, read_sections
from provisionhub.directory.sections import Catalogue, Language

WantedOf = Callable[[Catalogue], Wanted]


@dataclass(frozen=True, slots=True)
class SectionCatalogue(Query[Catalogue]):
    """The profile sections in force: the shipped ones, with those an operator loaded."""

    def run(self, reading: Reading) -> Catalogue:
        return current_catalogue(reading.conn)


@dataclass(frozen=True, slots=True)
class SectionInfo(Query[dict[str, Any]]):
    """What each section wanted is (options: the choices of its lists of values instead). user-read."""

    wanted_of: WantedOf
    language: Language = Language.EN
    options: bool = False

    def run(self, reading: Reading) -> dict[str, Any]:
        reading.principal.require(Permission.USER_READ)
        catalogue = current_catalogue(reading.conn)
        describe = section_options if self.options else section_info
        return describe(catalogue, self.wanted_of(catalogue), self.language)


@dataclass(frozen=True, slots=True)
class MembersRead:
    """Members and the items of the sections wanted, by public id then path; changed: with a
    modified_since, the paths of each member changed since (else None)."""

    catalogue: Catalogue
    people: list[Person]
    sections: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    changed: dict[str, set[str]] | None = None


@dataclass(frozen=True, slots=True)
class MemberSections(Query[MembersRead]):
    """The members a read is about (the one login names, or those members keeps, active) with the
    sections wanted_of says. user-read; OutOfScope if one of them is outside the principal's scope.

    since: only the members changed since (when the members are a filter's), and what changed of each.
    """

    login: str | None = None
    members: MemberQuery = field(default_factory=MemberQuery)
    wanted_of: WantedOf | None = None
    language: Language = Language.EN
    since: datetime | None = None

    def run(self, reading: Reading) -> MembersRead:
        principal, conn = reading.principal, reading.conn
        principal.require(Permission.USER_READ)
        catalogue = current_catalogue(conn)
        wanted = self.wanted_of(catalogue) if self.wanted_of is not None else None
        if self.login is not None:
            people = [member_by_login(reading, self.login)]
        else:
            people = find_members(conn, self.members)
            _require_seen(reading, people)
        changed = None
        if self.since is not None:
            changed = modified_since(conn, catalogue, self.since, [p.public_id for p in people])
            if self.login is None:
                people = [p for p in people if p.public_id in changed]
        if wanted is None:
            return MembersRead(catalogue, people, changed=changed)
        read = read_sections(conn, catalogue, [p.public_id for p in people], wanted, self.language)
        return MembersRead(catalogue, people, read, changed)


@dataclass(frozen=True, slots=True)
class MemberByLogin(Query[Person]):
    """The member a login names (username, email or public id). user-read; OutOfScope outside."""

    login: str

    def run(self, reading: Reading) -> Person:
        reading.principal.require(Permission.USER_READ)
        return member_by_login(reading, self.login)


def member_by_login(reading: Reading, login: str) -> Person:
    person = find_by_login(reading.conn, login)
    if person is None:
        raise NotFound(f"no member is {login!r}")
    _require_seen(reading, [person])
    return person


def _require_seen(reading: Reading, people: Sequence[Person]) -> None:
    principal: Principal = reading.principal
    if not principal.scoped:
        return
    for person in people:
        if not sees(reading.conn, principal, {"id": person.id, "login_source": person.login_source}):
            raise OutOfScope(f"the member {person.public_id!r} is outside this credential's scope")
