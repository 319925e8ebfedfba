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

#: The value of an attribute left out. Typed Any, as the attributes are str: pydantic never validates a
#: default, so null stays refused while leaving an attribute out is allowed; translate.py reads only the
#: attributes sent, so nothing sees the None.
_LEFT_OUT: Any = None

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
    first_name: Text50 = Field(_LEFT_OUT)
    last_name: Text50 = Field(_LEFT_OUT)
    user_name: Text50 = Field(_LEFT_OUT)
    email: Text100 = Field(_LEFT_OUT)
    street: Text255 = Field(_LEFT_OUT)
    city: Text50 = Field(_LEFT_OUT)
    province: Region = Field(_LEFT_OUT)
    state: Region = Field(_LEFT_OUT)
    postal_code: Text20 = Field(_LEFT_OUT)
    zip: Text20 = Field(_LEFT_OUT)
    street2: Text255 = Field(_LEFT_OUT)
    city2: Text50 = Field(_LEFT_OUT)
    province2: Region = Field(_LEFT_OUT)
    state2: Region = Field(_LEFT_OUT)
    postal_code2: Text20 = Field(_LEFT_OUT)
    zip2: Text20 = Field(_LEFT_OUT)
    phone_cell: Text20 = Field(_LEFT_OUT)
    user_type_id: IdNumber = Field(_LEFT_OUT)
    employ_no: Text50 = Field(_LEFT_OUT)
    employee_phone: Text50 = Field(_LEFT_OUT)
    student_no: Text50 = Field(_LEFT_OUT)
    student_phone: Text50 = Field(_LEFT_OUT)
    driver_licence_num: Text255 = Field(_LEFT_OUT)
    driver_license_num: Text255 = Field(_LEFT_OUT)
    date_of_birth: DateText = Field(_LEFT_OUT)
    locker_user_type_id: IdNumber = Field(_LEFT_OUT)
    driver_licence_prov: Region = Field(_LEFT_OUT)
    driver_license_state: Region = Field(_LEFT_OUT)


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
