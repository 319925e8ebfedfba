"""Who is calling OCL, and what they may do.

Credentials, as OCL takes them: `Authorization: Token <key>` with a key from `POST /users/login/`, HTTP
Basic with a username and password, and provisionhub's API tokens as `Token <token>` or `Bearer
<token>`. People act as themselves: anyone signed in may read; staff (CLI `staff grant`) may do
everything. An API token acts with its permissions: user-read to read, user-create, user-update
(reactivation too) and user-delete (deactivation) to write; admin is all of them, like staff.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from starlette.requests import Request

from provisionhub.auth.basic import basic_credentials, verified
from provisionhub.auth.permissions import Permission, Principal
from provisionhub.auth.person_keys import Holder, holder_by_id, holder_by_key
from provisionhub.auth.tokens import PREFIX as TOKEN_PREFIX
from provisionhub.auth.tokens import authenticate
from provisionhub.directory.errors import Forbidden, Unauthenticated
from provisionhub.directory.people import Person
from provisionhub.store.database import Database

NOT_PROVIDED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."  # noqa: S105 (a message, not a secret)
INVALID_PASSWORD = "Invalid username/password."  # noqa: S105 (a message)
INACTIVE = "User inactive or deleted."
DENIED = "You do not have permission to perform this action."


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request presented, before it is checked against the database: an API token, a person's
    key, or the id of a person whose password was already checked (checking costs ~20 ms of CPU, on a
    worker thread, so it happens outside any transaction)."""

    token: str | None = None
    key: str | None = None
    person_id: int | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: an API token's principal, or a person."""

    principal: Principal | None = None
    holder: Holder | None = None

    @property
    def actor(self) -> str:
        if self.principal is not None:
            return self.principal.actor
        assert self.holder is not None
        return self.holder.actor

    @property
    def person_id(self) -> int | None:
        return self.holder.id if self.holder is not None else None

    def may(self, permission: Permission) -> bool:
        if self.principal is not None:
            return self.principal.can(permission)
        assert self.holder is not None
        return self.holder.staff or permission is Permission.USER_READ

    def require(self, permission: Permission) -> None:
        if self.principal is not None:
            self.principal.require(permission)  # its message names the permission lacking
        elif not self.may(permission):
            raise Forbidden(DENIED)

    @property
    def oversees(self) -> bool:
        """Whether the caller sees what only staff see (emails, inactive people): staff, and API tokens
        (an operator's credential), do."""
        return self.principal is not None or (self.holder is not None and self.holder.staff)

    def require_login_source(self, login_source: str) -> None:
        if self.principal is not None:
            self.principal.require_login_source(login_source)

    def is_person(self, person: Person) -> bool:
        return self.holder is not None and self.holder.id == person.id

    def sees_email(self, person: Person) -> bool:
        """Email is private: the person and those who oversee see it, nobody else."""
        return self.oversees or self.is_person(person)


async def credential(request: Request, database: Database) -> Credential:
    """What the request presents; a Basic password is checked here (Unauthenticated if wrong)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    match scheme.lower():
        case "token" | "bearer" if value:
            return Credential(token=value) if value.startswith(TOKEN_PREFIX) else Credential(key=value)
        case "basic" if value:
            username, password = basic_credentials(value)
            return Credential(person_id=(await verified(database, username, password, INVALID_PASSWORD)).id)
    raise Unauthenticated(NOT_PROVIDED)


def caller(conn: Connection, presented: Credential) -> Caller:
    """The caller a credential stands for, checked inside the request's transaction: a person must
    still be active, a token must not be revoked, nor scoped to an account (OCL knows no accounts)."""
    if presented.token is not None:
        principal = authenticate(conn, presented.token)
        principal.require_unscoped()
        return Caller(principal=principal)
    if presented.key is not None:
        holder = holder_by_key(conn, presented.key)
        if holder is None:
            raise Unauthenticated(INVALID_TOKEN)
    else:
        assert presented.person_id is not None
        holder = holder_by_id(conn, presented.person_id)
        if holder is None:
            raise Unauthenticated(INVALID_PASSWORD)
    if not holder.active:
        raise Unauthenticated(INACTIVE)
    return Caller(holder=holder)
