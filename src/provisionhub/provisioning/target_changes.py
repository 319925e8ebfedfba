"""Changes to a target an operator makes after adding it: an edit of any of its settings, and a new secret.
The dispatcher reads each target afresh with every delivery it claims: a change applies from the next."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Connection, update

from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import Invalid, Reason
from provisionhub.directory.people import MASK
from provisionhub.provisioning.targets import (
    Auth,
    Credentials,
    IdentifierType,
    Mode,
    Target,
    check_name_free,
    checked,
    find_target,
    targets,
)


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

    def columns(self) -> dict[str, Any]:
        """The columns this edit sets, as stored."""
        given: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "name" or value is KEEP:
                continue
            if isinstance(value, Credentials):
                given |= value.columns()
            else:
                given["name" if field.name == "new_name" else field.name] = (
                    value.value if isinstance(value, Enum) else value
                )
        return given


#: A target's changed settings: {column: (old, new)}, its secret shown as MASK.
Changed = dict[str, tuple[Any, Any]]


def edit_target(conn: Connection, command: EditTarget, actor: str, now: datetime) -> tuple[Target, Changed]:
    """Change a target's settings as command says, checked as add_target checks them; the target as it
    is now and what changed (nothing, when each setting given was already so). Logged, never its secret."""
    wanted = command.columns()
    if not wanted:
        raise Invalid("settings", Reason.REQUIRED, "an edit changes at least one setting")
    return _change(conn, command.name, checked(wanted), "edit", actor, now)


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
    target = find_target(conn, name)
    before = {column: getattr(target, column) for column in wanted}
    before = {k: v.value if isinstance(v, Enum) else v for k, v in before.items()}
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
