"""From a COmanage person message to what the directory is told: whom it names, the person's fields,
their status and their groups. The README's "COmanage receiver" says what maps where, and why.

A message is the person's whole record: COmanage leaves out what is empty rather than sending it empty,
so a field the receiver maps that the message does not carry is cleared, and the groups it gave the
person are exactly its `members`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from provisionhub.dialects.comanage import wire
from provisionhub.dialects.comanage.errors import invalid
from provisionhub.directory.errors import Invalid, Reason, worded_as
from provisionhub.directory.groups import NAME_LIMIT as GROUP_NAME_LIMIT
from provisionhub.directory.people import Status, bounded_text, normalise_fields
from provisionhub.directory.upserts import identity_part

#: The person's fields a message sets (or clears, when it has nothing for one).
MAPPED: tuple[str, ...] = (
    "name_prefix",
    "given_name",
    "middle_name",
    "family_name",
    "name_suffix",
    "display_name",
    "email",
    "username",
    "employee_number",
    "title",
    "company",
    "department",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "mobile_phone",
    "employee_phone",
    "valid_from",
    "valid_through",
    "date_of_birth",
)

#: COmanage's status labels (its CO Person statuses, lower case) -> the person's status. The pending
#: states of an enrolment, and locked, are not access: suspended. A petition refused, and a record
#: marked a duplicate, will not become anyone: deleted, as the Registry itself sends a delete for a
#: person it deletes.
STATUSES: dict[str, Status] = {
    "active": Status.ACTIVE,
    "grace period": Status.GRACE_PERIOD,
    "expired": Status.EXPIRED,
    "suspended": Status.SUSPENDED,
    "locked": Status.SUSPENDED,
    "pending": Status.SUSPENDED,
    "pending approval": Status.SUSPENDED,
    "pending confirmation": Status.SUSPENDED,
    "pending vetting": Status.SUSPENDED,
    "invited": Status.SUSPENDED,
    "approved": Status.SUSPENDED,
    "confirmed": Status.SUSPENDED,
    "deleted": Status.DELETED,
    "declined": Status.DELETED,
    "denied": Status.DELETED,
    "duplicate": Status.DELETED,
}

#: Identifier types that give the username, the first found winning (types compare case-insensitively,
#: without "-", "_" and spaces).
USERNAME_TYPES = ("username", "uid", "eppn")
#: Identifier types that give the employee number: an explicit one, else the badge (ID card) number.
EMPLOYEE_NUMBER_TYPES = ("employeenumber", "employeeid", "badge")
#: The preferred name, and the preferred email addresses, by type; else the first.
NAME_TYPES = ("official",)
EMAIL_TYPES = ("official", "preferred")
#: Telephone types whose numbers are not kept; mobile goes to the mobile phone, any other to the
#: work phone (a role's numbers are where the person is reached at work).
MOBILE_TYPES = frozenset({"mobile", "cell"})
UNKEPT_PHONE_TYPES = frozenset({"fax", "home"})


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME_PARTS = (
    ("prefix", "name_prefix"),
    ("given", "given_name"),
    ("middle", "middle_name"),
    ("family", "family_name"),
    ("suffix", "name_suffix"),
    ("formatted", "display_name"),
)
_ROLE_PARTS = (("title", "title"), ("organization", "company"), ("department", "department"))
_ADDRESS_PARTS = (
    ("locality", "city"),
    ("region", "region"),
    ("postalCode", "postal_code"),
    ("country", "country"),
)


@dataclass(frozen=True, slots=True)
class Provision:
    """A message, read: the identifier of the person it is about, and what it says of them. fields holds
    every field of MAPPED (None: cleared); paths names the property each field was read from, for the
    directory's refusals (a taken email). status None: the message gives none."""

    identifier: str
    delete: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)  # a date of birth is never shown
    status: Status | None = None
    groups: tuple[str, ...] = ()
    paths: Mapping[str, str] = field(default_factory=dict)


def deletion(identifier: str) -> Provision:
    """PUT mode's delete: DELETE /people/{identifier}, with no body."""
    return Provision(_identifier(identifier, "identifier"), delete=True)


def provision(body: Any, identifier: str | None) -> Provision:
    """Read a message: in POST mode (identifier None) it names the person by `person.meta.id`; in PUT
    mode the URL does, and the message may repeat it, but not name another."""
    message = wire.read_message(body)
    person = message.person
    if person is None:
        raise invalid("person", "person is required: a COmanage message is about one person")
    named = person.meta.id if person.meta is not None else None
    if identifier is None:
        if named is None:
            raise invalid("person.meta.id", "person.meta.id is required: it names the person in POST mode")
        identifier = _identifier(named, "person.meta.id")
    else:
        identifier = _identifier(identifier, "identifier")
        if named is not None and named.strip() != identifier:
            message_text = f"person.meta.id {named!r} is not the identifier the URL names ({identifier!r})"
            raise invalid("person.meta.id", message_text)
    status = _status(person.status)
    if (person.meta is not None and person.meta.deleted) or status is Status.DELETED:
        return Provision(identifier, delete=True)
    read = _Fields()
    _name(read, person.names or [])
    _email(read, person.emailAddresses or [])
    _identifiers(read, person.identifiers or [])
    _roles(read, person.roles or [])
    if person.dateOfBirth:
        read.set("date_of_birth", _date_of_birth(person.dateOfBirth), "person.dateOfBirth")
    return Provision(identifier, False, read.fields, status, _groups(person.members or []), read.paths)


