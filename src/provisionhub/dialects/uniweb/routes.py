"""UNIWeb's endpoints: POST /uniweb/api/token.php, OAuth 2.0's password grant with a client's id and
secret (see auth/oauth.py for the tokens, and for how wrong secrets hold a client id off), and
/uniweb/api/resource.php, structured requests on members' profile sections (resource.py): POSTed, or
as a GET's query parameters (query.py) for those that only read."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from provisionhub.auth.credentials import Credentials
from provisionhub.auth.oauth import GrantRefused
from provisionhub.dialects.uniweb import errors, resource, wire
from provisionhub.dialects.uniweb.access import access_token
from provisionhub.dialects.uniweb.query import query_object
from provisionhub.dialects.uniweb.requests import read_request
from provisionhub.directory.access import Permission
from provisionhub.directory.service import Directory
from provisionhub.http.bodies import BodyError, BodyTooLarge, read_fields
from provisionhub.http.dialects import Dialect
from provisionhub.http.endpoints import EndpointsWithCredentials
from provisionhub.http.route_permissions import needs, public


def uniweb_dialect(directory: Directory, credentials: Credentials, max_body_bytes: int) -> Dialect:
    """UNIWeb at /uniweb: OAuth's error bodies at the token endpoint, the seed's elsewhere."""
    return Dialect(
        wire.PREFIX,
        _router(directory, credentials, max_body_bytes),
        errors.error_response,
        handled=(errors.OAuthError, errors.TokenRequestInvalid),
    )


#: What a request object needs depends on its content and action (resource.require_permission): one of these.
RESOURCE_ACCESS = needs(
    Permission.USER_READ, Permission.USER_UPDATE, Permission.ORG_READ, Permission.GROUP_READ
)


def _router(directory: Directory, credentials: Credentials, max_body_bytes: int) -> APIRouter:
    """The endpoints (UniwebRoutes) on a router, in the order they are matched."""
    router = APIRouter(prefix=wire.PREFIX, tags=["uniweb"])
    uniweb = UniwebRoutes(directory, credentials, max_body_bytes)
    router.add_api_route(
        wire.TOKEN_PATH,
        uniweb.token,
        methods=["POST"],
        summary="An access token for an OAuth client's id and secret (password grant)",
        openapi_extra=public("the OAuth 2.0 token endpoint: the client's id and secret are the credential"),
    )
    router.add_api_route(
        wire.RESOURCE_PATH,
        uniweb.resource_request,
        methods=["POST"],
        summary=(
            "A structured request: members' profile sections (read, add, edit, clear, info, options),"
            " units or groups (read, info)"
        ),
        openapi_extra=RESOURCE_ACCESS,
    )
    router.add_api_route(  # a route of its own: one route with two methods gives both one operation id
        wire.RESOURCE_PATH,
        uniweb.resource_request,
        methods=["GET"],
        name="resource_request_get",
        summary="A structured request that reads (read, info, options), its request object in the query",
        openapi_extra=RESOURCE_ACCESS,
    )
    router.add_api_route(
        wire.TOKEN_PATH,
        uniweb.token_not_posted,
        methods=["GET", "PUT", "DELETE", "PATCH", "OPTIONS"],  # OPTIONS: 405 with Allow, as elsewhere
        include_in_schema=False,
        openapi_extra=public("405: the token endpoint takes POST"),
    )
    return router


class UniwebRoutes(EndpointsWithCredentials):
    """UNIWeb's endpoints: the token, the structured requests."""

    async def token(self, request: Request) -> JSONResponse:
        try:
            fields = await read_fields(request, self._max_body_bytes)
        except BodyError as exc:  # OAuth's words, not the resource endpoint's
            raise errors.OAuthError(
                413 if isinstance(exc, BodyTooLarge) else 400, "invalid_request", str(exc)
            ) from None
        grant = wire.password_grant(fields)
        outcome = await self._credentials.issue_token(grant.client_id, grant.secret)
        if isinstance(outcome, GrantRefused):
            raise errors.refused_grant(outcome)
        return JSONResponse(wire.token_out(outcome), headers=wire.NO_STORE)

    async def resource_request(self, request: Request) -> JSONResponse:
        fields: object  # the request object or the body's fields: read_request says what is wrong with it
        if request.method == "GET":
            fields = query_object(request.query_params.multi_items())
        else:
            fields = await read_fields(request, self._max_body_bytes) if await request.body() else None
        credential = access_token(request, self._directory.now(), fields)
        caller = await self._directory.principal(credential)
        asked = read_request(fields)
        resource.require_posted_writes(asked, request.method)
        resource.require_permission(caller, asked)
        return JSONResponse(await resource.answer(self._directory, credential, asked))

    async def token_not_posted(self) -> JSONResponse:
        raise errors.OAuthError(
            405,
            "invalid_request",
            "The request method must be POST when requesting an access token.",
            {"Allow": "POST"},
        )
