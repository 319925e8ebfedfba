"""Who may touch whom, decided once: each command checked against its principal's permissions and its
target's scope, inside the transaction that applies it, then applied (operations.py).

The rules (docs/decisions/one-door.md):
- Creating a person takes user-create, in a login source the principal may write; an account-scoped
  principal creates people only as members of its account (UpsertMembers).
- Changing a person takes user-update (an upsert from a source: user-create or user-update; deleting:
  user-delete), and the person in the principal's scope; one outside it is as if they did not exist.
  A person presenting their own credential may change their own fields, nothing else.
- A staff member's password is set only by an unscoped admin credential, or by the staff member.
- A group command changes the groups of the people it adds, removes or (renaming or deleting the group)
  keeps: each must be in scope. A scoped principal replacing a group's members replaces those it sees.
- Catalogues (user types, login sources, entitlements, sections) and staff: an unscoped admin only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from provisionhub.directory import groups
from provisionhub.directory.access import HomeSource, Kind, Permission, Principal
from provisionhub.directory.entitlements import AddEntitlement, GrantEntitlements, Unset
from provisionhub.directory.errors import DirectoryError, Forbidden, Invalid, NotFound, OutOfScope, Reason
from provisionhub.directory.memberships import MemberResult, UpsertMembers
from provisionhub.directory.operations import Operations, person_of
from provisionhub.directory.organisations import UpsertOrganisations
from provisionhub.directory.passwords import PASSWORD_HASH
from provisionhub.directory.people import (
    Expect,
    PersonResult,
    SetActive,
    SetStaff,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.people_queries import ANY_ON_PEOPLE
from provisionhub.directory.reference_data import (
    AddLoginSource,
    AddUserType,
    SetLoginSourceGraceDays,
    SetUserTypeGraceDays,
)
from provisionhub.directory.scopes import sees
from provisionhub.directory.section_catalogue import LoadSections
from provisionhub.directory.section_items import ChangeSections
from provisionhub.store import tables
from provisionhub.store.rows import StoredRow

people = tables.people

_OPERATORS_ONLY = (
    AddUserType,
    AddLoginSource,
    SetUserTypeGraceDays,
    SetLoginSourceGraceDays,
    AddEntitlement,
)


def execute(conn: Connection, operations: Operations, principal: Principal, command: object) -> Any:
    """Apply command as principal in conn's transaction, if the principal may; its result."""
    actor = principal.actor
    match command:
        case UpsertPerson():
            [outcome] = upsert_each(conn, operations, [(command, principal)])
            if isinstance(outcome, DirectoryError):
                raise outcome
            return operations.follow_source(conn, homed(command, principal), outcome, actor)
        case UpdatePerson():
            row = _person(conn, command.public_id)
            _may_change(conn, principal, row, Permission.USER_UPDATE, command.fields)
            if isinstance(command.unique_id_source, HomeSource):
                command = replace(command, unique_id_source=command.unique_id_source.of(principal))
            return operations.update_person(conn, command, actor)
        case Expect():
            principal.require_any(*ANY_ON_PEOPLE)
            if not sees(conn, principal, _person(conn, command.public_id)):
                raise OutOfScope(f"no person with id {command.public_id!r}")
            return operations.expect(conn, command)
        case groups.ExpectGroup():
            principal.require_any(Permission.GROUP_READ, Permission.GROUP_WRITE)
            return operations.execute(conn, command, actor)
        case SetStatus():
            permission = (
                Permission.USER_DELETE if command.status is Status.DELETED else Permission.USER_UPDATE
            )
            found = person_of(conn, command)
            if found is None:  # by identity, and nobody has it: nothing to do, if it were anyone's to do
                assert command.identity is not None
                principal.require(permission)
                principal.require_source(command.identity[0])
                return None
            _may_change(conn, principal, found, permission, own=False)
            return operations.set_status(conn, command, actor)
        case SetActive():
            _may_change(conn, principal, _person(conn, command.public_id), Permission.USER_UPDATE, own=False)
            return operations.set_active(conn, command, actor)
        case SetStaff():
            principal.require_operator("make a person staff or no longer staff")
            return operations.set_staff(conn, command, actor)
        case LoadSections():
            principal.require_operator("load profile sections")
            return operations.load_sections(conn, command.document, actor)
        case UpsertOrganisations():
            principal.require(Permission.ORG_WRITE)
            return operations.upsert_organisations(conn, command.items, actor, principal.account)
        case GrantEntitlements():
            principal.require(Permission.ENTITLEMENT_WRITE)
            return operations.grant_entitlements(conn, command.items, actor, principal.account)
        case UpsertMembers():
            _may_upsert_members(conn, principal, command)
            return operations.upsert_members(conn, command.items, actor, principal.account, principal.sources)
        case groups.CreateGroup():
            principal.require(Permission.GROUP_WRITE)
            _require_seen_members(conn, principal, command.members)
            return operations.execute(conn, command, actor)
        case groups.ChangeGroup():
            principal.require(Permission.GROUP_WRITE)
            return operations.execute(conn, _scoped_change(conn, principal, command), actor)
        case groups.DeleteGroup():
            principal.require(Permission.GROUP_WRITE)
            _require_every_member_seen(conn, principal, command.public_id, "delete")
            return operations.execute(conn, command, actor)
        case groups.SetSourceGroups():
            principal.require_source(command.source)
            _may_change(conn, principal, _person(conn, command.public_id), Permission.USER_UPDATE, own=False)
            return operations.execute(conn, command, actor)
        case ChangeSections():
            principal.require(Permission.USER_UPDATE)
            for public_id in {section.person for section in command.commands}:
                _may_change(conn, principal, _person(conn, public_id), Permission.USER_UPDATE)
            return operations.change_sections(conn, command.commands, actor)
        case _ if isinstance(command, _OPERATORS_ONLY):
            principal.require_operator("change the catalogues")
            return operations.execute(conn, command, actor)
    raise TypeError(f"not a directory command: {command!r}")


