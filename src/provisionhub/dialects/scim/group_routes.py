"""SCIM Groups: the endpoints, and the SQL of their lists."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import ColumnElement, Connection, exists, func, literal, select, true

from provisionhub.auth.permissions import Permission
from provisionhub.dialects.scim import schemas
from provisionhub.dialects.scim.filter_sql import DataType, SqlAttribute, sql_condition
from provisionhub.dialects.scim.filters import parse_filter
from provisionhub.dialects.scim.http import (
    Listing,
    add_resource_routes,
    list_answer,
    read_response,
    requested,
    resource_response,
    search_request,
    sort_key,
)
from provisionhub.dialects.scim.projection import Projection, project
from provisionhub.dialects.scim.resources import Resources, reader, rechecked, resources_for
from provisionhub.directory.groups import find_groups
from provisionhub.directory.people import Status
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.store import tables

groups = tables.groups
people = tables.people

members = tables.group_members


def _some_member(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether some member (a person not deleted) of the group in the outer query satisfies condition."""
    return exists(
        select(members.c.person_id)
        .join_from(members, people, members.c.person_id == people.c.id)
        .where(members.c.group_id == groups.c.id, people.c.status != Status.DELETED.value, condition)
    )


_RESOLVER = {
    "id": SqlAttribute(groups.c.public_id, case_exact=True),
    "externalid": SqlAttribute(groups.c.external_id, case_exact=True),
    "displayname": SqlAttribute(groups.c.display_name, folded_column=groups.c.name_key),
    "meta.created": SqlAttribute(groups.c.created_at, DataType.DATETIME),
    "meta.lastmodified": SqlAttribute(groups.c.updated_at, DataType.DATETIME),
    # Entra asks whether a user is a member: `id eq "g" and members[value eq "u"]`.
    "members": SqlAttribute(people.c.public_id, case_exact=True, rows=_some_member),
    "members.value": SqlAttribute(people.c.public_id, case_exact=True),
    "members.type": SqlAttribute(literal("User"), case_exact=True),
}


def _shown(document: dict[str, Any], wanted: Projection) -> dict[str, Any]:
    return project(document, wanted, schemas.GROUP_SCHEMA, ())


def _one(document: dict[str, Any], wanted: Projection, status: int = 200) -> JSONResponse:
    return resource_response(document, _shown(document, wanted), status)


def add_group_routes(router: APIRouter, directory: Directory, max_body_bytes: int) -> None:
    database = directory.database

    async def create_group(request: Request) -> JSONResponse:
        token, seen = await resources_for(directory, request, Permission.GROUP_WRITE)
        sent = await read_json(request, max_body_bytes)
        document = await database.write(lambda conn: rechecked(conn, token, seen).create_group(conn, sent))
        return _one(document, requested(request), 201)

    async def get_group(resource_id: str, request: Request) -> Response:
        seen_in = reader(directory, request, Permission.GROUP_READ)

        def work(conn: Connection) -> dict[str, Any]:
            seen = seen_in(conn)
            return seen.group_document(conn, seen.existing_group(conn, resource_id))

        document = await database.read(work)
        return read_response(request, document, _shown(document, requested(request)))

    async def change(resource_id: str, request: Request, patch: bool) -> JSONResponse:
        token, seen = await resources_for(directory, request, Permission.GROUP_WRITE)
        sent = await read_json(request, max_body_bytes)
        if_match = request.headers.get("if-match")

        def work(conn: Connection) -> dict[str, Any]:
            return rechecked(conn, token, seen).change_group(
                conn, resource_id, sent, patch=patch, if_match=if_match
            )

        return _one(await database.write(work), requested(request))

    async def replace_group(resource_id: str, request: Request) -> JSONResponse:
        return await change(resource_id, request, patch=False)

    async def patch_group(resource_id: str, request: Request) -> JSONResponse:
        return await change(resource_id, request, patch=True)

    async def delete_group(resource_id: str, request: Request) -> Response:
        token, seen = await resources_for(directory, request, Permission.GROUP_WRITE)
        if_match = request.headers.get("if-match")
        await database.write(
            lambda conn: rechecked(conn, token, seen).delete_group(conn, resource_id, if_match)
        )
        return Response(status_code=204)

    async def list_groups(request: Request) -> JSONResponse:
        seen_in = reader(directory, request, Permission.GROUP_READ)
        return await list_answer(database, request.query_params, lambda conn: [group_listing(seen_in(conn))])

    async def search_post(request: Request) -> JSONResponse:
        await resources_for(directory, request, Permission.GROUP_READ)  # before the body is read
        seen_in = reader(directory, request, Permission.GROUP_READ)
        body = await search_request(request, max_body_bytes)
        return await list_answer(database, body, lambda conn: [group_listing(seen_in(conn))])

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


def group_listing(seen: Resources) -> Listing:
    """Groups as lists show them."""

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
        return total, seen.group_documents(conn, [found[i] for i in ids])

    return Listing(
        condition=_condition,
        sort=lambda sort_by: sort_key(sort_by, _RESOLVER, groups.c.id, "Groups"),
        page=page,
        shown=_shown,
    )
