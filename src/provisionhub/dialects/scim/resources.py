"""SCIM's writes and reads of Users and Groups inside a transaction: what the endpoints and Bulk share.

Each write checks the credential's permission, the resource's version (If-Match, or a Bulk operation's
`version`) and then changes the directory through its service, so that rows, change log and outbox go
together. Password hashes are made before the transaction (they cost ~20 ms of CPU each) and handed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select
from starlette.requests import Request

from provisionhub.auth.passwords import check_password, hash_password
from provisionhub.auth.permissions import Permission, Principal
from provisionhub.dialects.scim import access, people, schemas
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
from provisionhub.dialects.scim.http import again, authorised, base_url
from provisionhub.dialects.scim.patch import apply_patch
from provisionhub.dialects.scim.users import SCIM_NAMES, UserIn, scim_datetime, user_in, user_out, version_tag
from provisionhub.directory.changes import latest_seqs
from provisionhub.directory.entitlements import UNSET, Unset
from provisionhub.directory.errors import Conflict, Invalid, NotFound, worded_as
from provisionhub.directory.groups import ChangeGroup, CreateGroup, DeleteGroup, Group, find_groups, groups_of
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.people import (
    ACTIVE_STATUSES,
    Person,
    PersonResult,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.service import Directory
from provisionhub.store import tables

Document = dict[str, Any]
#: Password hashes made ahead of a transaction, by the password they are of.
Hashes = Mapping[str, str]


@contextmanager
def scim_names() -> Iterator[None]:
    """The core's refusals, naming person and group fields by their SCIM attributes."""
    try:
        yield
    except (Invalid, Conflict) as exc:
        raise scim_error(exc) from None


def scim_error(exc: Exception) -> Exception:
    """A refusal of the core (Invalid, Conflict) as SCIM words it, naming the SCIM attribute; any other
    error as it is."""
    if not isinstance(exc, Invalid | Conflict):
        return exc
    name = _GROUP_NAMES.get(exc.field) or SCIM_NAMES.get(exc.field, exc.field)
    message = worded_as(exc, name)
    if isinstance(exc, Conflict):
        return ScimError(409, message, ScimType.UNIQUENESS)
    return invalid_value(message)


_GROUP_NAMES = {"display_name": "displayName", "external_id": "externalId", "members": "members"}


def checked_password(read: UserIn) -> str | None:
    """The password a User document sets, if it is acceptable as one."""
    if read.password is None:
        return None
    with scim_names():
        return check_password("password", read.password)


