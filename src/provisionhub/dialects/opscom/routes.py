"""The OPS-COM endpoints, at the real system's paths (mounted under /opscom)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from provisionhub.auth.permissions import Permission
from provisionhub.auth.tokens import authenticate
from provisionhub.dialects.opscom import errors, translate
from provisionhub.dialects.opscom.wire import (
    ErrorBody,
    ProfilePush,
    PushSuccess,
    TypesListRequest,
    TypesListSuccess,
)
from provisionhub.directory.reference_data import list_user_types
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json

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


def create_opscom_app(directory: Directory, max_body_bytes: int) -> FastAPI:
    """The OPS-COM dialect as an ASGI app of its own, so that its errors and CORS stay inside it."""
    app = FastAPI(title="provisionhub: OPS-COM profile push", docs_url=None, redoc_url=None, openapi_url=None)
    # The seed: the server must send Access-Control-Allow-Origin: * (browser clients call it directly).
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["POST"], allow_headers=["*"], max_age=600
    )
    errors.install(app)
    database = directory.database

    @app.post(
        "/api/OC_TOMA/v1/profiles/push",
        response_model=PushSuccess,
        responses=_ERRORS,
        openapi_extra=_json_body(ProfilePush),
        summary="Create or update a person (permission user-create)",
    )
    async def push(request: Request) -> JSONResponse:
        body = await read_json(request, max_body_bytes)
        token = translate.token_of(body)

        def work(conn: Connection) -> int:
            principal = authenticate(conn, token)
            principal.require(Permission.USER_CREATE)
            command = translate.to_upsert(body)
            principal.require_login_source(command.login_source)
            return directory.upsert_person(conn, command, principal.actor).person.id

        reference_id = await database.write(work)
        return JSONResponse({"status": "success", "reference_id": reference_id})

    @app.post(
        "/api/OC_TOMA/v1/profiles/types/list",
        response_model=TypesListSuccess,
        responses={k: v for k, v in _ERRORS.items() if k in (400, 401, 403, 413)},
        openapi_extra=_json_body(TypesListRequest),
        summary="List the user types user_type_id refers to (permission user-create or user-read)",
    )
    async def types_list(request: Request) -> JSONResponse:
        body = await read_json(request, max_body_bytes)
        token = translate.token_of(body)

        def work(conn: Connection) -> TypesListSuccess:
            principal = authenticate(conn, token)
            principal.require_any(Permission.USER_CREATE, Permission.USER_READ)
            return translate.types_list(list_user_types(conn))

        answer = await database.read(work)
        return JSONResponse(answer.model_dump())

    return app


def _json_body(model: type[Any]) -> dict[str, Any]:
    """OpenAPI for a JSON request body the route reads itself (so that errors stay in OPS-COM's format)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
