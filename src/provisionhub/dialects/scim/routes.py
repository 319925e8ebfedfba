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
from sqlalchemy import ColumnElement, Connection

from provisionhub.auth.passwords import hashes_for as password_hashes
from provisionhub.auth.permissions import Permission
from provisionhub.dialects.scim import access, bulk, errors, people, schemas
from provisionhub.dialects.scim.creates import NewUser, user_creations
from provisionhub.dialects.scim.errors import ScimError
from provisionhub.dialects.scim.filters import FilterError
from provisionhub.dialects.scim.group_routes import add_group_routes, group_listing
from provisionhub.dialects.scim.http import (
    MAX_RESULTS,
    PREFIX,
    Listing,
    ScimResponse,
    add_resource_routes,
    again,
    authorised,
    base_url,
    list_answer,
    list_response,
    read_response,
    requested,
    resource_response,
    search_request,
)
from provisionhub.dialects.scim.projection import Projection, project
from provisionhub.dialects.scim.resources import Resources, checked_password, reader, rechecked, resources_for
from provisionhub.dialects.scim.users import UserIn, user_in
from provisionhub.directory.reference_data import list_user_types
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import BodyError, read_json
from provisionhub.http.dialects import Dialect
from provisionhub.http.routes import DirectRoute
from provisionhub.store.database import Database


def scim_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    return Dialect(
        PREFIX, _router(directory, max_body_bytes), errors.error_response, handled=(ScimError, FilterError)
    )


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["scim"], route_class=DirectRoute)
    database = directory.database

    def shown(document: dict[str, Any], wanted: Projection) -> dict[str, Any]:
        return project(document, wanted, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS)

    def one(document: dict[str, Any], wanted: Projection, status: int = 200) -> JSONResponse:
        return resource_response(document, shown(document, wanted), status)

    async def sent_user(request: Request, permission: Permission) -> UserIn:
        """The User a request's body sends. The credential is checked before the body is refused or a
        password it sets is hashed; otherwise only in the write's own transaction, which checks it
        anyway (a check ahead of it was a read of its own: ~40 µs a create)."""
        try:
            read = user_in(await read_json(request, max_body_bytes))
        except (ScimError, BodyError):
            await authorised(database, request, permission)
            raise
        if read.password is not None:
            await authorised(database, request, permission)
        return read

    create_users = user_creations(directory)

    async def create_user(request: Request) -> JSONResponse:
        token = access.bearer(request)
        read = await sent_user(request, Permission.USER_CREATE)
        hashes = await hashes_for([read])
        document = await database.write_item(create_users, NewUser(token, base_url(request), read, hashes))
        return one(document, requested(request), 201)

    async def get_user(resource_id: str, request: Request) -> Response:
        seen_in = reader(directory, request, Permission.USER_READ)

        document = await database.read(lambda conn: seen_in(conn).read_user(conn, resource_id))
        return read_response(request, document, shown(document, requested(request)))

    async def replace_user(resource_id: str, request: Request) -> JSONResponse:
        token, url = access.bearer(request), base_url(request)
        read = await sent_user(request, Permission.USER_UPDATE)
        hashes = await hashes_for([read])
        if_match = request.headers.get("if-match")

        def work(conn: Connection) -> dict[str, Any]:
            seen = Resources(directory, url, again(conn, token, Permission.USER_UPDATE))
            return seen.replace_user(conn, resource_id, read, hashes, if_match)

        return one(await database.write(work), requested(request))

    async def patch_user(resource_id: str, request: Request) -> JSONResponse:
        token, seen = await resources_for(directory, request, Permission.USER_UPDATE)
        operations = await read_json(request, max_body_bytes)
        # A password the patch sets is hashed before the transaction: patched once on a snapshot to find it.
        hashes = await hashes_for(
            [await database.read(lambda conn: seen.patched_user(conn, resource_id, operations))]
        )
        if_match = request.headers.get("if-match")

        def work(conn: Connection) -> dict[str, Any]:
            return rechecked(conn, token, seen).patch_user(conn, resource_id, operations, hashes, if_match)

        return one(await database.write(work), requested(request))

    async def delete_user(resource_id: str, request: Request) -> Response:
        token, seen = await resources_for(directory, request, Permission.USER_DELETE)
        if_match = request.headers.get("if-match")
        await database.write(
            lambda conn: rechecked(conn, token, seen).delete_user(conn, resource_id, if_match)
        )
        return Response(status_code=204)

    def user_listing(seen: Resources) -> Listing:
        def page(
            conn: Connection,
            where: ColumnElement[bool],
            order: ColumnElement[Any],
            descending: bool,
            offset: int,
            limit: int,
        ) -> tuple[int, list[dict[str, Any]]]:
            total, found = people.page(conn, where, order, descending, offset, limit)
            return total, seen.user_documents(conn, found)

        return Listing(
            condition=lambda text: people.condition(text, seen.bound),
            sort=lambda sort_by: people.sort_column(sort_by, seen.bound),
            page=page,
            shown=shown,
        )

    async def list_users(request: Request) -> JSONResponse:
        seen_in = reader(directory, request, Permission.USER_READ)
        return await list_answer(database, request.query_params, lambda conn: [user_listing(seen_in(conn))])

    async def search_users_post(request: Request) -> JSONResponse:
        await resources_for(directory, request, Permission.USER_READ)  # before the body is read
        seen_in = reader(directory, request, Permission.USER_READ)
        body = await search_request(request, max_body_bytes)
        return await list_answer(database, body, lambda conn: [user_listing(seen_in(conn))])

    async def search_everything(request: Request) -> JSONResponse:
        """A search at the root: Users, then Groups, of the types the token may read."""
        token, url = access.bearer(request), base_url(request)
        body = await search_request(request, max_body_bytes)

        def listings(conn: Connection) -> list[Listing]:
            who = access.principal(conn, token)
            seen = Resources(directory, url, who)
            found = []
            if who.can(Permission.USER_READ):
                found.append(user_listing(seen))
            if who.can(Permission.GROUP_READ):
                found.append(group_listing(seen))
            if not found:
                who.require_any(Permission.USER_READ, Permission.GROUP_READ)
            return found

        return await list_answer(database, body, listings)

    async def bulk_request(request: Request) -> JSONResponse:
        token = access.bearer(request)
        who = await database.read(lambda conn: access.principal(conn, token))
        operations, fail_on_errors = bulk.read_request(await read_json(request, max_body_bytes))
        hashes = await bulk.password_hashes(operations)
        seen = Resources(directory, base_url(request), who)

        def work(conn: Connection) -> list[dict[str, Any]]:
            return bulk.run(conn, rechecked(conn, token, seen), operations, fail_on_errors, hashes)

        return ScimResponse(bulk.response(await database.write(work)))

    # Routes are matched in order: Users, the busiest, first.
    add_resource_routes(
        router,
        "/Users",
        "User",
        create=create_user,
        listing=list_users,
        search=search_users_post,
        read=get_user,
        replace=replace_user,
        change=patch_user,
        delete=delete_user,
    )
    add_group_routes(router, directory, max_body_bytes)
    router.add_api_route("/.search", search_everything, methods=["POST"], summary="Search Users and Groups")
    router.add_api_route("/Bulk", bulk_request, methods=["POST"], summary="Many operations in one request")
    _discovery(router, database, max_body_bytes)
    return router


