"""The demo's dataset (world.yaml, shipped beside this module), read into plain values and catalogue
commands for the loader. The directory checks every value when the demo loads it; this only gives the
document its shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from provisionhub.directory.memberships import Role
from provisionhub.directory.organisations import OrgKind
from provisionhub.directory.reference_data import AddLoginSource, AddUserType

WORLD = Path(__file__).with_name("world.yaml")


@dataclass(frozen=True, slots=True)
class Place:
    """An organisation. key: how the dataset names it; parent: its parent's key."""

    key: str
    kind: OrgKind
    parent: str | None
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Resident:
    """A person. unique_id None: their public id (as OCL's people have). member_of: a membership, the
    organisation's key and the role.
    valid_for_days: a validity window that ends that many days after the load. staff: OCL's
    administrator, given a password at the load."""

    key: str
    login_source: str
    unique_id: str | None
    fields: Mapping[str, Any]
    member_of: tuple[str, Role] | None
    biography: str | None
    valid_for_days: int | None
    staff: bool


@dataclass(frozen=True, slots=True)
class World:
    user_types: tuple[AddUserType, ...]
    login_sources: tuple[AddLoginSource, ...]
    places: tuple[Place, ...]
    residents: tuple[Resident, ...]
    groups: Mapping[str, tuple[str, ...]]
    permission_code: str
    permission_title: str
    permitted: str  # the key of the building granted the permission


@cache
def world() -> World:
    """The dataset, read once."""
    document = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    return World(
        user_types=tuple(AddUserType(**entry) for entry in document["user_types"]),
        login_sources=tuple(AddLoginSource(**entry) for entry in document["login_sources"]),
        places=tuple(_place(key, entry) for key, entry in document["organisations"].items()),
        residents=tuple(_resident(entry) for entry in document["people"]),
        groups={name: tuple(keys) for name, keys in document["groups"].items()},
        permission_code=document["permission"]["code"],
        permission_title=document["permission"]["title"],
        permitted=document["permission"]["granted_to"],
    )


def _place(key: str, entry: Mapping[str, Any]) -> Place:
    fields = {name: value for name, value in entry.items() if name not in ("kind", "parent")}
    return Place(key, OrgKind(entry["kind"]), entry.get("parent"), fields)


def _resident(entry: Mapping[str, Any]) -> Resident:
    member_of = entry.get("member_of")
    return Resident(
        key=entry["key"],
        login_source=entry["login_source"],
        unique_id=entry.get("unique_id"),
        fields=entry["fields"],
        member_of=(member_of["organisation"], Role(member_of["role"])) if member_of else None,
        biography=entry.get("biography"),
        valid_for_days=entry.get("valid_for_days"),
        staff=bool(entry.get("staff")),
    )
