"""A person as a SCIM User, and a SCIM User document as the person's fields.

What maps where (README, SCIM): the core schema's names, emails (one kept), phone numbers (mobile and
work), addresses (work and home); the enterprise extension's employeeNumber, organization (company),
department and manager; provisionhub's extension for the fields the other dialects carry. `externalId` is
the person's unique_id when their login source is the calling token's own (the directory says which).

Reading a document has PUT's meaning: each attribute of the core schema that it leaves out is cleared, and
so is each attribute of an extension whose URN it carries; an extension it does not carry is left as it is
(a client that does not know provisionhub's extension does not wipe what the other dialects wrote).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from provisionhub.dialects.scim import schemas
from provisionhub.dialects.scim.errors import ScimError, ScimType, invalid_value
from provisionhub.directory.condition_sql import as_boolean
from provisionhub.directory.people import ACTIVE_STATUSES, Person

#: Simple attributes of each schema and the person field each one is.
CORE_FIELDS = {
    "userName": "username",
    "displayName": "display_name",
    "title": "title",
    "preferredLanguage": "preferred_locale",
    "locale": "locale",
}
NAME_FIELDS = {
    "givenName": "given_name",
    "familyName": "family_name",
    "middleName": "middle_name",
    "honorificPrefix": "name_prefix",
    "honorificSuffix": "name_suffix",
}
ENTERPRISE_FIELDS = {
    "employeeNumber": "employee_number",
    "organization": "company",
    "department": "department",
}
PROVISIONHUB_FIELDS = {
    "location": "location",
    "studentNumber": "student_number",
    "studentPhone": "student_phone",
    "userType": "user_type_id",
    "lockerUserType": "locker_user_type_id",
    "driversLicenceNumber": "drivers_licence_number",
    "driversLicenceRegion": "drivers_licence_region",
}
#: The provisionhub extension's attributes that are dates (dateOfBirth) or times, by person field.
PROVISIONHUB_MOMENTS = {
    "dateOfBirth": "date_of_birth",
    "validFrom": "valid_from",
    "validThrough": "valid_through",
}
PHONES = {"mobile": "mobile_phone", "work": "employee_phone"}
ADDRESSES: dict[str, dict[str, str]] = {
    "work": {
        "streetAddress": "street",
        "locality": "city",
        "region": "region",
        "postalCode": "postal_code",
        "country": "country",
    },
    "home": {
        "streetAddress": "alt_street",
        "locality": "alt_city",
        "region": "alt_region",
        "postalCode": "alt_postal_code",
        "country": "alt_country",
    },
}
#: Each person field by the SCIM attribute it is, for messages about it.
SCIM_NAMES: dict[str, str] = {
    **{column: name for name, column in CORE_FIELDS.items()},
    **{column: f"name.{name}" for name, column in NAME_FIELDS.items()},
    **{column: name for name, column in ENTERPRISE_FIELDS.items()},
    **{column: name for name, column in PROVISIONHUB_FIELDS.items()},
    **{column: name for name, column in PROVISIONHUB_MOMENTS.items()},
    **{column: "phoneNumbers.value" for column in PHONES.values()},
    **{column: f"addresses.{name}" for parts in ADDRESSES.values() for name, column in parts.items()},
    "email": "emails.value",
    "manager_id": "manager.value",
    "password_hash": "password",
    "unique_id": "externalId",
}

#: What a document may carry that is the server's to say: ignored when sent (RFC 7643 2.2).
_READ_ONLY = frozenset({"id", "meta", "groups", "schemas"})


def version_tag(seq: int) -> str:
    """The weak ETag of a resource whose newest change-log entry is seq."""
    return f'W/"{seq}"'


def user_out(
    person: Person,
    groups: Sequence[tuple[str, str]],
    seq: int,
    base_url: str,
    external_id: str | None,
) -> dict[str, Any]:
    """The User document of a person (every attribute with a value; sensitive ones too: the caller
    projects it with the `returned` rules). external_id: theirs in the asking token's login source."""
    f = person.fields
    location = f"{base_url}/Users/{person.public_id}"
    document: dict[str, Any] = {"schemas": [schemas.USER], "id": person.public_id}
    if external_id is not None:
        document["externalId"] = external_id
    for name, column in CORE_FIELDS.items():
        if f[column] is not None:
            document[name] = f[column]
    name_parts = {name: f[column] for name, column in NAME_FIELDS.items() if f[column] is not None}
    if name_parts:
        document["name"] = name_parts
    document["active"] = person.status in ACTIVE_STATUSES
    document.update(_multi_valued_out(f))
    if groups:
        document["groups"] = [
            {"value": gid, "$ref": f"{base_url}/Groups/{gid}", "display": name, "type": "direct"}
            for gid, name in groups
        ]
    enterprise: dict[str, Any] = {n: f[c] for n, c in ENTERPRISE_FIELDS.items() if f[c] is not None}
    if f["manager_id"] is not None:
        enterprise["manager"] = {"value": f["manager_id"]}
    extension: dict[str, Any] = {"loginSource": person.login_source}
    extension.update({n: f[c] for n, c in PROVISIONHUB_FIELDS.items() if f[c] is not None})
    for name, column in PROVISIONHUB_MOMENTS.items():
        if f[column] is not None:
            extension[name] = _day_or_second(f[column])
    if enterprise:
        document["schemas"].append(schemas.ENTERPRISE)
        document[schemas.ENTERPRISE] = enterprise
    document["schemas"].append(schemas.PROVISIONHUB)
    document[schemas.PROVISIONHUB] = extension
    created = scim_datetime(person.created_at)
    document["meta"] = {
        "resourceType": "User",
        "created": created,
        "lastModified": created
        if person.updated_at == person.created_at
        else scim_datetime(person.updated_at),
        "location": location,
        "version": version_tag(seq),
    }
    return document


