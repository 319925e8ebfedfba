"""Targets: the downstream systems people are provisioned to, as an operator configures them."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, false, select, update

from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import Conflict, Invalid, NotFound, Reason
from provisionhub.store import tables
from provisionhub.store.rows import StoredRow

targets = tables.targets

#: The targets not removed: the only ones anything but the delivery log sees.
PRESENT = targets.c.removed_at.is_(None)

#: The longest call timeout a target may have.
MAX_TIMEOUT_SECONDS = 3600.0


class Kind(StrEnum):
    APIPROVISIONER = "apiprovisioner"
    SCIM = "scim"


class Mode(StrEnum):
    """ApiProvisioner's protocol modes: POST everything to the URL, or PUT/DELETE to URL/identifier."""

    POST = "post"
    PUT = "put"


class IdentifierType(StrEnum):
    """Which of a person's values names them to the target (ApiProvisioner's person.meta.id)."""

    UUID = "uuid"
    USERNAME = "username"
    UNIQUE_ID = "unique_id"
    EMPLOYEE_NUMBER = "employee_number"
    EMAIL = "email"


class Auth(StrEnum):
    NONE = "none"
    BASIC = "basic"
    BEARER = "bearer"


class State(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # by an operator: deliveries queue up, none is sent
    TRIPPED = "tripped"  # by the dispatcher, its calls mostly failing: a probe now and then


@dataclass(frozen=True, slots=True)
class Target:
    """A target as the dispatcher uses it. secret is the password or bearer token it sends."""

    id: int
    name: str
    kind: Kind
    url: str
    mode: Mode
    upsert_method: str
    identifier_type: IdentifierType
    auth: Auth
    username: str | None
    secret: str | None
    include_date_of_birth: bool
    rate_limit: int | None
    max_attempts: int
    timeout_seconds: float | None  # each call's; None: the dispatcher's (delivery_timeout_seconds)
    state: State

    @classmethod
    def from_row(cls, row: StoredRow) -> Target:
        return cls(
            id=row["id"],
            name=row["name"],
            kind=Kind(row["kind"]),
            url=row["url"],
            mode=Mode(row["mode"]),
            upsert_method=row["upsert_method"],
            identifier_type=IdentifierType(row["identifier_type"]),
            auth=Auth(row["auth"]),
            username=row["username"],
            secret=row["secret"],
            include_date_of_birth=row["include_date_of_birth"],
            rate_limit=row["rate_limit"],
            max_attempts=row["max_attempts"],
            timeout_seconds=row["timeout_seconds"],
            state=State(row["state"]),
        )


@dataclass(frozen=True, slots=True)
class AddTarget:
    """A new target. secret: the Basic password (with username) or the bearer token, never shown again."""

    name: str
    kind: Kind
    url: str
    mode: Mode = Mode.PUT
    upsert_method: str = "PUT"
    identifier_type: IdentifierType = IdentifierType.UUID
    username: str | None = None
    secret: str | None = None
    bearer: bool = False
    include_date_of_birth: bool = False
    rate_limit: int | None = None
    max_attempts: int = 10
    timeout_seconds: float | None = None
    allow_insecure: bool = False  # a secret over plain http:// to a host not on loopback: see check_transport


def add_target(conn: Connection, command: AddTarget, actor: str, now: datetime) -> Target:
    credentials = credentials_for(command.username, command.secret, bearer=command.bearer)
    check_transport(command.url, credentials.auth, allow_insecure=command.allow_insecure)
    row = checked(
        {
            "name": command.name,
            "kind": command.kind.value,
            "url": command.url,
            "mode": command.mode.value,
            "upsert_method": command.upsert_method,
            "identifier_type": command.identifier_type.value,
            **credentials.columns(),
            "include_date_of_birth": command.include_date_of_birth,
            "rate_limit": command.rate_limit,
            "max_attempts": command.max_attempts,
            "timeout_seconds": command.timeout_seconds,
        }
    )
    check_name_free(conn, row["name"])
    row |= {"state": State.ACTIVE.value, "created_at": now}
    first = conn.execute(select(targets.c.id).where(PRESENT).limit(1)).first() is None
    target_id = conn.execute(targets.insert().values(row).returning(targets.c.id)).scalar_one()
    if first:
        # With no target, events were left undispatched (fanout.dispatch_events): they are owed to no one,
        # and the first target starts from now (`target reprovision` sends it everyone). Events other
        # targets have not been given yet are fanned out to this one too, when they are.
        outbox = tables.outbox
        conn.execute(update(outbox).where(outbox.c.dispatched == false()).values(dispatched=True))
    shown = {k: (None, v) for k, v in row.items() if k not in ("secret", "created_at")}
    record(conn, [Change(actor, "target", row["name"], "create", shown)], now)
    return find_target(conn, row["name"], by_id=target_id)


@dataclass(frozen=True, slots=True)
class Credentials:
    """How a target is called: with no credentials, HTTP Basic (username and password), or a bearer
    token. secret is the password or the token."""

    auth: Auth
    username: str | None = None
    secret: str | None = None

    def columns(self) -> dict[str, str | None]:
        return {"auth": self.auth.value, "username": self.username, "secret": self.secret}


def credentials_for(username: str | None, secret: str | None, *, bearer: bool) -> Credentials:
    """The credentials a bearer token (bearer), a username with its password, or neither make."""
    if bearer:
        if secret is None:
            raise Invalid(
                "secret", Reason.REQUIRED, "a bearer token is read from stdin (--bearer-token-stdin)"
            )
        return Credentials(Auth.BEARER, None, secret)
    if username is not None:
        if secret is None:
            raise Invalid("password", Reason.REQUIRED, "a username needs a password (--password-stdin)")
        return Credentials(Auth.BASIC, username, secret)
    if secret is not None:
        raise Invalid("username", Reason.REQUIRED, "a password needs a username (--username)")
    return Credentials(Auth.NONE)


def checked(values: Mapping[str, Any]) -> dict[str, Any]:
    """A target's values (columns) as they are stored, name trimmed and URL without its trailing slash;
    Invalid for the first that breaks its rule. Adding and editing a target check alike."""
    settled = dict(values)
    if "name" in settled:
        settled["name"] = settled["name"].strip()
    for column, value in settled.items():
        rule = _RULES.get(column)
        if rule is not None:
            rule(value)
    if "url" in settled:
        settled["url"] = settled["url"].rstrip("/")
    return settled


class InsecureTransport(Invalid):
    """A target would send its secret in the clear across a network, and that was not allowed."""


def check_transport(url: str, auth: Auth, *, allow_insecure: bool) -> None:
    """Refuse a target that would send a secret (a Basic password, a bearer token) over plain http:// to
    a host other than loopback, unless allow_insecure: anyone on the path could read it and call the
    target as us. On loopback it never leaves the machine (a local tunnel or sidecar that adds TLS)."""
    parts = urlsplit(url)
    if auth is Auth.NONE or allow_insecure or parts.scheme != "http" or _is_loopback(parts.hostname):
        return
    raise InsecureTransport(
        "url",
        Reason.INVALID,
        f"the target would send its {auth.value} secret in the clear over http:// to {parts.hostname},"
        " which is not loopback: anyone on the network between could read it",
    )


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:  # a name other than localhost: it may resolve anywhere
        return False


def check_name_free(conn: Connection, name: str) -> None:
    if conn.execute(select(targets.c.id).where(targets.c.name == name, PRESENT)).first() is not None:
        raise Conflict("name", f"a target named {name!r} exists")


def find_target(conn: Connection, name: str, *, by_id: int | None = None) -> Target:
    where = targets.c.id == by_id if by_id is not None else targets.c.name == name
    row = conn.execute(select(targets).where(where, PRESENT)).mappings().first()
    if row is None:
        raise NotFound(f"no target is named {name!r}", what="target")
    return Target.from_row(row)


def set_paused(conn: Connection, name: str, paused: bool, actor: str, now: datetime) -> Target:
    """Pause a target (nothing is sent; deliveries queue) or resume it (also a tripped one)."""
    target = find_target(conn, name)
    state = State.PAUSED if paused else State.ACTIVE
    if target.state is not state:
        conn.execute(
            update(targets).where(targets.c.id == target.id).values(state=state.value, probe_at=None)
        )
        fields = {"state": (target.state.value, state.value)}
        record(conn, [Change(actor, "target", target.name, "pause" if paused else "resume", fields)], now)
    return find_target(conn, name)


def _check_name(name: str) -> None:
    if not name or len(name) > 100:
        raise Invalid("name", Reason.INVALID, "a target's name is 1 to 100 characters")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("url", Reason.INVALID, "a target's URL is an http:// or https:// URL with a host")
    if len(url) > 2000:
        raise Invalid("url", Reason.TOO_LONG, "a target's URL is at most 2,000 characters")


def _check_upsert_method(method: str) -> None:
    if method not in ("PUT", "POST"):
        raise Invalid("upsert_method", Reason.INVALID, "the upsert method is PUT or POST")


def _check_max_attempts(tries: int) -> None:
    if tries < 1:
        raise Invalid("max_attempts", Reason.INVALID, "max attempts must be at least 1")


def _check_rate_limit(rate: int | None) -> None:
    if rate is not None and rate < 1:
        raise Invalid("rate_limit", Reason.INVALID, "a rate limit is at least 1 delivery a second")


def _check_timeout(seconds: float | None) -> None:
    if seconds is not None and not 0 < seconds <= MAX_TIMEOUT_SECONDS:
        message = f"a timeout is more than 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds"
        raise Invalid("timeout_seconds", Reason.INVALID, message)


#: Each checked column's rule.
_RULES: dict[str, Callable[[Any], None]] = {
    "name": _check_name,
    "url": _check_url,
    "upsert_method": _check_upsert_method,
    "max_attempts": _check_max_attempts,
    "rate_limit": _check_rate_limit,
    "timeout_seconds": _check_timeout,
}
