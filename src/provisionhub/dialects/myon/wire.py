"""What myON clients send and receive: arrays of accounts, buildings and permissions, by their wire names.

The seed names the fields; everything else (paths, auth, envelopes, statuses) is not public, and is
designed here as its users would expect: see the README.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from provisionhub.directory.entitlements import UNSET, Grant, GrantEntitlement, GrantResult, Unset
from provisionhub.directory.errors import Invalid, ItemError, Reason
from provisionhub.directory.organisations import ORG_FIELDS, Organisation, OrgKind, UpsertOrganisation

C = TypeVar("C")

#: At most this many items in one request.
MAX_ITEMS = 1000

#: Wire name -> the directory's name, where they differ.
_RENAMED = {
    "descr": "description",
    "geo_state": "state",
    "myon_id": "public_id",
    "account_id": "parent",
    "building_id": "building",
    "permission_id": "entitlement",
}
WIRE_NAMES: dict[str, str] = {domain: wire for wire, domain in _RENAMED.items()}

#: The organisation fields each kind takes, by wire name -> directory field.
_ORG_WIRE: dict[str, str] = {WIRE_NAMES.get(name, name): name for name in ORG_FIELDS}
_ACCEPTED: dict[OrgKind, frozenset[str]] = {
    OrgKind.ACCOUNT: frozenset({*_ORG_WIRE, "myon_id"}),
    OrgKind.BUILDING: frozenset({*_ORG_WIRE, "myon_id", "account_id"}),
}


def wire_name(field: str) -> str:
    return WIRE_NAMES.get(field, field)


@dataclass(frozen=True, slots=True)
class Parsed(Generic[C]):
    """An array's items as commands (None where an item was refused) and the refusals."""

    commands: list[C | None]
    errors: list[ItemError]


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


def organisation_commands(kind: OrgKind, items: list[Any]) -> Parsed[UpsertOrganisation]:
    """Each item of a POSTed array as an UpsertOrganisation, or the error that refuses it."""
    return _parsed(items, lambda item: _organisation_command(kind, item))


def _organisation_command(kind: OrgKind, item: Any) -> UpsertOrganisation:
    if not isinstance(item, dict):
        raise Invalid("item", Reason.INVALID, f"each item must be a JSON object (one {kind.value})")
    for name, value in item.items():
        if name not in _ACCEPTED[kind]:
            raise Invalid(name, Reason.UNKNOWN, f"{name} is not a field of a myON {kind.value}")
        if value is not None and not isinstance(value, str):
            raise Invalid(name, Reason.INVALID, f"{name} must be a string, not {_json_type(value)}")
    myon_id = item.get("myon_id")
    if myon_id is not None and not myon_id.strip():
        raise Invalid("myon_id", Reason.INVALID, "myon_id must not be empty: leave it out to create")
    return UpsertOrganisation(
        kind=kind,
        public_id=myon_id.strip() if myon_id else None,
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
        return datetime(*(int(part) for part in parts.groups()))
    except ValueError:
        raise Invalid(name, Reason.INVALID, f"{name} {value!r} is not a date and time that exists") from None


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
