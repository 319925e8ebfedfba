"""API tokens: high-entropy secrets, stored only as SHA-256, shown once at creation, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from provisionhub.directory.access import Permission, Principal
from provisionhub.directory.changes import Change, record
from provisionhub.directory.errors import (
    Conflict,
    CredentialProblem,
    Invalid,
    NotFound,
    Reason,
    Unauthenticated,
)
from provisionhub.directory.organisations import OrgKind, find_organisations, require_kind
from provisionhub.store import tables
from provisionhub.store.selects import fetch_all
from provisionhub.store.sql import AnyOf

PREFIX = "ph-"
_ALPHABET = string.ascii_letters + string.digits
#: 40 characters of 62 symbols: 238 bits. With the prefix, 43 characters: inside OPS-COM's 50-character,
#: alphanumeric-with-dashes limit for apiToken.
_SECRET_LENGTH = 40


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its secret."""

    name: str
    permissions: tuple[str, ...]
    login_sources: tuple[str, ...] | None
    account: str | None
    created_at: datetime
    revoked_at: datetime | None


def new_secret(prefix: str = PREFIX, length: int = _SECRET_LENGTH) -> str:
    """A random secret: prefix, then length letters and digits (40: 238 bits). The prefix tells a
    credential's kind at a glance (API token, OAuth client secret, access token) and to the dialects
    that take more than one kind in the same header."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def digest(secret: str) -> str:
    """What is stored of a high-entropy secret: its SHA-256, hex (a slow hash would add nothing)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    conn: Connection,
    name: str,
    permissions: Iterable[Permission],
    login_sources: Iterable[str] | None = None,
    actor: str = "cli",
    account: str | None = None,
) -> str:
    """Store a new token and return its secret: the only time anyone sees it.

    account, the public id of an organisation of kind account, scopes the token to that account's
    subtree: it sees and changes nothing else, and only the dialects that know accounts accept it.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("name", Reason.INVALID, "a token name is 1 to 100 characters")
    granted = sorted({Permission(p).value for p in permissions})
    if not granted:
        raise Invalid("permissions", Reason.REQUIRED, "a token needs at least one permission")
    sources = sorted(set(login_sources)) if login_sources is not None else None
    if conn.execute(select(tables.api_tokens.c.id).where(tables.api_tokens.c.name == name)).first():
        raise Conflict("name", f"a token named {name!r} already exists")
    account_id = _account_id(conn, account) if account is not None else None
    _forget(conn)
    secret = new_secret()
    now = datetime.now(UTC)
    conn.execute(
        tables.api_tokens.insert(),
        {
            "name": name,
            "secret_hash": digest(secret),
            "permissions": granted,
            "login_sources": sources,
            "account_id": account_id,
            "created_at": now,
        },
    )
    fields: dict[str, tuple[Any, Any]] = {"permissions": (None, granted), "login_sources": (None, sources)}
    if account is not None:
        fields["account"] = (None, account)
    record(conn, [Change(actor, "api_token", name, "create", fields)], now)
    return secret


def _account_id(conn: Connection, public_id: str) -> int:
    """The row id of the account with this public id; Invalid on "account" if there is none."""
    found = find_organisations(conn, [public_id]).get(public_id)
    require_kind(found.kind if found is not None else None, public_id, OrgKind.ACCOUNT, "account")
    assert found is not None
    return found.id


#: Tokens with the public id of the account each is scoped to (None: unscoped).
_WITH_ACCOUNT = tables.api_tokens.outerjoin(
    tables.organisations, tables.api_tokens.c.account_id == tables.organisations.c.id
)
_ACCOUNT = tables.organisations.c.public_id.label("account")
_BY_HASH = (
    select(
        tables.api_tokens.c.name,
        tables.api_tokens.c.secret_hash,
        tables.api_tokens.c.permissions,
        tables.api_tokens.c.login_sources,
        tables.api_tokens.c.revoked_at,
        _ACCOUNT,
    )
    .select_from(_WITH_ACCOUNT)
    .where(AnyOf(tables.api_tokens.c.secret_hash, "hashes"))
)


def authenticate(conn: Connection, secret: str | None) -> Principal:
    """The principal a presented secret belongs to; Unauthenticated if none, unknown or revoked.

    A principal found is remembered on the connection while nothing can have changed it (_memo): a
    SCIM read asks on every request, and the lookup was a large share of its database time
    (docs/benchmarks)."""
    memo = _memo(conn) if secret else None
    hashed = digest(secret) if memo is not None and secret else None
    if memo is not None and hashed in memo:
        return memo[hashed]
    answer = authenticate_many(conn, [secret])[secret]
    if isinstance(answer, Unauthenticated):
        raise answer
    if memo is not None and hashed is not None:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[hashed] = answer
    return answer


#: Where a connection keeps the principals it has found (conn.info, which lives as long as the driver's
#: connection): (the stamp they hold for, {secret hash: principal}), or the stamp and None while the
#: connection's transaction has changed tokens itself.
_MEMO = "provisionhub.principals"
_MEMO_SIZE = 1024


def _memo(conn: Connection) -> dict[str, Principal] | None:
    """The principals conn may answer from memory, found since nothing that could change them changed.

    Within one transaction, only that transaction changes what it sees: the memo holds for it, unless it
    changed tokens itself (create_token and revoke_token call _forget). On SQLite, a connection that has
    never written (the kept reader) keeps it from transaction to transaction for as long as its
    `PRAGMA data_version` is the same, which changes whenever another connection commits: a token revoked
    by any process is seen at the next read.
    """
    transaction = conn.get_transaction()
    held = conn.info.get(_MEMO)
    if held is not None and held[1] is None and held[0] is transaction:
        return None  # this transaction changes tokens
    driver: Any = conn.connection.driver_connection
    stamp: object = transaction
    if conn.dialect.name == "sqlite" and driver.total_changes == 0:
        stamp = ("data_version", driver.execute("PRAGMA data_version").fetchone()[0])
    elif transaction is None:  # outside a transaction, every statement is one
        return None
    if held is None or held[0] != stamp:
        held = conn.info[_MEMO] = (stamp, {})
    return held[1]


def _forget(conn: Connection) -> None:
    """Stop conn remembering principals until its transaction ends: it changes tokens."""
    conn.info[_MEMO] = (conn.get_transaction(), None)


def authenticate_many(
    conn: Connection, secrets: Iterable[str | None]
) -> dict[str | None, Principal | Unauthenticated]:
    """Each presented secret's principal, or why it is refused: one query for them all."""
    presented = set(secrets)
    hashes: dict[str | None, str] = {secret: digest(secret) for secret in presented if secret}
    rows = (
        {row["secret_hash"]: row for row in fetch_all(conn, _BY_HASH, {"hashes": list(hashes.values())})}
        if hashes
        else {}
    )
    answers: dict[str | None, Principal | Unauthenticated] = {}
    for secret in presented:
        hashed = hashes.get(secret)
        row = rows.get(hashed) if hashed else None
        if not secret:
            answers[secret] = Unauthenticated("no API token was given", CredentialProblem.MISSING)
        # The lookup is by hash (an index), the final check constant-time: a timing side channel would
        # reveal at most bits of a SHA-256, never of the secret.
        elif (
            row is None
            or not hmac.compare_digest(row["secret_hash"], hashed)
            or row["revoked_at"] is not None
        ):
            problem = CredentialProblem.UNKNOWN if row is None else CredentialProblem.REVOKED
            answers[secret] = Unauthenticated("the API token is not valid", problem)
        else:
            sources = frozenset(row["login_sources"]) if row["login_sources"] is not None else None
            permissions = frozenset(Permission(p) for p in row["permissions"])
            answers[secret] = Principal(row["name"], permissions, sources, row["account"])
    return answers


