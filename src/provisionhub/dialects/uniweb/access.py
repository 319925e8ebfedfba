"""Who is calling UNIWeb's resource endpoint: the OAuth access token a request presents, and its client.

The reference PHP client sends the token as the access_token query parameter; a form field of that
name, the request object's `token` property (UNIWeb's 2015 docs) and `Authorization: Bearer` (RFC 6750)
are accepted too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from starlette.requests import Request

from provisionhub.dialects.uniweb.errors import TokenRequestInvalid
from provisionhub.dialects.uniweb.requests import request_object
from provisionhub.directory.access import AccessToken
from provisionhub.directory.errors import Forbidden, Invalid, OutOfScope

PARAMETER = "access_token"
#: The request object's property that carried the token in UNIWeb's 2015 docs.
PROPERTY = "token"


def presented_token(request: Request, fields: Any = None) -> str | None:
    """The access token the request presents, from the query string, the body's fields (a form's, or
    a JSON object's; a body of any other JSON has none), the request object's `token` property, or an
    Authorization: Bearer header; None if none. TokenRequestInvalid if two places give different
    tokens."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    given = (
        request.query_params.get(PARAMETER),
        fields.get(PARAMETER) if isinstance(fields, Mapping) else None,
        _carried(fields),
        value.strip() if scheme.lower() == "bearer" else None,
    )
    found = {token for token in given if isinstance(token, str) and token}
    if len(found) > 1:
        raise TokenRequestInvalid("The request gives more than one access token.")
    return next(iter(found), None)


def _carried(fields: Any) -> Any:
    """The request object's token property; None if it has none, or if it does not parse (read_request
    says what is wrong with it, once the caller is known)."""
    try:
        carried = request_object(fields)
    except Invalid:
        return None
    return carried.get(PROPERTY) if isinstance(carried, Mapping) else None


@contextmanager
def whole_request_refused(field: str, what: str) -> Iterator[None]:
    """A read or write touching someone the caller may not see (OutOfScope) refused whole, as UNIWeb's
    is; the message names the request's field and what it touched, never a member the caller may not
    see."""
    try:
        yield
    except OutOfScope:
        raise Forbidden(
            f"{field}: this credential may not see {what}: the whole request is refused"
        ) from None


def access_token(request: Request, now: datetime, fields: Any = None) -> AccessToken:
    """The credential of the access token the request presents (checked when used)."""
    return AccessToken(presented_token(request, fields), now)
