"""People's passwords: checked against a few rules, stored only as Argon2id hashes, never logged.

Parameters are OWASP's recommended minimum for Argon2id (19 MiB of memory, 2 passes, 1 lane), not the
library's heavier default profile (64 MiB, 3 passes, 4 lanes): a bulk request hashes a password for each
of its users, and would run far too long (docs/benchmarks). One lane per hash lets a batch hash on every
core at once (the binding releases the GIL).
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from provisionhub.directory.errors import Invalid, Reason

MIN_LENGTH = 8
#: Longer passphrases gain nothing, and a limit keeps every hash's input small.
MAX_LENGTH = 256

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def check_password(field: str, value: object) -> str:
    """value, if it is acceptable as a password (field names it in the error)."""
    if not isinstance(value, str):
        raise Invalid(field, Reason.INVALID, f"{field} must be text")
    if len(value) < MIN_LENGTH:
        raise Invalid(field, Reason.TOO_SHORT, f"{field} must be at least {MIN_LENGTH} characters")
    if len(value) > MAX_LENGTH:
        raise Invalid(field, Reason.TOO_LONG, f"{field} must be at most {MAX_LENGTH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(field, Reason.INVALID, f"{field} is not valid Unicode text") from None
    return value


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether password is the one stored (as a hash); constant-time in the library."""
    if stored is None:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy() -> str:
    """A hash of a random password, to verify against when there is no stored hash."""
    return hash_password(secrets.token_urlsafe(16))


def verify_or_waste(stored: str | None, password: str) -> bool:
    """verify_password, taking as long when nothing is stored (no such person, or no password) as
    when the password is wrong: a sign-in's timing does not tell who exists."""
    if stored is None:
        verify_password(_decoy(), password)
        return False
    return verify_password(stored, password)


def hash_for(password: str, stored: str | None) -> str:
    """A hash of password to store: the stored one if it is already of this password (and of today's
    parameters), so that sending the same password again changes nothing; otherwise a new one."""
    if stored is not None and verify_password(stored, password) and not _HASHER.check_needs_rehash(stored):
        return stored
    return hash_password(password)