def scim_datetime(value: datetime) -> str:
    """A SCIM dateTime (xsd:dateTime, in UTC, to the millisecond) of a time in UTC. isoformat, not
    strftime, which is slower: every User has two, and a page a hundred Users (docs/benchmarks)."""
    text = value.isoformat(timespec="milliseconds")
    return (text if value.tzinfo is None else text[:-6]) + "Z"  # "+00:00" said as Z


def _day_or_second(value: date | datetime) -> str:
    """The provisionhub extension's dates (YYYY-MM-DD) and times (YYYY-MM-DDTHH:MM:SSZ), as strings."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


#: The multi-valued attributes provisionhub keeps as their columns and, as sent, in scim_values.
_MULTI_VALUED = ("emails", "phoneNumbers", "addresses")


def _multi_valued_out(f: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """emails, phoneNumbers and addresses: as a SCIM client last wrote them, while they still say what
    the columns hold (no other dialect changed them since); else made from the columns."""
    made: dict[str, list[dict[str, Any]]] = {}
    if f["email"] is not None:
        made["emails"] = [{"value": f["email"], "type": "work", "primary": True}]
    phones = [{"value": f[column], "type": kind} for kind, column in PHONES.items() if f[column] is not None]
    if phones:
        made["phoneNumbers"] = phones
    addresses = []
    for kind, parts in ADDRESSES.items():
        values = {name: f[column] for name, column in parts.items() if f[column] is not None}
        if values:
            addresses.append({"type": kind, **values})
    if addresses:
        made["addresses"] = addresses
    sent = f["scim_values"] or {}
    for name in _MULTI_VALUED:
        # Kept as user_in checked them (_items): only their columns are worked out again.
        if name in sent and _columns_from(name, sent[name]).items() <= f.items():
            if sent[name]:
                made[name] = sent[name]
            else:
                made.pop(name, None)
    return made


def _items(name: str, values: Any) -> list[dict[str, Any]]:
    """A multi-valued attribute's values, checked: each an object of its sub-attributes, by their names."""
    attribute = _attribute(name)
    return [_sub_values(f"{name}[{i}]", v, attribute) for i, v in enumerate(_values(name, values))]


