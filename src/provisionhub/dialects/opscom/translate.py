"""From the OPS-COM wire to directory commands, and from results back to the wire."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from provisionhub.dialects.opscom.errors import OpsComError, from_validation_error
from provisionhub.dialects.opscom.wire import (
    ALIASES,
    FIELDS,
    REQUIRED,
    ProfilePush,
    TypesListSuccess,
    UserTypeOut,
)
from provisionhub.directory.people import UpsertPerson
from provisionhub.directory.reference_data import UserType

#: Each attribute that carries a person's field, by either of its names -> that field.
_TARGETS = {attribute: FIELDS[ALIASES.get(attribute, attribute)] for attribute in (*FIELDS, *ALIASES)}

#: A new person pushed from OPS-COM needs these (its errors 9016, 9017 and 9018).
REQUIRED_ON_CREATE = frozenset({"email", "given_name", "family_name"})


def token_of(body: Any) -> str:
    """The apiToken of a parsed body; 9003 if the body is no object, 9001 if there is no usable token."""
    if not isinstance(body, dict):
        raise OpsComError(9003, "the request body must be a JSON object")
    token = body.get("apiToken")
    if token is None or token == "":
        raise OpsComError(9001, "apiToken is required")
    if not isinstance(token, str):
        raise OpsComError(9001, "apiToken must be a string")
    return token


def to_upsert(body: dict[str, Any]) -> UpsertPerson:
    """Validate a push body and turn it into the directory's UpsertPerson."""
    for name in REQUIRED:
        if body.get(name) in (None, ""):
            raise OpsComError(9013 if name == "unique_id" else 9014, f"{name} is required")
    try:
        push = ProfilePush.model_validate(body)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    sent = push.model_fields_set
    fields: dict[str, Any] = {}
    for attribute in body:  # in the client's order, which the change log keeps
        field = _TARGETS.get(attribute)
        if field is None or ALIASES.get(attribute) in sent:
            continue  # not a person's field; or the second name of one whose first name came too
        fields[field] = getattr(push, attribute)
    if "date_of_birth" in fields:
        fields["date_of_birth"] = (
            date.fromisoformat(fields["date_of_birth"]) if fields["date_of_birth"] else None
        )
    return UpsertPerson(
        login_source=push.login_source,
        unique_id=push.unique_id,
        fields=fields,
        required_on_create=REQUIRED_ON_CREATE,
    )


def types_list(user_types: list[UserType]) -> TypesListSuccess:
    return TypesListSuccess(
        user_types=[UserTypeOut(id=t.id, type_name=t.name, ext_info=t.ext_info) for t in user_types]
    )
