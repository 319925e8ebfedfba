"""Public ids: UUIDs of version 7 (RFC 9562), which sort by creation time.

A random (version 4) id puts every new row on a random page of each index that holds it: the people's
public ids and the change log's entity index. Time-ordered ids append to those indexes instead, so a
commit writes a few pages rather than one per row, and the pages in use stay in cache.
"""

from __future__ import annotations

import secrets
import time


def new_public_id() -> str:
    """A version-7 UUID: 48 bits of Unix milliseconds, then 74 random bits, as a string."""
    millis = time.time_ns() // 1_000_000
    value = (millis & 0xFFFF_FFFF_FFFF) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