def homed(command: UpsertPerson, principal: Principal) -> UpsertPerson:
    """command with its login source the principal's own, when it asks for that (HomeSource)."""
    if isinstance(command.login_source, HomeSource):
        return command.in_source(command.login_source.of(principal))
    return command


def may_submit(principal: Principal, command: object) -> None:
    """Refuse a command its principal may not submit whatever its target: the permissions it needs that
    can be told before it runs (the write checks everything again)."""
    if type(command) is UpsertPerson:  # every push and SCIM create: asked before the match below
        if not principal.can(Permission.USER_UPDATE):
            principal.require(Permission.USER_CREATE)
        principal.require_source(str(homed(command, principal).login_source).strip())
        if command.status is Status.DELETED:
            principal.require(Permission.USER_DELETE)
        return
    match command:
        case UpdatePerson() if principal.kind is not Kind.PERSON:
            principal.require(Permission.USER_UPDATE)
        case UpsertMembers():
            if any(item.public_id is None for item in command.items):
                principal.require(Permission.USER_CREATE)
            if any(item.public_id is not None for item in command.items):
                principal.require(Permission.USER_UPDATE)


def upsert_each(
    conn: Connection, operations: Operations, requests: Sequence[tuple[UpsertPerson, Principal]]
) -> list[PersonResult | DirectoryError]:
    """Create or change each person, each alone, if its principal may (the groups and status a command
    also gives are not applied here: see execute). What each principal may is worked out once a batch
    (a batch of pushes is mostly one token's)."""
    outcomes: dict[int, PersonResult | DirectoryError] = {}
    allowed: list[tuple[int, UpsertPerson, _Upserter]] = []
    upserters: dict[int, _Upserter] = {}
    for index, (command, principal) in enumerate(requests):
        upserter = upserters.get(id(principal))
        if upserter is None:
            upserter = upserters[id(principal)] = _Upserter(principal)
        try:
            command = upserter.checked(command)
        except DirectoryError as exc:
            outcomes[index] = exc
            continue
        allowed.append((index, command, upserter))

    def allow(position: int, existing: Mapping[str, Any] | None) -> DirectoryError | None:
        _, command, upserter = allowed[position]
        if existing is None and upserter.creates_freely:
            return None  # the everyday case: a new person, a principal that may create them anywhere
        principal = upserter.principal
        try:
            if existing is None:
                principal.require(Permission.USER_CREATE)
                if principal.account is not None:
                    raise Forbidden(
                        f"this credential is scoped to the account {principal.account}: it creates people "
                        "only as that account's members"
                    )
            else:
                if not sees(conn, principal, existing):
                    raise Forbidden("this credential may not change this person: they are outside its scope")
                _may_set_password(principal, existing, command.fields)
        except DirectoryError as exc:
            return exc
        return None

    answers = operations.upsert_each(conn, [(c, u.actor) for _, c, u in allowed], allow=allow)
    for (index, _, _), answer in zip(allowed, answers, strict=True):
        outcomes[index] = answer
    return [outcomes[index] for index in range(len(requests))]


class _Upserter:
    """What one principal may do with upserts, worked out once: may_submit's checks of an UpsertPerson,
    without asking the principal again for every person of a batch."""

    __slots__ = ("actor", "can_create", "can_delete", "creates_freely", "principal", "sources")

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.actor = principal.actor
        self.can_create = principal.can(Permission.USER_CREATE)
        self.can_delete = principal.can(Permission.USER_DELETE)
        self.sources = principal.sources
        self.creates_freely = self.can_create and principal.account is None

    def checked(self, command: UpsertPerson) -> UpsertPerson:
        """command in its login source (HomeSource resolved), if the principal may submit it at all."""
        if isinstance(command.login_source, HomeSource):
            command = command.in_source(command.login_source.of(self.principal))
        if not self.can_create and not self.principal.can(Permission.USER_UPDATE):
            self.principal.require(Permission.USER_CREATE)
        source = str(command.login_source).strip()
        if self.sources is not None and source not in self.sources:
            self.principal.require_source(source)
        if command.status is Status.DELETED and not self.can_delete:
            self.principal.require(Permission.USER_DELETE)
        return command