class Resources:
    """Users and Groups for one base URL (their locations) and one credential."""

    def __init__(self, directory: Directory, url: str, who: Principal) -> None:
        self.directory = directory
        self.url = url
        self.who = who
        self.bound = access.bound_source(who)

    # -- Users -----------------------------------------------------------------------------------------

    def user_documents(
        self,
        conn: Connection,
        found: list[Person],
        seqs: Mapping[str, int] | None = None,
        groups: Mapping[int, list[Any]] | None = None,
    ) -> list[Document]:
        """The User documents of people; seqs (their versions) and groups (theirs, by person id), when
        already known: else looked up."""
        if seqs is None:
            seqs = latest_seqs(conn, "person", [p.public_id for p in found])
        if groups is None:
            groups = groups_of(conn, [p.id for p in found])
        return [
            user_out(p, groups.get(p.id, []), seqs.get(p.public_id, 0), self.url, self.bound) for p in found
        ]

    def user_document(self, conn: Connection, person: Person) -> Document:
        return self.user_documents(conn, [person])[0]

    def read_user(self, conn: Connection, user_id: str) -> Document:
        """The document of the User with this id (a GET)."""
        person, seq = self.versioned_user(conn, user_id)
        return self.user_documents(conn, [person], {person.public_id: seq})[0]

    def versioned_user(self, conn: Connection, user_id: str) -> tuple[Person, int]:
        """The User with this id, and their version: the newest change-log seq about them."""
        found = people.find(conn, user_id)
        if found is None:
            raise NotFound(f"no User has the id {user_id}")
        return found

    def existing_user(self, conn: Connection, user_id: str, if_match: str | None = None) -> Person:
        person, seq = self.versioned_user(conn, user_id)
        if if_match is not None:
            access.check_precondition(if_match, version_tag(seq))
        return person

    def create_user(self, conn: Connection, read: UserIn, hashes: Hashes) -> Document:
        return self.user_document(conn, self._write_user(conn, read, None, hashes))

    def replace_user(
        self, conn: Connection, user_id: str, read: UserIn, hashes: Hashes, if_match: str | None
    ) -> Document:
        self.who.require(Permission.USER_UPDATE)
        existing = self.existing_user(conn, user_id, if_match)
        return self.user_document(conn, self._write_user(conn, read, existing, hashes))

    def patched_user(self, conn: Connection, user_id: str, operations: Any) -> UserIn:
        """The User as the PATCH operations would leave it (nothing written)."""
        document = self.user_document(conn, self.existing_user(conn, user_id))
        return user_in(
            apply_patch(document, operations, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS), whole=True
        )

    def patch_user(
        self, conn: Connection, user_id: str, operations: Any, hashes: Hashes, if_match: str | None
    ) -> Document:
        self.who.require(Permission.USER_UPDATE)
        existing = self.existing_user(conn, user_id, if_match)
        read = self.patched_user(conn, user_id, operations)
        return self.user_document(conn, self._write_user(conn, read, existing, hashes))

    def delete_user(self, conn: Connection, user_id: str, if_match: str | None) -> None:
        self.who.require(Permission.USER_DELETE)
        person = self.existing_user(conn, user_id, if_match)
        self.who.require_login_source(person.login_source)
        self.directory.set_status(conn, SetStatus(person.public_id, Status.DELETED), self.who.actor)

    def creation(self, read: UserIn, hashes: Hashes, public_id: str | None = None) -> UpsertPerson:
        """The command that creates the User read, only creates (an externalId someone has is a Conflict
        on unique_id: 409 uniqueness), with public_id as the User's id (None: a new one); ScimError or a
        core refusal if the token may not."""
        self.who.require(Permission.USER_CREATE)
        # A document names every attribute, most of them unset: for a new person, unset is absent.
        fields = {name: value for name, value in self._fields(read, hashes).items() if value is not None}
        self.who.require_login_source(self.bound)
        public_id = public_id or new_public_id()
        unique_id = read.external_id or public_id
        return UpsertPerson(
            self.bound, unique_id, fields, frozenset({"username"}), public_id, create_only=True
        )

    def made_active(self, conn: Connection, written: PersonResult, read: UserIn) -> PersonResult:
        """The person written, suspended or reactivated as the User read's `active` says."""
        if read.active is None or read.active == (written.row["status"] in ACTIVE_STATUSES):
            return written
        status = Status.ACTIVE if read.active else Status.SUSPENDED
        return self.directory.set_status(conn, SetStatus(written.public_id, status), self.who.actor)

    def _fields(self, read: UserIn, hashes: Hashes) -> dict[str, Any]:
        """The person's fields a User document sets, its password as a hash."""
        if read.fields.get("username") is None:
            raise invalid_value("userName is required")
        fields = dict(read.fields)
        password = checked_password(read)
        if password is not None:
            # Hashed ahead of the transaction; one that is not (the User changed meanwhile) is hashed here.
            fields["password_hash"] = hashes.get(password) or hash_password(password)
        return fields

    def _write_user(self, conn: Connection, read: UserIn, existing: Person | None, hashes: Hashes) -> Person:
        directory, who = self.directory, self.who
        if existing is None:
            command = self.creation(read, hashes)
            with scim_names():
                written = directory.upsert_person(conn, command, who.actor)
        else:
            fields = self._fields(read, hashes)
            with scim_names():
                who.require_login_source(existing.login_source)
                new_unique_id: str | None = None
                if existing.login_source == self.bound:  # externalId is theirs: set, changed or cleared
                    new_unique_id = read.external_id or existing.public_id
                update = UpdatePerson(existing.public_id, fields, new_unique_id)
                written = directory.update_person(conn, update, who.actor)
        return self.made_active(conn, written, read).person

    # -- Groups ----------------------------------------------------------------------------------------

    def group_documents(self, conn: Connection, found: list[Group]) -> list[Document]:
        seqs = latest_seqs(conn, "group", [g.public_id for g in found])
        shown = _not_deleted(conn, sorted({m for g in found for m in g.members}))
        documents = []
        for group in found:
            document: Document = {"schemas": [schemas.GROUP], "id": group.public_id}
            if group.external_id is not None:
                document["externalId"] = group.external_id
            document["displayName"] = group.display_name
            document["members"] = [
                {"value": m, "$ref": f"{self.url}/Users/{m}", "type": "User"}
                for m in group.members
                if m in shown
            ]
            document["meta"] = {
                "resourceType": "Group",
                "created": scim_datetime(group.created_at),
                "lastModified": scim_datetime(group.updated_at),
                "location": f"{self.url}/Groups/{group.public_id}",
                "version": version_tag(seqs.get(group.public_id, 0)),
            }
            documents.append(document)
        return documents

    def group_document(self, conn: Connection, group: Group) -> Document:
        return self.group_documents(conn, [group])[0]

    def existing_group(self, conn: Connection, group_id: str, if_match: str | None = None) -> Group:
        found = find_groups(conn, [group_id]).get(group_id)
        if found is None:
            raise NotFound(f"no Group has the id {group_id}")
        if if_match is not None:
            seq = latest_seqs(conn, "group", [group_id]).get(group_id, 0)
            access.check_precondition(if_match, version_tag(seq))
        return found

    def create_group(self, conn: Connection, document: Any) -> Document:
        self.who.require(Permission.GROUP_WRITE)
        name, external_id, members = group_in(document)
        kept = None if isinstance(external_id, Unset) else external_id
        with scim_names():
            group = self.directory.execute(conn, CreateGroup(name, members, kept), self.who.actor)
        return self.group_document(conn, group)

    def change_group(
        self, conn: Connection, group_id: str, sent: Any, *, patch: bool, if_match: str | None
    ) -> Document:
        """A PUT (sent: the Group) or a PATCH (sent: its operations)."""
        self.who.require(Permission.GROUP_WRITE)
        current = self.existing_group(conn, group_id, if_match)
        document = (
            apply_patch(self.group_document(conn, current), sent, schemas.GROUP_SCHEMA) if patch else sent
        )
        name, external_id, members = group_in(document)
        # The document is the Group entire (PUT replaces; a PATCH's result is whole): what it lacks goes.
        kept = None if isinstance(external_id, Unset) else external_id
        command = ChangeGroup(group_id, display_name=name, external_id=kept, members=members)
        with scim_names():
            group = self.directory.execute(conn, command, self.who.actor)
        return self.group_document(conn, group)

    def delete_group(self, conn: Connection, group_id: str, if_match: str | None) -> None:
        self.who.require(Permission.GROUP_WRITE)
        self.existing_group(conn, group_id, if_match)
        self.directory.execute(conn, DeleteGroup(group_id), self.who.actor)


