"""What UNIWeb's clients send to the token endpoint and get back, as its reference PHP client does it:
a form (multipart, or urlencoded) with grant_type=password, username = the client id, password = the
client secret; an answer with access_token, token_type and expires_in (which the client requires)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisionhub.auth.oauth import IssuedToken
from provisionhub.dialects.uniweb.errors import OAuthError

PREFIX = "/uniweb"
TOKEN_PATH = "/api/token.php"  # noqa: S105 (a path)
RESOURCE_PATH = "/api/resource.php"

#: RFC 6749 5.1: a token answer is never cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True)
class PasswordGrant:
    """A token request: the client's id and secret, as the password grant's username and password."""

    client_id: str
    secret: str = field(repr=False)


def password_grant(fields: Any) -> PasswordGrant:
    """The grant a token request's fields make; OAuthError (invalid_request, unsupported_grant_type) if
    they make none."""
    if not isinstance(fields, dict):
        raise OAuthError(
            400, "invalid_request", "The request must be a form of grant_type, username and password."
        )
    grant_type = fields.get("grant_type")
    if grant_type is None or grant_type == "":
        raise OAuthError(400, "invalid_request", "The grant type was not specified in the request.")
    if grant_type != "password":
        shown = grant_type if isinstance(grant_type, str) else type(grant_type).__name__
        raise OAuthError(400, "unsupported_grant_type", f'Grant type "{shown}" not supported.')
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise OAuthError(400, "invalid_request", 'Missing parameters: "username" and "password" required.')
    return PasswordGrant(username, password)


def token_out(issued: IssuedToken) -> dict[str, Any]:
    return {"access_token": issued.access_token, "token_type": "bearer", "expires_in": issued.expires_in}
