"""UNIWeb's `units` and `groups` content, read-only: rows as the reference's listing reads give them.

A unit is any organisation (an account, a building, or a unit; the members filters `unit` and `units`
name the same ones): `{contentId, unitName, parentId, type, memberCount}`. A group is
`{contentId, groupName, memberCount, members}`, its members by UNIWeb id. A read without `id` answers a
list of rows, with `id` one row; `info` describes the row's fields.
"""

from __future__ import annotations

from typing import Any

from provisionhub.dialects.uniweb.access import whole_request_refused
from provisionhub.dialects.uniweb.requests import Action, Content, IndexBy, ResourceRequest
from provisionhub.directory.access import Credential
from provisionhub.directory.errors import Invalid, NotFound, Reason
from provisionhub.directory.group_queries import GroupListing
from provisionhub.directory.listings import GroupEntry, OrganisationEntry, OrganisationQuery
from provisionhub.directory.organisation_queries import Organisations
from provisionhub.directory.sections import Language
from provisionhub.directory.service import Directory

#: The actions units and groups answer.
SERVED = frozenset({Action.READ, Action.INFO})

#: Each content's row fields: (name, type, English title, French title).
ROW_FIELDS: dict[Content, tuple[tuple[str, str, str, str], ...]] = {
    Content.UNITS: (
        ("contentId", "text", "Id", "Identifiant"),
        ("unitName", "text", "Name", "Nom"),
        ("parentId", "text", "Parent unit", "Unité parente"),
        ("type", "text", "Type", "Type"),
        ("memberCount", "number", "Members", "Membres"),
    ),
    Content.GROUPS: (
        ("contentId", "text", "Id", "Identifiant"),
        ("groupName", "text", "Name", "Nom"),
        ("memberCount", "number", "Members", "Membres"),
        ("members", "list", "Member ids", "Identifiants des membres"),
    ),
}

#: The filters each content takes (by the property names the request object uses).
FILTERS: dict[Content, frozenset[str]] = {
    Content.UNITS: frozenset({"unit", "units", "modified_since"}),
    Content.GROUPS: frozenset({"modified_since"}),
}


def require_served(request: ResourceRequest) -> None:
    """Invalid (naming content and the action) for anything but a read or info of units or groups."""
    if request.content is not Content.MEMBERS and request.action not in SERVED:
        content, action = request.content.value, request.action.value
        message = f"content: {content} are read-only here: {action} is not served (only read and info)"
        raise Invalid("content", Reason.INVALID, message)


async def answer(directory: Directory, credential: Credential, request: ResourceRequest) -> Any:
    """What a read or info of units or groups answers."""
    if request.action is Action.INFO:
        return {request.content.value: _info(request.content, request.language)}
    _check_read(request)
    ids = (request.id,) if request.id is not None else request.filter.units
    since = request.filter.modified_since
    if request.content is Content.UNITS:
        query = OrganisationQuery(public_ids=ids, title=request.filter.unit, changed_since=since)
        rows = [unit_row(unit) for unit in await directory.read(credential, Organisations(query))]
    else:
        field = "content" if request.id is None else "id"
        asked = GroupListing((request.id,) if request.id is not None else None, since)
        with whole_request_refused(field, "every member of the groups read"):
            rows = [group_row(group) for group in await directory.read(credential, asked)]
    if request.id is None:
        return rows
    if not rows:
        raise NotFound(f"id: no {request.content.value.removesuffix('s')} is {request.id!r}")
    return rows[0]


def unit_row(unit: OrganisationEntry) -> dict[str, Any]:
    return {
        "contentId": unit.public_id,
        "unitName": unit.title,
        "parentId": unit.parent,
        "type": unit.kind.value,
        "memberCount": unit.member_count,
    }


def group_row(group: GroupEntry) -> dict[str, Any]:
    return {
        "contentId": group.public_id,
        "groupName": group.display_name,
        "memberCount": len(group.members),
        "members": [member.public_id for member in group.members],
    }


def _check_read(request: ResourceRequest) -> None:
    content = request.content.value
    if request.names_resources:
        message = f"resources: {content} are read as rows, without resources (their sections are not served)"
        raise Invalid("resources", Reason.INVALID, message)
    if request.index_by is not IndexBy.UNIWEB_ID:
        message = f"index_by: {request.index_by.value} applies to members only, not to {content}"
        raise Invalid("index_by", Reason.INVALID, message)
    given = {
        "unit": request.filter.unit,
        "title": request.filter.title,
        "loginName": request.filter.login,
        "modified_since": request.filter.modified_since,
        "units": request.filter.units,
    }
    for name, value in given.items():
        if value is not None and name not in FILTERS[request.content]:
            raise Invalid(f"filter/{name}", Reason.INVALID, f"filter/{name}: does not apply to {content}")


def _info(content: Content, language: Language) -> dict[str, Any]:
    fields = {
        name: {"name": name, "title": french if language is Language.FR else english, "type": kind}
        for name, kind, english, french in ROW_FIELDS[content]
    }
    return {"name": content.value, "type": "content", "fields": fields}
