"""OPS-COM's error body, `{"ErrorCode": <int>, "ErrorMessage": "..."}`, and the one mapping onto it."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from provisionhub.dialects.opscom.wire import WIRE_NAMES
from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    Invalid,
    NotFound,
    Reason,
    Unauthenticated,
)
from provisionhub.http.bodies import BodyError, BodyTooLarge
from provisionhub.http.dialects import ANY_ORIGIN

#: The HTTP status that goes with each error code.
STATUS: dict[int, int] = {
    9001: 401,
    9002: 403,
    9003: 400,
    9009: 404,
    9019: 409,
    9020: 409,
    9022: 409,
}

_REQUIRED = {"unique_id": 9013, "login_source": 9014, "email": 9016, "first_name": 9017, "last_name": 9018}
_UNIQUE = {"email": 9019, "user_name": 9020}
_BY_REASON = {Reason.TOO_LONG: 9030, Reason.REQUIRED: 9031, Reason.TOO_SHORT: 9032, Reason.INVALID: 9033}
_PYDANTIC = {
    "missing": Reason.REQUIRED,
    "string_too_long": Reason.TOO_LONG,
    "string_too_short": Reason.TOO_SHORT,
}


class OpsComError(Exception):
    """An error already in OPS-COM's terms."""

    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, 422)


def code_for(attribute: str, reason: Reason) -> int:
    """The error code OPS-COM uses for this attribute and reason."""
    if reason is Reason.REQUIRED and attribute in _REQUIRED:
        return _REQUIRED[attribute]
    if attribute == "login_source" and reason is Reason.UNKNOWN:
        return 9015
    return _BY_REASON.get(reason, 9033)


def from_validation_error(exc: ValidationError) -> OpsComError:
    """The first problem pydantic found, named by its wire attribute."""
    error = exc.errors(include_url=False)[0]
    attribute = ".".join(str(part) for part in error["loc"]) or "body"
    kind = error["type"]
    if kind == "extra_forbidden":
        return OpsComError(9033, f"{attribute} is not an attribute of this request")
    reason = _PYDANTIC.get(kind, Reason.INVALID)
    if kind == "string_type":
        got = "null" if error["input"] is None else type(error["input"]).__name__
        message = f"{attribute} must be a string, not {got}"
    elif kind == "missing":
        message = f"{attribute} is required"
    else:
        message = f"{attribute}: {error['msg'].removeprefix('Value error, ')}"
    return OpsComError(code_for(attribute, reason), message)


def from_directory_error(exc: DirectoryError) -> OpsComError:
    match exc:
        case Unauthenticated():
            return OpsComError(9001, exc.message)
        case Forbidden():
            return OpsComError(9002, exc.message)
        case Invalid():
            attribute = WIRE_NAMES.get(exc.field, exc.field)
            return OpsComError(code_for(attribute, exc.reason), _renamed(exc.message, exc.field, attribute))
        case Conflict():
            attribute = WIRE_NAMES.get(exc.field, exc.field)
            return OpsComError(_UNIQUE.get(attribute, 9022), _renamed(exc.message, exc.field, attribute))
        case NotFound():
            return OpsComError(9009, exc.message)
    return OpsComError(9003, exc.message)


def _renamed(message: str, field: str, attribute: str) -> str:
    return message.replace(field, attribute, 1) if field != attribute else message


def error_response(exc: Exception) -> JSONResponse:
    """Any failure under this dialect, in OPS-COM's error body."""
    match exc:
        case OpsComError():
            error = exc
        case DirectoryError():
            error = from_directory_error(exc)
        case BodyError():
            error = OpsComError(9003, str(exc), 413 if isinstance(exc, BodyTooLarge) else 400)
        case HTTPException():
            error = OpsComError(
                9003, f"{exc.detail}: see POST /api/OC_TOMA/v1/profiles/push", exc.status_code
            )
        case _:
            raise exc
    body = {"ErrorCode": error.code, "ErrorMessage": error.message}
    return JSONResponse(body, status_code=error.status, headers=ANY_ORIGIN)
