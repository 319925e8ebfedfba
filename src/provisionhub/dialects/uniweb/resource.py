"""UNIWeb's resource endpoint, /uniweb/api/resource.php (a POST, or a GET that reads): one request object,
one action on members' profile sections (read, add, edit, clear) or on the catalogue (info, options), in
one transaction; units and groups are read-only (listings.py). A read of members without resources lists
them as rows.

A request touching one member the caller may not see fails whole (Forbidden), as UNIWeb's does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from provisionhub.dialects.uniweb import listings, translate
from provisionhub.dialects.uniweb.access import whole_request_refused
from provisionhub.dialects.uniweb.requests import Action, Content, IndexBy, ResourceRequest, wanted_paths
from provisionhub.directory.access import Credential, Permission, Principal
from provisionhub.directory.errors import Invalid, NotFound, Reason
from provisionhub.directory.people_search import MemberQuery
from provisionhub.directory.section_items import ChangeSections
from provisionhub.directory.section_queries import (
    MemberByLogin,
    MemberSections,
    MembersRead,
    SectionCatalogue,
    SectionInfo,
    WantedOf,
)
from provisionhub.directory.sections import Catalogue
from provisionhub.directory.service import Directory

#: The permission reading each kind of content needs; writing (members only) needs user-update.
READ_PERMISSION = {
    Content.MEMBERS: Permission.USER_READ,
    Content.UNITS: Permission.ORG_READ,
    Content.GROUPS: Permission.GROUP_READ,
}
WRITES = frozenset({Action.ADD, Action.EDIT, Action.CLEAR})
#: The section a member's row (in a read without resources) shows: the person's own fields.
LISTED = "profile/membership_information"


def require_permission(principal: Principal, request: ResourceRequest) -> None:
    """Forbidden unless the principal may do what the request asks (Invalid first if nobody may: a write
    to units or groups)."""
    listings.require_served(request)
    if request.action in WRITES:
        principal.require(Permission.USER_UPDATE)
    else:
        principal.require(READ_PERMISSION[request.content])


def require_posted_writes(request: ResourceRequest, method: str) -> None:
    """Invalid (naming action) for add, edit or clear sent other than as a POST: the reference's GET form
    only reads, and a GET must change nothing (links, prefetchers and caches replay GETs)."""
    if method != "POST" and request.action in WRITES:
        message = f"action: {request.action.value} changes data: send it as a POST (a GET only reads)"
        raise Invalid("action", Reason.INVALID, message)


def is_write(request: ResourceRequest) -> bool:
    return request.action in WRITES


async def answer(directory: Directory, credential: Credential, request: ResourceRequest) -> Any:
    """What the request's action answers: add, edit and clear write, in one transaction."""
    if request.content is not Content.MEMBERS:
        return await listings.answer(directory, credential, request)
    match request.action:
        case Action.READ:
            return await _read(directory, credential, request)
        case Action.INFO | Action.OPTIONS:
            options = request.action is Action.OPTIONS
            return await directory.read(
                credential, SectionInfo(_wanted_of(request), request.language, options=options)
            )
    return await _write(directory, credential, request)


def _wanted_of(request: ResourceRequest) -> Callable[[Catalogue], dict[str, Any]]:
    return lambda catalogue: wanted_paths(request.resources, catalogue.__contains__)


async def _members(
    directory: Directory, credential: Credential, request: ResourceRequest, wanted_of: WantedOf | None
) -> MembersRead:
    """The members a read is about: the one its id names, or those its filter keeps (Forbidden, the
    whole request, if the principal may not see one), with the sections wanted_of says."""
    found = request.filter
    asked = MemberSections(
        login=request.id,
        members=MemberQuery(login=found.login, unit=found.unit, title=found.title, units=found.units),
        wanted_of=wanted_of,
        language=request.language,
        since=found.modified_since,
    )
    if request.id is not None:
        with whole_request_refused("id", f"the member {request.id!r}"):
            return await directory.read(credential, asked)
    with whole_request_refused("filter", "every member the filter keeps"):
        return await directory.read(credential, asked)


async def _read(directory: Directory, credential: Credential, request: ResourceRequest) -> Any:
    """Sections by path (with id), or by member and then path; without resources, members' rows."""
    if not request.names_resources:
        return await _rows(directory, credential, request)
    read = await _members(directory, credential, request, _wanted_of(request))
    sections, changed = read.sections, read.changed
    if changed is not None:
        sections = {
            member: {path: value for path, value in found.items() if path in changed.get(member, set())}
            for member, found in sections.items()
        }
    if request.id is not None:
        return translate.sections_out(read.catalogue, sections[read.people[0].public_id])
    return {
        translate.member_key(person, request.index_by): translate.sections_out(
            read.catalogue, sections[person.public_id]
        )
        for person in read.people
        if sections[person.public_id] or changed is None
    }


async def _rows(directory: Directory, credential: Credential, request: ResourceRequest) -> Any:
    """UNIWeb's member listing (a read without resources): a list of rows, or with id that member's row,
    each their UNIWeb id (contentId) and the fields of profile/membership_information; modified_since
    keeps those whose row changed since."""
    if request.index_by is not IndexBy.UNIWEB_ID:
        message = "index_by: a read without resources answers a list of rows, not members by key"
        raise Invalid("index_by", Reason.INVALID, message)
    read = await _members(directory, credential, request, lambda catalogue: {LISTED: None})
    people = read.people
    if read.changed is not None:
        changed = read.changed
        people = [p for p in people if LISTED in changed.get(p.public_id, set())]
    section = read.catalogue.section(LISTED)
    rows = [translate.member_row(p.public_id, section, read.sections[p.public_id][LISTED]) for p in people]
    if request.id is None:
        return rows
    if not rows:
        raise NotFound(f"id: the member {request.id!r} has not changed since the filter's modified_since")
    return rows[0]


async def _write(directory: Directory, credential: Credential, request: ResourceRequest) -> dict[str, Any]:
    if request.id is None:
        raise Invalid("id", Reason.REQUIRED, f"id is required to {request.action.value}")
    with whole_request_refused("id", f"the member {request.id!r}"):
        person = (await directory.read(credential, MemberByLogin(request.id))).public_id
    match request.action:
        case Action.ADD:
            commands = translate.add_commands(person, request.resources)
        case Action.EDIT:
            commands = translate.edit_commands(person, request.resources)
        case _:
            catalogue = await directory.read(credential, SectionCatalogue())
            commands = translate.clear_commands(person, request.resources, catalogue)
    with whole_request_refused("id", f"the member {request.id!r}"):
        receipt = await directory.submit(credential, [ChangeSections(commands)])
    changed: dict[str, list[str]] = receipt.results[0]
    return {"success": True, "changed": changed.get(person, [])}
