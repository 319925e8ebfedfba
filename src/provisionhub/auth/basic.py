"""HTTP Basic credentials (RFC 7617): what the dialects that take a username and password (OCL, the
COmanage receiver) share."""

from __future__ import annotations

import base64
import binascii

from provisionhub.directory.errors import Unauthenticated


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
