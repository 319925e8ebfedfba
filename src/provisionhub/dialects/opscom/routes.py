"""The OPS-COM endpoints, at the real system's paths (mounted under /opscom)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection

from provisionhub.auth.permissions import Permission
from provisionhub.auth.tokens import authenticate, authenticate_many
from provisionhub.dialects.opscom import errors, translate
from provisionhub.dialects.opscom.wire import (
    ErrorBody,
    ProfilePush,
    PushSuccess,
    TypesListRequest,
    TypesListSuccess,
)
from provisionhub.directory.errors import DirectoryError, Unauthenticated
from provisionhub.directory.people import UpsertPerson
from provisionhub.directory.reference_data import list_user_types
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import read_json
from provisionhub.http.dialects import ANY_ORIGIN, Dialect, preflight
from provisionhub.store.writes import BatchHandler

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
        router.add_api_route(path, preflight, methods=["OPTIONS"], include_in_schema=False)
    return Dialect(PREFIX, router, errors.error_response, handled=(errors.OpsComError,))


def _router(directory: Directory, max_body_bytes: int) -> APIRouter:
    app = APIRouter(prefix=PREFIX, tags=[PREFIX.strip("/")])
    database = directory.database
    push_batch = _push_handler(directory)

    @app.post(
        PUSH_PATH,
        response_model=PushSuccess,
        responses=_ERRORS,
        openapi_extra=_json_body(ProfilePush),
        summary="Create or update a person (permission user-create)",
    )
    async def push(request: Request) -> JSONResponse:
        body = await read_json(request, max_body_bytes)
        token = translate.token_of(body)
        try:
            item = _Push(token, translate.to_upsert(body))
        except errors.OpsComError as exc:
            item = _Push(token, None, exc)  # told only once the token has been checked
        reference_id = await database.write_item(push_batch, item)
        return JSONResponse({"status": "success", "reference_id": reference_id}, headers=ANY_ORIGIN)

    @app.post(
        TYPES_PATH,
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
            principal.require_unscoped()
            return translate.types_list(list_user_types(conn))

        answer = await database.read(work)
        return JSONResponse(answer.model_dump(), headers=ANY_ORIGIN)

    return app


@dataclass(frozen=True, slots=True)
class _Push:
    """One push, validated (command) or refused (error), waiting for its token to be checked."""

    token: str
    command: UpsertPerson | None
    error: errors.OpsComError | None = None


def _push_handler(directory: Directory) -> BatchHandler:
    """Apply every queued push in a few statements: one token query, one batched upsert."""

    def push_batch(conn: Connection, pushes: list[_Push]) -> list[int | Exception]:
        principals = authenticate_many(conn, [push.token for push in pushes])
        outcomes: list[int | Exception | None] = [None] * len(pushes)
        accepted: list[int] = []
        requests: list[tuple[UpsertPerson, str]] = []
        for index, push in enumerate(pushes):
            principal = principals[push.token]
            try:
                if isinstance(principal, Unauthenticated):
                    raise Unauthenticated(principal.message)
                principal.require(Permission.USER_CREATE)
                principal.require_unscoped()
                if push.error is not None:
                    raise push.error
                assert push.command is not None
                principal.require_login_source(push.command.login_source)
            except (DirectoryError, errors.OpsComError) as exc:
                outcomes[index] = exc
                continue
            accepted.append(index)
            requests.append((push.command, principal.actor))
        for index, outcome in zip(accepted, directory.upsert_each(conn, requests), strict=True):
            outcomes[index] = outcome if isinstance(outcome, DirectoryError) else outcome.id
        return outcomes  # type: ignore[return-value]

    return push_batch


def _json_body(model: type[Any]) -> dict[str, Any]:
    """OpenAPI for a JSON request body the route reads itself (so that errors stay in OPS-COM's format)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
