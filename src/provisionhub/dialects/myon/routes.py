"""The myON endpoints: POST arrays of accounts and buildings (create or update), GET one back; POST
arrays of permissions granted to buildings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from provisionhub.auth.permissions import Permission
from provisionhub.auth.tokens import authenticate
from provisionhub.dialects.myon import errors, wire
from provisionhub.directory.entitlements import GrantEntitlement, grants_of
from provisionhub.directory.errors import ItemError, NotFound, Rejected, Unauthenticated
from provisionhub.directory.organisations import OrgKind, UpsertOrganisation, find_organisations
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import Dialect

C = TypeVar("C")

PREFIX = "/myon"

_PATHS = {OrgKind.ACCOUNT: "/accounts", OrgKind.BUILDING: "/buildings"}
_WHAT_GET_ANSWERS = {OrgKind.ACCOUNT: "account", OrgKind.BUILDING: "building, with the permissions it holds"}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not a JSON array"},
    401: {"description": "No bearer token, or one that is not valid"},
    403: {"description": "The token lacks the permission"},
    413: {"description": "More than 1,000 items, or a body over the size limit"},
    422: {"description": "Items refused (one error per item, by index); nothing was written"},
}


def myon_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    """myON at /myon: bearer tokens, arrays in, arrays out, errors as {"status", "message", "errors"}."""
    return Dialect(
        PREFIX, _router(directory, max_body_bytes), errors.error_response, handled=(errors.MyonError,)
    )


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if there is one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def read_items(request: Request, max_body_bytes: int) -> list[Any]:
    """The body: a JSON array of at most MAX_ITEMS items."""
    body = await read_json(request, max_body_bytes)
    if not isinstance(body, list):
        raise errors.MyonError(400, "the body must be a JSON array of objects, even for one item")
    if not body:
        raise errors.MyonError(400, "the array is empty: send at least one item")
    if len(body) > wire.MAX_ITEMS:
        raise errors.MyonError(
            413, f"{len(body)} items: at most {wire.MAX_ITEMS} are accepted in one request"
        )
    return body


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=[PREFIX.strip("/")])
    database = directory.database

    def post_array(
        parse: Callable[[list[Any]], wire.Parsed[C]],
        permission: Permission,
        apply: Callable[[Connection, list[C], str], list[dict[str, Any]]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        """A POST of an array: each item parsed, then all applied or none; its answer one result an item."""

        async def post(request: Request) -> JSONResponse:
            token = bearer_token(request)
            if token is None:  # before the body is read: without a credential, nothing else matters
                raise Unauthenticated("an Authorization: Bearer <API token> header is required")
            parsed = parse(await read_items(request, max_body_bytes))

            def work(conn: Connection) -> list[dict[str, Any]]:
                principal = authenticate(conn, token)
                principal.require(permission)
                valid = [(i, c) for i, c in enumerate(parsed.commands) if c is not None]
                try:
                    answer = apply(conn, [c for _, c in valid], principal.actor)
                except Rejected as exc:
                    found = [ItemError(valid[e.index][0], e.error) for e in exc.errors]
                    raise Rejected(sorted(parsed.errors + found, key=lambda e: e.index)) from None
                if parsed.errors:  # the others were fine: roll them back, all or nothing
                    raise Rejected(parsed.errors)
                return answer

            answer = await database.write(work)
            created = any(item["result"] == "created" for item in answer)
            return JSONResponse(answer, status_code=201 if created else 200)

        return post

    def post_organisations(kind: OrgKind) -> Callable[[Request], Awaitable[JSONResponse]]:
        def apply(conn: Connection, commands: list[UpsertOrganisation], actor: str) -> list[dict[str, Any]]:
            results = directory.upsert_organisations(conn, commands, actor)
            return [wire.result_out(r.organisation.public_id, r.created, r.changed) for r in results]

        return post_array(lambda items: wire.organisation_commands(kind, items), Permission.ORG_WRITE, apply)

    def grant_permissions(
        conn: Connection, commands: list[GrantEntitlement], actor: str
    ) -> list[dict[str, Any]]:
        return [wire.grant_result_out(r) for r in directory.grant_entitlements(conn, commands, actor)]

    def get_organisation(kind: OrgKind) -> Callable[[str, Request], Awaitable[JSONResponse]]:
        async def get(myon_id: str, request: Request) -> JSONResponse:
            token = bearer_token(request)

            def work(conn: Connection) -> dict[str, Any]:
                principal = authenticate(conn, token)
                principal.require(Permission.ORG_READ)
                found = find_organisations(conn, [myon_id]).get(myon_id)
                if found is None or found.kind is not kind:
                    raise NotFound(f"no {kind.value} has the myon_id {myon_id}")
                if kind is OrgKind.BUILDING:
                    return wire.organisation_out(found, grants_of(conn, [myon_id]).get(myon_id, []))
                return wire.organisation_out(found)

            return JSONResponse(await database.read(work))

        return get

    for kind, path in _PATHS.items():
        router.add_api_route(
            path,
            post_organisations(kind),
            methods=["POST"],
            status_code=201,
            responses=_RESPONSES,
            summary=f"Create or update {kind.value}s (permission org-write)",
        )
        router.add_api_route(
            path + "/{myon_id}",
            get_organisation(kind),
            methods=["GET"],
            responses={k: v for k, v in _RESPONSES.items() if k in (401, 403)}
            | {404: {"description": "No such id"}},
            summary=f"One {_WHAT_GET_ANSWERS[kind]} (permission org-read)",
        )
    router.add_api_route(
        "/permissions",
        post_array(wire.permission_commands, Permission.ENTITLEMENT_WRITE, grant_permissions),
        methods=["POST"],
        status_code=201,
        responses=_RESPONSES,
        summary="Grant permissions to buildings, or change those grants (permission entitlement-write)",
    )
    return router
