"""SCIM Groups: the endpoints, and how their lists are asked of the directory."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from provisionhub.dialects.scim import access, schemas
from provisionhub.dialects.scim.filter_names import groups_condition, groups_sort
from provisionhub.dialects.scim.filters import parse_filter
from provisionhub.dialects.scim.http import (
    Listing,
    ResourcePermissions,
    ScimEndpoints,
    add_resource_routes,
    base_url,
    list_answer,
    read_response,
    requested,
    resource_response,
    search_request,
)
from provisionhub.dialects.scim.projection import Projection, project
from provisionhub.dialects.scim.resources import Resources, group_document
from provisionhub.directory.access import ApiToken, Permission
from provisionhub.directory.conditions import Filter
from provisionhub.directory.group_queries import GroupById, Groups
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json


def _shown(document: dict[str, Any], wanted: Projection) -> dict[str, Any]:
    return project(document, wanted, schemas.GROUP_SCHEMA, ())


def _one(document: dict[str, Any], wanted: Projection, status: int = 200) -> Response:
    return resource_response(document, _shown(document, wanted), status)


def add_group_routes(router: APIRouter, directory: Directory, max_body_bytes: int) -> None:
    """The Groups endpoints (GroupRoutes) on router."""
    groups = GroupRoutes(directory, max_body_bytes)
    add_resource_routes(
        router,
        "/Groups",
        "Group",
        create=groups.create_group,
        listing=groups.list_groups,
        search=groups.search_post,
        read=groups.get_group,
        replace=groups.replace_group,
        change=groups.patch_group,
        delete=groups.delete_group,
        permissions=ResourcePermissions(
            Permission.GROUP_READ, Permission.GROUP_WRITE, Permission.GROUP_WRITE, Permission.GROUP_WRITE
        ),
    )


class GroupRoutes(ScimEndpoints):
    """The Groups endpoints."""

    async def writer(self, request: Request) -> Resources:
        """The request's resources, its credential checked before the body is read."""
        seen = self.resources(request)
        await self._directory.principal(seen.credential, Permission.GROUP_WRITE)
        return seen

    async def create_group(self, request: Request) -> Response:
        seen = await self.writer(request)
        document = await seen.create_group(await read_json(request, self._max_body_bytes))
        return _one(document, requested(request), 201)

    async def get_group(self, resource_id: str, request: Request) -> Response:
        view = await self._directory.read(access.bearer(request), GroupById(resource_id))
        document = group_document(view, base_url(request))
        return read_response(request, document, _shown(document, requested(request)), view.version)

    async def change(self, resource_id: str, request: Request, patch: bool) -> Response:
        seen = await self.writer(request)
        sent = await read_json(request, self._max_body_bytes)
        versions = access.versions(request.headers.get("if-match"))
        return _one(
            await seen.change_group(resource_id, sent, patch=patch, versions=versions), requested(request)
        )

    async def replace_group(self, resource_id: str, request: Request) -> Response:
        return await self.change(resource_id, request, patch=False)

    async def patch_group(self, resource_id: str, request: Request) -> Response:
        return await self.change(resource_id, request, patch=True)

    async def delete_group(self, resource_id: str, request: Request) -> Response:
        seen = await self.writer(request)
        await seen.delete_group(resource_id, access.versions(request.headers.get("if-match")))
        return Response(status_code=204)

    async def list_groups(self, request: Request) -> JSONResponse:
        credential = access.bearer(request)
        listing = group_listing(self._directory, credential, base_url(request))
        return await list_answer(
            request.query_params, [listing], self.checked(credential, Permission.GROUP_READ)
        )

    async def search_post(self, request: Request) -> JSONResponse:
        credential = access.bearer(request)
        await self._directory.principal(credential, Permission.GROUP_READ)  # before the body is read
        body = await search_request(request, self._max_body_bytes)
        listing = group_listing(self._directory, credential, base_url(request))
        return await list_answer(body, [listing], self.checked(credential, Permission.GROUP_READ))


def group_listing(directory: Directory, credential: ApiToken, url: str) -> Listing:
    """Groups as lists show them."""

    async def page(
        condition: Filter | None, sort: str | None, descending: bool, offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        found = await directory.read(credential, Groups(condition, sort, descending, offset, limit))
        return found.total, [group_document(view, url) for view in found.views]

    return Listing(
        condition=lambda text: groups_condition(parse_filter(text)) if text else None,
        sort=groups_sort,
        page=page,
        shown=_shown,
    )
