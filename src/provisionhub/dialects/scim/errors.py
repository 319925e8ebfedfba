"""SCIM's error body (RFC 7644 3.12): `{"schemas": [Error], "status": "400", "scimType": ..., "detail": ...}`,
`status` a string, served as application/scim+json."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from provisionhub.dialects.scim.schemas import ERROR
from provisionhub.directory.conditions import FilterError
from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    Invalid,
    NotFound,
    Unauthenticated,
    VersionMismatch,
)
from provisionhub.http.bodies import BodyError, BodyTooLarge, NotJSON

MEDIA_TYPE = "application/scim+json"


class ScimType(StrEnum):
    """The scimType of a 400 (or 409, 413) error (RFC 7644 table 9)."""

    INVALID_FILTER = "invalidFilter"
    TOO_MANY = "tooMany"
    UNIQUENESS = "uniqueness"
    MUTABILITY = "mutability"
    INVALID_SYNTAX = "invalidSyntax"
    INVALID_PATH = "invalidPath"
    NO_TARGET = "noTarget"
    INVALID_VALUE = "invalidValue"
    INVALID_VERSION = "invalidVers"
    SENSITIVE = "sensitive"


class ScimError(Exception):
    """A request refused, in SCIM's terms: an HTTP status, a scimType where one applies, a detail that
    names the attribute at fault."""

    def __init__(self, status: int, detail: str, scim_type: ScimType | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, ScimType.INVALID_VALUE)


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, ScimType.INVALID_PATH)


def body(status: int, detail: str, scim_type: ScimType | None = None) -> dict[str, Any]:
    """An error body; Bulk puts these in its operations' responses too."""
    answer: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type is not None:
        answer["scimType"] = scim_type.value
    return answer


def as_scim_error(exc: Exception) -> ScimError:
    """Any failure under /scim/v2 as a ScimError; an exception that is none of ours is re-raised."""
    match exc:
        case ScimError():
            return exc
        case FilterError():
            return ScimError(400, str(exc), ScimType.INVALID_FILTER)
        case Conflict():
            return ScimError(409, exc.message, ScimType.UNIQUENESS)
        case Invalid():
            return invalid_value(exc.message)
        case Unauthenticated():
            return ScimError(401, exc.message)
        case Forbidden():
            return ScimError(403, exc.message)
        case NotFound():
            return ScimError(404, exc.message)
        case VersionMismatch():
            return ScimError(412, f'the resource\'s version is W/"{exc.current}", not one the request names')
        case DirectoryError():
            return invalid_value(exc.message)
        case BodyTooLarge():
            return ScimError(413, str(exc))
        case NotJSON():
            return ScimError(400, str(exc), ScimType.INVALID_SYNTAX)
        case BodyError():
            return ScimError(400, str(exc), ScimType.INVALID_SYNTAX)
        case HTTPException():
            return ScimError(exc.status_code, str(exc.detail))
    raise exc


def error_response(exc: Exception) -> JSONResponse:
    """Any failure under /scim/v2, in SCIM's error body."""
    error = as_scim_error(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if error.status == 401 else None
    return JSONResponse(
        body(error.status, error.detail, error.scim_type),
        status_code=error.status,
        headers=headers,
        media_type=MEDIA_TYPE,
    )
