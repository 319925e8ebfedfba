"""UNIWeb's resource endpoint, /uniweb/api/resource.php (a POST, or a GET that reads): one request object,
one action on members' profile sections (read, add, edit, clear) or on the catalogue (info, options), in
one transaction; units and groups are read-only (listings.py). A read of members without resources lists
them as rows.

A request touching one member the caller may not see fails whole (Forbidden), as UNIWeb's does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from provisionhub.auth.permissions import Permission, Principal
from provisionhub.dialects.uniweb import listings, translate
from provisionhub.dialects.uniweb.access import require_seen
from provisionhub.dialects.uniweb.requests import Action, Content, IndexBy, ResourceRequest, wanted_paths
from provisionhub.directory.errors import Invalid, NotFound, Reason
from provisionhub.directory.people import Person
from provisionhub.directory.people_search import MemberQuery, find_by_login, find_members
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


def answer(conn: Connection, directory: Directory, principal: Principal, request: ResourceRequest) -> Any:
    """What the request's action answers; run in a write transaction for add, edit and clear."""
    if request.content is not Content.MEMBERS:
        return listings.answer(conn, principal, request)
    match request.action:
        case Action.READ:
            return _read(conn, directory, principal, request)
        case Action.INFO:
            wanted = _wanted(conn, directory, request)
            return directory.section_info(conn, wanted, request.language)
        case Action.OPTIONS:
            wanted = _wanted(conn, directory, request)
            return directory.section_options(conn, wanted, request.language)
    return _write(conn, directory, principal, request)


def _wanted(conn: Connection, directory: Directory, request: ResourceRequest) -> dict[str, Any]:
    catalogue = directory.section_catalogue(conn)
    return wanted_paths(request.resources, catalogue.__contains__)


def _read(conn: Connection, directory: Directory, principal: Principal, request: ResourceRequest) -> Any:
    """Sections by path (with id), or by member and then path; without resources, members' rows."""
    if not request.names_resources:
        return _rows(conn, directory, principal, request)
    catalogue = directory.section_catalogue(conn)
    wanted = wanted_paths(request.resources, catalogue.__contains__)
    people, changed = _people(conn, directory, principal, request)
    read = directory.read_sections(conn, [p.public_id for p in people], wanted, request.language)
    if changed is not None:
        read = {
            member: {path: value for path, value in sections.items() if path in changed.get(member, set())}
            for member, sections in read.items()
        }
    if request.id is not None:
        return translate.sections_out(catalogue, read[people[0].public_id])
    return {
        translate.member_key(person, request.index_by): translate.sections_out(
            catalogue, read[person.public_id]
        )
        for person in people
        if read[person.public_id] or changed is None
    }


def _rows(conn: Connection, directory: Directory, principal: Principal, request: ResourceRequest) -> Any:
    """UNIWeb's member listing (a read without resources): a list of rows, or with id that member's row,
    each their UNIWeb id (contentId) and the fields of profile/membership_information; modified_since
    keeps those whose row changed since."""
    if request.index_by is not IndexBy.UNIWEB_ID:
        message = "index_by: a read without resources answers a list of rows, not members by key"
        raise Invalid("index_by", Reason.INVALID, message)
    people, changed = _people(conn, directory, principal, request)
    if changed is not None:
        people = [p for p in people if LISTED in changed.get(p.public_id, set())]
    section = directory.section_catalogue(conn).section(LISTED)
    read = directory.read_sections(conn, [p.public_id for p in people], {LISTED: None}, request.language)
    rows = [translate.member_row(p.public_id, section, read[p.public_id][LISTED]) for p in people]
    if request.id is None:
        return rows
    if not rows:
        raise NotFound(f"id: the member {request.id!r} has not changed since the filter's modified_since")
    return rows[0]


def _people(
    conn: Connection, directory: Directory, principal: Principal, request: ResourceRequest
) -> tuple[list[Person], dict[str, set[str]] | None]:
    """The members a read is about: the one its id names, or those its filter keeps (Forbidden, the whole
    request, if the principal may not see one). With modified_since, the section paths of each changed
    since, and a filter keeps only the members with a change; without it, None."""
    if request.id is not None:
        people = [_member(conn, principal, request.id)]
    else:
        found = request.filter
        query = MemberQuery(login=found.login, unit=found.unit, title=found.title, units=found.units)
        people = find_members(conn, query)
        require_seen(principal, {p.login_source for p in people}, "filter", "every member the filter keeps")
    since = request.filter.modified_since
    if since is None:
        return people, None
    changed = directory.sections_modified_since(conn, since, [p.public_id for p in people])
    if request.id is None:
        people = [p for p in people if p.public_id in changed]
    return people, changed


def _write(
    conn: Connection, directory: Directory, principal: Principal, request: ResourceRequest
) -> dict[str, Any]:
    if request.id is None:
        raise Invalid("id", Reason.REQUIRED, f"id is required to {request.action.value}")
    person = _member(conn, principal, request.id).public_id
    match request.action:
        case Action.ADD:
            commands = translate.add_commands(person, request.resources)
        case Action.EDIT:
            commands = translate.edit_commands(person, request.resources)
        case _:
            catalogue = directory.section_catalogue(conn)
            commands = translate.clear_commands(person, request.resources, catalogue)
    changed = directory.change_sections(conn, commands, principal.actor)
    return {"success": True, "changed": changed.get(person, [])}


def _member(conn: Connection, principal: Principal, identifier: str) -> Person:
    """The member an id names (login name, username, or UNIWeb id); NotFound, or Forbidden if unseen."""
    person = find_by_login(conn, identifier)
    if person is None:
        raise NotFound(f"id: no member is {identifier!r}")
    require_seen(principal, [person.login_source], "id", f"the member {identifier!r}")
    return person
