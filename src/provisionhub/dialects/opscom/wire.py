"""What OPS-COM clients send and receive: the profile push request and its responses.

Limits and aliases are the seed's attribute table; street2/city2/... are the later docs' alternate address.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION = re.compile(r"^[A-Za-z]{2}$")


def _id_number(value: Any) -> Any:
    # Ids are strings on the wire ("6"); clients that send the number itself are understood too.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _real_date(value: Any) -> Any:
    if isinstance(value, str) and value != "":
        if not _DATE.match(value):
            raise ValueError("must be a date in the form YYYY-MM-DD")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("is not a real date") from None
    return value


def _region(value: Any) -> Any:
    # Longer values, and anything not a string, fall through to the length and type checks.
    if isinstance(value, str):
        letters = value.strip()
        if len(letters) == 1:
            raise PydanticCustomError("string_too_short", "must be two letters, not one")
        if len(letters) == 2:
            if not _REGION.match(letters):
                raise ValueError('must be a two-letter postal abbreviation, e.g. "MA"')
            return letters.upper()
    return value


# Strings of at most N characters. null is refused: leaving an attribute out, or sending "", says "nothing".
Text20 = Annotated[str, StringConstraints(max_length=20)]
Text50 = Annotated[str, StringConstraints(max_length=50)]
Text100 = Annotated[str, StringConstraints(max_length=100)]
Text255 = Annotated[str, StringConstraints(max_length=255)]
Key20 = Annotated[str, StringConstraints(min_length=1, max_length=20)]
Key50 = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Region = Annotated[str, StringConstraints(max_length=2), BeforeValidator(_region)]
IdNumber = Annotated[str, StringConstraints(max_length=20), BeforeValidator(_id_number)]
DateText = Annotated[str, StringConstraints(max_length=10), BeforeValidator(_real_date)]

#: Attributes that go by two names; when a client sends both, the first name wins.
ALIASES: dict[str, str] = {
    "state": "province",
    "zip": "postal_code",
    "state2": "province2",
    "zip2": "postal_code2",
    "driver_license_num": "driver_licence_num",
    "driver_license_state": "driver_licence_prov",
}

#: Wire attribute -> the directory's field.
FIELDS: dict[str, str] = {
    "first_name": "given_name",
    "last_name": "family_name",
    "user_name": "username",
    "email": "email",
    "street": "street",
    "city": "city",
    "province": "region",
    "postal_code": "postal_code",
    "street2": "alt_street",
    "city2": "alt_city",
    "province2": "alt_region",
    "postal_code2": "alt_postal_code",
    "phone_cell": "mobile_phone",
    "user_type_id": "user_type_id",
    "employ_no": "employee_number",
    "employee_phone": "employee_phone",
    "student_no": "student_number",
    "student_phone": "student_phone",
    "driver_licence_num": "drivers_licence_number",
    "date_of_birth": "date_of_birth",
    "locker_user_type_id": "locker_user_type_id",
    "driver_licence_prov": "drivers_licence_region",
}

#: The directory's field -> the wire attribute that errors about it name.
WIRE_NAMES: dict[str, str] = {field: attribute for attribute, field in FIELDS.items()}

#: The attributes a push must carry. apiToken is checked first, on its own.
REQUIRED = ("unique_id", "login_source")


class ProfilePush(BaseModel):
    """POST /api/OC_TOMA/v1/profiles/push: create or update the person with (login_source, unique_id)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    apiToken: Text50 = Field(description="Your API token (the credential travels in the body).")
    unique_id: Key50 = Field(description="The person's unique id in the source system.")
    login_source: Key20 = Field(description="A configured login source code, e.g. OPSCOM.")
    first_name: Text50 = Field(None)
    last_name: Text50 = Field(None)
    user_name: Text50 = Field(None)
    email: Text100 = Field(None)
    street: Text255 = Field(None)
    city: Text50 = Field(None)
    province: Region = Field(None)
    state: Region = Field(None)
    postal_code: Text20 = Field(None)
    zip: Text20 = Field(None)
    street2: Text255 = Field(None)
    city2: Text50 = Field(None)
    province2: Region = Field(None)
    state2: Region = Field(None)
    postal_code2: Text20 = Field(None)
    zip2: Text20 = Field(None)
    phone_cell: Text20 = Field(None)
    user_type_id: IdNumber = Field(None)
    employ_no: Text50 = Field(None)
    employee_phone: Text50 = Field(None)
    student_no: Text50 = Field(None)
    student_phone: Text50 = Field(None)
    driver_licence_num: Text255 = Field(None)
    driver_license_num: Text255 = Field(None)
    date_of_birth: DateText = Field(None)
    locker_user_type_id: IdNumber = Field(None)
    driver_licence_prov: Region = Field(None)
    driver_license_state: Region = Field(None)


class TypesListRequest(BaseModel):
    """POST /api/OC_TOMA/v1/profiles/types/list."""

    model_config = ConfigDict(extra="forbid", strict=True)

    apiToken: Text50


class PushSuccess(BaseModel):
    status: str = "success"
    reference_id: int


class UserTypeOut(BaseModel):
    id: str
    type_name: str
    ext_info: str | None


class TypesListSuccess(BaseModel):
    status: str = "success"
    user_types: list[UserTypeOut]


class ErrorBody(BaseModel):
    ErrorCode: int
    ErrorMessage: str
