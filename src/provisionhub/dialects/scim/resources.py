"""SCIM's Users and Groups through the directory: each write a unit of commands submitted with the
request's credential, each answer the document of what the directory shows; what the endpoints and Bulk
share.

A resource's version is the newest change-log entry about it, as a weak ETag. If-Match (or a Bulk
operation's `version`) becomes an Expect the directory checks in the write's transaction. A PATCH is
applied to the document as read, then written on condition that the resource is still at that version;
another write in between makes it read and apply again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from provisionhub.dialects.scim import schemas
from provisionhub.dialects.scim.access import HOME
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
from provisionhub.dialects.scim.patch import apply_patch
from provisionhub.dialects.scim.users import SCIM_NAMES, UserIn, scim_datetime, user_in, user_out, version_tag
from provisionhub.directory.access import Credential
from provisionhub.directory.entitlements import UNSET, Unset
from provisionhub.directory.errors import Conflict, Invalid, VersionMismatch, worded_as
from provisionhub.directory.group_queries import GroupById, GroupView
from provisionhub.directory.groups import ChangeGroup, CreateGroup, DeleteGroup, ExpectGroup
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.passwords import PASSWORD, Password
from provisionhub.directory.people import (
    Expect,
    PersonResult,
    SetActive,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.people_queries import PersonView, UserById
from provisionhub.directory.service import Directory

Document = dict[str, Any]
#: How many times a PATCH reads and applies again when the resource changed under it.
PATCH_TRIES = 5


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
    if not isinstance(exc, Invalid | Conflict) or exc.field == "filter":
        return exc
    name = _GROUP_NAMES.get(exc.field) or SCIM_NAMES.get(exc.field, exc.field)
    message = worded_as(exc, name)
    if isinstance(exc, Conflict):
        return ScimError(409, message, ScimType.UNIQUENESS)
    return invalid_value(message)


_GROUP_NAMES = {"display_name": "displayName", "external_id": "externalId", "members": "members"}


def user_document(view: PersonView, url: str) -> Document:
    return user_out(view.person, view.groups, view.version, url, view.external_id)


def created_document(result: PersonResult, read: UserIn, url: str) -> Document:
    """The document of a User just created: in no group yet, their version the last change logged."""
    assert result.seq is not None
    return user_out(result.person, (), result.seq, url, read.external_id)


def group_document(view: GroupView, url: str) -> Document:
    group = view.group
    document: Document = {"schemas": [schemas.GROUP], "id": group.public_id}
    if group.external_id is not None:
        document["externalId"] = group.external_id
    document["displayName"] = group.display_name
    document["members"] = [{"value": m, "$ref": f"{url}/Users/{m}", "type": "User"} for m in group.members]
    document["meta"] = {
        "resourceType": "Group",
        "created": scim_datetime(group.created_at),
        "lastModified": scim_datetime(group.updated_at),
        "location": f"{url}/Groups/{group.public_id}",
        "version": version_tag(view.version),
    }
    return document


def user_fields(read: UserIn) -> dict[str, Any]:
    """The person's fields a User document sets, its password as a Password (the directory hashes it)."""
    if read.fields.get("username") is None:
        raise invalid_value("userName is required")
    fields = dict(read.fields)
    if read.password is not None:
        fields[PASSWORD] = Password(read.password)
    return fields


def creation(read: UserIn) -> UpsertPerson:
    """The command that creates the User read, only creates (an externalId someone has is a Conflict on
    unique_id: 409 uniqueness), in the token's own login source."""
    # A document names every attribute, most of them unset: for a new person, unset is absent.
    fields = {name: value for name, value in user_fields(read).items() if value is not None}
    # A new person is active (or pending, by their window): `active` says only when it is false.
    active = False if read.active is False else None
    return UpsertPerson(
        HOME, read.external_id, fields, frozenset({"username"}), create_only=True, active=active
    )


def replacement(user_id: str, read: UserIn, versions: frozenset[int] | None) -> list[object]:
    """The commands that make the User with this id the User read (PUT's meaning): their externalId is
    theirs to set, change or clear when they are of the token's own login source."""
    commands: list[object] = [
        Expect(user_id, versions),
        UpdatePerson(user_id, user_fields(read), read.external_id or user_id, unique_id_source=HOME),
    ]
    if read.active is not None:
        commands.append(SetActive(user_id, read.active))
    return commands


