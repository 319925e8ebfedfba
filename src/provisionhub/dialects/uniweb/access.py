"""Who is calling UNIWeb's resource endpoint: the OAuth access token a request presents, and its client.

The reference PHP client sends the token as the access_token query parameter; a form field of that
name, the request object's `token` property (UNIWeb's 2015 docs) and `Authorization: Bearer` (RFC 6750)
are accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request

from provisionhub.auth.oauth import authenticate_token
from provisionhub.auth.permissions import Principal
from provisionhub.dialects.uniweb.errors import TokenRequestInvalid
from provisionhub.dialects.uniweb.requests import request_object
from provisionhub.directory.errors import Forbidden, Invalid
from provisionhub.store.database import Database

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


def require_seen(principal: Principal, login_sources: Iterable[str], field: str, what: str) -> None:
    """Forbidden, for the whole request, unless the principal may see the people of every one of these
    login sources (a credential limited to some sees only theirs). The message names the request's field
    and what it touched, never a member the caller may not see."""
    if principal.login_sources is not None and not principal.login_sources.issuperset(login_sources):
        raise Forbidden(f"{field}: this credential may not see {what}: the whole request is refused")


async def principal(request: Request, database: Database, now: datetime, fields: Any = None) -> Principal:
    """The principal of the access token the request presents; TokenRefused if none or not valid."""
    token = presented_token(request, fields)
    return await database.read(lambda conn: authenticate_token(conn, token, now))
