"""What myON clients send and receive: arrays of accounts and buildings, by their wire names.

The seed names the fields; everything else (paths, auth, envelopes, statuses) is not public, and is
designed here as its users would expect: see the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisionhub.directory.errors import Invalid, ItemError, Reason
from provisionhub.directory.organisations import ORG_FIELDS, Organisation, OrgKind, UpsertOrganisation

#: At most this many items in one request.
MAX_ITEMS = 1000

#: Wire name -> the directory's name, where they differ.
_RENAMED = {"descr": "description", "geo_state": "state", "myon_id": "public_id", "account_id": "parent"}
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
class Parsed:
    """An array's items as commands (None where an item was refused) and the refusals."""

    commands: list[UpsertOrganisation | None]
    errors: list[ItemError]


def organisation_commands(kind: OrgKind, items: list[Any]) -> Parsed:
    """Each item of a POSTed array as an UpsertOrganisation, or the error that refuses it."""
    commands: list[UpsertOrganisation | None] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            commands.append(_organisation_command(kind, item))
        except Invalid as exc:
            commands.append(None)
            errors.append(ItemError(index, exc))
    return Parsed(commands, errors)


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


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, dict) else type(value).__name__


def organisation_out(organisation: Organisation) -> dict[str, Any]:
    """An account or building as GET answers it, by wire names."""
    body: dict[str, Any] = {"myon_id": organisation.public_id}
    if organisation.kind is OrgKind.BUILDING:
        body["account_id"] = organisation.parent
    body.update((wire_name(name), value) for name, value in organisation.fields.items())
    body["created_at"] = organisation.created_at.isoformat()
    body["updated_at"] = organisation.updated_at.isoformat()
    return body


def result_out(public_id: str, created: bool, changed: tuple[str, ...]) -> dict[str, Any]:
    """One element of a POST's answer: the entity's myon_id, and what happened to it."""
    return {"myon_id": public_id, "result": "created" if created else "updated" if changed else "unchanged"}