def list_tokens(conn: Connection) -> list[TokenInfo]:
    table = tables.api_tokens
    columns = (
        table.c.name,
        table.c.permissions,
        table.c.login_sources,
        _ACCOUNT,
        table.c.created_at,
        table.c.revoked_at,
    )
    rows = conn.execute(select(*columns).select_from(_WITH_ACCOUNT).order_by(table.c.created_at, table.c.id))
    return [
        TokenInfo(
            name=row.name,
            permissions=tuple(row.permissions),
            login_sources=tuple(row.login_sources) if row.login_sources is not None else None,
            account=row.account,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


def revoke_token(conn: Connection, name: str, actor: str = "cli") -> None:
    table = tables.api_tokens
    row = conn.execute(select(table.c.id, table.c.revoked_at).where(table.c.name == name)).first()
    if row is None:
        raise NotFound(f"no token named {name!r}")
    if row.revoked_at is not None:
        return
    now = datetime.now(UTC)
    _forget(conn)
    conn.execute(table.update().where(table.c.id == row.id).values(revoked_at=now))
    record(conn, [Change(actor, "api_token", name, "revoke", {"revoked_at": (None, now)})], now)


def any_token_exists(conn: Connection) -> bool:
    return conn.execute(select(tables.api_tokens.c.id).limit(1)).first() is not None
