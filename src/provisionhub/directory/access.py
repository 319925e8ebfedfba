"""Who may touch whom: permissions, the principal a credential stands for, and its scope.

Every dialect presents a credential (an API token, an OAuth access token, a person's key or checked
password); the directory resolves it, inside the transaction that reads or writes, to a Principal, and
checks each command and query against the *target* person's, group's or organisation's scope, whichever
dialect sent it (docs/decisions/one-door.md). Dialects never decide this themselves.

A principal's scope is the login sources whose people it may touch (None: all) and the account whose
subtree bounds it (None: unscoped). A person is in scope when their login source is allowed and, for an
account-scoped principal, they are a member of that account. People outside the scope are invisible to
the principal: reads do not find them and writes that name them find nobody.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Connection

from provisionhub.directory.errors import Forbidden, Unauthenticated


class Permission(StrEnum):
    USER_CREATE = "user-create"
    USER_READ = "user-read"
    USER_UPDATE = "user-update"
    USER_DELETE = "user-delete"
    ORG_READ = "org-read"
    ORG_WRITE = "org-write"
    ENTITLEMENT_WRITE = "entitlement-write"
    GROUP_READ = "group-read"
    GROUP_WRITE = "group-write"
    ADMIN = "admin"  # every permission, and what only an operator does (catalogues, staff)


#: What staff (people flagged staff, `provisionhub staff grant`) may do when they present themselves.
STAFF_PERMISSIONS = frozenset(
    {Permission.USER_CREATE, Permission.USER_READ, Permission.USER_UPDATE, Permission.USER_DELETE}
)
#: What any other person may do when they present themselves: read (and change their own fields).
PERSON_PERMISSIONS = frozenset({Permission.USER_READ})
#: The login sources an account-scoped principal reaches unless given its own: the people an account's
#: own system creates (myON's members, directory/memberships.py). A district's token speaks for its
#: district's people, not for a staff member who also happens to belong to the district.
ACCOUNT_SOURCES = frozenset({"MYON"})


class Kind(StrEnum):
    """The kind of credential a principal presented."""

    TOKEN = "token"  # noqa: S105 (a kind, not a secret): an API token
    OAUTH = "oauth"  # an OAuth client's access token
    PERSON = "person"  # a person's own key or password
    OPERATOR = "operator"  # the command line, the lifecycle: trusted, in process (operators.py)
    ANONYMOUS = "anonymous"  # no credential: only what anyone may ask


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a name for the change log, what they may do, and their scope (see the module).

    A person principal (kind PERSON) is also the person with row id person_id; they may always read and
    change their own fields.
    """

    name: str
    permissions: frozenset[Permission]
    login_sources: frozenset[str] | None = None
    account: str | None = None
    kind: Kind = Kind.TOKEN
    person_id: int | None = None
    staff: bool = False

    @property
    def actor(self) -> str:
        """How the change log names this principal."""
        return self.name if self.kind is Kind.OPERATOR else f"{self.kind}:{self.name}"

    @property
    def scoped(self) -> bool:
        """Whether some people are outside this principal's reach."""
        return self.login_sources is not None or self.account is not None

    @property
    def oversees(self) -> bool:
        """Whether the principal sees people's private fields (email, phones, addresses, sensitive
        fields) and inactive people: credentials of systems and staff do; a person sees only their own."""
        return self.kind is not Kind.PERSON or self.staff

    def can(self, permission: Permission) -> bool:
        return Permission.ADMIN in self.permissions or permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"this credential lacks the {permission.value} permission")

    def require_any(self, *permissions: Permission) -> None:
        if not any(self.can(permission) for permission in permissions):
            needed = " or ".join(permission.value for permission in permissions)
            raise Forbidden(f"this credential needs the {needed} permission")

    def require_operator(self, what: str) -> None:
        """Only an unscoped admin (the command line, an admin token) may do what."""
        if not self.can(Permission.ADMIN) or self.scoped:
            raise Forbidden(f"only an unscoped admin credential may {what}")

    @property
    def sources(self) -> frozenset[str] | None:
        """The login sources whose people are in scope (None: all): those given, or an account-scoped
        principal's ACCOUNT_SOURCES."""
        if self.login_sources is not None:
            return self.login_sources
        return ACCOUNT_SOURCES if self.account is not None else None

    @property
    def home_source(self) -> str | None:
        """The login source of the people this principal creates, when it is limited to exactly one."""
        if self.login_sources is not None and len(self.login_sources) == 1:
            return next(iter(self.login_sources))
        return None

    def may_write_source(self, login_source: str) -> bool:
        sources = self.sources
        return sources is None or login_source in sources

    def require_source(self, login_source: str) -> None:
        """Forbidden unless people of login_source are this principal's to write (a command names it)."""
        if not self.may_write_source(login_source):
            raise Forbidden(f"this credential may not write people of login source {login_source!r}")

    def is_person(self, person_id: int) -> bool:
        return self.kind is Kind.PERSON and self.person_id == person_id


# -- credentials, as presented ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's secret; name, when the dialect also sends the token's name (COmanage's Basic)."""

    secret: str = field(repr=False)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PersonKey:
    """A key a person got by signing in (OCL's `Authorization: Token <key>`)."""

    key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CheckedPassword:
    """A person whose password was checked outside any transaction (Argon2id is heavy CPU work): their
    row id and the hash it matched. Inside the transaction the person must still be active and hold that
    hash (a password changed meanwhile no longer signs in)."""

    person_id: int
    password_hash: str = field(repr=False)
    #: Refused unless the person is staff (what a dialect that only staff may use asks for).
    staff_only: bool = False


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An OAuth 2.0 access token, checked for expiry at the moment given."""

    token: str | None = field(repr=False)
    at: datetime


@dataclass(frozen=True, slots=True)
class Anonymous:
    """No credential, where one is not needed: what anyone may ask (SCIM's discovery of the user types)."""


Credential = ApiToken | PersonKey | CheckedPassword | AccessToken | Anonymous


@dataclass(frozen=True, slots=True)
class HomeSource:
    """In a command, the asking principal's own login source (home_source), or default for a principal
    limited to none or to several: where a dialect that names no login source (SCIM) creates people."""

    default: str

    def of(self, principal: Principal) -> str:
        return principal.home_source or self.default


ANONYMOUS = Principal("anonymous", frozenset(), kind=Kind.ANONYMOUS)


class Authenticator(Protocol):
    """What the directory asks of the credential keeper (auth/): who credentials stand for, checked inside
    the transaction that uses them, and what follows when a person's password changes."""

    def principals(
        self, conn: Connection, credentials: Collection[Credential]
    ) -> dict[Credential, Principal | Unauthenticated]:
        """Each credential's principal, or why it is refused: one answer each, in one query for all (a
        batch of requests asks at once). Operators and Anonymous never reach it."""
        ...

    def principal(self, conn: Connection, credential: Credential) -> Principal | Unauthenticated:
        """One credential's principal, or why it is refused (a read's: the same as principals')."""
        ...

    def password_changed(self, conn: Connection, person_ids: Collection[int]) -> None:
        """These people's passwords changed in conn's transaction: what they signed in with is void."""
        ...

    def hash_password(self, password: str, stored: str | None) -> str:
        """A hash of password to store (stored, if it is already of this password)."""
        ...

    def check_password(self, field: str, value: object) -> str:
        """value, if it is acceptable as a password; Invalid naming field otherwise."""
        ...