def _not_deleted(conn: Connection, public_ids: list[str]) -> set[str]:
    """Those of these people who are not deleted (deleted people are members no more, for SCIM)."""
    people_table = tables.people
    shown: set[str] = set()
    for start in range(0, len(public_ids), 500):
        rows = conn.execute(
            select(people_table.c.public_id).where(
                people_table.c.public_id.in_(public_ids[start : start + 500]),
                people_table.c.status != Status.DELETED.value,
            )
        )
        shown.update(rows.scalars())
    return shown


def group_in(document: Any) -> tuple[str, str | Unset | None, list[str]]:
    """A Group document, read: displayName, externalId (UNSET when absent) and the members' ids."""
    if not isinstance(document, dict):
        raise ScimError(400, "the body must be a JSON object: a Group", ScimType.INVALID_SYNTAX)
    listed = document.get("schemas")
    if listed is not None and (not isinstance(listed, list) or schemas.GROUP not in listed):
        raise invalid_value(f"schemas must include {schemas.GROUP}")
    name: Any = None
    external_id: str | Unset | None = UNSET
    members: list[str] = []
    for key, value in document.items():
        folded = key.casefold()
        if folded in ("schemas", "id", "meta"):
            continue
        if folded == "displayname":
            name = value
        elif folded == "externalid":
            if value is not None and not isinstance(value, str):
                raise invalid_value("externalId must be a string")
            external_id = value
        elif folded == "members":
            members = _members(value)
        else:
            raise invalid_value(f"{key} is not an attribute of a Group (schema {schemas.GROUP})")
    if not isinstance(name, str) or not name.strip():
        raise invalid_value("displayName is required, as a string")
    return name, external_id, members


def _members(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_value("members must be a list")
    ids = []
    for index, member in enumerate(value):
        if not isinstance(member, dict) or not isinstance(member.get("value"), str):
            raise invalid_value(f"members[{index}].value must be a User's id")
        kind = member.get("type")
        if kind is not None and kind != "User":
            raise invalid_value(
                f"members[{index}].type: members are Users (provisionhub has no nested groups)"
            )
        ids.append(member["value"])
    return ids


async def resources_for(
    directory: Directory, request: Request, permission: Permission
) -> tuple[str, Resources]:
    """The request's token, and the resources as it sees them: its permission is checked before any body
    is read or password hashed, and each write checks the token again in its own transaction (rechecked)."""
    token, who = await authorised(directory.database, request, permission)
    return token, Resources(directory, base_url(request), who)


def rechecked(conn: Connection, token: str, seen: Resources) -> Resources:
    """seen, its token checked again in this transaction (it may have been revoked meanwhile)."""
    return Resources(seen.directory, seen.url, access.principal(conn, token))


def reader(
    directory: Directory, request: Request, permission: Permission
) -> Callable[[Connection], Resources]:
    """The resources as the request's token sees them, the token checked inside the read that uses them:
    a GET is one read on one worker thread."""
    token, url = access.bearer(request), base_url(request)
    return lambda conn: Resources(directory, url, again(conn, token, permission))
