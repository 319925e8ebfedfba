"""The receiver's error body, `{"error": "...", "field": "person.names[0].given" | null, "message": "..."}`,
and the one mapping of every failure onto it. COmanage reads only the status (any 2xx is success); the
body is for the people who read its provisioning log."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    worded_as,
)
from provisionhub.http.bodies import BodyError, BodyTooLarge

#: The scheme and realm a 401 asks for: COmanage's HTTP servers send Basic credentials.
CHALLENGE = {"WWW-Authenticate": 'Basic realm="provisionhub"'}

_HTTP_ERRORS = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class ComanageError(Exception):
    """A refusal already in the receiver's terms."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.field = field


def invalid(field: str | None, message: str) -> ComanageError:
    return ComanageError(400, "invalid", message, field)


@contextmanager
def at_paths(paths: Mapping[str, str]) -> Iterator[None]:
    """The core's refusal of a person's field (a taken email, say), naming the message's property the
    field was read from (paths: field -> property path)."""
    try:
        yield
    except (Invalid, Conflict) as exc:
        path = paths.get(exc.field)
        if path is None:
            raise
        if isinstance(exc, Conflict):
            raise Conflict(path, worded_as(exc, path)) from None
        raise Invalid(path, exc.reason, worded_as(exc, path)) from None


def _refusal(exc: Exception) -> ComanageError:
    match exc:
        case ComanageError():
            return exc
        case Invalid():
            return invalid(exc.field, exc.message)
        case Conflict():
            return ComanageError(409, "conflict", exc.message, exc.field)
        case Unauthenticated():
            return ComanageError(401, "unauthenticated", exc.message)
        case Forbidden():
            return ComanageError(403, "forbidden", exc.message)
        case NotFound():
            return ComanageError(404, "not_found", exc.message)
        case DirectoryError():
            return invalid(None, exc.message)
        case BodyTooLarge():
            return ComanageError(413, "too_large", str(exc))
        case BodyError():
            return invalid(None, str(exc))
        case HTTPException():
            error = _HTTP_ERRORS.get(exc.status_code, "invalid")
            return ComanageError(exc.status_code, error, f"{exc.detail}: see the OpenAPI document at /docs")
    raise exc


def error_response(exc: Exception) -> JSONResponse:
    """Any failure under /comanage, in the receiver's error body."""
    refusal = _refusal(exc)
    headers = CHALLENGE if refusal.status == 401 else None
    body = {"error": refusal.error, "field": refusal.field, "message": refusal.message}
    return JSONResponse(body, status_code=refusal.status, headers=headers)
