"""The SCIM 2.0 endpoints at /scim/v2: discovery, Users, Groups.

Every answer is application/scim+json; a request body may be application/scim+json or application/json.
Writes run in one transaction each (the person, the change log, the outbox); a resource's version is the
newest change-log entry about it, as a weak ETag, honoured in If-Match and If-None-Match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from provisionhub.dialects.scim import access, bulk, errors, schemas
from provisionhub.dialects.scim.access import HOME
from provisionhub.dialects.scim.errors import ScimError
from provisionhub.dialects.scim.filter_names import users_condition, users_sort
from provisionhub.dialects.scim.filters import parse_filter
from provisionhub.dialects.scim.group_routes import add_group_routes, group_listing
from provisionhub.dialects.scim.http import (
    MAX_RESULTS,
    PREFIX,
    Listing,
    ResourcePermissions,
    ScimEndpoints,
    ScimResponse,
    add_resource_routes,
    base_url,
    list_answer,
    list_response,
    read_response,
    requested,
    resource_response,
    search_request,
)
from provisionhub.dialects.scim.projection import Projection, project
from provisionhub.dialects.scim.resources import (
    created_document,
    creation,
    scim_error,
    user_document,
)
from provisionhub.dialects.scim.users import UserIn, user_in
from provisionhub.directory.access import Anonymous, ApiToken, Permission
from provisionhub.directory.conditions import Filter
from provisionhub.directory.errors import Conflict, Invalid
from provisionhub.directory.people_queries import UserById, Users
from provisionhub.directory.reference_data import UserTypeIds
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import BodyError, read_json
from provisionhub.http.dialects import Dialect
from provisionhub.http.route_permissions import needs, public
from provisionhub.http.routes import DirectRoute


def scim_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    return Dialect(PREFIX, _router(directory, max_body_bytes), errors.error_response, handled=(ScimError,))


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    """The endpoints (ScimRoutes, GroupRoutes, Discovery) on a router, in the order they are matched."""
    router = APIRouter(prefix=PREFIX, tags=["scim"], route_class=DirectRoute)
    scim = ScimRoutes(directory, max_body_bytes)
    # Routes are matched in order: Users, the busiest, first.
    add_resource_routes(
        router,
        "/Users",
        "User",
        create=scim.create_user,
        listing=scim.list_users,
        search=scim.search_users_post,
        read=scim.get_user,
        replace=scim.replace_user,
        change=scim.patch_user,
        delete=scim.delete_user,
        permissions=ResourcePermissions(
            Permission.USER_READ, Permission.USER_CREATE, Permission.USER_UPDATE, Permission.USER_DELETE
        ),
    )
    add_group_routes(router, directory, max_body_bytes)
    router.add_api_route(
        "/.search",
        scim.search_everything,
        methods=["POST"],
        summary="Search Users and Groups",
        openapi_extra=needs(Permission.USER_READ, Permission.GROUP_READ),
    )
    router.add_api_route(
        "/Bulk",
        scim.bulk_request,
        methods=["POST"],
        summary="Many operations in one request",
        openapi_extra=needs(*BULK_PERMISSIONS),
    )
    _discovery(router, directory, max_body_bytes)
    return router


def _shown(document: dict[str, Any], wanted: Projection) -> dict[str, Any]:
    return project(document, wanted, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS)


def _one(document: dict[str, Any], wanted: Projection, status: int = 200) -> Response:
    return resource_response(document, _shown(document, wanted), status)


class ScimRoutes(ScimEndpoints):
    """The Users endpoints, a search at the root, Bulk."""

    async def sent_user(self, request: Request, permission: Permission) -> UserIn:
        """The User a request's body sends. A refusal of the body is told only to a credential that may
        do what the request asks (the write checks the credential anyway: a check ahead of it would be a
        read of its own)."""
        try:
            return user_in(await read_json(request, self._max_body_bytes))
        except (ScimError, BodyError):
            await self._directory.principal(access.bearer(request), permission)
            raise

    async def create_user(self, request: Request) -> Response:
        seen = self.resources(request)
        read = await self.sent_user(request, Permission.USER_CREATE)
        try:
            command = creation(read)
        except ScimError:
            await self._directory.principal(seen.credential, Permission.USER_CREATE)
            raise
        try:
            receipt = await self._directory.submit(seen.credential, [command])
        except (Invalid, Conflict) as exc:  # not scim_names(): a context manager costs every create
            raise scim_error(exc) from None
        return _one(created_document(receipt.results[0], read, seen.url), requested(request), 201)

    async def get_user(self, resource_id: str, request: Request) -> Response:
        view = await self._directory.read(access.bearer(request), UserById(resource_id, HOME.default))
        document = user_document(view, base_url(request))
        return read_response(request, document, _shown(document, requested(request)), view.version)

    async def replace_user(self, resource_id: str, request: Request) -> Response:
        seen = self.resources(request)
        read = await self.sent_user(request, Permission.USER_UPDATE)
        document = await seen.replace_user(resource_id, read, if_match(request))
        return _one(document, requested(request))

    async def patch_user(self, resource_id: str, request: Request) -> Response:
        seen = self.resources(request)
        await self._directory.principal(seen.credential, Permission.USER_UPDATE)  # before the body is read
        operations = await read_json(request, self._max_body_bytes)
        return _one(await seen.patch_user(resource_id, operations, if_match(request)), requested(request))

    async def delete_user(self, resource_id: str, request: Request) -> Response:
        await self.resources(request).delete_user(resource_id, if_match(request))
        return Response(status_code=204)

    def user_listing(self, credential: ApiToken, url: str) -> Listing:
        async def page(
            condition: Filter | None, sort: str | None, descending: bool, offset: int, limit: int
        ) -> tuple[int, list[dict[str, Any]]]:
            found = await self._directory.read(
                credential, Users(condition, HOME.default, sort, descending, offset, limit)
            )
            return found.total, [user_document(view, url) for view in found.views]

        return Listing(
            condition=lambda text: users_condition(parse_filter(text)) if text else None,
            sort=users_sort,
            page=page,
            shown=_shown,
        )

    async def list_users(self, request: Request) -> JSONResponse:
        credential = access.bearer(request)
        listing = self.user_listing(credential, base_url(request))
        return await list_answer(
            request.query_params, [listing], self.checked(credential, Permission.USER_READ)
        )

    async def search_users_post(self, request: Request) -> JSONResponse:
        credential = access.bearer(request)
        await self._directory.principal(credential, Permission.USER_READ)  # before the body is read
        body = await search_request(request, self._max_body_bytes)
        listing = self.user_listing(credential, base_url(request))
        return await list_answer(body, [listing], self.checked(credential, Permission.USER_READ))

    async def search_everything(self, request: Request) -> JSONResponse:
        """A search at the root: Users, then Groups, of the types the token may read."""
        credential, url = access.bearer(request), base_url(request)
        body = await search_request(request, self._max_body_bytes)
        who = await self._directory.principal(credential, Permission.USER_READ, Permission.GROUP_READ)
        listings = []
        if who.can(Permission.USER_READ):
            listings.append(self.user_listing(credential, url))
        if who.can(Permission.GROUP_READ):
            listings.append(group_listing(self._directory, credential, url))
        return await list_answer(body, listings, self.checked(credential))

    async def bulk_request(self, request: Request) -> JSONResponse:
        seen = self.resources(request)
        await self._directory.principal(seen.credential, *BULK_PERMISSIONS)  # before the body is read
        operations, fail_on_errors = bulk.read_request(await read_json(request, self._max_body_bytes))
        return ScimResponse(bulk.response(await bulk.run(seen, operations, fail_on_errors)))


#: A credential holding none of these may not send a Bulk request at all.
BULK_PERMISSIONS = (
    Permission.USER_CREATE,
    Permission.USER_UPDATE,
    Permission.USER_DELETE,
    Permission.GROUP_WRITE,
)


def if_match(request: Request) -> frozenset[int] | None:
    """The versions a write's If-Match accepts (None: any)."""
    return access.versions(request.headers.get("if-match"))


