"""Members: people who belong to an account (a myON district) and optionally one of its buildings, with a
role there. A member is a person like any other: the same row, public id and change log the other
dialects see; the membership is what myON adds.

Many members are created or changed at once, all or nothing: if one item of a batch is wrong, nothing is
written and every wrong item is named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, select

from provisionhub.directory import upserts
from provisionhub.directory.errors import Conflict, Invalid, ItemError, NotFound, Reason, Rejected
from provisionhub.directory.ids import new_public_ids
from provisionhub.directory.organisations import (
    Organisation,
    OrgKind,
    find_organisations,
    organisations_by_id,
    require_kind,
)
from provisionhub.directory.people import Person, PersonResult, UpsertPerson
from provisionhub.directory.reference_data import KnownCodes
from provisionhub.store import tables
from provisionhub.store.inserts import insert_many
from provisionhub.store.sql import AnyOf

#: The login source of people created as members (their unique_id is a generated UUID).
LOGIN_SOURCE = "MYON"

memberships = tables.memberships
people = tables.people


class Role(StrEnum):
    BUILDING_ADMIN = "building_admin"
    DISTRICT_ADMIN = "district_admin"


#: The membership's parts a command may set.
MEMBERSHIP_FIELDS: tuple[str, ...] = ("account", "building", "role")


@dataclass(frozen=True, slots=True)
class Membership:
    """Where a member belongs: the public ids of the account and (if any) the building, and the role."""

    account: str
    building: str | None
    role: Role


@dataclass(frozen=True, slots=True)
class Member:
    person: Person
    membership: Membership


@dataclass(frozen=True, slots=True)
class UpsertMember:
    """Create a person who belongs to an account (public_id None), or change the person with this public
    id and where they belong.

    person: person fields (as UpsertPerson takes them). membership: any of account and building (public
    ids; building None takes the member out of their building) and role. What is not named is left as
    it is; a new member needs an account and a role. required_on_create: person fields a new member needs.
    """

    public_id: str | None = None
    person: Mapping[str, Any] = field(default_factory=dict)
    membership: Mapping[str, Any] = field(default_factory=dict)
    required_on_create: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class UpsertMembers:
    """Apply every item, or none: Rejected names each failing one (by position) and why."""

    items: Sequence[UpsertMember]


@dataclass(slots=True)  # not frozen: a batch makes one a member for each of thousands of people
class MemberResult:
    """What a member command did: the person's result, and where the member belongs afterwards."""

    person: PersonResult
    membership: Membership

    @property
    def member(self) -> Member:
        """The member afterwards, built when asked for (a bulk answer needs only ids)."""
        return Member(self.person.person, self.membership)

    @property
    def created(self) -> bool:
        return self.person.created

    @property
    def changed(self) -> tuple[str, ...]:
        return self.person.changed


_BY_PUBLIC_ID = select(people).where(AnyOf(people.c.public_id, "ids"))
_MEMBERSHIPS = (
    select(memberships).where(AnyOf(memberships.c.person_id, "ids")).order_by(memberships.c.id.desc())
)
_WRITE_COLUMNS = ("account_id", "building_id", "role", "updated_at")
_UPDATE = (
    memberships.update()
    .where(memberships.c.id == bindparam("_id"))
    .values({name: bindparam(name) for name in _WRITE_COLUMNS})
)


def find_members(
    conn: Connection,
    public_ids: Sequence[str],
    scope: str | None = None,
    sources: frozenset[str] | None = None,
) -> dict[str, Member]:
    """The members with these public ids (those in scope's account, and of these login sources, if
    given), by public id."""
    rows = _people(conn, public_ids)
    held = _memberships(conn, [row["id"] for row in rows.values()])
    places = _places(conn, held.values())
    found: dict[str, Member] = {}
    for public_id, row in rows.items():
        membership = held.get(row["id"])
        if membership is not None:
            member = Member(Person.from_row(row), _membership(membership, places))
            if (scope is None or member.membership.account == scope) and (
                sources is None or member.person.login_source in sources
            ):
                found[public_id] = member
    return found