async def hashes_for(reads: list[UserIn]) -> dict[str, str]:
    """The hashes of the passwords these User documents set, made on worker threads."""
    passwords = sorted({p for p in (checked_password(read) for read in reads) if p is not None})
    if not passwords:
        return {}
    hashed = await password_hashes([(p, None) for p in passwords])
    return dict(zip(passwords, hashed, strict=True))


def _discovery(router: APIRouter, database: Database, max_body_bytes: int) -> None:
    def service_provider_config(request: Request) -> ScimResponse:
        url = base_url(request)
        return ScimResponse(
            {
                "schemas": [schemas.SERVICE_PROVIDER_CONFIG],
                "documentationUri": "https://github.com/provisionhub/provisionhub#scim-20",
                "patch": {"supported": True},
                "bulk": {
                    "supported": True,
                    "maxOperations": bulk.MAX_OPERATIONS,
                    "maxPayloadSize": max_body_bytes,
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

    def resource_types(request: Request) -> ScimResponse:
        return list_response(schemas.resource_types(base_url(request)))

    def resource_type(name: str, request: Request) -> ScimResponse:
        found = [r for r in schemas.resource_types(base_url(request)) if r["id"] == name]
        if not found:
            raise ScimError(404, f"no resource type {name}")
        return ScimResponse(found[0])

    async def suggestions() -> dict[str, list[str]]:
        """userType's canonical values: the user types this install has."""
        types = await database.read(list_user_types)
        return {"userType": [t.id for t in types]}

    async def all_schemas(request: Request) -> JSONResponse:
        known = await suggestions()
        return list_response([s.to_scim(base_url(request), known) for s in schemas.SCHEMAS.values()])

    async def one_schema(schema_id: str, request: Request) -> ScimResponse:
        found = schemas.SCHEMAS.get(schema_id)
        if found is None:
            raise ScimError(404, f"no schema {schema_id}")
        return ScimResponse(found.to_scim(base_url(request), await suggestions()))

    endpoints: list[tuple[str, Callable[..., Any], str]] = [
        ("/ServiceProviderConfig", service_provider_config, "What this service provider supports"),
        ("/ResourceTypes", resource_types, "The resource types"),
        ("/ResourceTypes/{name}", resource_type, "One resource type"),
        ("/Schemas", all_schemas, "The schemas"),
        ("/Schemas/{schema_id}", one_schema, "One schema"),
    ]
    for path, endpoint, summary in endpoints:
        router.add_api_route(path, endpoint, methods=["GET"], summary=summary)
