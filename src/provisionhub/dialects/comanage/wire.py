"""What COmanage Registry's ApiProvisioner sends: the person message (`meta.version` "1.0.0"), as its code
sends it and as its JSON Schema describes it, and what this receiver answers.

Every property is optional. Where the code and the schema spell a key differently both are taken
(`address` / `mail` for an email, `streetAddress` / `street` for an address). Keys not listed here are
ignored (the Registry adds some over its versions; its sub-objects' `meta` are not read); a value of the
wrong type is refused by its path. COmanage leaves out what is empty rather than sending null, and a
null is read as left out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from provisionhub.dialects.comanage.errors import ComanageError, invalid
from provisionhub.http.bodies import json_kind

PREFIX = "/comanage"
#: The login source of the people the receiver writes; their unique_id is the identifier COmanage sends.
LOGIN_SOURCE = "COMANAGE"


def _scalar(value: Any) -> Any:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError("must be a string, a number or a boolean")
    return value


#: What the Registry's database layer hands over as it is (couId, rank, verified): a string as often as
#: a number or a boolean. Not read; only its kind is checked.
Scalar = Annotated[Any, AfterValidator(_scalar)]
Text = str | None


class _Part(BaseModel):
    # strict: a number is no string and "true" no boolean; extra keys are ignored, not refused.
    model_config = ConfigDict(strict=True, extra="ignore")


class Name(_Part):
    prefix: Text = None
    given: Text = None
    middle: Text = None
    family: Text = None
    suffix: Text = None
    language: Text = None
    formatted: Text = None
    type: Text = None


class Identifier(_Part):
    identifier: Text = None
    type: Text = None


class EmailAddress(_Part):
    #: The Registry's code sends `address`; its schema says `mail`.
    address: Text = None
    mail: Text = None
    verified: Scalar = None
    type: Text = None


class Url(_Part):
    url: Text = None
    type: Text = None


class Address(_Part):
    #: The Registry's code sends `streetAddress`; its schema says `street`.
    streetAddress: Text = None
    street: Text = None
    room: Text = None
    locality: Text = None
    region: Text = None
    postalCode: Text = None
    country: Text = None
    language: Text = None
    formatted: Text = None
    type: Text = None


class TelephoneNumber(_Part):
    number: Text = None
    type: Text = None


class Role(_Part):
    couId: Scalar = None
    title: Text = None
    organization: Text = None
    department: Text = None
    validFrom: Text = Field(None, description="YYYY-MM-DDTHH:MM:SSZ")
    validThrough: Text = Field(None, description="YYYY-MM-DDTHH:MM:SSZ")
    affiliation: Text = None
    rank: Scalar = None
    addresses: list[Address] | None = None
    telephoneNumbers: list[TelephoneNumber] | None = None
    status: Text = None


class PersonMeta(_Part):
    id: Text = Field(None, description="The person's identifier, of the type the provisioning target names.")
    created: Text = None
    lastModified: Text = None
    deleted: bool | None = Field(None, description="true: the person is deleted (POST mode's delete).")


class Person(_Part):
    meta: PersonMeta | None = None
    status: Text = Field(None, description="The CO Person's status, lower case: active, grace period, ...")
    names: list[Name] | None = None
    identifiers: list[Identifier] | None = None
    emailAddresses: list[EmailAddress] | None = None
    urls: list[Url] | None = None
    roles: list[Role] | None = None
    dateOfBirth: Text = Field(None, description="YYYY-MM-DD")
    members: list[str] | None = Field(None, description="The names of the CO Groups the person is in.")


class MessageMeta(_Part):
    version: Text = None
    objectType: Text = None


class Message(_Part):
    """A person message: `{"meta": {"version": "1.0.0", "objectType": "person"}, "person": {...}}`."""

    meta: MessageMeta | None = None
    person: Person | None = None


class Provisioned(BaseModel):
    """The answer to an upsert (201 when the person was created, 200 otherwise)."""

    id: str = Field(description="The person's provisionhub id.")
    identifier: str
    result: Literal["created", "updated", "unchanged"]


class ErrorBody(BaseModel):
    error: str = Field(description="invalid, conflict, unauthenticated, forbidden, not_found, too_large, ...")
    field: str | None = Field(None, description="The path of the property refused: person.names[0].given")
    message: str


def path_of(location: tuple[int | str, ...]) -> str:
    """A validation error's location as a property path: ('person', 'names', 0, 'given') ->
    person.names[0].given."""
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path


_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
    "bool_type": "true or false",
}


def read_message(body: Any) -> Message:
    """A parsed body, read as a message; a refusal (400) names the first property of the wrong type."""
    if not isinstance(body, dict):
        raise invalid(
            None, f"the body must be a JSON object (a COmanage person message), not {json_kind(body)}"
        )
    try:
        message = Message.model_validate(body)
    except ValidationError as exc:
        raise _refused(exc) from None
    object_type = message.meta.objectType if message.meta is not None else None
    if object_type not in (None, "person"):
        raise invalid("meta.objectType", 'meta.objectType must be "person": this receiver takes people only')
    return message


def _refused(exc: ValidationError) -> ComanageError:
    """The first problem pydantic found, named by its path. Values are never quoted back: one may be a
    date of birth."""
    error = exc.errors(include_url=False)[0]
    path = path_of(error["loc"])
    expected = _EXPECTED.get(error["type"])
    if expected is not None:
        return invalid(path, f"{path} must be {expected}, not {json_kind(error['input'])}")
    return invalid(path, f"{path} {error['msg'].removeprefix('Value error, ')}")