def upsert_members(
    conn: Connection,
    known_codes: KnownCodes,
    commands: Sequence[UpsertMember],
    actor: str,
    now: datetime,
    scope: str | None = None,
    sources: frozenset[str] | None = None,
) -> list[MemberResult]:
    """Apply every command, or none: Rejected names each failing one (by position) and why.

    scope, an account's public id, hides everything outside that account: people who are not its
    members, and other accounts and their buildings, are refused as if they did not exist; sources, the
    login sources whose people may be changed, hides the people of the others the same way.
    """
    rows = _people(conn, [c.public_id for c in commands if c.public_id])
    held = _memberships(conn, [row["id"] for row in rows.values()])
    named = [c.membership[n] for c in commands for n in ("account", "building") if c.membership.get(n)]
    places = _places(conn, held.values())
    known = {o.public_id: o for o in places.values()}  # where the members belong now
    visible = find_organisations(conn, named, scope)

    errors: list[ItemError] = []
    requests: list[tuple[UpsertPerson, str]] = []
    plans: list[_Plan | None] = []
    seen: set[str] = set()
    # People placed from nowhere alike (most of a bulk request) share one plan: where they go is the same.
    unplaced: dict[tuple[tuple[str, Any], ...], _Plan] = {}
    fresh_ids = iter(new_public_ids(sum(command.public_id not in rows for command in commands)))
    for index, command in enumerate(commands):
        existing = rows.get(command.public_id) if command.public_id else None
        held_row = held.get(existing["id"]) if existing is not None else None
        current = _membership(held_row, places) if held_row is not None else None
        try:
            if command.public_id is not None:
                if command.public_id in seen:
                    message = f"{command.public_id} appears twice in this batch"
                    raise Invalid("public_id", Reason.INVALID, message)
                seen.add(command.public_id)
            if command.public_id is not None and (
                existing is None
                or (scope is not None and (current is None or current.account != scope))
                or (sources is not None and existing["login_source"] not in sources)
            ):
                raise NotFound(f"no user has the id {command.public_id}")
            _check_parts(command.membership)
            if held_row is None:
                key = tuple(command.membership.items())
                plan = unplaced.get(key)
                if plan is None:
                    plan = unplaced[key] = _plan(None, None, command.membership, visible, known)
            else:
                plan = _plan(held_row, current, command.membership, visible, known)
            plans.append(plan)
        except (Invalid, NotFound) as exc:
            errors.append(ItemError(index, exc))
            plans.append(None)
        if existing is not None:
            request = UpsertPerson(
                existing["login_source"], existing["unique_id"], command.person, command.required_on_create
            )
        else:  # a new member's source identity is (MYON, the public id it gets)
            public_id = next(fresh_ids)
            request = UpsertPerson(
                LOGIN_SOURCE, public_id, command.person, command.required_on_create, public_id
            )
        requests.append((request, actor))

    with conn.begin_nested() as savepoint:
        # The membership's changes join the person's: one entry in the change log, one event a member.
        extras = [plan.diff if plan is not None else None for plan in plans]
        outcomes = upserts.upsert(conn, known_codes, requests, now, isolate=False, extras=extras)
        refused = {error.index for error in errors}  # one error an item: where it belongs comes first
        errors += [
            ItemError(i, o)
            for i, o in enumerate(outcomes)
            if isinstance(o, Invalid | Conflict) and i not in refused
        ]
        if errors:
            savepoint.rollback()
            raise Rejected(sorted(errors, key=lambda e: e.index))
    results = [outcome for outcome in outcomes if isinstance(outcome, PersonResult)]
    placed = [plan for plan in plans if plan is not None]
    assert len(results) == len(placed) == len(commands)
    _write_memberships(conn, results, placed, now)
    return [MemberResult(result, plan.after) for result, plan in zip(results, placed, strict=True)]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where a member belongs now (row and membership; None: nowhere yet) and will belong, what changes,
    {part: (old, new)} by public ids and role names, and the membership row's columns (shared by the
    people of a plan: never changed)."""

    row: RowMapping | None
    before: Membership | None
    account: Organisation
    building: Organisation | None
    role: Role
    after: Membership
    diff: Mapping[str, tuple[Any, Any]]
    columns: Mapping[str, Any]  # the membership row's account_id, building_id and role


def _plan(
    row: RowMapping | None,
    before: Membership | None,
    sent: Mapping[str, Any],
    visible: Mapping[str, Organisation],
    known_places: Mapping[str, Organisation],
) -> _Plan:
    account, building, role = _placed(sent, before, visible, known_places)
    after = Membership(account.public_id, building.public_id if building else None, role)
    old, new = _parts(before), _parts(after)
    diff = {name: (old[name], new[name]) for name in MEMBERSHIP_FIELDS if old[name] != new[name]}
    columns = {"account_id": account.id, "building_id": building.id if building else None, "role": role.value}
    return _Plan(row, before, account, building, role, after, diff, columns)


def _parts(membership: Membership | None) -> dict[str, str | None]:
    if membership is None:
        return dict.fromkeys(MEMBERSHIP_FIELDS)
    return {"account": membership.account, "building": membership.building, "role": membership.role.value}


def _check_parts(sent: Mapping[str, Any]) -> None:
    for name in sent:
        if name not in MEMBERSHIP_FIELDS:
            raise Invalid(name, Reason.UNKNOWN, f"{name} is not a part of a membership")


def _placed(
    sent: Mapping[str, Any],
    current: Membership | None,
    visible: Mapping[str, Organisation],
    known_places: Mapping[str, Organisation],
) -> tuple[Organisation, Organisation | None, Role]:
    """The account, building and role a member will have: what was sent over what they have now."""
    account_id = sent.get("account") or (current.account if current else None)
    if account_id is None:
        raise Invalid("account", Reason.REQUIRED, "account is required: a new member belongs to an account")
    role = sent.get("role") or (current.role if current else None)
    if role is None:
        raise Invalid("role", Reason.REQUIRED, "role is required: a new member has a role")
    building_id = sent.get("building", current.building if current else None)
    account = _organisation("account", account_id, OrgKind.ACCOUNT, visible, known_places, sent)
    building = (
        _organisation("building", building_id, OrgKind.BUILDING, visible, known_places, sent)
        if building_id is not None
        else None
    )
    if building is not None and building.parent != account.public_id:
        message = f"building {building.public_id} belongs to another account than {account.public_id}"
        raise Invalid("building", Reason.INVALID, message)
    if role is Role.BUILDING_ADMIN and building is None:
        raise Invalid("building", Reason.REQUIRED, "building is required: a building admin has a building")
    return account, building, Role(role)


def _organisation(
    name: str,
    public_id: str,
    kind: OrgKind,
    visible: Mapping[str, Organisation],
    known_places: Mapping[str, Organisation],
    sent: Mapping[str, Any],
) -> Organisation:
    """The organisation a membership part names: one the command sent (which must be visible and of the
    right kind), or the one the member already has."""
    found = visible.get(public_id) if name in sent else known_places.get(public_id)
    require_kind(found.kind if found is not None else None, public_id, kind, name)
    assert found is not None
    return found


def _write_memberships(
    conn: Connection, results: list[PersonResult], plans: list[_Plan], now: datetime
) -> None:
    """Insert the new members' memberships and update the ones that change."""
    creates: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for result, plan in zip(results, plans, strict=True):
        if plan.row is None:
            creates.append({"person_id": result.id, **plan.columns, "created_at": now, "updated_at": now})
        elif plan.before != plan.after:
            updates.append({"_id": plan.row["id"], **plan.columns, "updated_at": now})
    insert_many(conn, memberships, creates)
    if updates:
        conn.execute(_UPDATE, updates)


def _people(conn: Connection, public_ids: Sequence[str]) -> dict[str, RowMapping]:
    wanted = sorted(set(public_ids))
    if not wanted:
        return {}
    return {row["public_id"]: row for row in conn.execute(_BY_PUBLIC_ID, {"ids": wanted}).mappings()}


def _memberships(conn: Connection, person_ids: Sequence[int]) -> dict[int, RowMapping]:
    """Each person's membership, by person id (the newest, should there be several)."""
    if not person_ids:
        return {}
    rows = conn.execute(_MEMBERSHIPS, {"ids": sorted(set(person_ids))}).mappings()
    found: dict[int, RowMapping] = {}
    for row in rows:
        found.setdefault(row["person_id"], row)
    return found


def _places(conn: Connection, rows: Any) -> dict[int, Organisation]:
    """The organisations memberships point to, by row id."""
    ids = [row[name] for row in rows for name in ("account_id", "building_id") if row[name] is not None]
    return organisations_by_id(conn, ids)


def _membership(row: RowMapping, places: Mapping[int, Organisation]) -> Membership:
    building = row["building_id"]
    return Membership(
        account=places[row["account_id"]].public_id,
        building=places[building].public_id if building is not None else None,
        role=Role(row["role"]),
    )
