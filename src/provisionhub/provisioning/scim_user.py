"""A person as a SCIM 2.0 User (RFC 7643): the values the SCIM connector sends, by attribute path, and the
User document (POST, PUT) and PATCH request (RFC 7644 3.5.2) made of them.

Values are keyed by their PATCH path: `name.givenName`, `emails`, or an enterprise attribute's full URN
path. Empty values are left out of a document; in a PATCH, each attribute the connector manages is
replaced when the person has a value for it, and removed when not. Both take a `knows` predicate: a path the
service provider does not list in its schemas is not sent (a strict provider refuses what it does not know).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from provisionhub.directory.people import ACTIVE_STATUSES, Person
from provisionhub.provisioning.apiprovisioner import identifier
from provisionhub.provisioning.targets import Target

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: How an enterprise attribute's path starts (its URN holds dots: test for it before splitting on one).
ENTERPRISE_PATH = f"{ENTERPRISE}:"

#: The simple attributes and the person field each one is.
FIELDS: dict[str, str] = {
    "displayName": "display_name",
    "title": "title",
    "preferredLanguage": "preferred_locale",
    "locale": "locale",
    "name.givenName": "given_name",
    "name.familyName": "family_name",
    "name.middleName": "middle_name",
    "name.honorificPrefix": "name_prefix",
    "name.honorificSuffix": "name_suffix",
    f"{ENTERPRISE_PATH}employeeNumber": "employee_number",
    f"{ENTERPRISE_PATH}department": "department",
    f"{ENTERPRISE_PATH}organization": "company",
}
#: name.formatted is made of these, in this order.
NAME_PARTS = ("name_prefix", "given_name", "middle_name", "family_name", "name_suffix")
PHONES = {"mobile": "mobile_phone", "work": "employee_phone"}
WORK_ADDRESS = {
    "streetAddress": "street",
    "locality": "city",
    "region": "region",
    "postalCode": "postal_code",
    "country": "country",
}
#: Every attribute the connector manages: what a PATCH replaces or removes.
MANAGED: tuple[str, ...] = (
    "userName",
    "externalId",
    "active",
    *FIELDS,
    "name.formatted",
    "emails",
    "phoneNumbers",
    "addresses",
)

Knows = Callable[[str], bool]


def user_values(target: Target, person: Person) -> dict[str, Any]:
    """The person's values by attribute path, empty ones left out. userName is the target's identifier
    (NoIdentifier when the person has none), externalId the person's public id; displayName their display
    name, else their formatted name; active is true in the statuses that grant access (active, grace
    period) and false in every other."""
    f = person.fields
    formatted = " ".join(f[part] for part in NAME_PARTS if f[part])
    address = {name: f[field] for name, field in WORK_ADDRESS.items() if f[field]}
    values: dict[str, Any] = {path: f[field] for path, field in FIELDS.items()}
    values |= {
        "userName": identifier(target, person),
        "externalId": person.public_id,
        "active": person.status in ACTIVE_STATUSES,
        "displayName": f["display_name"] or formatted,
        "name.formatted": formatted,
        "emails": [{"value": f["email"], "type": "work", "primary": True}] if f["email"] else None,
        "phoneNumbers": [{"value": f[field], "type": kind} for kind, field in PHONES.items() if f[field]],
        "addresses": [{**address, "type": "work"}] if address else None,
    }
    return {path: value for path, value in values.items() if value not in (None, "", [])}


def user_document(values: Mapping[str, Any], knows: Knows, *, whole: bool = False) -> dict[str, Any]:
    """The User of values, with what the provider knows. whole (a PUT, which replaces the User): the
    enterprise extension is sent even when empty, as a provider may keep an extension a PUT leaves out."""
    document: dict[str, Any] = {"schemas": [USER]}
    extension: dict[str, Any] = {}
    for path, value in values.items():
        if not knows(path):
            continue
        value = _known_parts(path, value, knows)
        if path.startswith(ENTERPRISE_PATH):
            extension[path.removeprefix(ENTERPRISE_PATH)] = value
        elif "." in path:
            parent, sub = path.split(".", 1)
            document.setdefault(parent, {})[sub] = value
        else:
            document[path] = value
    if extension or (whole and knows(ENTERPRISE)):
        document["schemas"].append(ENTERPRISE)
        document[ENTERPRISE] = extension
    return document


def patch_request(values: Mapping[str, Any], knows: Knows) -> dict[str, Any]:
    """A PATCH that brings the User to values: a replace of each managed attribute the person has, a
    remove of each they have not (a removal of what is not there changes nothing)."""
    operations = [
        {"op": "replace", "path": path, "value": _known_parts(path, values[path], knows)}
        if path in values
        else {"op": "remove", "path": path}
        for path in MANAGED
        if knows(path)
    ]
    return {"schemas": [PATCH_OP], "Operations": operations}


def _known_parts(path: str, value: Any, knows: Knows) -> Any:
    """A multi-valued attribute's values with only the sub-attributes the provider knows."""
    if not isinstance(value, list):
        return value
    return [{key: part for key, part in item.items() if knows(f"{path}.{key}")} for item in value]
