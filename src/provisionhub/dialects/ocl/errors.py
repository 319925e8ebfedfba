"""OCL's error bodies, those of its Django REST framework: `{"detail": "..."}` for a request refused as a
whole (401, 403, 404, 405), `{"field": ["message", ...]}` for bad input (400)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from provisionhub.dialects.ocl.wire import FieldErrors
from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    worded_as,
)
from provisionhub.http.bodies import BodyError, BodyTooLarge, NotJSON

#: The person's fields by the name OCL gives them, where it differs.
_WIRE_NAMES = {
    "display_name": "name",
    "preferred_locale": "preferredLocale",
    "given_name": "first_name",
    "family_name": "last_name",
    "password_hash": "password",
}

#: Both schemes a client may answer a 401 with: a key (or API token), or a username and password.
CHALLENGE = {"WWW-Authenticate": 'Token, Basic realm="ocl"'}


class OclError(Exception):
    """A request refused as a whole, in OCL's terms: status and detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def error_response(exc: Exception) -> JSONResponse:
    """Any failure under /ocl, as OCL answers it."""
    headers: dict[str, str] = {}
    body: dict[str, Any]
    match exc:
        case FieldErrors():
            status, body = 400, exc.errors
        case OclError():
            status, body = exc.status, {"detail": exc.detail}
        case Invalid() | Conflict():
            name = _WIRE_NAMES.get(exc.field, exc.field)
            status, body = 400, {name: [worded_as(exc, name)]}
        case Unauthenticated():
            status, body, headers = 401, {"detail": exc.message}, CHALLENGE
        case Forbidden():
            status, body = 403, {"detail": exc.message}
        case NotFound():
            status, body = 404, {"detail": exc.message}
        case DirectoryError():
            status, body = 400, {"detail": exc.message}
        case BodyTooLarge():
            status, body = 413, {"detail": str(exc)}
        case NotJSON():
            status, body = 400, {"detail": f"JSON parse error - {exc}"}
        case BodyError():
            status, body = 400, {"detail": str(exc)}
        case HTTPException():
            status, body = exc.status_code, {"detail": str(exc.detail)}
            headers = dict(exc.headers or {})
        case _:
            raise exc
    return JSONResponse(body, status_code=status, headers=headers)
