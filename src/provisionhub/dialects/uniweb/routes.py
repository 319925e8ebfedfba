"""UNIWeb's token endpoint: POST /uniweb/api/token.php, OAuth 2.0's password grant with a client's id
and secret (see auth/oauth.py for the tokens, and for how wrong secrets hold a client id off)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from provisionhub.auth.oauth import GrantPolicy, GrantRefused, issue_token
from provisionhub.dialects.uniweb import errors, wire
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import BodyError, BodyTooLarge, read_fields
from provisionhub.http.dialects import Dialect


def uniweb_dialect(directory: Directory, max_body_bytes: int, policy: GrantPolicy) -> Dialect:
    """UNIWeb at /uniweb: OAuth's error bodies at the token endpoint, the seed's elsewhere."""
    return Dialect(
        wire.PREFIX,
        _router(directory, max_body_bytes, policy),
        errors.error_response,
        handled=(errors.OAuthError, errors.TokenRequestInvalid),
    )


def _router(directory: Directory, max_body_bytes: int, policy: GrantPolicy) -> APIRouter:
    router = APIRouter(prefix=wire.PREFIX, tags=["uniweb"])
    database = directory.database

    async def token(request: Request) -> JSONResponse:
        try:
            fields = await read_fields(request, max_body_bytes)
        except BodyError as exc:  # OAuth's words, not the resource endpoint's
            raise errors.OAuthError(
                413 if isinstance(exc, BodyTooLarge) else 400, "invalid_request", str(exc)
            ) from None
        grant = wire.password_grant(fields)
        now = directory.now()
        outcome = await database.write(
            lambda conn: issue_token(conn, grant.client_id, grant.secret, now, policy)
        )
        if isinstance(outcome, GrantRefused):
            raise errors.refused_grant(outcome)
        return JSONResponse(wire.token_out(outcome), headers=wire.NO_STORE)

    async def token_not_posted() -> JSONResponse:
        raise errors.OAuthError(
            405,
            "invalid_request",
            "The request method must be POST when requesting an access token.",
            {"Allow": "POST"},
        )

    router.add_api_route(
        wire.TOKEN_PATH,
        token,
        methods=["POST"],
        summary="An access token for an OAuth client's id and secret (password grant)",
    )
    router.add_api_route(
        wire.TOKEN_PATH, token_not_posted, methods=["GET", "PUT", "DELETE", "PATCH"], include_in_schema=False
    )
    return router
