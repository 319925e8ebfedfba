"""What myON clients send and receive: arrays of accounts, buildings, permissions and users, by their wire
names.

The seed names the fields; everything else (paths, auth, envelopes, statuses) is not public, and is
designed here as its users would expect: see the README.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from provisionhub.auth.passwords import check_password
from provisionhub.directory.entitlements import UNSET, Grant, GrantEntitlement, GrantResult, Unset
from provisionhub.directory.errors import Invalid, ItemError, Reason
from provisionhub.directory.memberships import Member, Role, UpsertMember
from provisionhub.directory.organisations import ORG_FIELDS, Organisation, OrgKind, UpsertOrganisation
from provisionhub.directory.passwords import PASSWORD, Password
from provisionhub.directory.people import normalise_email

#: At most this many items in one request.
MAX_ITEMS = 1000

#: The directory's name -> the wire name, where they differ.
WIRE_NAMES: dict[str, str] = {
    "description": "descr",
    "state": "geo_state",
    "public_id": "myon_id",
    "parent": "account_id",  # a building's account
    "account": "account_id",  # a user's account
    "building": "building_id",
    "entitlement": "permission_id",
    "role": "user_role_id",
    "given_name": "name_first",
    "family_name": "name_last",
    "password_hash": "password",
}

#: The organisation fields each kind takes, by wire name -> directory field.
_ORG_WIRE: dict[str, str] = {WIRE_NAMES.get(name, name): name for name in ORG_FIELDS}
_ACCEPTED: dict[OrgKind, frozenset[str]] = {
    OrgKind.ACCOUNT: frozenset({*_ORG_WIRE, "myon_id"}),
    OrgKind.BUILDING: frozenset({*_ORG_WIRE, "myon_id", "account_id"}),
}


def wire_name(field: str) -> str:
    return WIRE_NAMES.get(field, field)


C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Parsed(Generic[C]):
    """An array's items as commands (None where an item was refused) and the refusals."""

    commands: list[C | None]
    errors: list[ItemError]


def organisation_commands(kind: OrgKind, items: list[Any]) -> Parsed[UpsertOrganisation]:
    """Each item of a POSTed array as an UpsertOrganisation, or the error that refuses it."""
    return _parsed(items, lambda item: _organisation_command(kind, item))


def _parsed(items: list[Any], command: Callable[[Any], C]) -> Parsed[C]:
    """command(item) for each item, or the error that refuses it."""
    commands: list[C | None] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            commands.append(command(item))
        except Invalid as exc:
            commands.append(None)
            errors.append(ItemError(index, exc))
    return Parsed(commands, errors)


def _checked_item(item: Any, accepted: frozenset[str], what: str, *, strings_except: str = "") -> str | None:
    """Check an item's shape (an object of known, string-valued fields, but strings_except); its myon_id."""
    if not isinstance(item, dict):
        raise Invalid("item", Reason.INVALID, f"each item must be a JSON object (one {what})")
    for name, value in item.items():
        if name not in accepted:
            raise Invalid(name, Reason.UNKNOWN, f"{name} is not a field of a myON {what}")
        if value is not None and not isinstance(value, str) and name != strings_except:
            raise Invalid(name, Reason.INVALID, f"{name} must be a string, not {_json_type(value)}")
    myon_id = item.get("myon_id")
    if myon_id is not None and not myon_id.strip():
        raise Invalid("myon_id", Reason.INVALID, "myon_id must not be empty: leave it out to create")
    return myon_id.strip() if myon_id else None


def _organisation_command(kind: OrgKind, item: Any) -> UpsertOrganisation:
    myon_id = _checked_item(item, _ACCEPTED[kind], kind.value)
    return UpsertOrganisation(
        kind=kind,
        public_id=myon_id,
        parent=item["account_id"].strip() if item.get("account_id") else None,
        fields={_ORG_WIRE[name]: value for name, value in item.items() if name in _ORG_WIRE},
    )


def permission_commands(items: list[Any]) -> Parsed[GrantEntitlement]:
    """Each item of a POSTed array of permissions as a GrantEntitlement, or the error that refuses it."""
    return _parsed(items, _grant_command)


_PERMISSION_FIELDS = frozenset({"building_id", "permission_id", "start_date", "end_date", "active"})
#: The seed's form of a permission's dates, wall-clock time in the building's zone: YYYY-MM-DD HH:MM:SS.
_WALL_CLOCK = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


def _grant_command(item: Any) -> GrantEntitlement:
    if not isinstance(item, dict):
        raise Invalid(
            "item", Reason.INVALID, "each item must be a JSON object (one permission of a building)"
        )
    for name in item:
        if name not in _PERMISSION_FIELDS:
            raise Invalid(name, Reason.UNKNOWN, f"{name} is not a field of a myON permission")
    return GrantEntitlement(
        building=_required_id(item, "building_id"),
        entitlement=_required_id(item, "permission_id"),
        start_date=_wall_clock(item, "start_date"),
        end_date=_wall_clock(item, "end_date"),
        active=_flag(item, "active"),
    )


def _required_id(item: dict[str, Any], name: str) -> str:
    if name not in item:
        raise Invalid(name, Reason.REQUIRED, f"{name} is required")
    value = item[name]
    if not isinstance(value, str):
        raise Invalid(name, Reason.INVALID, f"{name} must be a string, not {_json_type(value)}")
    if not value.strip():
        raise Invalid(name, Reason.REQUIRED, f"{name} is required, and must not be empty")
    return value.strip()


def _flag(item: dict[str, Any], name: str) -> bool | Unset:
    value = item.get(name, UNSET)
    if value is not UNSET and not isinstance(value, bool):
        raise Invalid(
            name, Reason.INVALID, f"{name} must be a boolean (true or false), not {_json_type(value)}"
        )
    return value


