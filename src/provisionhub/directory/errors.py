"""The core's typed errors. Each dialect maps them to its own wire format, once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a value was refused; dialects with error codes map (field, reason) onto their codes."""

    REQUIRED = "required"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    INVALID = "invalid"
    UNKNOWN = "unknown"
    OUT_OF_SCOPE = "out_of_scope"  # outside what the credential may touch


class DirectoryError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(DirectoryError):
    """A value that breaks a rule. field is the domain name of what was wrong."""

    def __init__(self, field: str, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


class Conflict(DirectoryError):
    """A value that must be unique is already taken (field names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def worded_as(error: Invalid | Conflict, name: str) -> str:
    """error's message naming its field as a dialect calls it (name). Only the name a message starts
    with is the field's: "building ... is an account, not a building" keeps its last word."""
    if name != error.field and error.message.startswith(f"{error.field} "):
        return name + error.message[len(error.field) :]
    return error.message


class NotFound(DirectoryError):
    """The thing asked for does not exist (or is not visible to the caller). what names the kind of thing
    where a caller may need to tell one kind from another (a command that looks up two)."""

    def __init__(self, message: str, what: str | None = None) -> None:
        super().__init__(message)
        self.what = what


class OutOfScope(NotFound):
    """The thing asked for exists, outside what the credential may see: to it, it does not exist. Most
    dialects answer it as NotFound; one whose real system refuses such a request whole (UNIWeb) says so."""


class VersionMismatch(DirectoryError):
    """A write made on condition of a version (If-Match) found another one: current."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


class CredentialProblem(StrEnum):
    """Why a credential was refused; dialects word each for their clients."""

    MISSING = "missing"  # none was presented
    UNKNOWN = "unknown"  # no such credential, or not its secret
    REVOKED = "revoked"  # revoked (an API token, an OAuth client)
    EXPIRED = "expired"  # an OAuth access token past its hour: a client gets a new one and retries
    INACTIVE = "inactive"  # a person's own credential, while they are not active


class Unauthenticated(DirectoryError):
    """No credential, or one that is unknown or revoked; problem says which."""

    def __init__(self, message: str, problem: CredentialProblem = CredentialProblem.UNKNOWN) -> None:
        super().__init__(message)
        self.problem = problem


class Forbidden(DirectoryError):
    """A valid credential without the right to do this."""


@dataclass(frozen=True, slots=True)
class ItemError:
    """One refused item of a batch: its position in the batch and what was wrong with it."""

    index: int
    error: Invalid | Conflict | NotFound


class Rejected(DirectoryError):
    """A batch command refused whole: nothing was written. errors lists every failing item."""

    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__(f"{len(errors)} item(s) refused; nothing was written")
        self.errors = errors