def _columns_from(name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns a multi-valued attribute's checked values (_items) set."""
    if name == "emails":
        return {"email": _email(items)}
    if name == "phoneNumbers":
        return _typed_values(name, items, PHONES)
    return _addresses(items)


@dataclass(slots=True)
class UserIn:
    """A User document, read: the person's fields to set, the externalId, active and password if sent."""

    fields: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    active: bool | None = None
    password: str | None = field(default=None, repr=False)


def user_in(document: Any, *, whole: bool = False) -> UserIn:
    """Read a User document (POST, PUT, or a PATCH's result); ScimError names what is wrong.

    whole: the document is the User entire (a PATCH's result), so an extension it lacks was removed;
    otherwise (a client's PUT) an extension it lacks is left as it is.
    """
    if not isinstance(document, dict):
        raise ScimError(400, "the body must be a JSON object: a User", ScimType.INVALID_SYNTAX)
    _require_schemas(document, schemas.USER)
    read = UserIn()
    # Attribute names are compared case-insensitively (RFC 7643 2.1): the document's values by folded name.
    sent = {key.casefold(): value for key, value in document.items()}
    if not sent.keys() <= _KNOWN_KEYS:
        key = next(key for key in document if key.casefold() not in _KNOWN_KEYS)
        raise invalid_value(f"{key} is not an attribute of a User (schema {schemas.USER})")
    value = sent.get("externalid")
    read.external_id = _string("externalId", value) if value is not None else None
    value = sent.get("active")
    read.active = boolean("active", value) if value is not None else None
    value = sent.get("password")
    read.password = _string("password", value) if value is not None else None
    fields = read.fields
    for name, folded, column in _CORE_IN:
        value = sent.get(folded)
        if value is not None and type(value) is not str:
            raise invalid_value(f"{name} must be a string")
        fields[column] = value
    read.fields.update(_name(sent.get("name")))
    kept: dict[str, Any] = {}
    for name, folded in _MULTI_VALUED_IN:
        value = sent.get(folded)
        if value is None:  # not sent: its columns cleared
            read.fields.update(_CLEARED[name])
            continue
        items = _items(name, value)
        read.fields.update(_columns_from(name, items))
        if items:
            kept[name] = items
    read.fields["scim_values"] = kept or None
    if _ENTERPRISE in sent or whole:
        read.fields.update(_enterprise(sent.get(_ENTERPRISE, {})))
    if _PROVISIONHUB in sent or whole:
        read.fields.update(_provisionhub(sent.get(_PROVISIONHUB, {})))
    return read


_ENTERPRISE = schemas.ENTERPRISE.casefold()
_PROVISIONHUB = schemas.PROVISIONHUB.casefold()
#: Folded names a User document may carry that are not attributes of the core schema's.
_NOT_CORE = frozenset(
    {*(s.id.casefold() for s in schemas.USER_EXTENSIONS), *_READ_ONLY, "externalid", "active", "password"}
)
#: Every folded name a User document may carry.
_KNOWN_KEYS = _NOT_CORE | {attribute.name.casefold() for attribute in schemas.USER_SCHEMA.attributes}
#: The core schema's simple attributes: name, folded name, person field.
_CORE_IN = tuple((name, name.casefold(), column) for name, column in CORE_FIELDS.items())
_MULTI_VALUED_IN = tuple((name, name.casefold()) for name in _MULTI_VALUED)
#: The schema URNs a document of each core schema may list, folded.
_KNOWN_SCHEMAS = {
    schemas.USER.casefold(): frozenset(
        {schemas.USER.casefold(), *(s.id.casefold() for s in schemas.USER_EXTENSIONS)}
    )
}


def _require_schemas(document: Mapping[str, Any], core: str) -> None:
    listed = document.get("schemas")
    if listed is None:
        return  # lenient: the body's attributes say what it is
    if listed == [core]:
        return  # the everyday case
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        raise invalid_value("schemas must be a list of schema URNs")
    folded_core = core.casefold()
    known = _KNOWN_SCHEMAS.get(folded_core) or frozenset({folded_core})
    folded = [urn.casefold() for urn in listed]
    for urn, folded_urn in zip(listed, folded, strict=True):
        if folded_urn not in known:
            raise invalid_value(f"schemas: {urn} is not a schema of this resource")
    if folded_core not in folded:
        raise invalid_value(f"schemas must include {core}")


def _string(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise invalid_value(f"{name} must be a string")


def boolean(name: str, value: Any) -> bool:
    """A boolean, or the strings "true" and "false" in any case (Microsoft Entra ID sends "True")."""
    read = as_boolean(value)
    if read is None:
        raise invalid_value(f"{name} must be a boolean")
    return read


def _object(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_value(f"{name} must be an object")
    return value


def _sub_values(name: str, value: Any, attribute: schemas.Attribute) -> dict[str, Any]:
    """A complex value's sub-attributes by canonical name; an unknown one is refused."""
    found: dict[str, Any] = {}
    for key, sub in _object(name, value).items():
        known = attribute.sub_attribute(key)
        if known is None:
            raise invalid_value(f"{name}.{key} is not an attribute of a User")
        found[known.name] = sub
    return found


def _values(name: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_value(f"{name} must be a list")
    return value


def _name(value: Any) -> dict[str, Any]:
    parts = _sub_values("name", value, _attribute("name")) if value is not None else {}
    return {column: _string(f"name.{name}", parts.get(name)) for name, column in NAME_FIELDS.items()}


def _primary_first(name: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked values (_items), the primary first; primary read as a boolean, in copies of them."""
    read = [
        {**item, "primary": boolean(f"{name}[{i}].primary", item["primary"])} if "primary" in item else item
        for i, item in enumerate(items)
    ]
    return sorted(read, key=lambda item: not item.get("primary", False))


def _email(items: list[dict[str, Any]]) -> str | None:
    """The one email kept: the primary, or else the first (work before others when none is primary)."""
    if len(items) == 1:  # the everyday case, without sorting copies
        if "primary" in items[0]:
            boolean("emails[0].primary", items[0]["primary"])
        return _string("emails.value", items[0].get("value"))
    items = _primary_first("emails", items)
    if not items:
        return None
    if not items[0].get("primary"):
        items.sort(key=lambda item: item.get("type") != "work")
    return _string("emails.value", items[0].get("value"))


def _kind(name: str, index: int, item: Mapping[str, Any], kinds: Mapping[str, Any]) -> str:
    kind = item.get("type")
    if not isinstance(kind, str) or kind.casefold() not in kinds:
        listed = " and ".join(kinds)
        raise invalid_value(f"{name}[{index}].type must be {listed}: provisionhub keeps no other {name}")
    return kind.casefold()


def _typed_values(name: str, items: list[dict[str, Any]], columns: Mapping[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = dict.fromkeys(columns.values())
    for index, item in enumerate(_primary_first(name, items)):
        column = columns[_kind(name, index, item, columns)]
        if fields[column] is None:
            fields[column] = _string(f"{name}.value", item.get("value"))
    return fields


def _addresses(items: list[dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {column: None for parts in ADDRESSES.values() for column in parts.values()}
    taken: set[str] = set()
    for index, item in enumerate(_primary_first("addresses", items)):
        kind = _kind("addresses", index, item, ADDRESSES)
        if kind in taken:
            continue
        taken.add(kind)
        for name, column in ADDRESSES[kind].items():
            fields[column] = _string(f"addresses.{name}", item.get(name))
    return fields


def _attribute(name: str) -> schemas.Attribute:
    attribute = schemas.USER_SCHEMA.attribute(name)
    assert attribute is not None
    return attribute


def _extension_values(urn: str, value: Any, schema: schemas.Schema) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, sub in _object(urn, value).items():
        if key.casefold() == "schemas":  # some clients list the extension in its own object
            continue
        attribute = schema.attribute(key)
        if attribute is None:
            raise invalid_value(f"{key} is not an attribute of {urn}")
        found[attribute.name] = sub
    return found


def _enterprise(value: Any) -> dict[str, Any]:
    sent = _extension_values(schemas.ENTERPRISE, value, schemas.ENTERPRISE_SCHEMA)
    fields = {column: _string(name, sent.get(name)) for name, column in ENTERPRISE_FIELDS.items()}
    manager = sent.get("manager")
    if manager is None or isinstance(manager, str):  # some clients send the id alone
        fields["manager_id"] = manager
    else:
        fields["manager_id"] = _string("manager.value", _object("manager", manager).get("value"))
    return fields


def _provisionhub(value: Any) -> dict[str, Any]:
    sent = _extension_values(schemas.PROVISIONHUB, value, schemas.PROVISIONHUB_SCHEMA)
    fields: dict[str, Any] = {
        column: _string(name, sent.get(name)) for name, column in PROVISIONHUB_FIELDS.items()
    }
    for name, column in PROVISIONHUB_MOMENTS.items():
        fields[column] = _moment_in(name, sent.get(name), date_only=column == "date_of_birth")
    return fields


def _moment_in(name: str, value: Any, *, date_only: bool) -> date | datetime | None:
    """A date (YYYY-MM-DD; a dateTime's date part is taken) or a time with its zone."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be a string")
    try:
        if date_only:
            return date.fromisoformat(value[:10])
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_value(f"{name} is not a valid {'date' if date_only else 'date and time'}") from None
    if moment.tzinfo is None:
        raise invalid_value(f"{name} must give its time zone (Z for UTC)")
    return moment


#: The columns of each multi-valued attribute, as a document without it leaves them.
_CLEARED = {name: _columns_from(name, []) for name in _MULTI_VALUED}
