"""OAuth 2.0 clients and their access tokens: a client id and a secret (shown once, stored hashed) are
exchanged for a bearer token valid a limited time; repeated wrong secrets hold a client id off.

Holding off: every token request claims an attempt on its client's row before the secret is checked,
counted as a failure unless the secret proves right. Past `failures_before_hold` failures in a row, the
client id is held for `hold_seconds`, doubling with each further failure up to `max_hold_seconds`;
while held, no secret is checked at all (the answer says when to come back). Failures are forgotten
once none has come for `max_hold_seconds`. The count lives in the database, in one conditional UPDATE,
so several processes share it, and concurrent guesses for one client id wait on its row (PostgreSQL)
or on the one writer (SQLite) and see each other's counts: parallel guessing earns no extra tries.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, Row, bindparam, case, delete, or_, select

from provisionhub.auth.tokens import digest, new_secret
from provisionhub.directory.access import Kind, Permission, Principal
from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import (
    Conflict,
    CredentialProblem,
    Invalid,
    NotFound,
    Reason,
    Unauthenticated,
)
from provisionhub.settings import Settings
from provisionhub.store import tables

#: The prefixes of a client id, a client secret and an access token: none is an API token's (ph-).
CLIENT_ID_PREFIX = "phc-"
SECRET_PREFIX = "phs-"  # noqa: S105 (a prefix, not a secret)
ACCESS_TOKEN_PREFIX = "pha-"  # noqa: S105 (a prefix)
#: 24 letters and digits (143 bits): a client id is public, but not guessable.
_CLIENT_ID_LENGTH = 24
#: What a client may do when created without naming permissions: read, as UNIWeb's "read" scope.
DEFAULT_PERMISSIONS = (Permission.USER_READ, Permission.ORG_READ, Permission.GROUP_READ)
#: Expired tokens are kept this long (so that they are refused as expired, not unknown), then dropped.
_KEEP_EXPIRED = timedelta(days=1)
#: Doubling stops here: 2**40 holds are beyond any maximum.
_MAX_DOUBLINGS = 40

clients = tables.oauth_clients
tokens = tables.oauth_tokens


@dataclass(frozen=True, slots=True)
class GrantPolicy:
    """How long a token lives, and how wrong secrets hold a client id off (see the module's docstring)."""

    token_seconds: int = 3600
    failures_before_hold: int = 5
    hold_seconds: float = 2.0
    max_hold_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> GrantPolicy:
        return cls(
            token_seconds=settings.oauth_token_seconds,
            failures_before_hold=settings.oauth_failures_before_hold,
            hold_seconds=settings.oauth_hold_seconds,
            max_hold_seconds=settings.oauth_max_hold_seconds,
        )

    def hold_after(self, failures: int) -> timedelta:
        """How long a client id is held after this many failures in a row (zero: not held)."""
        beyond = failures - self.failures_before_hold
        if beyond <= 0:
            return timedelta(0)
        doubled = self.hold_seconds * 2 ** min(beyond - 1, _MAX_DOUBLINGS)
        return timedelta(seconds=min(doubled, self.max_hold_seconds))


@dataclass(frozen=True, slots=True)
class NewClient:
    """A client just created: its id, and its secret, shown this once."""

    client_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """A client as listed: never its secret."""

    client_id: str
    name: str
    permissions: tuple[str, ...]
    login_sources: tuple[str, ...] | None
    created_at: datetime
    revoked_at: datetime | None


class GrantProblem(StrEnum):
    """Why a token request was refused."""

    WRONG = "wrong"  # no such client id, or not its secret
    REVOKED = "revoked"  # the right secret of a revoked client
    HELD = "held"  # too many wrong secrets lately: not checked


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str = field(repr=False)
    expires_in: int


@dataclass(frozen=True, slots=True)
class GrantRefused:
    """A refused token request. retry_after: for a held client id, the seconds until it may try again."""

    problem: GrantProblem
    retry_after: int | None = None


def create_client(
    conn: Connection,
    name: str,
    permissions: Iterable[Permission] | None,
    now: datetime,
    actor: str = "cli",
    login_sources: Iterable[str] | None = None,
) -> NewClient:
    """Store a new client and return its id and secret: the only time anyone sees the secret.
    permissions None: DEFAULT_PERMISSIONS. login_sources: the only login sources whose members its tokens
    may read or write (None: all)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("name", Reason.INVALID, "a client name is 1 to 100 characters")
    chosen = DEFAULT_PERMISSIONS if permissions is None else permissions
    granted = sorted({Permission(p).value for p in chosen})
    if not granted:
        raise Invalid("permissions", Reason.REQUIRED, "a client needs at least one permission")
    sources = sorted(set(login_sources)) if login_sources is not None else None
    if conn.execute(select(clients.c.id).where(clients.c.name == name)).first():
        raise Conflict("name", f"a client named {name!r} already exists")
    created = NewClient(new_secret(CLIENT_ID_PREFIX, _CLIENT_ID_LENGTH), new_secret(SECRET_PREFIX))
    row = {
        "client_id": created.client_id,
        "name": name,
        "secret_hash": digest(created.secret),
        "permissions": granted,
        "login_sources": sources,
        "created_at": now,
    }
    conn.execute(clients.insert(), row)
    fields = {"name": (None, name), "permissions": (None, granted), "login_sources": (None, sources)}
    record(conn, [Change(actor, "oauth_client", created.client_id, "create", fields)], now)
    return created


def list_clients(conn: Connection) -> list[ClientInfo]:
    columns = (clients.c.client_id, clients.c.name, clients.c.permissions, clients.c.login_sources)
    rows = conn.execute(
        select(*columns, clients.c.created_at, clients.c.revoked_at).order_by(
            clients.c.created_at, clients.c.id
        )
    )
    return [
        ClientInfo(
            row.client_id,
            row.name,
            tuple(row.permissions),
            tuple(row.login_sources) if row.login_sources is not None else None,
            row.created_at,
            row.revoked_at,
        )
        for row in rows
    ]


def revoke_client(conn: Connection, client_id: str, now: datetime, actor: str = "cli") -> None:
    """Revoke a client: its tokens stop working at once, and it gets no new ones."""
    row = conn.execute(
        select(clients.c.id, clients.c.revoked_at).where(clients.c.client_id == client_id)
    ).first()
    if row is None:
        raise NotFound(f"no client with the id {client_id!r}")
    if row.revoked_at is not None:
        return
    conn.execute(clients.update().where(clients.c.id == row.id).values(revoked_at=now))
    record(conn, [Change(actor, "oauth_client", client_id, "revoke", {"revoked_at": (None, now)})], now)


def issue_token(
    conn: Connection, client_id: str, secret: str, now: datetime, policy: GrantPolicy
) -> IssuedToken | GrantRefused:
    """A new access token for the client with this id and secret, or why not.

    A refusal is returned, not raised: the failure it counts must be committed with it.
    """
    claimed = _claim_attempt(conn, client_id, now, policy)
    if claimed is None:
        return _unclaimed(conn, client_id, now)
    if not hmac.compare_digest(claimed.secret_hash, digest(secret)):
        hold = policy.hold_after(claimed.failures)
        if hold:
            conn.execute(clients.update().where(clients.c.id == claimed.id).values(held_until=now + hold))
        return GrantRefused(GrantProblem.WRONG)
    conn.execute(
        clients.update()
        .where(clients.c.id == claimed.id)
        .values(failures=0, last_failure_at=None, held_until=None)
    )
    if claimed.revoked_at is not None:
        return GrantRefused(GrantProblem.REVOKED)
    token = new_secret(ACCESS_TOKEN_PREFIX)
    conn.execute(
        delete(tokens).where(
            tokens.c.oauth_client_id == claimed.id, tokens.c.expires_at < now - _KEEP_EXPIRED
        )
    )
    conn.execute(
        tokens.insert(),
        {
            "token_hash": digest(token),
            "oauth_client_id": claimed.id,
            "expires_at": now + timedelta(seconds=policy.token_seconds),
            "created_at": now,
        },
    )
    return IssuedToken(token, policy.token_seconds)


def _claim_attempt(
    conn: Connection, client_id: str, now: datetime, policy: GrantPolicy
) -> Row[int, str, datetime | None, int] | None:
    """Count an attempt against a client that is not held, as a failure until the secret proves right;
    its row (id, secret_hash, revoked_at, failures), or None if no such client or held."""
    forgotten = now - timedelta(seconds=policy.max_hold_seconds)
    stale = or_(clients.c.last_failure_at.is_(None), clients.c.last_failure_at < forgotten)
    return conn.execute(
        clients.update()
        .where(
            clients.c.client_id == client_id,
            or_(clients.c.held_until.is_(None), clients.c.held_until <= now),
        )
        .values(failures=case((stale, 1), else_=clients.c.failures + 1), last_failure_at=now)
        .returning(clients.c.id, clients.c.secret_hash, clients.c.revoked_at, clients.c.failures)
    ).first()


def _unclaimed(conn: Connection, client_id: str, now: datetime) -> GrantRefused:
    """Why no attempt could be claimed: the client id is held (and until when), or there is none."""
    held_until = conn.execute(select(clients.c.held_until).where(clients.c.client_id == client_id)).scalar()
    if held_until is None:
        return GrantRefused(GrantProblem.WRONG)
    return GrantRefused(GrantProblem.HELD, max(1, math.ceil((held_until - now).total_seconds())))


_BY_TOKEN = (
    select(
        tokens.c.token_hash,
        tokens.c.expires_at,
        clients.c.name,
        clients.c.permissions,
        clients.c.login_sources,
        clients.c.revoked_at,
    )
    .join_from(tokens, clients, tokens.c.oauth_client_id == clients.c.id)
    .where(tokens.c.token_hash == bindparam("token_hash"))
)


def authenticate_token(conn: Connection, token: str | None, now: datetime) -> Principal:
    """The principal of the client a presented access token was issued to (its actor: oauth:<name>);
    Unauthenticated, saying why, if there is no token, or it is unknown, expired or its client revoked."""
    if not token:
        raise Unauthenticated("No access token was given.", CredentialProblem.MISSING)
    hashed = digest(token)
    row = conn.execute(_BY_TOKEN, {"token_hash": hashed}).first()
    # Found by hash (an index), checked in constant time: a timing side channel would reveal at most bits
    # of a SHA-256, never of the token.
    if row is None or not hmac.compare_digest(row.token_hash, hashed):
        raise Unauthenticated("The access token is not valid.", CredentialProblem.UNKNOWN)
    if row.revoked_at is not None:
        raise Unauthenticated("The access token's client was revoked.", CredentialProblem.REVOKED)
    if row.expires_at <= now:
        raise Unauthenticated("The access token has expired.", CredentialProblem.EXPIRED)
    permissions = frozenset(Permission(p) for p in row.permissions)
    sources = frozenset(row.login_sources) if row.login_sources is not None else None
    return Principal(row.name, permissions, login_sources=sources, kind=Kind.OAUTH)
