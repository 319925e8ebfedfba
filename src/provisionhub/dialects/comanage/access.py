"""Who is provisioning: HTTP Basic, as COmanage's HTTP servers send it, with an API token's name and
secret, or with a provisionhub staff member's username and password.

A token acts with its permissions (user-create, user-update, user-delete; admin is all of them) and its
scope; staff act as they may through OCL. What a message may do is the directory's to decide; a
credential that may not provision at all is refused before the body is read.
"""

from __future__ import annotations

from starlette.requests import Request

from provisionhub.auth.basic import basic_credentials
from provisionhub.auth.credentials import Credentials
from provisionhub.auth.tokens import PREFIX as TOKEN_PREFIX
from provisionhub.directory.access import ApiToken, Credential, Permission
from provisionhub.directory.errors import CredentialProblem, Forbidden, Unauthenticated
from provisionhub.directory.service import Directory

NOT_PROVIDED = (
    "HTTP Basic credentials are required: an API token's name and secret, or a staff member's username "
    "and password"
)
REFUSED = "the username and password are not those of an API token or of a staff member"
INACTIVE = "this staff member is not active"
NOT_STAFF = "only provisionhub staff, or an API token, may provision people"
#: A credential holding none of these may not provision at all.
PROVISIONING = (Permission.USER_CREATE, Permission.USER_UPDATE, Permission.USER_DELETE)


async def credential(request: Request, directory: Directory, credentials: Credentials) -> Credential:
    """The request's credential, checked (401 or 403 if it may not provision at all)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Unauthenticated(NOT_PROVIDED)
    username, password = basic_credentials(value.strip())
    if password.startswith(TOKEN_PREFIX):
        token = ApiToken(password, name=username)
        try:
            await directory.principal(token, *PROVISIONING)
            return token
        except Unauthenticated:
            pass  # not a token's after all: perhaps a staff member's password that looks like one
    presented = await credentials.checked_password(username, password, REFUSED)
    try:
        await directory.principal(presented, *PROVISIONING)
    except Unauthenticated as exc:
        raise Unauthenticated(INACTIVE if exc.problem is CredentialProblem.INACTIVE else REFUSED) from None
    except Forbidden:
        raise Forbidden(NOT_STAFF) from None
    return presented
