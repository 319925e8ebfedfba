"""myON's error body (the real one is not public): `{"status", "message", "errors": [...]}`.

`errors` lists one entry per refused item of an array: its `index`, the `field` (by its wire name), a
`reason` (required, too_long, invalid, unknown, not_found, taken) and a `message`.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from provisionhub.dialects.myon.wire import wire_name
from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    Invalid,
    ItemError,
    NotFound,
    Rejected,
    Unauthenticated,
    worded_as,
)
from provisionhub.http.bodies import BodyError, BodyTooLarge


class MyonError(Exception):
    """A request refused as a whole, already in myON's terms."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _item(error: ItemError) -> dict[str, Any]:
    exc = error.error
    if isinstance(exc, NotFound):
        return {"index": error.index, "field": "myon_id", "reason": "not_found", "message": exc.message}
    field = wire_name(exc.field)
    message = worded_as(exc, field)
    reason = exc.reason.value if isinstance(exc, Invalid) else "taken"
    return {"index": error.index, "field": field, "reason": reason, "message": message}


def error_response(exc: Exception) -> JSONResponse:
    """Any failure under /myon, in myON's error body."""
    body: dict[str, Any]
    headers: dict[str, str] = {}
    match exc:
        case MyonError():
            status, message = exc.status, exc.message
        case Rejected():
            status = 422
            message = f"{len(exc.errors)} item(s) refused; nothing was written"
            body = {"status": status, "message": message, "errors": [_item(e) for e in exc.errors]}
            return JSONResponse(body, status_code=status)
        case Unauthenticated():
            status, message = 401, exc.message
            headers["WWW-Authenticate"] = 'Bearer realm="myon"'
        case Forbidden():
            status, message = 403, exc.message
        case NotFound():
            status, message = 404, exc.message
        case Invalid() | Conflict():  # a refusal of the request itself, not of one of its items
            status, message = 422, exc.message
        case DirectoryError():
            status, message = 400, exc.message
        case BodyError():
            status, message = (413 if isinstance(exc, BodyTooLarge) else 400), str(exc)
        case HTTPException():
            status, message = exc.status_code, str(exc.detail)
        case _:
            raise exc
    return JSONResponse({"status": status, "message": message}, status_code=status, headers=headers)
