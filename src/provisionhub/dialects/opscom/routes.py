"""The OPS-COM endpoints, at the real system's paths (mounted under /opscom)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from provisionhub.dialects.opscom import errors, translate
from provisionhub.dialects.opscom.wire import (
    ErrorBody,
    ProfilePush,
    PushSuccess,
    TypesListRequest,
    TypesListSuccess,
)
from provisionhub.directory.access import ApiToken, Permission
from provisionhub.directory.reference_data import UserTypes
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import ANY_ORIGIN, Dialect, preflight
from provisionhub.http.endpoints import Endpoints
from provisionhub.http.openapi import json_body
from provisionhub.http.route_permissions import needs, public

PREFIX = "/opscom"
PUSH_PATH = "/api/OC_TOMA/v1/profiles/push"
TYPES_PATH = "/api/OC_TOMA/v1/profiles/types/list"

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "9003: the body is not a JSON object",
        401: "9001: apiToken missing or not valid",
        403: "9002: the token lacks the permission or the login source",
        409: "9019 / 9020: email or user_name already belongs to another person",
        413: "9003: the body is too large",
        422: "9013-9018, 9030-9033: a missing, unknown, too long, too short or invalid attribute",
    }.items()
}


def opscom_dialect(directory: Directory, max_body_bytes: int) -> Dialect:
    """OPS-COM at /opscom. The seed: the server must send Access-Control-Allow-Origin: * (browser
    clients call it directly), so every answer carries it and each path answers preflight."""
    router = _router(directory, max_body_bytes)
    for path in (PUSH_PATH, TYPES_PATH):
        router.add_api_route(
            path,
            preflight,
            methods=["OPTIONS"],
            include_in_schema=False,
            openapi_extra=public("a CORS preflight: it answers which methods and headers, nobody's data"),
        )
    return Dialect(PREFIX, router, errors.error_response, handled=(errors.OpsComError,))


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    """The endpoints (OpsComRoutes) on a router, in the order they are matched."""
    app = APIRouter(prefix=PREFIX, tags=[PREFIX.strip("/")])
    opscom = OpsComRoutes(directory, max_body_bytes)
    app.add_api_route(
        PUSH_PATH,
        opscom.push,
        methods=["POST"],
        response_model=PushSuccess,
        responses=_ERRORS,
        openapi_extra={**json_body(ProfilePush), **needs(Permission.USER_CREATE, Permission.USER_UPDATE)},
        summary="Create or update a person (permission user-create)",
    )
    app.add_api_route(
        TYPES_PATH,
        opscom.types_list,
        methods=["POST"],
        response_model=TypesListSuccess,
        responses={k: v for k, v in _ERRORS.items() if k in (400, 401, 403, 413)},
        openapi_extra={**json_body(TypesListRequest), **needs(Permission.USER_CREATE, Permission.USER_READ)},
        summary="List the user types user_type_id refers to (permission user-create or user-read)",
    )
    return app


class OpsComRoutes(Endpoints):
    """OPS-COM's endpoints: a person pushed, the user types listed."""

    async def push(self, request: Request) -> JSONResponse:
        body = await read_json(request, self._max_body_bytes)
        credential = ApiToken(translate.token_of(body))
        try:
            command = translate.to_upsert(body)
        except errors.OpsComError:
            # A refusal of the body is told only to a credential that may push at all.
            await self._directory.principal(credential, Permission.USER_CREATE, Permission.USER_UPDATE)
            raise
        receipt = await self._directory.submit(credential, [command])
        return JSONResponse({"status": "success", "reference_id": receipt.results[0].id}, headers=ANY_ORIGIN)

    async def types_list(self, request: Request) -> JSONResponse:
        body = await read_json(request, self._max_body_bytes)
        user_types = await self._directory.read(ApiToken(translate.token_of(body)), UserTypes())
        return JSONResponse(translate.types_list(user_types).model_dump(), headers=ANY_ORIGIN)
