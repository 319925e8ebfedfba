"""OCL's users on the wire: the seed's representations out; what either real OCL accepts in.

Names: OCL shows one `name`, the person's display name (or, without one, their given and family
names); writing `name` sets the display name. oclapi2's `first_name` and `last_name` set the given and
family names, and oclapi's `preferred_locale` is accepted for the seed's `preferredLocale`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from provisionhub.auth.passwords import check_password
from provisionhub.directory.errors import Invalid, Reason, worded_as
from provisionhub.directory.people import MAX_LENGTHS, Person, normalise_fields
from provisionhub.directory.people_search import SortKey, full_name

PREFIX = "/ocl"

#: Writable fields, by every name a real OCL gives them, and the person's field each one sets.
_WRITABLE: dict[str, str] = {
    "name": "display_name",
    "email": "email",
    "company": "company",
    "location": "location",
    "preferredLocale": "preferred_locale",
    "preferred_locale": "preferred_locale",
    "first_name": "given_name",
    "last_name": "family_name",
}
#: Fields of the representation a client may send back unchanged: ignored, as OCL's serializers ignore
#: read-only fields.
_READ_ONLY = frozenset(
    {
        "type",
        "uuid",
        "url",
        "collections_url",
        "sources_url",
        "orgs_url",
        "organizations_url",
        "orgs",
        "publicCollections",
        "publicSources",
        "public_collections",
        "public_sources",
        "starredCollections",
        "starredConcepts",
        "starredSources",
        "createdOn",
        "updatedOn",
        "created_on",
        "updated_on",
        "created_by",
        "updated_by",
    }
)
#: What the real OCLs accept that provisionhub keeps nowhere, and why it is refused rather than dropped.
_UNSUPPORTED = {
    "hashed_password": "a Django password hash is not accepted: send password (stored as an Argon2id hash)",
    "extras": "extras are not kept by provisionhub",
    "bio": "bio is not kept by provisionhub",
    "website": "website is not kept by provisionhub",
    "verified": "email verification is not part of provisionhub",
}
_NOT_NULL = frozenset({"email"})

USERNAME = re.compile(r"[a-zA-Z0-9\-._]+")
_USERNAME_LIMIT = MAX_LENGTHS["username"]

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."


class FieldErrors(Exception):
    """Refused input, as OCL (Django REST framework) words it: {field: [message, ...]}."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = dict(errors)


def refuse(field: str, message: str) -> FieldErrors:
    return FieldErrors({field: [message]})


@dataclass(slots=True)
class UserInput:
    """A create or update, read: the person's fields to set, and the username and password if given."""

    fields: dict[str, Any] = field(default_factory=dict)
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def user_input(body: Any, *, creating: bool) -> UserInput:
    """Read a create (username and email required) or a partial update; FieldErrors names every bad field."""
    if not isinstance(body, dict):
        kind = "list" if isinstance(body, list) else type(body).__name__
        raise refuse("non_field_errors", f"Invalid data. Expected a dictionary, but got {kind}.")
    read = UserInput()
    errors: dict[str, list[str]] = {}
    sent_as: dict[str, str] = {}
    for name, value in body.items():
        try:
            _read_field(read, name, value, sent_as)
        except Invalid as exc:
            errors.setdefault(name, []).append(worded_as(exc, name))
    if creating:
        for name in ("username", "email"):
            if name not in body and name not in errors:
                errors[name] = [REQUIRED]
    if errors:
        raise FieldErrors(errors)
    return read


def _read_field(read: UserInput, name: str, value: Any, sent_as: dict[str, str]) -> None:
    if name in _READ_ONLY:
        return
    if name in _UNSUPPORTED:
        raise Invalid(name, Reason.INVALID, _UNSUPPORTED[name])
    if name == "username":
        read.username = _username(value)
    elif name == "password":
        read.password = check_password(name, value)
    elif name in _WRITABLE:
        target = _WRITABLE[name]
        if target in sent_as:
            raise Invalid(name, Reason.INVALID, f"{name} and {sent_as[target]} are the same field: send one")
        sent_as[target] = name
        if value is None and name in _NOT_NULL:
            raise Invalid(name, Reason.INVALID, NOT_NULL)
        if target == "preferred_locale" and value is not None:
            value = locales(name, value)
        clean = normalise_fields({target: value})
        if clean[target] is None and name in _NOT_NULL:
            raise Invalid(name, Reason.REQUIRED, "This field may not be blank.")
        read.fields.update(clean)
    else:
        raise Invalid(name, Reason.INVALID, f"{name} is not a field of an OCL user")


def _username(value: Any) -> str:
    if value is None:
        raise Invalid("username", Reason.INVALID, NOT_NULL)
    if not isinstance(value, str):
        raise Invalid("username", Reason.INVALID, "Not a valid string.")
    if len(value) > _USERNAME_LIMIT:
        raise Invalid(
            "username", Reason.INVALID, f"Ensure this field has no more than {_USERNAME_LIMIT} characters."
        )
    if not USERNAME.fullmatch(value):
        raise Invalid(
            "username", Reason.INVALID, "Enter a valid username: letters, digits, '-', '.' and '_' only."
        )
    return value


