"""Who is calling OCL, as OCL takes credentials: `Authorization: Token <key>` with a key from
`POST /users/login/`, HTTP Basic with a username and password, and provisionhub's API tokens as
`Token <token>` or `Bearer <token>`.

What each may do is the directory's to decide: people act as themselves (anyone signed in may read; staff,
`provisionhub staff grant`, may administer users); an API token acts with its permissions (user-read to
read; user-create, user-update, reactivation too, and user-delete, deactivation) and its scope. Here
only the refusals are worded as OCL words them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from starlette.requests import Request

from provisionhub.auth.basic import basic_credentials
from provisionhub.auth.credentials import Credentials
from provisionhub.auth.tokens import PREFIX as TOKEN_PREFIX
from provisionhub.directory.access import ApiToken, CheckedPassword, Credential, PersonKey
from provisionhub.directory.errors import CredentialProblem, Forbidden, Unauthenticated

NOT_PROVIDED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."  # noqa: S105 (a message, not a secret)
INVALID_PASSWORD = "Invalid username/password."  # noqa: S105 (a message)
INACTIVE = "User inactive or deleted."
DENIED = "You do not have permission to perform this action."

T = TypeVar("T")


async def credential(request: Request, credentials: Credentials) -> Credential:
    """What the request presents; a Basic password is checked here (Unauthenticated if wrong)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    match scheme.lower():
        case "token" | "bearer" if value:
            return ApiToken(value) if value.startswith(TOKEN_PREFIX) else PersonKey(value)
        case "basic" if value:
            username, password = basic_credentials(value)
            return await credentials.checked_password(username, password, INVALID_PASSWORD)
    raise Unauthenticated(NOT_PROVIDED)


@contextmanager
def worded(presented: Credential) -> Iterator[None]:
    """The directory's refusals of a credential, as OCL words them: a key or a password that no longer
    works, a person no longer active, a person lacking what staff may do."""
    try:
        yield
    except Unauthenticated as exc:
        if exc.problem is CredentialProblem.INACTIVE:
            raise Unauthenticated(INACTIVE) from None
        if isinstance(presented, PersonKey):
            raise Unauthenticated(INVALID_TOKEN) from None
        if isinstance(presented, CheckedPassword):
            raise Unauthenticated(INVALID_PASSWORD) from None
        raise
    except Forbidden:
        if isinstance(presented, PersonKey | CheckedPassword):
            raise Forbidden(DENIED) from None
        raise


async def as_ocl(presented: Credential, asked: Awaitable[T]) -> T:
    """What asked answers, its refusals worded as OCL words them."""
    with worded(presented):
        return await asked
