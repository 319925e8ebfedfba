"""Permissions a credential can carry, and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provisionhub.directory.errors import Forbidden


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
    ADMIN = "admin"  # every permission


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a name for the change log, what they may do, which login sources they may touch
    (None: all), the account whose subtree bounds everything they see and touch (None: unscoped), and
    the kind of credential they presented (token: an API token; oauth: an OAuth client's access token;
    person: a person's own username and password, as staff present them to the COmanage receiver)."""

    name: str
    permissions: frozenset[Permission]
    login_sources: frozenset[str] | None = None
    account: str | None = None
    kind: str = "token"

    @property
    def actor(self) -> str:
        """How the change log names this principal."""
        return f"{self.kind}:{self.name}"

    def can(self, permission: Permission) -> bool:
        return Permission.ADMIN in self.permissions or permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"this credential lacks the {permission.value} permission")

    def require_any(self, *permissions: Permission) -> None:
        if not any(self.can(permission) for permission in permissions):
            needed = " or ".join(permission.value for permission in permissions)
            raise Forbidden(f"this credential needs the {needed} permission")

    def require_login_source(self, login_source: str) -> None:
        if self.login_sources is not None and login_source not in self.login_sources:
            raise Forbidden(f"this credential may not write people of login source {login_source!r}")

    def require_unscoped(self) -> None:
        """Refuse a token scoped to an account where the dialect knows no accounts to bound it by."""
        if self.account is not None:
            raise Forbidden("this token is scoped to one account: only the myON API accepts it")
