"""SCIM Groups: the directory's groups, their members Users (deleted people are not shown)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import ColumnElement, Connection, func, select, true

from provisionhub.auth.permissions import Permission
from provisionhub.dialects.scim import access, schemas
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
from provisionhub.dialects.scim.filter_sql import DataType, SqlAttribute, sql_condition
from provisionhub.dialects.scim.filters import parse_filter
from provisionhub.dialects.scim.http import (
    Listing,
    ScimResponse,
    add_resource_routes,
    again,
    authorised,
    base_url,
    list_answer,
    read_response,
    requested,
    resource_response,
    sort_key,
)
from provisionhub.dialects.scim.patch import apply_patch
from provisionhub.dialects.scim.projection import Projection, project
from provisionhub.dialects.scim.users import version_tag
from provisionhub.directory.changes import latest_seqs
from provisionhub.directory.entitlements import UNSET, Unset
from provisionhub.directory.errors import Conflict, Invalid, NotFound
from provisionhub.directory.groups import ChangeGroup, CreateGroup, DeleteGroup, Group, find_groups
from provisionhub.directory.people import Status
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.store import tables

groups = tables.groups
people = tables.people

_RESOLVER = {
    "id": SqlAttribute(groups.c.public_id, case_exact=True),
    "externalid": SqlAttribute(groups.c.external_id, case_exact=True),
    "displayname": SqlAttribute(groups.c.display_name, folded_column=groups.c.name_key),
    "meta.created": SqlAttribute(groups.c.created_at, DataType.DATETIME),
    "meta.lastmodified": SqlAttribute(groups.c.updated_at, DataType.DATETIME),
}


@contextmanager
def _group_errors() -> Iterator[None]:
    """The core's refusals about a group, in SCIM's terms and attribute names."""
    try:
        yield
    except Conflict as exc:
        raise ScimError(
            409, exc.message.replace("display_name", "displayName"), ScimType.UNIQUENESS
        ) from None
    except Invalid as exc:
        raise invalid_value(
            exc.message.replace("display_name", "displayName").replace("external_id", "externalId")
        ) from None


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _documents(conn: Connection, found: list[Group], url: str) -> list[dict[str, Any]]:
    seqs = latest_seqs(conn, "group", [g.public_id for g in found])
    member_ids = sorted({m for g in found for m in g.members})
    shown: set[str] = set()  # deleted people are members no more, for SCIM
    for start in range(0, len(member_ids), 500):
        rows = conn.execute(
            select(people.c.public_id).where(
                people.c.public_id.in_(member_ids[start : start + 500]),
                people.c.status != Status.DELETED.value,
            )
        )
        shown.update(rows.scalars())
    documents = []
    for group in found:
        document: dict[str, Any] = {"schemas": [schemas.GROUP], "id": group.public_id}
        if group.external_id is not None:
            document["externalId"] = group.external_id
        document["displayName"] = group.display_name
        document["members"] = [
            {"value": m, "$ref": f"{url}/Users/{m}", "type": "User"} for m in group.members if m in shown
        ]
        document["meta"] = {
            "resourceType": "Group",
            "created": _moment(group.created_at),
            "lastModified": _moment(group.updated_at),
            "location": f"{url}/Groups/{group.public_id}",
            "version": version_tag(seqs.get(group.public_id, 0)),
        }
        documents.append(document)
    return documents


def _shown(document: dict[str, Any], wanted: Projection) -> dict[str, Any]:
    return project(document, wanted, schemas.GROUP_SCHEMA, ())


def _one(document: dict[str, Any], wanted: Projection, status: int = 200) -> JSONResponse:
    return resource_response(document, _shown(document, wanted), status)


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


def add_group_routes(router: APIRouter, directory: Directory, max_body_bytes: int) -> None:
    database = directory.database

    def existing(conn: Connection, resource_id: str, request: Request | None = None) -> Group:
        found = find_groups(conn, [resource_id]).get(resource_id)
        if found is None:
            raise NotFound(f"no Group has the id {resource_id}")
        if request is not None:
            seq = latest_seqs(conn, "group", [resource_id]).get(resource_id, 0)
            access.check_precondition(request, version_tag(seq))
        return found

    def document_of(conn: Connection, group: Group, url: str) -> dict[str, Any]:
        return _documents(conn, [group], url)[0]

    async def create_group(request: Request) -> ScimResponse:
        token, _ = await authorised(database, request, Permission.GROUP_WRITE)
        name, external_id, members = group_in(await read_json(request, max_body_bytes))
        url = base_url(request)

        def work(conn: Connection) -> dict[str, Any]:
            who = again(conn, token, Permission.GROUP_WRITE)
            with _group_errors():
                command = CreateGroup(name, members, external_id if isinstance(external_id, str) else None)
                group = directory.execute(conn, command, who.actor)
            return document_of(conn, group, url)

        return _one(await database.write(work), requested(request), 201)

    async def get_group(resource_id: str, request: Request) -> Response:
        await authorised(database, request, Permission.GROUP_READ)
        url = base_url(request)
        document = await database.read(lambda conn: document_of(conn, existing(conn, resource_id), url))
        return read_response(request, document, _shown(document, requested(request)))

    async def change(resource_id: str, request: Request, patch: bool) -> ScimResponse:
        token, _ = await authorised(database, request, Permission.GROUP_WRITE)
        sent = await read_json(request, max_body_bytes)
        url = base_url(request)

        def work(conn: Connection) -> dict[str, Any]:
            who = again(conn, token, Permission.GROUP_WRITE)
            current = existing(conn, resource_id, request)
            document = (
                apply_patch(document_of(conn, current, url), sent, schemas.GROUP_SCHEMA) if patch else sent
            )
            name, external_id, members = group_in(document)
            # The document is the Group entire (PUT replaces; a PATCH's result is whole): what it lacks goes.
            kept = None if isinstance(external_id, Unset) else external_id
            command = ChangeGroup(resource_id, display_name=name, external_id=kept, members=members)
            with _group_errors():
                group = directory.execute(conn, command, who.actor)
            return document_of(conn, group, url)

        return _one(await database.write(work), requested(request))

    async def replace_group(resource_id: str, request: Request) -> ScimResponse:
        return await change(resource_id, request, patch=False)

    async def patch_group(resource_id: str, request: Request) -> ScimResponse:
        return await change(resource_id, request, patch=True)

    async def delete_group(resource_id: str, request: Request) -> Response:
        token, _ = await authorised(database, request, Permission.GROUP_WRITE)

        def work(conn: Connection) -> None:
            who = again(conn, token, Permission.GROUP_WRITE)
            existing(conn, resource_id, request)
            directory.execute(conn, DeleteGroup(resource_id), who.actor)

        await database.write(work)
        return Response(status_code=204)

    async def list_groups(request: Request) -> ScimResponse:
        await authorised(database, request, Permission.GROUP_READ)
        return await search(request, dict(request.query_params))

    async def search_post(request: Request) -> ScimResponse:
        await authorised(database, request, Permission.GROUP_READ)
        params = await read_json(request, max_body_bytes)
        if not isinstance(params, dict):
            raise ScimError(400, "the body must be a SearchRequest object", ScimType.INVALID_SYNTAX)
        return await search(request, params)

    async def search(request: Request, params: dict[str, Any]) -> JSONResponse:
        return await list_answer(database, params, [group_listing(base_url(request))])

    add_resource_routes(
        router,
        "/Groups",
        "Group",
        create=create_group,
        listing=list_groups,
        search=search_post,
        read=get_group,
        replace=replace_group,
        change=patch_group,
        delete=delete_group,
    )


def _condition(filter_text: str | None) -> ColumnElement[bool]:
    return sql_condition(parse_filter(filter_text), _RESOLVER) if filter_text else true()


def group_listing(url: str) -> Listing:
    """Groups as lists show them (url: the base URL of their locations)."""

    def page(
        conn: Connection,
        where: ColumnElement[bool],
        order: ColumnElement[Any],
        descending: bool,
        offset: int,
        limit: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        total = conn.execute(select(func.count()).select_from(groups).where(where)).scalar_one()
        if limit <= 0:
            return total, []
        ordering = (order.desc(), groups.c.id.desc()) if descending else (order.asc(), groups.c.id.asc())
        statement = select(groups.c.public_id).where(where).order_by(*ordering).offset(offset).limit(limit)
        ids = list(conn.execute(statement).scalars())
        found = find_groups(conn, ids)
        return total, _documents(conn, [found[i] for i in ids], url)

    return Listing(
        condition=_condition,
        sort=lambda sort_by: sort_key(sort_by, _RESOLVER, groups.c.id, "Groups"),
        page=page,
        shown=_shown,
    )