class Resources:
    """Users and Groups as one credential reaches them, their locations under one base URL."""

    def __init__(self, directory: Directory, credential: Credential, url: str) -> None:
        self.directory = directory
        self.credential = credential
        self.url = url

    # -- Users -----------------------------------------------------------------------------------------

    async def read_user(self, user_id: str) -> Document:
        return user_document(
            await self.directory.read(self.credential, UserById(user_id, HOME.default)), self.url
        )

    async def create_user(self, read: UserIn) -> Document:
        with scim_names():
            receipt = await self.directory.submit(self.credential, [creation(read)])
        return created_document(receipt.results[0], read, self.url)

    async def replace_user(self, user_id: str, read: UserIn, versions: frozenset[int] | None) -> Document:
        with scim_names():
            receipt = await self.directory.submit(
                self.credential, replacement(user_id, read, versions), answer=self._user(user_id)
            )
        return user_document(receipt.answer, self.url)

    async def patch_user(self, user_id: str, operations: Any, versions: frozenset[int] | None) -> Document:
        async def read() -> tuple[int, Document]:
            view = await self.directory.read(self.credential, self._user(user_id))
            return view.version, user_document(view, self.url)

        async def write(document: Document, version: frozenset[int]) -> Document:
            patched = apply_patch(document, operations, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS)
            return await self.replace_user(user_id, user_in(patched, whole=True), version)

        return await _patched(read, write, versions, "User")

    async def delete_user(self, user_id: str, versions: frozenset[int] | None) -> None:
        await self.directory.submit(
            self.credential, [Expect(user_id, versions), SetStatus(user_id, Status.DELETED)]
        )

    def _user(self, user_id: str) -> UserById:
        return UserById(user_id, HOME.default, to_change=True)

    # -- Groups ----------------------------------------------------------------------------------------

    async def read_group(self, group_id: str) -> Document:
        return group_document(await self.directory.read(self.credential, GroupById(group_id)), self.url)

    async def create_group(self, sent: Any) -> Document:
        name, external_id, members = group_in(sent)
        kept = None if isinstance(external_id, Unset) else external_id
        public_id = new_public_id()
        command = CreateGroup(name, members, kept, public_id)
        with scim_names():
            receipt = await self.directory.submit(
                self.credential, [command], answer=GroupById(public_id, True)
            )
        return group_document(receipt.answer, self.url)

    async def change_group(
        self, group_id: str, sent: Any, *, patch: bool, versions: frozenset[int] | None
    ) -> Document:
        """A PUT (sent: the Group) or a PATCH (sent: its operations)."""
        if not patch:
            return await self._replace_group(group_id, sent, versions)

        async def read() -> tuple[int, Document]:
            view = await self.directory.read(self.credential, GroupById(group_id, to_change=True))
            return view.version, group_document(view, self.url)

        async def write(document: Document, version: frozenset[int]) -> Document:
            patched = apply_patch(document, sent, schemas.GROUP_SCHEMA)
            return await self._replace_group(group_id, patched, version)

        return await _patched(read, write, versions, "Group")

    async def _replace_group(self, group_id: str, document: Any, versions: frozenset[int] | None) -> Document:
        name, external_id, members = group_in(document)
        # The document is the Group entire (PUT replaces; a PATCH's result is whole): what it lacks goes.
        kept = None if isinstance(external_id, Unset) else external_id
        commands = [
            ExpectGroup(group_id, versions),
            ChangeGroup(group_id, display_name=name, external_id=kept, members=members),
        ]
        with scim_names():
            receipt = await self.directory.submit(
                self.credential, commands, answer=GroupById(group_id, to_change=True)
            )
        return group_document(receipt.answer, self.url)

    async def delete_group(self, group_id: str, versions: frozenset[int] | None) -> None:
        await self.directory.submit(self.credential, [ExpectGroup(group_id, versions), DeleteGroup(group_id)])


async def _patched(
    read: Callable[[], Awaitable[tuple[int, Document]]],
    write: Callable[[Document, frozenset[int]], Awaitable[Document]],
    versions: frozenset[int] | None,
    what: str,
) -> Document:
    """A PATCH: the resource read (its version and document), patched and written on condition that it
    is still at that version; read and patched again if another write came between, unless the client's
    If-Match (versions) named the version it patched."""
    for _ in range(PATCH_TRIES):
        current, document = await read()
        if versions is not None and current not in versions:
            raise VersionMismatch("the resource's version has moved on", current)
        try:
            return await write(document, frozenset({current}))
        except VersionMismatch:
            if versions is not None:
                raise
    raise ScimError(409, f"the {what} kept changing while the PATCH was applied: send it again")


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
