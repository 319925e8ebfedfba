"""OPS-COM's mapping of the core's errors: every branch, including those no route reaches today."""

from __future__ import annotations

import json

import pytest

from provisionhub.dialects.opscom.errors import error_response, from_directory_error
from provisionhub.directory.errors import (
    Conflict,
    DirectoryError,
    Forbidden,
    Invalid,
    NotFound,
    Reason,
    Unauthenticated,
)


@pytest.mark.parametrize(
    ("error", "code", "status", "says"),
    [
        (Unauthenticated("the API token is not valid"), 9001, 401, "token"),
        (Forbidden("lacks the user-create permission"), 9002, 403, "user-create"),
        (
            Invalid("given_name", Reason.REQUIRED, "given_name is required"),
            9017,
            422,
            "first_name is required",
        ),
        (Invalid("city", Reason.TOO_LONG, "city is too long"), 9030, 422, "city"),
        (Invalid("login_source", Reason.UNKNOWN, "login_source 'X' is unknown"), 9015, 422, "login_source"),
        (Invalid("user_type_id", Reason.UNKNOWN, "user_type_id '9' is unknown"), 9033, 422, "user_type_id"),
        (Conflict("username", "username 'x' is already taken"), 9020, 409, "user_name 'x'"),
        (Conflict("email", "email 'x' is already taken"), 9019, 409, "email"),
        (Conflict("unique_id", "unique_id 'x' appears twice"), 9022, 409, "unique_id"),
        (NotFound("no person with id 'x'"), 9009, 404, "no person"),
        (DirectoryError("something else the core refused"), 9003, 400, "refused"),
    ],
)
def test_each_core_error_has_its_code_status_and_wire_name(
    error: DirectoryError, code: int, status: int, says: str
) -> None:
    mapped = from_directory_error(error)
    response = error_response(error)

    assert (mapped.code, mapped.status) == (code, status)
    assert says in mapped.message
    assert response.status_code == status
    assert json.loads(response.body) == {"ErrorCode": code, "ErrorMessage": mapped.message}
    assert response.headers["access-control-allow-origin"] == "*"


def test_an_unexpected_exception_is_not_dressed_up_as_an_opscom_error() -> None:
    with pytest.raises(KeyError):
        error_response(KeyError("a bug"))
