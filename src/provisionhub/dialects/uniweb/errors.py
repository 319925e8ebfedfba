"""UNIWeb's error bodies.

- The token endpoint answers as OAuth 2.0 does (RFC 6749 5.2): `{"error": "<code>", "error_description"}`.
  The reference PHP client throws "Error: <error>" on any of them, so `error` must be a string.
- The resource endpoint answers in the seed's shape, `{"error": {"message", "type", "code",
  "error_subcode"}}`, except for a missing, invalid or expired access token: there the PHP client
  fetches a new token and retries only if `error` is the string "invalid_token" (an object never equals
  it), so that answer carries RFC 6750's `error` and `error_description` with the seed's `message`,
  `type` (OAuthException), `code` 98 and `error_subcode` 223 beside them, and the same in a
  `WWW-Authenticate: Bearer` challenge.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from provisionhub.auth.oauth import GrantProblem, GrantRefused
from provisionhub.directory.errors import (
    Conflict,
    CredentialProblem,
    DirectoryError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
)
from provisionhub.http.bodies import BodyError, BodyTooLarge

#: The seed's one documented error: a token that does not validate.
TOKEN_MESSAGE = "Error validating access token."  # noqa: S105 (a message)
TOKEN_CODE = 98
TOKEN_SUBCODE = 223
EXCEPTION_TYPE = "OAuthException"
REALM = "uniweb"
WRONG_CREDENTIALS = "Invalid username and password combination."


class OAuthError(Exception):
    """A token request refused, as OAuth words it: status, error code, description, extra headers."""

    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}


class TokenRequestInvalid(Exception):
    """A resource request whose access token cannot be told (RFC 6750's invalid_request): for example,
    two different tokens in two places."""


def refused_grant(refusal: GrantRefused) -> OAuthError:
    """The OAuth error for a refused token request."""
    match refusal.problem:
        case GrantProblem.HELD:
            wait = refusal.retry_after or 1
            description = f"Too many failed attempts for this client id: try again in {wait} seconds."
            return OAuthError(429, "slow_down", description, {"Retry-After": str(wait)})
        case GrantProblem.REVOKED:
            return OAuthError(401, "invalid_grant", "This client was revoked.")
        case _:
            return OAuthError(401, "invalid_grant", WRONG_CREDENTIALS)


def uniweb_error(status: int, message: str, code: int, subcode: int | None = None) -> JSONResponse:
    """An error in the seed's shape."""
    error: dict[str, Any] = {"message": message, "type": EXCEPTION_TYPE, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status)


def token_error(status: int, error: str, description: str) -> JSONResponse:
    """The answer to a resource request whose access token is missing, invalid or expired: what the PHP
    client refreshes on, with the seed's OAuthException 98 / 223 (see the module's docstring)."""
    body = {
        "error": error,
        "error_description": description,
        "message": TOKEN_MESSAGE,
        "type": EXCEPTION_TYPE,
        "code": TOKEN_CODE,
        "error_subcode": TOKEN_SUBCODE,
    }
    challenge = f'Bearer realm="{REALM}"'
    if error != "invalid_request" or status != 401:  # RFC 6750 3.1: no error code when none was sent
        challenge += f', error="{error}", error_description="{description}"'
    return JSONResponse(body, status_code=status, headers={"WWW-Authenticate": challenge})


def error_response(exc: Exception) -> JSONResponse:
    """Any failure under /uniweb, as UNIWeb answers it."""
    match exc:
        case OAuthError():
            body = {"error": exc.error, "error_description": exc.description}
            return JSONResponse(body, status_code=exc.status, headers=exc.headers)
        case Unauthenticated() if exc.problem is CredentialProblem.MISSING:
            return token_error(401, "invalid_request", exc.message)
        case Unauthenticated():
            return token_error(401, "invalid_token", exc.message)
        case TokenRequestInvalid():
            return token_error(400, "invalid_request", str(exc))
        case Forbidden():
            return uniweb_error(403, exc.message, 403)
        case NotFound():
            return uniweb_error(404, exc.message, 404)
        case Invalid() | Conflict() | DirectoryError():
            return uniweb_error(400, exc.message, 400)
        case BodyTooLarge():
            return uniweb_error(413, str(exc), 413)
        case BodyError():
            return uniweb_error(400, str(exc), 400)
        case HTTPException():
            response = uniweb_error(exc.status_code, str(exc.detail), exc.status_code)
            response.headers.update(exc.headers or {})
            return response
        case _:
            raise exc
