"""Changes to a target an operator makes after adding it: an edit of any of its settings, a new secret, and
its removal. The dispatcher reads each target afresh with every delivery it claims: a change applies from
the next."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, func, select, update

from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import DirectoryError, Invalid, Reason
from provisionhub.directory.people import MASK
from provisionhub.provisioning.deliveries import DeliveryState
from provisionhub.provisioning.targets import (
    Auth,
    Credentials,
    IdentifierType,
    Mode,
    Target,
    check_name_free,
    check_transport,
    checked,
    find_target,
    targets,
)
from provisionhub.store import tables

deliveries = tables.deliveries

#: The deliveries a target still owes: refused a removal, unless forced.
UNSENT = (DeliveryState.PENDING, DeliveryState.SENDING)


class Keep(Enum):
    """The value of an edit's field that leaves the target's setting as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class EditTarget:
    """New settings for the target named name: each field given changes; those left KEEP do not. None
    clears rate_limit (no limit) and timeout_seconds (the dispatcher's timeout)."""

    name: str
    new_name: str | Keep = KEEP
    url: str | Keep = KEEP
    mode: Mode | Keep = KEEP
    upsert_method: str | Keep = KEEP
    identifier_type: IdentifierType | Keep = KEEP
    credentials: Credentials | Keep = KEEP
    include_date_of_birth: bool | Keep = KEEP
    rate_limit: int | Keep | None = KEEP
    max_attempts: int | Keep = KEEP
    timeout_seconds: float | Keep | None = KEEP
    allow_insecure: bool = False  # how the edit is checked (check_transport), not a setting

    def columns(self) -> dict[str, Any]:
        """The columns this edit sets, as stored."""
        given: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in ("name", "allow_insecure") or value is KEEP:
                continue
            if isinstance(value, Credentials):
                given |= value.columns()
            else:
                given["name" if field.name == "new_name" else field.name] = _stored(value)
        return given


#: A target's changed settings: {column: (old, new)}, its secret shown as MASK.
Changed = dict[str, tuple[Any, Any]]


def edit_target(conn: Connection, command: EditTarget, actor: str, now: datetime) -> tuple[Target, Changed]:
    """Change a target's settings as command says, checked as add_target checks them; the target as it
    is now and what changed (nothing, when each setting given was already so). Logged, never its secret."""
    wanted = command.columns()
    if not wanted:
        raise Invalid("settings", Reason.REQUIRED, "an edit changes at least one setting")
    settled = checked(wanted)
    if "url" in settled or "auth" in settled:  # an edit of neither leaves the target as it was allowed
        target = find_target(conn, command.name)
        url, auth = settled.get("url", target.url), Auth(settled.get("auth", target.auth))
        check_transport(url, auth, allow_insecure=command.allow_insecure)
    return _change(conn, command.name, settled, "edit", actor, now)


def rotate_secret(conn: Connection, name: str, secret: str, actor: str, now: datetime) -> Target:
    """Give a target that calls with credentials (Basic or a bearer token) a new password or token."""
    target = find_target(conn, name)
    if target.auth is Auth.NONE:
        raise Invalid("auth", Reason.INVALID, f"target {target.name!r} calls with no credentials")
    if not secret:
        raise Invalid("secret", Reason.REQUIRED, "a new secret is not empty")
    return _change(conn, name, {"secret": secret}, "rotate", actor, now)[0]


def _change(
    conn: Connection, name: str, wanted: dict[str, Any], action: str, actor: str, now: datetime
) -> tuple[Target, Changed]:
    """Set the columns of wanted that differ; what changed, logged as action (the secret as MASK)."""
    target = find_target(conn, name)
    before = {column: _stored(getattr(target, column)) for column in wanted}
    changed = {k: (before[k], v) for k, v in wanted.items() if before[k] != v}
    if not changed:
        return target, {}
    if "name" in changed:
        check_name_free(conn, changed["name"][1])
    conn.execute(
        update(targets).where(targets.c.id == target.id).values({k: v for k, (_, v) in changed.items()})
    )
    if "secret" in changed:
        old, new = changed["secret"]
        changed["secret"] = (None if old is None else MASK, None if new is None else MASK)
    record(conn, [Change(actor, "target", target.name, action, changed)], now)
    return find_target(conn, "", by_id=target.id), changed


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class Unsent(DirectoryError):
    """A target still has deliveries to send (count of them): removing it would drop them unsaid."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


def remove_target(conn: Connection, name: str, force: bool, actor: str, now: datetime) -> int:
    """Remove a target: from now on nothing sees it but the delivery log, and its name is free. Refused
    (Unsent) while it has deliveries pending or being sent, unless force: then they are dead, with the
    reason as their last error. How many were so ended.

    The row stays (removed_at set), as its deliveries and their attempts refer to it.
    """
    target = find_target(conn, name)
    owed = deliveries.c.target_id == target.id, deliveries.c.state.in_(UNSENT)
    count = conn.execute(select(func.count()).where(*owed)).scalar_one()
    if count and not force:
        unsent = "1 delivery" if count == 1 else f"{count} deliveries"
        raise Unsent(f"target {target.name!r} has {unsent} pending or being sent", count)
    if count:
        reason = f"target removed by {actor}"
        conn.execute(
            update(deliveries)
            .where(*owed)
            .values(
                state=DeliveryState.DEAD,
                finished_at=now,
                last_error=reason,
                lease_until=None,
                claimed_by=None,
            )
        )
    conn.execute(update(targets).where(targets.c.id == target.id).values(removed_at=now))
    fields = {"removed_at": (None, now), "dead": (None, count)}
    record(conn, [Change(actor, "target", target.name, "remove", fields)], now)
    return int(count)