def _discovery(router: APIRouter, directory: Directory, max_body_bytes: int) -> None:
    """The discovery endpoints (Discovery) on router."""
    found = Discovery(directory, max_body_bytes)
    endpoints: list[tuple[str, Callable[..., Any], str]] = [
        ("/ServiceProviderConfig", found.service_provider_config, "What this service provider supports"),
        ("/ResourceTypes", found.resource_types, "The resource types"),
        ("/ResourceTypes/{name}", found.resource_type, "One resource type"),
        ("/Schemas", found.all_schemas, "The schemas"),
        ("/Schemas/{schema_id}", found.one_schema, "One schema"),
    ]
    discovery = public("SCIM's discovery (RFC 7644 4): what the service provider supports, nobody's data")
    for path, endpoint, summary in endpoints:
        router.add_api_route(path, endpoint, methods=["GET"], summary=summary, openapi_extra=discovery)


class Discovery(ScimEndpoints):
    """SCIM's discovery endpoints (RFC 7644 4)."""

    def service_provider_config(self, request: Request) -> ScimResponse:
        url = base_url(request)
        return ScimResponse(
            {
                "schemas": [schemas.SERVICE_PROVIDER_CONFIG],
                "documentationUri": "https://github.com/provisionhub/provisionhub#scim-20",
                "patch": {"supported": True},
                "bulk": {
                    "supported": True,
                    "maxOperations": bulk.MAX_OPERATIONS,
                    "maxPayloadSize": self._max_body_bytes,
                },
                "filter": {"supported": True, "maxResults": MAX_RESULTS},
                "changePassword": {"supported": True},
                "sort": {"supported": True},
                "etag": {"supported": True},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "Bearer token",
                        "description": "An API token (provisionhub token create) as Authorization: Bearer",
                        "primary": True,
                    }
                ],
                "meta": {"resourceType": "ServiceProviderConfig", "location": f"{url}/ServiceProviderConfig"},
            }
        )

    def resource_types(self, request: Request) -> ScimResponse:
        return list_response(schemas.resource_types(base_url(request)))

    def resource_type(self, name: str, request: Request) -> ScimResponse:
        found = [r for r in schemas.resource_types(base_url(request)) if r["id"] == name]
        if not found:
            raise ScimError(404, f"no resource type {name}")
        return ScimResponse(found[0])

    async def suggestions(self) -> dict[str, list[str]]:
        """userType's canonical values: the user types this install has (told to anyone: discovery
        needs no credential, RFC 7644 4)."""
        return {"userType": await self._directory.read(Anonymous(), UserTypeIds())}

    async def all_schemas(self, request: Request) -> JSONResponse:
        known = await self.suggestions()
        return list_response([s.to_scim(base_url(request), known) for s in schemas.SCHEMAS.values()])

    async def one_schema(self, schema_id: str, request: Request) -> ScimResponse:
        found = schemas.SCHEMAS.get(schema_id)
        if found is None:
            raise ScimError(404, f"no schema {schema_id}")
        return ScimResponse(found.to_scim(base_url(request), await self.suggestions()))
