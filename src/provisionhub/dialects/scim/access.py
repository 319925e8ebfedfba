"""SCIM's bearer tokens, the login source its people are created in, and the request conditions on
versions (If-Match, If-None-Match)."""

from __future__ import annotations

from starlette.requests import Request

from provisionhub.directory.access import ApiToken, HomeSource
from provisionhub.directory.errors import Unauthenticated

#: The login source of people SCIM creates, unless the token is limited to one other login source.
DEFAULT_SOURCE = "SCIM"
HOME = HomeSource(DEFAULT_SOURCE)


def bearer(request: Request) -> ApiToken:
    """The request's bearer token (its headers read as they came: a Headers object is not needed)."""
    sent = next((value for name, value in request.scope["headers"] if name == b"authorization"), b"")
    scheme, _, token = sent.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("an Authorization: Bearer <API token> header is required")
    return ApiToken(token.strip())


def versions(header: str | None) -> frozenset[int] | None:
    """The versions an If-Match (or a Bulk operation's version) accepts: None for any (no header, or
    `*`). A tag is a resource's version weak or strong (`W/"12"` or `"12"`); one that is no version of
    ours accepts none."""
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",")]
    if "*" in tags:
        return None
    accepted = set()
    for tag in tags:
        bare = tag.removeprefix("W/")
        if len(bare) > 2 and bare[0] == bare[-1] == '"' and bare[1:-1].isdigit():
            accepted.add(int(bare[1:-1]))
    return frozenset(accepted)


def not_modified(request: Request, current: int) -> bool:
    """If-None-Match on a read: whether the client holds the current version."""
    held = request.headers.get("if-none-match")
    if held is None:
        return False
    accepted = versions(held)
    return accepted is None or current in accepted
