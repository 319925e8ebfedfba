"""The SCIM schemas provisionhub serves (RFC 7643 sections 4, 7, 8.7): their attributes, as data.

One catalogue serves discovery (`/Schemas`, `/ResourceTypes`), the reading of request bodies (which
attributes exist, their types, which are multi-valued, which may be written) and PATCH paths. Only the
attributes provisionhub keeps are declared: a client learns from `/Schemas` exactly what is stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PROVISIONHUB = "urn:ietf:params:scim:schemas:extension:provisionhub:2.0:User"

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


@dataclass(frozen=True, slots=True)
class Attribute:
    """An attribute's definition, as RFC 7643 section 7 describes one."""

    name: str
    description: str
    type: str = "string"  # string, boolean, decimal, integer, dateTime, binary, reference, complex
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly, readWrite, immutable, writeOnly
    returned: str = "default"  # always, never, default, request
    uniqueness: str = "none"  # none, server, global
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    _by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name.casefold(): a for a in self.sub_attributes})

    def sub_attribute(self, name: str) -> Attribute | None:
        """The sub-attribute of this name, compared case-insensitively (RFC 7643 2.1)."""
        return self._by_name.get(name.casefold())

    def to_scim(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.sub_attributes:
            body["subAttributes"] = [a.to_scim() for a in self.sub_attributes]
        if self.canonical_values:
            body["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            body["referenceTypes"] = list(self.reference_types)
        return body


@dataclass(frozen=True, slots=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name.casefold(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        """The attribute of this name, compared case-insensitively (RFC 7643 2.1)."""
        return self._by_name.get(name.casefold())

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self.attributes)

    def to_scim(
        self, base_url: str, suggestions: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, Any]:
        """The Schema document; suggestions: canonical values known only at run time (the user
        types an install has), by attribute name."""
        attributes = [a.to_scim() for a in self.attributes]
        for attribute in attributes:
            if suggestions and attribute["name"] in suggestions:
                attribute["canonicalValues"] = list(suggestions[attribute["name"]])
        return {
            "schemas": [SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


def _text(name: str, description: str, **options: Any) -> Attribute:
    return Attribute(name, description, **options)


def _multi(
    name: str, description: str, *subs: Attribute, types: tuple[str, ...] = (), **options: Any
) -> Attribute:
    """A multi-valued complex attribute whose values have these sub-attributes, a type and primary."""
    typed = (
        _text("type", "A label for the value's function.", canonical_values=types),
        Attribute("primary", "Whether this is the primary value.", type="boolean"),
    )
    return Attribute(
        name, description, type="complex", multi_valued=True, sub_attributes=subs + typed, **options
    )


#: The extension's dates and times are strings of a fixed form (a date of birth has no time of day, and
#: SCIM has no date type). canonicalValues are suggestions (RFC 7643 7): here, an example of the form,
#: which clients that fill attributes from their schema (scim2-tester) use rather than any text.
_DATE_EXAMPLE = ("2000-01-01",)
_MOMENT_EXAMPLE = ("2000-01-01T00:00:00Z",)

_NAME = Attribute(
    "name",
    "The components of the user's name.",
    type="complex",
    sub_attributes=(
        _text("familyName", "The family name (last name)."),
        _text("givenName", "The given name (first name)."),
        _text("middleName", "The middle name(s)."),
        _text("honorificPrefix", "The honorific prefix (title), such as Ms."),
        _text("honorificSuffix", "The honorific suffix, such as III."),
    ),
)

_GROUP_REFERENCE = Attribute(
    "groups",
    "The groups the user belongs to (changed through the Group resource).",
    type="complex",
    multi_valued=True,
    mutability="readOnly",
    sub_attributes=(
        _text("value", "The group's id.", mutability="readOnly"),
        Attribute(
            "$ref", "The group's URI.", type="reference", mutability="readOnly", reference_types=("Group",)
        ),
        _text("display", "The group's displayName.", mutability="readOnly"),
        _text(
            "type",
            "direct: provisionhub has no nested groups.",
            mutability="readOnly",
            canonical_values=("direct",),
        ),
    ),
)

USER_SCHEMA = Schema(
    USER,
    "User",
    "User Account",
    (
        _text(
            "userName",
            "Unique identifier for the user, unique case-insensitively.",
            required=True,
            uniqueness="server",
        ),
        _NAME,
        _text("displayName", "The name to display."),
        _text("title", "The user's title, such as Vice President."),
        _text("preferredLanguage", "Preferred languages, as HTTP Accept-Language lists them (en-US, fr)."),
        _text("locale", "The default location for localizing, such as en-US."),
        # Required: a user is active or not, never neither. A create without it makes an active user.
        Attribute(
            "active", "Whether the user may sign in; false suspends the user.", type="boolean", required=True
        ),
        _text(
            "password",
            "The user's password: stored as an Argon2id hash, never returned.",
            mutability="writeOnly",
            returned="never",
        ),
        _multi(
            "emails",
            "Email addresses. provisionhub keeps one: the primary (or the first) of those sent.",
            _text("value", "The email address."),
            types=("work", "home", "other"),
        ),
        _multi(
            "phoneNumbers",
            "Phone numbers: provisionhub keeps a mobile and a work number.",
            _text("value", "The phone number."),
            types=("mobile", "work"),
        ),
        _multi(
            "addresses",
            "Postal addresses: provisionhub keeps a work and a home address.",
            _text("streetAddress", "The street address."),
            _text("locality", "The city or locality."),
            _text("region", "The state or region."),
            _text("postalCode", "The ZIP or postal code."),
            _text("country", "The country."),
            types=("work", "home"),
        ),
        _GROUP_REFERENCE,
    ),
)

ENTERPRISE_SCHEMA = Schema(
    ENTERPRISE,
    "EnterpriseUser",
    "Enterprise User",
    (
        _text("employeeNumber", "A number the organisation assigns the user."),
        _text("organization", "The organisation's name (provisionhub's company)."),
        _text("department", "The department's name."),
        Attribute(
            "manager",
            "The user's manager.",
            type="complex",
            sub_attributes=(_text("value", "The id of the manager's SCIM resource."),),
        ),
    ),
)

PROVISIONHUB_SCHEMA = Schema(
    PROVISIONHUB,
    "ProvisionhubUser",
    "What provisionhub keeps of a person beyond SCIM's schemas: the fields its other dialects carry.",
    (
        _text(
            "loginSource",
            "How the user signs in: the login source of their source identity (returned when asked for).",
            mutability="readOnly",
            returned="request",
        ),
        _text("location", "The user's location (as OCL shows it)."),
        _text("studentNumber", "The student number."),
        _text("studentPhone", "The phone number the student record gives."),
        _text("userType", "The user type's id (provisionhub user-type list)."),
        _text("lockerUserType", "The locker user type."),
        _text(
            "dateOfBirth",
            "The date of birth, YYYY-MM-DD. Sensitive: never logged; returned to tokens that may read Users.",
            canonical_values=_DATE_EXAMPLE,
        ),
        _text("driversLicenceNumber", "The driver's licence number. Sensitive: never logged."),
        _text("driversLicenceRegion", "Where the driver's licence was issued."),
        _text(
            "validFrom",
            "When the user's access begins: YYYY-MM-DDTHH:MM:SSZ.",
            canonical_values=_MOMENT_EXAMPLE,
        ),
        _text(
            "validThrough",
            "When the user's access ends: YYYY-MM-DDTHH:MM:SSZ.",
            canonical_values=_MOMENT_EXAMPLE,
        ),
    ),
)

GROUP_SCHEMA = Schema(
    GROUP,
    "Group",
    "Group",
    (
        _text(
            "displayName", "The group's name, unique case-insensitively.", required=True, uniqueness="server"
        ),
        Attribute(
            "members",
            "The group's members.",
            type="complex",
            multi_valued=True,
            sub_attributes=(
                _text("value", "The member's id.", mutability="immutable"),
                Attribute(
                    "$ref",
                    "The member's URI.",
                    type="reference",
                    mutability="immutable",
                    reference_types=("User",),
                ),
                _text("type", "User: members are users.", mutability="immutable", canonical_values=("User",)),
            ),
        ),
    ),
)

SCHEMAS: dict[str, Schema] = {
    s.id: s for s in (USER_SCHEMA, ENTERPRISE_SCHEMA, PROVISIONHUB_SCHEMA, GROUP_SCHEMA)
}
#: Each resource type's core schema and its extensions.
USER_EXTENSIONS = (ENTERPRISE_SCHEMA, PROVISIONHUB_SCHEMA)


def resource_types(base_url: str) -> list[dict[str, Any]]:
    """The ResourceType documents (RFC 7643 section 6)."""

    def resource_type(
        name: str, endpoint: str, schema: str, description: str, extensions: tuple[str, ...]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": description,
            "schema": schema,
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{name}"},
        }
        if extensions:
            body["schemaExtensions"] = [{"schema": e, "required": False} for e in extensions]
        return body

    return [
        resource_type("User", "/Users", USER, "A person of the directory", (ENTERPRISE, PROVISIONHUB)),
        resource_type("Group", "/Groups", GROUP, "A named set of people", ()),
    ]
