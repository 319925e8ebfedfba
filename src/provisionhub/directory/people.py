"""Person: one human, the fields every dialect shares, the commands that change a person, and their rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Column, String

from provisionhub.directory.access import HomeSource
from provisionhub.directory.errors import Invalid, Reason
from provisionhub.store.rows import StoredRow
from provisionhub.store.tables import people


class Status(StrEnum):
    """Where a person is in their lifecycle. pending, active, grace_period and expired follow the validity
    window (directory/lifecycle.py); suspended and deleted are set by hand and the window never moves them.
    """

    PENDING = "pending"
    ACTIVE = "active"
    GRACE_PERIOD = "grace_period"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    DELETED = "deleted"


#: The statuses in which a person may sign in and counts as active to the dialects that know only
#: active and inactive (OCL, SCIM's `active`): a grace period is still access, the rest (pending
#: included: their valid_from has not come) is not.
ACTIVE_STATUSES: frozenset[Status] = frozenset({Status.ACTIVE, Status.GRACE_PERIOD})

#: Status by stored value: a dict lookup, cheaper than calling the enum (docs/benchmarks).
_STATUSES: dict[str, Status] = {status.value: status for status in Status}

#: Fields a command may set, in the order the change log and the API documentation list them.
TEXT_FIELDS: tuple[str, ...] = (
    "username",
    "email",
    "name_prefix",
    "given_name",
    "middle_name",
    "family_name",
    "name_suffix",
    "display_name",
    "title",
    "company",
    "location",
    "preferred_locale",
    "locale",
    "mobile_phone",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "alt_street",
    "alt_city",
    "alt_region",
    "alt_postal_code",
    "alt_country",
    "employee_number",
    "employee_phone",
    "department",
    "manager_id",
    "student_number",
    "student_phone",
    "user_type_id",
    "locker_user_type_id",
    "drivers_licence_number",
    "drivers_licence_region",
)
DATE_FIELDS: tuple[str, ...] = ("date_of_birth",)
#: Structured values a dialect keeps for itself, as a JSON object (SCIM's multi-valued attributes).
JSON_FIELDS: tuple[str, ...] = ("scim_values",)
TIME_FIELDS: tuple[str, ...] = ("valid_from", "valid_through")
PERSON_FIELDS: tuple[str, ...] = TEXT_FIELDS + DATE_FIELDS + TIME_FIELDS + JSON_FIELDS
#: Fields a command may set that a Person never shows: the Argon2id hash of the person's password
#: (auth/passwords.py makes it; the core only stores it).
SECRET_FIELDS: tuple[str, ...] = ("password_hash",)

#: Never logged; shown in the change log only as masked.
SENSITIVE_FIELDS: frozenset[str] = frozenset(
    {"date_of_birth", "drivers_licence_number", "drivers_licence_region", *SECRET_FIELDS}
)

MASK = "***"


def max_length(column: Column[Any]) -> int:
    """The longest text a column holds: the schema is where every length limit is stated."""
    column_type = column.type
    assert isinstance(column_type, String)
    assert column_type.length is not None
    return column_type.length


MAX_LENGTHS: dict[str, int] = {name: max_length(people.c[name]) for name in TEXT_FIELDS}

# Membership tests on the hot path: sets, not the ordered tuples above.
_TEXT = frozenset(TEXT_FIELDS)
_DATES = frozenset(DATE_FIELDS)
_SECRETS = frozenset(SECRET_FIELDS)
_JSON = frozenset(JSON_FIELDS)
_KNOWN = frozenset(PERSON_FIELDS + SECRET_FIELDS)
_PASSWORD_HASH_LIMIT = max_length(people.c.password_hash)


#: A row's values of PERSON_FIELDS, in their order (operator.itemgetter: one C call for all of them).
_PERSON_VALUES = itemgetter(*PERSON_FIELDS)


@dataclass(frozen=True, slots=True)
class Person:
    """A person as stored. fields holds every entry of PERSON_FIELDS (None when unset)."""

    id: int
    public_id: str
    login_source: str
    unique_id: str
    status: Status
    fields: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    @classmethod
    def from_row(cls, row: StoredRow) -> Person:
        return cls(
            id=row["id"],
            public_id=row["public_id"],
            login_source=row["login_source"],
            unique_id=row["unique_id"],
            status=_STATUSES[row["status"]],
            fields=dict(zip(PERSON_FIELDS, _PERSON_VALUES(row), strict=True)),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            version=row["version"],
        )


@dataclass(frozen=True, slots=True)
class UpsertPerson:
    """Create the person with this source identity, or change the fields given on the one that exists.

    Fields not named in `fields` are left as they are; a field given as None is cleared.
    `required_on_create` names fields the calling dialect requires when the person is new;
    `public_id` is the id a new person gets (None: a fresh one), ignored if the person exists.
    login_source may be the asking principal's own (HomeSource); unique_id None (with create_only) is the
    new person's public id.
    """

    login_source: str | HomeSource
    unique_id: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    required_on_create: frozenset[str] = frozenset()
    public_id: str | None = None
    #: Only create: someone who has this identity already (deleted or not) makes it a Conflict on
    #: unique_id, not a change of them (a SCIM POST).
    create_only: bool = False
    #: The groups the source gives the person, by name (None: it says nothing of groups): see
    #: groups.SetSourceGroups, with the login source as the source.
    groups: tuple[str, ...] | None = None
    #: The status the source gives the person (None: it says nothing of it), set after the fields.
    status: Status | None = None
    #: Whether the person is active, as SetActive says it (None: not said), set after the fields.
    active: bool | None = None

    @property
    def plain(self) -> bool:
        """Whether it only creates or changes fields: what a batch of upserts applies together."""
        return self.groups is None and self.status is None and self.active is None

    def in_source(self, login_source: str) -> UpsertPerson:
        """This command, of login_source (dataclasses.replace does the same, several times slower: every
        SCIM create takes this)."""
        return UpsertPerson(
            login_source,
            self.unique_id,
            self.fields,
            self.required_on_create,
            self.public_id,
            self.create_only,
            self.groups,
            self.status,
            self.active,
        )


@dataclass(frozen=True, slots=True)
class UpdatePerson:
    """Change the fields given on the person with this public id; and, if unique_id is given, the
    unique_id of their source identity (their login source stays): only when their login source is
    unique_id_source, if that is given (HomeSource: the asking principal's own).
    """

    public_id: str
    fields: Mapping[str, Any]
    unique_id: str | None = None
    unique_id_source: str | HomeSource | None = None


@dataclass(frozen=True, slots=True)
class SetStatus:
    """Move the person with this public id (or, with public_id None, the one with this source identity,
    if anyone has it) to a lifecycle status."""

    public_id: str | None
    status: Status
    identity: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Expect:
    """Go on only if the person with this public id is there (not deleted: NotFound otherwise) and, if
    versions is given, at one of those versions, their newest change-log seq (VersionMismatch otherwise):
    a condition a dialect puts first in a unit (SCIM's If-Match)."""

    public_id: str
    versions: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class SetActive:
    """Make the person with this public id active or not, as the dialects that know only that (SCIM's
    `active`) say it: activation follows the validity window, and a person already in an active status
    (or, to deactivate, already in an inactive one) is left as they are. Deactivating suspends."""

    public_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class SetStaff:
    """Make the person with this username (case-insensitively) provisionhub staff, or no longer staff.

    Staff administer people through the dialects that know administrators (OCL). No dialect can set it:
    only an operator, with the CLI.
    """

    username: str
    staff: bool


@dataclass(slots=True)  # not frozen: a batch makes one a person, and frozen is slower (docs/benchmarks)
class PersonResult:
    """What a person command did: the person's row afterwards, whether it was created, what changed, and
    the change log's sequence number of the change (None if nothing changed).

    The Person is built from the row when asked for: answers that need only the ids (a bulk request's,
    a push's) skip building one per person (docs/benchmarks).
    """

    row: StoredRow
    created: bool
    changed: tuple[str, ...]
    seq: int | None = None

    @property
    def person(self) -> Person:
        return Person.from_row(self.row)

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def public_id(self) -> str:
        return str(self.row["public_id"])


def normalise_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check each value against the person's rules; strings are trimmed and "" means cleared."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _KNOWN:
            raise Invalid(name, Reason.UNKNOWN, f"{name} is not a field of a person")
        if value is None:
            clean[name] = None
        elif name in _TEXT:
            text = bounded_text(name, value, MAX_LENGTHS[name])
            clean[name] = normalise_email(text) if name == "email" and text else text
        elif name in _SECRETS:
            if (
                not isinstance(value, str)
                or not value.startswith("$argon2id$")
                or len(value) > _PASSWORD_HASH_LIMIT
            ):
                raise Invalid(name, Reason.INVALID, f"{name} must be an Argon2id hash")
            clean[name] = value
        elif name in _JSON:
            if not isinstance(value, dict):
                raise Invalid(name, Reason.INVALID, f"{name} must be an object")
            clean[name] = value
        else:
            clean[name] = _moment(name, value)
    return clean


def bounded_text(name: str, value: Any, limit: int) -> str | None:
    """value as clean text (see clean_text) of at most limit characters; None when it is empty."""
    text = clean_text(name, value)
    if not text:
        return None
    if len(text) > limit:
        raise Invalid(name, Reason.TOO_LONG, f"{name} must be at most {limit} characters")
    return text


def _moment(name: str, value: Any) -> date | datetime:
    if name in _DATES:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise Invalid(name, Reason.INVALID, f"{name} must be a date")
        return value
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise Invalid(name, Reason.INVALID, f"{name} must be a date and time with a time zone")
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(name: str, value: Any) -> str:
    """value trimmed, if it is text both databases can store: no control characters, valid Unicode."""
    if type(value) is str and value.isascii() and value.isprintable():
        return value.strip()  # the everyday case: printable ASCII has neither problem
    if not isinstance(value, str):
        raise Invalid(name, Reason.INVALID, f"{name} must be text")
    if _CONTROL.search(value):
        raise Invalid(name, Reason.INVALID, f"{name} must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(name, Reason.INVALID, f"{name} is not valid Unicode text") from None
    return value.strip()


# Plain ASCII addresses (dot-atom local part, host names under a real top-level domain) are the
# everyday case; this strict subset of what email-validator accepts is checked without it, far more
# cheaply (docs/benchmarks). Anything else (quoted local parts, Unicode, IP literals, odd domains) goes
# to the library.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{1,63})"
)
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def normalise_email(value: str, field: str = "email") -> str:
    """A syntactically valid address, domain lower-cased; raises Invalid(field, ...) otherwise."""
    plain = _PLAIN_EMAIL.fullmatch(value)
    if plain is not None and len(value) <= 254 and len(plain["local"]) <= 64:
        domain = plain["domain"].lower()
        if domain.rsplit(".", 1)[1] not in _SPECIAL_USE and "xn--" not in domain:
            return f"{plain['local']}@{domain}"
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(field, Reason.INVALID, f"{field} is not a valid email address: {exc}") from None
    return checked.normalized


def folded(value: str | None) -> str | None:
    """The case-insensitive key under which username and email are unique."""
    return value.casefold() if value is not None else None
