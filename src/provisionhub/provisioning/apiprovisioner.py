"""The ApiProvisioner connector: the message COmanage Registry's ApiProvisioner plugin sends, and how.

The message follows the plugin's code (reference: seed-wire-formats section 2.5): `meta.version`
"1.0.0", `objectType` "person"; the person's `meta.id` is the target's configured identifier; values
PHP thinks empty are left out; times are `YYYY-MM-DDTHH:MM:SSZ`; emails carry `address` and addresses
`streetAddress`, as the code sends them. A deleted person is `{"meta": {"id", "deleted": true}}` in POST
mode, and a DELETE with no body in PUT mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from provisionhub.directory.people import Person, Status
from provisionhub.provisioning.calls import call, headers_for, outcome_of
from provisionhub.provisioning.deliveries import Claimed, Outcome
from provisionhub.provisioning.targets import IdentifierType, Mode, Target

VERSION = "1.0.0"

#: COmanage's CO Person status labels (lowercased English), by provisionhub status.
STATUS_LABELS: dict[str, str] = {
    Status.ACTIVE.value: "active",
    Status.GRACE_PERIOD.value: "grace period",
    Status.EXPIRED.value: "expired",
    Status.SUSPENDED.value: "suspended",
    Status.DELETED.value: "deleted",
    Status.PENDING.value: "pending",
}


class NoIdentifier(Exception):
    """The person has no value of the target's identifier type: no message can name them."""


def identifier(target: Target, person: Person) -> str:
    value = {
        IdentifierType.UUID: person.public_id,
        IdentifierType.USERNAME: person["username"],
        IdentifierType.UNIQUE_ID: person.unique_id,
        IdentifierType.EMPLOYEE_NUMBER: person["employee_number"],
        IdentifierType.EMAIL: person["email"],
    }[target.identifier_type]
    if not value:
        raise NoIdentifier(
            f"no identifier of type {target.identifier_type.value} for person {person.public_id}"
        )
    return str(value)


def request(target: Target, person: Person, groups: list[str]) -> tuple[str, str, dict[str, Any] | None]:
    """(method, URL, message or None) of the call that brings the target up to the person's state."""
    name = identifier(target, person)
    deleted = person.status is Status.DELETED
    if target.mode is Mode.POST:
        return "POST", f"{target.url}/", delete_message(name) if deleted else message(target, person, groups)
    url = f"{target.url}/{quote(name, safe='@')}"
    if deleted:
        return "DELETE", url, None
    return target.upsert_method, url, message(target, person, groups)


async def deliver(client: aiohttp.ClientSession, claimed: Claimed) -> Outcome:
    """Send the call that brings the target up to the claimed person's state; any 2xx is success."""
    target = claimed.target
    try:
        method, url, body = request(target, claimed.person, claimed.groups)
    except NoIdentifier as exc:
        return Outcome(False, error=str(exc), final=True)
    headers = headers_for(target, claimed)
    response, failed, elapsed = await call(client, method, url, headers, body, target.timeout_seconds)
    if response is None:
        assert failed is not None
        return failed
    return outcome_of(response, elapsed)


def delete_message(name: str) -> dict[str, Any]:
    return {"meta": _meta(), "person": {"meta": {"id": name, "deleted": True}}}


def message(target: Target, person: Person, groups: list[str]) -> dict[str, Any]:
    """The upsert message for a person (sent for add, edit, grace period, expire, unexpire, manual)."""
    status = STATUS_LABELS.get(person.status.value, person.status.value)
    body: dict[str, Any] = {
        "meta": _kept(
            {"id": identifier(target, person), "created": _time(person.created_at),
             "lastModified": _time(person.updated_at)}
        ),
        "status": status,
        "names": _list(_name(person)),
        "identifiers": [
            {"identifier": value, "type": kind}
            for kind, value in (
                ("uid", person["username"]),
                ("employeeNumber", person["employee_number"]),
                ("provisionhubid", person.public_id),
            )
            if value
        ],
        "emailAddresses": _list(_kept({"address": person["email"], "type": "official"})),
        "roles": _list(_role(person, status)),
        "members": list(groups),
    }  # fmt: skip
    if target.include_date_of_birth and person["date_of_birth"]:
        body["dateOfBirth"] = _day(person["date_of_birth"])
    return {"meta": _meta(), "person": _kept(body)}


def _meta() -> dict[str, str]:
    return {"version": VERSION, "objectType": "person"}


def _name(person: Person) -> dict[str, Any]:
    parts = {
        "prefix": person["name_prefix"],
        "given": person["given_name"],
        "middle": person["middle_name"],
        "family": person["family_name"],
        "suffix": person["name_suffix"],
    }
    formatted = " ".join(value for value in parts.values() if value) or person["display_name"]
    named = _kept(parts)
    return _kept({**named, "formatted": formatted, "type": "official"}) if named or formatted else {}


def _role(person: Person, status: str) -> dict[str, Any]:
    address = _kept(
        {
            "streetAddress": person["street"],
            "locality": person["city"],
            "region": person["region"],
            "postalCode": person["postal_code"],
            "country": person["country"],
        }
    )
    if address:
        address["type"] = "office"
    phones = [
        {"number": number, "type": kind}
        for kind, number in (
            ("mobile", person["mobile_phone"]),
            ("office", person["employee_phone"]),
            ("campus", person["student_phone"]),
        )
        if number
    ]
    role = _kept(
        {
            "title": person["title"],
            "organization": person["company"],
            "department": person["department"],
            "validFrom": _time(person["valid_from"]),
            "validThrough": _time(person["valid_through"]),
            "affiliation": "member",
            "addresses": _list(address),
            "telephoneNumbers": phones,
        }
    )
    if set(role) == {"affiliation"}:
        return {}
    return {**role, "status": status}


def _kept(values: Mapping[str, Any]) -> dict[str, Any]:
    """values without what PHP's empty() is true of (None, "", [], {}, False, 0): COmanage leaves them out."""
    return {key: value for key, value in values.items() if value not in (None, "", [], {}, False, 0)}


def _list(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [item] if item else []


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()
