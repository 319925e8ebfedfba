"""The myON endpoints: POST arrays of accounts, buildings, permissions and users (create or update), GET
one back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from provisionhub.dialects.myon import errors, wire
from provisionhub.directory.access import ApiToken, Permission
from provisionhub.directory.entitlements import GrantEntitlements
from provisionhub.directory.errors import ItemError, Rejected, Unauthenticated
from provisionhub.directory.memberships import UpsertMembers
from provisionhub.directory.organisation_queries import OrganisationById
from provisionhub.directory.organisations import OrgKind, UpsertOrganisations
from provisionhub.directory.people_queries import MemberById
from provisionhub.directory.service import Directory
from provisionhub.http.answers import LargeJSONResponse
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import Dialect
from provisionhub.http.endpoints import Endpoints
from provisionhub.http.route_permissions import needs

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

_GET_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _RESPONSES[401],
    403: _RESPONSES[403],
    404: {"description": "No such id"},
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


C = TypeVar("C")


def required_token(request: Request) -> ApiToken:
    token = bearer_token(request)
    if token is None:  # before the body is read: without a credential, nothing else matters
        raise Unauthenticated("an Authorization: Bearer <API token> header is required")
    return ApiToken(token)


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    """The endpoints (MyonRoutes, an OrganisationRoutes a kind) on a router, in the order they are matched."""
    router = APIRouter(prefix=PREFIX, tags=[PREFIX.strip("/")])
    myon = MyonRoutes(directory, max_body_bytes)
    router.add_api_route(
        "/users",
        myon.post_users,
        methods=["POST"],
        status_code=201,
        responses=_RESPONSES,
        summary="Create or update district and building admins (permission user-create, user-update)",
        openapi_extra=needs(Permission.USER_CREATE, Permission.USER_UPDATE),
    )
    router.add_api_route(
        "/users/{myon_id}",
        myon.get_user,
        methods=["GET"],
        responses=_GET_RESPONSES,
        summary="One user (permission user-read)",
        openapi_extra=needs(Permission.USER_READ),
    )
    for kind, path in _PATHS.items():
        organisations = OrganisationRoutes(directory, max_body_bytes, kind)
        router.add_api_route(
            path,
            organisations.post,
            methods=["POST"],
            status_code=201,
            responses=_RESPONSES,
            summary=f"Create or update {kind.value}s (permission org-write)",
            openapi_extra=needs(Permission.ORG_WRITE),
        )
        router.add_api_route(
            path + "/{myon_id}",
            organisations.get,
            methods=["GET"],
            responses=_GET_RESPONSES,
            summary=f"One {_WHAT_GET_ANSWERS[kind]} (permission org-read)",
            openapi_extra=needs(Permission.ORG_READ),
        )
    router.add_api_route(
        "/permissions",
        myon.post_permissions,
        methods=["POST"],
        status_code=201,
        responses=_RESPONSES,
        summary="Grant permissions to buildings, or change those grants (permission entitlement-write)",
        openapi_extra=needs(Permission.ENTITLEMENT_WRITE),
    )
    return router


async def _submitted(
    directory: Directory, credential: ApiToken, parsed: wire.Parsed[C], batch: Callable[[list[C]], object]
) -> list[Any]:
    """The results of the batch command of the items the wire accepted; the whole array refused,
    naming every bad item (the wire's refusals and the directory's, by their index in the array),
    if any item is bad. Nothing is written then."""
    valid = [(index, command) for index, command in enumerate(parsed.commands) if command is not None]
    try:
        # With refusals of its own already, the rest is only checked: all or nothing.
        receipt = await directory.submit(
            credential, [batch([command for _, command in valid])], check=bool(parsed.errors)
        )
    except Rejected as exc:
        found = [ItemError(valid[e.index][0], e.error) for e in exc.errors]
        raise Rejected(sorted(parsed.errors + found, key=lambda e: e.index)) from None
    if parsed.errors:
        raise Rejected(parsed.errors)
    return list(receipt.results[0])


class MyonRoutes(Endpoints):
    """The users and permissions endpoints."""

    async def post_permissions(self, request: Request) -> JSONResponse:
        credential = required_token(request)
        parsed = wire.permission_commands(await read_items(request, self._max_body_bytes))
        results = await _submitted(self._directory, credential, parsed, GrantEntitlements)
        return _post_answer([wire.grant_result_out(r) for r in results])

    async def post_users(self, request: Request) -> JSONResponse:
        credential = required_token(request)
        parsed = wire.user_commands(await read_items(request, self._max_body_bytes))
        results = await _submitted(self._directory, credential, parsed, UpsertMembers)
        return _post_answer([wire.result_out(r.person.public_id, r.created, r.changed) for r in results])

    async def get_user(self, myon_id: str, request: Request) -> JSONResponse:
        return JSONResponse(wire.user_out(await self._directory.read(_token(request), MemberById(myon_id))))


class OrganisationRoutes(Endpoints):
    """The endpoints of one kind of organisation (accounts, buildings): post and get, the same names for
    every kind (their routes' names and operation ids say so)."""

    def __init__(self, directory: Directory, max_body_bytes: int, kind: OrgKind) -> None:
        super().__init__(directory, max_body_bytes)
        self._kind = kind

    async def post(self, request: Request) -> JSONResponse:
        credential = required_token(request)
        parsed = wire.organisation_commands(self._kind, await read_items(request, self._max_body_bytes))
        results = await _submitted(self._directory, credential, parsed, UpsertOrganisations)
        return _post_answer(
            [wire.result_out(r.organisation.public_id, r.created, r.changed) for r in results]
        )

    async def get(self, myon_id: str, request: Request) -> JSONResponse:
        found = await self._directory.read(_token(request), OrganisationById(myon_id, self._kind))
        return JSONResponse(wire.organisation_out(found.organisation, found.grants))


def _token(request: Request) -> ApiToken:
    """The request's bearer token; an empty one (refused as no token) when there is none."""
    return ApiToken(bearer_token(request) or "")


def _post_answer(answer: list[dict[str, Any]]) -> JSONResponse:
    """A POST's answer: 201 if anything was created, else 200."""
    created = any(item["result"] == "created" for item in answer)
    return LargeJSONResponse(answer, status_code=201 if created else 200)
