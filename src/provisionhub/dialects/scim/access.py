"""SCIM's bearer tokens, the login source a token is bound to, and the request conditions on versions."""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import Request

from provisionhub.auth.permissions import Principal
from provisionhub.auth.tokens import authenticate
from provisionhub.dialects.scim.errors import ScimError
from provisionhub.directory.errors import Unauthenticated

#: The login source of people SCIM creates, unless the token is bound to another one.
DEFAULT_SOURCE = "SCIM"


def bearer(request: Request) -> str:
    """The request's bearer token (its headers read as they came: a Headers object is not needed)."""
    sent = next((value for name, value in request.scope["headers"] if name == b"authorization"), b"")
    scheme, _, token = sent.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("an Authorization: Bearer <API token> header is required")
    return token.strip()


def principal(conn: Connection, token: str) -> Principal:
    """The token's principal; one scoped to a myON account is refused (SCIM knows no accounts)."""
    found = authenticate(conn, token)
    found.require_unscoped()
    return found


def bound_source(who: Principal) -> str:
    """The login source a token's SCIM users are of: its one login source, or SCIM."""
    if who.login_sources is not None and len(who.login_sources) == 1:
        return next(iter(who.login_sources))
    return DEFAULT_SOURCE


def check_precondition(wanted: str | None, current: str) -> None:
    """If-Match on a write (or a Bulk operation's version): 412 unless it names the resource's current
    version (or *)."""
    if wanted is not None and not _matches(wanted, current):
        raise ScimError(412, f"the resource's version is {current}, not {wanted.strip()}")


def not_modified(request: Request, current: str) -> bool:
    """If-None-Match on a read: whether the client holds the current version."""
    held = request.headers.get("if-none-match")
    return held is not None and _matches(held, current)


def _matches(header: str, current: str) -> bool:
    tags = [tag.strip() for tag in header.split(",")]
    bare = current.removeprefix("W/")
    return "*" in tags or any(tag.removeprefix("W/") == bare for tag in tags)
