"""The SCIM 2.0 endpoints at /scim/v2: discovery, Users, Groups.

Every answer is application/scim+json; a request body may be application/scim+json or application/json.
Writes run in one transaction each (the person, the change log, the outbox); a resource's version is the
newest change-log entry about it, as a weak ETag, honoured in If-Match and If-None-Match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import ColumnElement, Connection

from provisionhub.auth.passwords import check_password, hash_password
from provisionhub.auth.permissions import Permission, Principal
from provisionhub.dialects.scim import access, errors, people, schemas
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
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
from provisionhub.dialects.scim.patch import apply_patch
from provisionhub.dialects.scim.projection import Projection, project
from provisionhub.dialects.scim.users import SCIM_NAMES, UserIn, user_in, user_out, version_tag
from provisionhub.directory.changes import latest_seqs
from provisionhub.directory.errors import Conflict, Invalid, NotFound, worded_as
from provisionhub.directory.groups import groups_of
from provisionhub.directory.ids import new_public_id
from provisionhub.directory.people import (
    ACTIVE_STATUSES,
    Person,
    SetStatus,
    Status,
    UpdatePerson,
    UpsertPerson,
)
from provisionhub.directory.reference_data import list_user_types
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import Dialect
from provisionhub.store.database import Database


def scim_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    return Dialect(
        PREFIX, _router(directory, max_body_bytes), errors.error_response, handled=(ScimError, FilterError)
    )


@contextmanager
def scim_names() -> Iterator[None]:
    """The core's refusals, naming person fields by their SCIM attributes."""
    try:
        yield
    except (Invalid, Conflict) as exc:
        name = SCIM_NAMES.get(exc.field, exc.field)
        message = worded_as(exc, name)
        if isinstance(exc, Conflict):
            raise ScimError(409, message, ScimType.UNIQUENESS) from None
        raise invalid_value(message) from None


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["scim"])
    database = directory.database

    def user_document(conn: Connection, person: Person, url: str, bound: str) -> dict[str, Any]:
        seq = latest_seqs(conn, "person", [person.public_id]).get(person.public_id, 0)
        groups = groups_of(conn, [person.id]).get(person.id, [])
        return user_out(person, groups, seq, url, bound)

    def user_documents(conn: Connection, found: list[Person], url: str, bound: str) -> list[dict[str, Any]]:
        seqs = latest_seqs(conn, "person", [p.public_id for p in found])
        groups = groups_of(conn, [p.id for p in found])
        return [user_out(p, groups.get(p.id, []), seqs.get(p.public_id, 0), url, bound) for p in found]

    def shown(document: dict[str, Any], wanted: Projection) -> dict[str, Any]:
        return project(document, wanted, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS)

    def one(document: dict[str, Any], wanted: Projection, status: int = 200) -> JSONResponse:
        return resource_response(document, shown(document, wanted), status)

    async def password_hash(read: UserIn) -> str | None:
        if read.password is None:
            return None
        with scim_names():
            password = check_password("password", read.password)
        return await anyio.to_thread.run_sync(hash_password, password)

    def write_user(
        conn: Connection, who: Principal, read: UserIn, existing: Person | None, hashed: str | None
    ) -> Person:
        bound = access.bound_source(who)
        if read.fields.get("username") is None:
            raise invalid_value("userName is required")
        fields = dict(read.fields)
        if hashed is not None:
            fields["password_hash"] = hashed
        with scim_names():
            if existing is None:
                who.require_login_source(bound)
                public_id = new_public_id()
                unique_id = read.external_id or public_id
                if read.external_id is not None and people.identity_taken(conn, bound, unique_id):
                    raise ScimError(409, f"externalId {unique_id!r} is already taken", ScimType.UNIQUENESS)
                command = UpsertPerson(bound, unique_id, fields, frozenset({"username"}), public_id)
                person = directory.upsert_person(conn, command, who.actor).person
            else:
                who.require_login_source(existing.login_source)
                unique_id = None
                if existing.login_source == bound:  # externalId is theirs: set, changed or cleared
                    unique_id = read.external_id or existing.public_id
                command = UpdatePerson(existing.public_id, fields, unique_id)
                person = directory.update_person(conn, command, who.actor).person
        if read.active is not None and read.active != (person.status in ACTIVE_STATUSES):
            status = Status.ACTIVE if read.active else Status.SUSPENDED
            person = directory.set_status(conn, SetStatus(person.public_id, status), who.actor).person
        return person

    def existing_user(conn: Connection, resource_id: str, request: Request | None = None) -> Person:
        person = people.find(conn, resource_id)
        if person is None:
            raise NotFound(f"no User has the id {resource_id}")
        if request is not None:
            seq = latest_seqs(conn, "person", [resource_id]).get(resource_id, 0)
            access.check_precondition(request, version_tag(seq))
        return person

    # -- Users ---------------------------------------------------------------------------------------

    async def create_user(request: Request) -> ScimResponse:
        token, _ = await authorised(database, request, Permission.USER_CREATE)
        read = user_in(await read_json(request, max_body_bytes))
        hashed = await password_hash(read)
        wanted = requested(request)
        url = base_url(request)

        def work(conn: Connection) -> dict[str, Any]:
            who = again(conn, token, Permission.USER_CREATE)
            person = write_user(conn, who, read, None, hashed)
            return user_document(conn, person, url, access.bound_source(who))

        return one(await database.write(work), wanted, 201)

    async def get_user(resource_id: str, request: Request) -> Response:
        _, who = await authorised(database, request, Permission.USER_READ)
        wanted = requested(request)
        url = base_url(request)

        def work(conn: Connection) -> dict[str, Any]:
            return user_document(conn, existing_user(conn, resource_id), url, access.bound_source(who))

        document = await database.read(work)
        return read_response(request, document, shown(document, wanted))

    async def replace_user(resource_id: str, request: Request) -> ScimResponse:
        token, _ = await authorised(database, request, Permission.USER_UPDATE)
        read = user_in(await read_json(request, max_body_bytes))
        hashed = await password_hash(read)
        wanted = requested(request)
        url = base_url(request)

        def work(conn: Connection) -> dict[str, Any]:
            who = again(conn, token, Permission.USER_UPDATE)
            person = write_user(conn, who, read, existing_user(conn, resource_id, request), hashed)
            return user_document(conn, person, url, access.bound_source(who))

        return one(await database.write(work), wanted)

    async def patch_user(resource_id: str, request: Request) -> ScimResponse:

        token, who = await authorised(database, request, Permission.USER_UPDATE)
        operations = await read_json(request, max_body_bytes)
        wanted = requested(request)
        url = base_url(request)
        bound = access.bound_source(who)
        # The password, if the patch sets one, is hashed outside the transaction: read, patch, hash, write.
        current = await database.read(
            lambda conn: user_document(conn, existing_user(conn, resource_id), url, bound)
        )
        read = user_in(
            apply_patch(current, operations, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS), whole=True
        )
        hashed = await password_hash(read)

        def work(conn: Connection) -> dict[str, Any]:
            who = again(conn, token, Permission.USER_UPDATE)
            existing = existing_user(conn, resource_id, request)
            # Patched again as the User is now, in case it changed while the password was hashed.
            document = user_document(conn, existing, url, bound)
            now = user_in(
                apply_patch(document, operations, schemas.USER_SCHEMA, schemas.USER_EXTENSIONS), whole=True
            )
            if now.password != read.password:
                raise ScimError(
                    409, "the User changed while its password was being set: send the PATCH again"
                )
            person = write_user(conn, who, now, existing, hashed)
            return user_document(conn, person, url, bound)

        return one(await database.write(work), wanted)

    async def delete_user(resource_id: str, request: Request) -> Response:
        token, _ = await authorised(database, request, Permission.USER_DELETE)

        def work(conn: Connection) -> None:
            who = again(conn, token, Permission.USER_DELETE)
            person = existing_user(conn, resource_id, request)
            who.require_login_source(person.login_source)
            directory.set_status(conn, SetStatus(person.public_id, Status.DELETED), who.actor)

        await database.write(work)
        return Response(status_code=204)

    def user_listing(url: str, bound: str) -> Listing:
        def page(
            conn: Connection,
            where: ColumnElement[bool],
            order: ColumnElement[Any],
            descending: bool,
            offset: int,
            limit: int,
        ) -> tuple[int, list[dict[str, Any]]]:
            total, found = people.page(conn, where, order, descending, offset, limit)
            return total, user_documents(conn, found, url, bound)

        return Listing(
            condition=lambda text: people.condition(text, bound),
            sort=lambda sort_by: people.sort_column(sort_by, bound),
            page=page,
            shown=shown,
        )

    async def list_users(request: Request) -> JSONResponse:
        _, who = await authorised(database, request, Permission.USER_READ)
        listing = user_listing(base_url(request), access.bound_source(who))
        return await list_answer(database, request.query_params, [listing])

    async def search_users_post(request: Request) -> JSONResponse:
        _, who = await authorised(database, request, Permission.USER_READ)
        listing = user_listing(base_url(request), access.bound_source(who))
        return await list_answer(database, await search_request(request, max_body_bytes), [listing])

    async def search_everything(request: Request) -> JSONResponse:
        """A search at the root: Users, then Groups, of the types the token may read."""
        token = access.bearer(request)
        who = await database.read(lambda conn: access.principal(conn, token))
        url = base_url(request)
        listings = []
        if who.can(Permission.USER_READ):
            listings.append(user_listing(url, access.bound_source(who)))
        if who.can(Permission.GROUP_READ):
            listings.append(group_listing(url))
        if not listings:
            who.require_any(Permission.USER_READ, Permission.GROUP_READ)
        return await list_answer(database, await search_request(request, max_body_bytes), listings)

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
    _discovery(router, database)
    return router


def _discovery(router: APIRouter, database: Database) -> None:
    def service_provider_config(request: Request) -> ScimResponse:
        url = base_url(request)
        return ScimResponse(
            {
                "schemas": [schemas.SERVICE_PROVIDER_CONFIG],
                "documentationUri": "https://github.com/provisionhub/provisionhub#scim-20",
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
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