def password_changes(result: Any) -> list[int]:
    """The row ids of the people whose password a command's result says it changed."""
    if isinstance(result, PersonResult):
        return [result.id] if PASSWORD_HASH in result.changed else []
    if isinstance(result, list):
        return [r.person.id for r in result if isinstance(r, MemberResult) and PASSWORD_HASH in r.changed]
    return []


# -- people ---------------------------------------------------------------------------------------------


def _person(conn: Connection, public_id: str) -> RowMapping:
    row = conn.execute(select(people).where(people.c.public_id == public_id)).mappings().first()
    if row is None:
        raise NotFound(f"no person with id {public_id!r}")
    return row


def _may_change(
    conn: Connection,
    principal: Principal,
    row: StoredRow,
    permission: Permission,
    fields: Mapping[str, Any] | None = None,
    *,
    own: bool = True,
) -> None:
    """Refuse unless the principal may change this person (own: their own fields count as theirs)."""
    if own and principal.is_person(row["id"]):
        return
    principal.require(permission)
    if not sees(conn, principal, row):
        raise OutOfScope(f"no person with id {row['public_id']!r}")
    if fields:
        _may_set_password(principal, row, fields)


def _may_set_password(principal: Principal, row: StoredRow, fields: Mapping[str, Any]) -> None:
    """A staff member's password: only an unscoped admin credential, or the staff member, sets it."""
    if PASSWORD_HASH not in fields or not row["staff"] or principal.is_person(row["id"]):
        return
    if not principal.can(Permission.ADMIN) or principal.scoped:
        raise Forbidden("only an unscoped admin credential may set a staff member's password")


def _may_upsert_members(conn: Connection, principal: Principal, command: UpsertMembers) -> None:
    """The permissions the items need, and a staff member's password (of someone the principal sees: one
    it does not is not found, item by item, as if nobody had the id)."""
    may_submit(principal, command)
    with_password = [i.public_id for i in command.items if i.public_id and PASSWORD_HASH in i.person]
    if not with_password:
        return
    rows = conn.execute(select(people).where(people.c.public_id.in_(sorted(set(with_password))))).mappings()
    for row in rows:
        if sees(conn, principal, row):
            _may_set_password(principal, row, {PASSWORD_HASH: True})


# -- groups ---------------------------------------------------------------------------------------------


def _require_seen_members(conn: Connection, principal: Principal, public_ids: Sequence[str]) -> None:
    """Invalid on members for a person the principal does not see (as for one who does not exist)."""
    if not principal.scoped or not public_ids:
        return
    for value in public_ids:
        if not isinstance(value, str):
            raise Invalid("members", Reason.INVALID, "members are people's ids, as text")
    rows = conn.execute(select(people).where(people.c.public_id.in_(sorted(set(public_ids))))).mappings()
    for row in rows:
        if not sees(conn, principal, row):
            message = f"members: no person has the id {row['public_id']!r}"
            raise Invalid("members", Reason.UNKNOWN, message)


def _unseen_members(conn: Connection, principal: Principal, group_id: str) -> list[str]:
    """The public ids of the group's members the principal does not see."""
    if not principal.scoped:
        return []
    found = groups.find_groups(conn, [group_id]).get(group_id)
    if found is None:
        return []
    rows = conn.execute(select(people).where(people.c.public_id.in_(found.members))).mappings()
    return [row["public_id"] for row in rows if not sees(conn, principal, row)]


def _require_every_member_seen(conn: Connection, principal: Principal, group_id: str, what: str) -> None:
    if _unseen_members(conn, principal, group_id):
        raise Forbidden(
            f"this credential may not {what} this group: it holds people outside the credential's scope"
        )


def _scoped_change(conn: Connection, principal: Principal, command: groups.ChangeGroup) -> groups.ChangeGroup:
    """The change as the principal may make it: the members it names must be people it sees; replacing
    the members replaces those it sees (the others stay); renaming needs every member seen."""
    named = [*command.add_members, *command.remove_members]
    if not isinstance(command.members, Unset):
        named += list(command.members)
    _require_seen_members(conn, principal, named)
    if not principal.scoped:
        return command
    unseen = _unseen_members(conn, principal, command.public_id)
    if not isinstance(command.display_name, Unset) and unseen:
        current = groups.find_groups(conn, [command.public_id])[command.public_id]
        if str(command.display_name).strip() != current.display_name:
            _require_every_member_seen(conn, principal, command.public_id, "rename")
    if isinstance(command.members, Unset) or not unseen:
        return command
    return replace(command, members=[*command.members, *(m for m in unseen if m not in command.members)])