class _Fields:
    """The person's fields as they are read, each with the path of the property it came from."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = dict.fromkeys(MAPPED)
        self.paths: dict[str, str] = {}

    def set(self, name: str, value: Any, path: str) -> None:
        """Set a field to value (None: leave it as read so far), refused by path if the person's rules
        refuse it (too long, not an email)."""
        if value is None:
            return
        try:
            self.fields[name] = normalise_fields({name: value})[name]
        except Invalid as exc:
            raise Invalid(path, exc.reason, worded_as(exc, path)) from None
        self.paths[name] = path

    def has(self, name: str) -> bool:
        return name in self.paths


# -- the parts ------------------------------------------------------------------------------------------


def _identifier(value: str, path: str) -> str:
    try:
        return identity_part("unique_id", value)
    except Invalid as exc:
        raise Invalid(path, exc.reason, worded_as(exc, path)) from None


def _status(label: str | None) -> Status | None:
    if label is None or not label.strip():
        return None
    status = STATUSES.get(" ".join(label.replace("_", " ").split()).lower())
    if status is None:
        known = ", ".join(STATUSES)
        raise Invalid("person.status", Reason.UNKNOWN, f"person.status {label[:40]!r} is not one of {known}")
    return status


def _type(value: str | None) -> str:
    """An identifier's, email's or phone's type, compared without case, "-", "_" or spaces."""
    return re.sub(r"[\s_-]", "", value or "").lower()


T = TypeVar("T")


def _preferred(items: Sequence[T], type_of: Callable[[T], str | None], types: Sequence[str]) -> int | None:
    """The index of the first item of the first of types that any item has; else 0 (None: no items)."""
    for wanted in types:
        for index, item in enumerate(items):
            if _type(type_of(item)) == wanted:
                return index
    return 0 if items else None


def _name(read: _Fields, names: list[wire.Name]) -> None:
    index = _preferred(names, lambda name: name.type, NAME_TYPES)
    if index is None:
        return
    for key, name in _NAME_PARTS:
        read.set(name, getattr(names[index], key), f"person.names[{index}].{key}")


def _either(item: Any, first: str, second: str, base: str) -> tuple[str | None, str]:
    """The value of a property spelled two ways (the code's first, the schema's second), with its path;
    both may come when they agree."""
    one, other = getattr(item, first), getattr(item, second)
    if one and other and one.strip() != other.strip():
        message = f"{base}.{first} and {base}.{second} are one property spelled two ways: they differ"
        raise invalid(f"{base}.{second}", message)
    return (one, f"{base}.{first}") if one else (other, f"{base}.{second}")


def _email(read: _Fields, emails: list[wire.EmailAddress]) -> None:
    given = [
        (index, *_either(email, "address", "mail", f"person.emailAddresses[{index}]"))
        for index, email in enumerate(emails)
    ]
    given = [entry for entry in given if entry[1]]
    chosen = _preferred(given, lambda entry: emails[entry[0]].type, EMAIL_TYPES)
    if chosen is not None:
        _, value, path = given[chosen]
        read.set("email", value, path)


def _identifiers(read: _Fields, identifiers: list[wire.Identifier]) -> None:
    found = [(index, item) for index, item in enumerate(identifiers) if item.identifier]
    for name, types in (("username", USERNAME_TYPES), ("employee_number", EMPLOYEE_NUMBER_TYPES)):
        for wanted in types:
            index = next((index for index, item in found if _type(item.type) == wanted), None)
            if index is not None:
                read.set(name, identifiers[index].identifier, f"person.identifiers[{index}].identifier")
                break


def _roles(read: _Fields, roles: list[wire.Role]) -> None:
    """The first role's title, organisation, department, first address and phones; the validity of all."""
    if roles:
        role = roles[0]
        for key, name in _ROLE_PARTS:
            read.set(name, getattr(role, key), f"person.roles[0].{key}")
        if role.addresses:
            address, base = role.addresses[0], "person.roles[0].addresses[0]"
            read.set("street", *_either(address, "streetAddress", "street", base))
            for key, name in _ADDRESS_PARTS:
                read.set(name, getattr(address, key), f"{base}.{key}")
        for index, phone in enumerate(role.telephoneNumbers or []):
            phone_field = _phone_field(_type(phone.type))
            if phone_field is not None and phone.number and not read.has(phone_field):
                read.set(phone_field, phone.number, f"person.roles[0].telephoneNumbers[{index}].number")
    # The person is valid while any role is: from the earliest start to the latest end, where a role
    # without one has no bound on that side.
    starts = [_moment(role.validFrom, f"person.roles[{i}].validFrom") for i, role in enumerate(roles)]
    ends = [_moment(role.validThrough, f"person.roles[{i}].validThrough") for i, role in enumerate(roles)]
    for name, key, moments, pick in (
        ("valid_from", "validFrom", starts, min),
        ("valid_through", "validThrough", ends, max),
    ):
        known = [moment for moment in moments if moment is not None]
        if known and len(known) == len(moments):
            index = known.index(pick(known))
            read.set(name, known[index], f"person.roles[{index}].{key}")


def _phone_field(kind: str) -> str | None:
    """The person's field a role's number of this type goes to (None: not kept)."""
    if kind in MOBILE_TYPES:
        return "mobile_phone"
    return None if kind in UNKEPT_PHONE_TYPES else "employee_phone"


def _moment(value: str | None, path: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(path, Reason.INVALID, f"{path} must be a time such as 2026-01-31T00:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _date_of_birth(value: str) -> date:
    """A date of birth, refused without quoting it (it is never shown, nor logged)."""
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise Invalid("person.dateOfBirth", Reason.INVALID, "person.dateOfBirth must be a real date, YYYY-MM-DD")


def _groups(members: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    for index, value in enumerate(members):
        path = f"person.members[{index}]"
        name = bounded_text(path, value, GROUP_NAME_LIMIT)
        if name is None:
            raise Invalid(path, Reason.REQUIRED, f"{path} is empty: a group's name is required")
        names.append(name)
    return tuple(names)