# -- locales ------------------------------------------------------------------------------------------

#: ISO 639-1: the two-letter language codes. Three-letter (ISO 639-2/3) codes are checked for shape only.
_LANGUAGES = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
    dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig
    ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh
    mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru
    rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug
    uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()  # noqa: SIM905 (a table of codes reads better as text)
)
#: language, then optionally a script (4 letters) and a region (2 letters or 3 digits), joined by - or _
#: (BCP 47 and Django both occur): en, sw, en-US, pt_BR, zh-Hant-TW, es-419.
_LOCALE = re.compile(r"(?P<language>[A-Za-z]{2,3})(?:[-_][A-Za-z]{4})?(?:[-_](?:[A-Za-z]{2}|[0-9]{3}))?")


def locales(name: str, value: Any) -> str:
    """An ordered, comma-separated list of locales ("en", "en,es"), each checked; spaces dropped."""
    if not isinstance(value, str):
        raise Invalid(name, Reason.INVALID, "Not a valid string.")
    parts = [part.strip() for part in value.split(",")]
    if parts == [""]:
        return ""
    for part in parts:
        match = _LOCALE.fullmatch(part)
        if match is None or (len(match["language"]) == 2 and match["language"].lower() not in _LANGUAGES):
            raise Invalid(
                name, Reason.INVALID, f"{part!r} is not a locale: use codes such as en, sw, en-US or pt_BR"
            )
    return ",".join(parts)


# -- query parameters ---------------------------------------------------------------------------------

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
#: The sort fields, by each name OCL has given them.
SORTS: dict[str, SortKey] = {
    "username": SortKey.USERNAME,
    "name": SortKey.NAME,
    "createdOn": SortKey.CREATED,
    "dateJoined": SortKey.CREATED,
    "date_joined": SortKey.CREATED,
}


def flag(value: str | None) -> bool:
    """A boolean query parameter: true for true, True and 1, as OCL reads them."""
    return value is not None and value.strip().lower() in ("true", "1")


#: The largest number a query parameter may hold: an offset beyond 64 bits is no number the databases
#: take (it was a 500).
MAX_NUMBER = 1_000_000_000


def whole_number(name: str, value: str | None, default: int, minimum: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise refuse(name, "A valid integer is required.") from None
    if number < minimum:
        raise refuse(name, f"Ensure this value is greater than or equal to {minimum}.")
    if number > MAX_NUMBER:
        raise refuse(name, f"Ensure this value is less than or equal to {MAX_NUMBER}.")
    return number


def sort_order(ascending: str | None, descending: str | None) -> tuple[SortKey, bool]:
    """The sort key and whether it is descending; creation ascending when neither is asked for."""
    if ascending and descending:
        raise refuse("sortDesc", "Send sortAsc or sortDesc, not both.")
    name, asked = ("sortDesc", descending) if descending else ("sortAsc", ascending)
    if not asked:
        return SortKey.CREATED, False
    key = SORTS.get(asked.strip())
    if key is None:
        raise refuse(name, f"{asked!r} is not sortable: sort by username, name or createdOn.")
    return key, name == "sortDesc"


# -- out ------------------------------------------------------------------------------------------------


def user_url(username: str) -> str:
    """The user's path. Usernames other dialects gave may hold what a path segment cannot (a space, a
    slash, non-ASCII letters): those are percent-encoded."""
    return f"{PREFIX}/users/{quote(username, safe=_PATH_SAFE)}/"


#: What a path segment holds as it is (RFC 3986's pchar): an email address as a username stays readable.
_PATH_SAFE = "-._~!$&'()*+,;=:@"


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def user_summary(person: Person) -> dict[str, Any]:
    """A row of the list: username, name and url."""
    username = person["username"]
    return {"username": username, "name": full_name(person.fields), "url": user_url(username)}


def user_out(person: Person, orgs: int, *, show_email: bool) -> dict[str, Any]:
    """The seed's full representation. Email is private (None) unless show_email. provisionhub keeps no
    collections or sources, so those counters are 0; orgs counts the accounts the person belongs to."""
    username = person["username"]
    url = user_url(username)
    return {
        "type": "User",
        "uuid": person.public_id,
        "username": username,
        "name": full_name(person.fields),
        "company": person["company"],
        "location": person["location"],
        "email": person["email"] if show_email else None,
        "preferredLocale": person["preferred_locale"],
        "url": url,
        "collections_url": url + "collections/",
        "sources_url": url + "sources/",
        "orgs_url": url + "orgs/",
        "orgs": orgs,
        "publicCollections": 0,
        "publicSources": 0,
        "starredCollections": 0,
        "starredConcepts": 0,
        "starredSources": 0,
        "createdOn": _timestamp(person.created_at),
        "updatedOn": _timestamp(person.updated_at),
    }
