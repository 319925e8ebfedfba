"""The demo loaded in one transaction: catalogues, organisations, people, memberships, profile sections,
groups and a permission through the directory (as the operator `demo`, the door every dialect uses),
then a read-only API token, an OAuth client, the target and everyone queued to it. All or nothing."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from provisionhub.auth.oauth import NewClient, create_client
from provisionhub.auth.passwords import hash_password
from provisionhub.auth.tokens import create_token
from provisionhub.cli.demo.dataset import Place, Resident, World, world
from provisionhub.directory.access import Permission
from provisionhub.directory.entitlements import (
    AddEntitlement,
    Entitlement,
    GrantEntitlement,
    GrantEntitlements,
)
from provisionhub.directory.groups import CreateGroup
from provisionhub.directory.memberships import Role, UpsertMember, UpsertMembers
from provisionhub.directory.organisations import OrganisationResult, UpsertOrganisation, UpsertOrganisations
from provisionhub.directory.people import PersonResult, SetStaff, UpsertPerson
from provisionhub.directory.section_items import ChangeSections, EditItem
from provisionhub.directory.service import Directory
from provisionhub.provisioning.requeue import reprovision
from provisionhub.provisioning.targets import AddTarget, Kind, Mode, add_target

#: What the demo names itself by: the change log's actor for all it writes, its target, its credentials.
ACTOR = "demo"
TARGET = "demo-receiver"
TOKEN = "demo-reader"  # noqa: S105 (the token's name)
TOKEN_PERMISSIONS = (Permission.USER_READ, Permission.ORG_READ, Permission.GROUP_READ)
OAUTH_CLIENT = "demo-uniweb"
#: Where `provisionhub sink` listens by default.
RECEIVER = "http://127.0.0.1:9000"
#: Tries before a delivery is dead: enough for a receiver started long after the demo.
MAX_ATTEMPTS = 100


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the load wrote, and the secrets it made (shown once). people: how many of each login source;
    staff: (username, password); expiring: (username, end of their validity window)."""

    people: Mapping[str, int]
    organisations: int
    members: int
    groups: int
    world: World
    permitted: str  # the public id of the building granted the permission
    token: str
    client: NewClient
    staff: Sequence[tuple[str, str]]
    expiring: Sequence[tuple[str, datetime]]
    queued: int


def load(conn: Connection, directory: Directory, receiver: str, now: datetime) -> Loaded:
    """Load the demo in conn's transaction; a refusal (DirectoryError) is raised, and the caller's
    rollback leaves nothing."""
    data = world()

    def apply(command: object) -> Any:
        return directory.apply_in(conn, command, ACTOR)

    for catalogue_entry in (*data.user_types, *data.login_sources):
        apply(catalogue_entry)
    places = _organisations(apply, data.places)
    passwords = {r.key: secrets.token_urlsafe(12) for r in data.residents if r.staff}
    people = {r.key: _person(apply, r, passwords.get(r.key), now) for r in data.residents}
    members = [_member(people[r.key].public_id, r.member_of, places) for r in data.residents if r.member_of]
    apply(UpsertMembers(members))
    for resident in data.residents:
        if resident.staff:
            apply(SetStaff(_username(resident), True))
    apply(ChangeSections([_biography(r, people[r.key].public_id) for r in data.residents if r.biography]))
    for name, keys in data.groups.items():
        apply(CreateGroup(name, [people[key].public_id for key in keys]))
    permission: Entitlement = apply(AddEntitlement(data.permission_code, data.permission_title))
    building = places[data.permitted].organisation.public_id
    apply(GrantEntitlements([_school_year(building, permission.public_id, now)]))

    token = create_token(conn, TOKEN, TOKEN_PERMISSIONS, actor=ACTOR)
    client = create_client(conn, OAUTH_CLIENT, None, now, actor=ACTOR)
    target = AddTarget(TARGET, Kind.APIPROVISIONER, receiver, Mode.PUT, max_attempts=MAX_ATTEMPTS)
    add_target(conn, target, ACTOR, now)
    queued = reprovision(conn, TARGET, None, ACTOR, now)
    return Loaded(
        people=Counter(r.login_source for r in data.residents),
        organisations=len(places),
        members=len(members),
        groups=len(data.groups),
        world=data,
        permitted=building,
        token=token,
        client=client,
        staff=[(_username(r), passwords[r.key]) for r in data.residents if r.staff],
        expiring=[
            (_username(r), people[r.key].person["valid_through"]) for r in data.residents if r.valid_for_days
        ],
        queued=queued,
    )


def _username(resident: Resident) -> str:
    return str(resident.fields["username"])


def _organisations(apply: Callable[[object], Any], places: Sequence[Place]) -> dict[str, OrganisationResult]:
    """Each place created, by key: those without a parent first, then the ones under them."""
    made: dict[str, OrganisationResult] = {}
    for level in ([p for p in places if p.parent is None], [p for p in places if p.parent is not None]):
        commands = [
            UpsertOrganisation(
                p.kind, None, made[p.parent].organisation.public_id if p.parent else None, p.fields
            )
            for p in level
        ]
        results: list[OrganisationResult] = apply(UpsertOrganisations(commands))
        made.update((place.key, result) for place, result in zip(level, results, strict=True))
    return made


def _person(
    apply: Callable[[object], Any], resident: Resident, password: str | None, now: datetime
) -> PersonResult:
    fields = dict(resident.fields)
    if resident.valid_for_days is not None:
        fields["valid_through"] = (now + timedelta(days=resident.valid_for_days)).replace(
            minute=0, second=0, microsecond=0
        )
    if password is not None:
        fields["password_hash"] = hash_password(password)
    # A source that gives no unique_id (OCL) identifies its people by their public id: create_only.
    command = UpsertPerson(
        resident.login_source, resident.unique_id, fields, create_only=resident.unique_id is None
    )
    result: PersonResult = apply(command)
    return result


def _member(
    public_id: str, member_of: tuple[str, Role], places: Mapping[str, OrganisationResult]
) -> UpsertMember:
    """The person's membership of an organisation: an account, or a building and its account."""
    key, role = member_of
    place = places[key].organisation
    account, building = (place.parent, place.public_id) if place.parent else (place.public_id, None)
    return UpsertMember(public_id, membership={"account": account, "building": building, "role": role})


def _biography(resident: Resident, public_id: str) -> EditItem:
    return EditItem(public_id, "profile/biography", {"biography": resident.biography})


def _school_year(building: str, entitlement: str, now: datetime) -> GrantEntitlement:
    """A grant from August 1st to June 30th of the school year now is in, in the building's own time."""
    start = now.year if now.month >= 8 else now.year - 1
    return GrantEntitlement(
        building, entitlement, datetime(start, 8, 1), datetime(start + 1, 6, 30, 23, 59, 59), active=True
    )
