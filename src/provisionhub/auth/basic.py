"""HTTP Basic credentials (RFC 7617), and checking a person's username and password: what the dialects
that take a username and password (OCL, the COmanage receiver) share."""

from __future__ import annotations

import base64
import binascii

import anyio.to_thread

from provisionhub.auth.passwords import verify_or_waste
from provisionhub.auth.person_keys import Holder, holder_by_username
from provisionhub.directory.errors import Unauthenticated
from provisionhub.store.database import Database


def basic_credentials(value: str) -> tuple[str, str]:
    """The username and password of a Basic header's value (what follows `Basic `); Unauthenticated
    if it is not base64 of UTF-8 text with a colon in it."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("Invalid basic header. Credentials not correctly base64 encoded.") from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthenticated("Invalid basic header. No colon between username and password.")
    return username, password


async def verified(database: Database, username: str, password: str, refusal: str) -> Holder:
    """The person with this username, if the password is theirs; Unauthenticated(refusal) if not.
    The check runs on a worker thread, and takes as long for nobody as for a wrong password: no
    probing for usernames."""
    holder = await database.read(lambda conn: holder_by_username(conn, username))
    stored = holder.password_hash if holder is not None else None
    if not await anyio.to_thread.run_sync(verify_or_waste, stored, password) or holder is None:
        raise Unauthenticated(refusal)
    return holder
