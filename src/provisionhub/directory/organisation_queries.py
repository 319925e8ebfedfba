"""Queries about organisations, answered within the asking principal's account subtree (if scoped)."""

from __future__ import annotations

from dataclasses import dataclass

from provisionhub.directory.access import Permission
from provisionhub.directory.entitlements import Grant, grants_of
from provisionhub.directory.errors import NotFound
from provisionhub.directory.listings import OrganisationEntry, OrganisationQuery, list_organisations
from provisionhub.directory.organisations import Organisation, OrgKind, find_organisations
from provisionhub.directory.queries import Query, Reading


@dataclass(frozen=True, slots=True)
class OrganisationView:
    """An organisation, and (a building's) the entitlements it holds."""

    organisation: Organisation
    grants: tuple[Grant, ...] = ()


@dataclass(frozen=True, slots=True)
class OrganisationById(Query[OrganisationView]):
    """The organisation of this kind with this public id; a building with its grants. org-read."""

    public_id: str
    kind: OrgKind

    def run(self, reading: Reading) -> OrganisationView:
        principal = reading.principal
        principal.require(Permission.ORG_READ)
        found = find_organisations(reading.conn, [self.public_id], principal.account).get(self.public_id)
        if found is None or found.kind is not self.kind:
            raise NotFound(f"no {self.kind.value} has the myon_id {self.public_id}")
        if self.kind is not OrgKind.BUILDING:
            return OrganisationView(found)
        return OrganisationView(
            found, tuple(grants_of(reading.conn, [self.public_id]).get(self.public_id, []))
        )


@dataclass(frozen=True, slots=True)
class Organisations(Query[list[OrganisationEntry]]):
    """The organisations query keeps, with their member counts (UNIWeb's units). org-read."""

    query: OrganisationQuery

    def run(self, reading: Reading) -> list[OrganisationEntry]:
        principal = reading.principal
        principal.require(Permission.ORG_READ)
        entries = list_organisations(reading.conn, self.query)
        if principal.account is None:
            return entries
        return [e for e in entries if principal.account in (e.public_id, e.parent)]