def _wall_clock(item: dict[str, Any], name: str) -> datetime | Unset | None:
    """A date as sent, without a zone (the building's is not known here); null is an open end."""
    value = item.get(name, UNSET)
    if value is UNSET or value is None:
        return value
    if not isinstance(value, str):
        message = f"{name} must be a string YYYY-MM-DD HH:MM:SS or null, not {_json_type(value)}"
        raise Invalid(name, Reason.INVALID, message)
    parts = _WALL_CLOCK.fullmatch(value)
    if parts is None:
        raise Invalid(name, Reason.INVALID, f"{name} {value!r} is not of the form YYYY-MM-DD HH:MM:SS")
    try:
        year, month, day, hour, minute, second = (int(part) for part in parts.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise Invalid(name, Reason.INVALID, f"{name} {value!r} is not a date and time that exists") from None


#: myON's user_role_id values.
ROLES: dict[int, Role] = {5: Role.BUILDING_ADMIN, 6: Role.DISTRICT_ADMIN}
ROLE_IDS: dict[Role, int] = {role: number for number, role in ROLES.items()}
#: A user's person fields, by wire name -> directory field.
_USER_PERSON = {
    "name_first": "given_name",
    "name_last": "family_name",
    "username": "username",
    "email": "email",
}
_USER_FIELDS = frozenset({*_USER_PERSON, "myon_id", "account_id", "building_id", "user_role_id", "password"})
#: The person fields a new user must have.
_REQUIRED_ON_CREATE = frozenset({"username"})
#: Fields that cannot be cleared (sent as null), and why.
_NOT_NULL = {
    "account_id": "account_id cannot be cleared: a user belongs to an account",
    "user_role_id": "user_role_id cannot be cleared: a user has a role",
    "username": "username cannot be cleared: users sign in with it",
    "password": "password cannot be cleared: leave it out to keep the one the user has",
}


def user_commands(items: list[Any]) -> Parsed[UpsertMember]:
    """Each item of a POSTed users array as an UpsertMember, or the error that refuses it. A password
    goes in as a Password: the directory hashes it."""
    return _parsed(items, _user_command)


def _user_command(item: Any) -> UpsertMember:
    myon_id = _checked_item(item, _USER_FIELDS, "user", strings_except="user_role_id")
    if None in item.values():  # a field sent as null (most items have none): is it one that must not be?
        for name, message in _NOT_NULL.items():
            if name in item and item[name] is None:
                raise Invalid(name, Reason.INVALID, message)
    person = {_USER_PERSON[name]: value for name, value in item.items() if name in _USER_PERSON}
    if "username" in item:
        person["username"] = normalise_email(item["username"].strip(), "username")
    if "password" in item:
        person[PASSWORD] = Password(check_password("password", item["password"]))
    membership: dict[str, Any] = {}
    if "account_id" in item:
        membership["account"] = item["account_id"].strip()
    if "building_id" in item:
        membership["building"] = (item["building_id"] or "").strip() or None
    if "user_role_id" in item:
        membership["role"] = _role(item["user_role_id"])
    return UpsertMember(myon_id, person, membership, required_on_create=_REQUIRED_ON_CREATE)


def _role(value: Any) -> Role:
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if number not in ROLES:
        raise Invalid(
            "user_role_id", Reason.INVALID, "user_role_id must be 5 (building admin) or 6 (district admin)"
        )
    return ROLES[number]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def organisation_out(organisation: Organisation, grants: Sequence[Grant] = ()) -> dict[str, Any]:
    """An account or building as GET answers it, by wire names; a building with the permissions it holds."""
    body: dict[str, Any] = {"myon_id": organisation.public_id}
    if organisation.kind is OrgKind.BUILDING:
        body["account_id"] = organisation.parent
    body.update((wire_name(name), value) for name, value in organisation.fields.items())
    body["created_at"] = organisation.created_at.isoformat()
    body["updated_at"] = organisation.updated_at.isoformat()
    if organisation.kind is OrgKind.BUILDING:
        body["permissions"] = [_permission_out(grant) for grant in grants]
    return body


def _permission_out(grant: Grant) -> dict[str, Any]:
    return {
        "permission_id": grant.entitlement,
        "code": grant.code,
        "title": grant.title,
        "start_date": _wall_clock_out(grant.start_date),
        "end_date": _wall_clock_out(grant.end_date),
        "active": grant.active,
    }


def _wall_clock_out(value: datetime | None) -> str | None:
    """A date in the zone it comes in (the building's), as YYYY-MM-DD HH:MM:SS: what the client sent."""
    return None if value is None else value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def user_out(member: Member) -> dict[str, Any]:
    """A user as GET answers it, by wire names: never the password."""
    person = member.person
    return {
        "myon_id": person.public_id,
        "account_id": member.membership.account,
        "building_id": member.membership.building,
        "user_role_id": ROLE_IDS[member.membership.role],
        **{wire: person[domain] for wire, domain in _USER_PERSON.items()},
        "created_at": person.created_at.isoformat(),
        "updated_at": person.updated_at.isoformat(),
    }


def result_out(public_id: str, created: bool, changed: tuple[str, ...]) -> dict[str, Any]:
    """One element of a POST's answer: the entity's myon_id, and what happened to it."""
    return {"myon_id": public_id, "result": _outcome(created, changed)}


def grant_result_out(result: GrantResult) -> dict[str, Any]:
    """One element of the answer to a POST of permissions: the grant, and what happened to it."""
    return {
        "building_id": result.building,
        "permission_id": result.entitlement,
        "result": _outcome(result.created, result.changed),
    }


def _outcome(created: bool, changed: tuple[str, ...]) -> str:
    return "created" if created else "updated" if changed else "unchanged"
