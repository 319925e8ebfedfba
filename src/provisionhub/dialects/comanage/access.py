"""Who is provisioning: HTTP Basic, as COmanage's HTTP servers send it, with an API token's name and
secret, or with a provisionhub staff member's username and password.

A token acts with its permissions (user-create, user-update, user-delete; admin is all of them) and
its login-source limits: it must be allowed the COMANAGE source. Staff may create, change and delete
anyone, as they may through OCL.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from sqlalchemy import Connection
from starlette.requests import Request

from provisionhub.auth.basic import basic_credentials, verified
from provisionhub.auth.permissions import Permission, Principal
from provisionhub.auth.person_keys import holder_by_id
from provisionhub.auth.tokens import PREFIX as TOKEN_PREFIX
from provisionhub.auth.tokens import authenticate
from provisionhub.dialects.comanage.wire import LOGIN_SOURCE
from provisionhub.directory.errors import Forbidden, Unauthenticated
from provisionhub.store.database import Database

NOT_PROVIDED = (
    "HTTP Basic credentials are required: an API token's name and secret, or a staff member's username "
    "and password"
)
REFUSED = "the username and password are not those of an API token or of a staff member"
INACTIVE = "this staff member is not active"
#: What staff may do here: what OCL lets them do.
STAFF_PERMISSIONS = frozenset(
    {Permission.USER_CREATE, Permission.USER_READ, Permission.USER_UPDATE, Permission.USER_DELETE}
)


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request presented, checked before its body is read: an API token (its name and secret)
    or a staff member whose password matched (their row id; the Argon2id check costs ~20 ms of CPU, on
    a worker thread, so it happens outside any transaction). The write checks it again, in its own."""

    token: str | None = field(default=None, repr=False)
    name: str | None = None
    person_id: int | None = None


async def credential(request: Request, database: Database) -> Credential:
    """The request's credential, checked (401 or 403 if it may not provision at all)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Unauthenticated(NOT_PROVIDED)
    username, password = basic_credentials(value.strip())
    if password.startswith(TOKEN_PREFIX):
        presented = Credential(token=password, name=username)
        try:
            await database.read(lambda conn: provisioner(conn, presented))
            return presented
        except Unauthenticated:
            pass  # not a token's after all: perhaps a staff member's password that looks like one
    holder = await verified(database, username, password, REFUSED)
    presented = Credential(person_id=holder.id)
    await database.read(lambda conn: provisioner(conn, presented))
    return presented


def provisioner(conn: Connection, presented: Credential) -> Principal:
    """The principal a checked credential stands for, if it may provision at all: an API token not
    revoked, unscoped, allowed COMANAGE and some user-write permission; or a staff member still active.
    Whether it may do what a message asks (create, change, delete) is checked by the write."""
    if presented.token is not None:
        assert presented.name is not None
        principal = authenticate(conn, presented.token)
        if not hmac.compare_digest(principal.name.encode(), presented.name.encode()):
            raise Unauthenticated(REFUSED)
        principal.require_unscoped()
        principal.require_any(Permission.USER_CREATE, Permission.USER_UPDATE, Permission.USER_DELETE)
        principal.require_login_source(LOGIN_SOURCE)
        return principal
    assert presented.person_id is not None
    holder = holder_by_id(conn, presented.person_id)
    if holder is None:
        raise Unauthenticated(REFUSED)
    if not holder.active:
        raise Unauthenticated(INACTIVE)
    if not holder.staff:
        raise Forbidden("only provisionhub staff, or an API token, may provision people")
    return Principal(holder.username, STAFF_PERMISSIONS, kind="person")
