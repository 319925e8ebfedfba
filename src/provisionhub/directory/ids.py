"""Public ids: UUIDs of version 7 (RFC 9562), which sort by creation time.

A random (version 4) id puts every new row on a random page of each index that holds it: the people's
public ids and the change log's entity index. Time-ordered ids append to those indexes instead, so a
commit writes a few pages rather than one per row, and the pages in use stay in cache.
"""

from __future__ import annotations

import secrets
import time

#: A random hex digit -> the variant digit (binary 10xx) keeping its two low bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_public_ids(count: int) -> list[str]:
    """count version-7 UUIDs, as strings, made at once: one reading of the clock and one draw of random
    bytes for all, where new_public_id pays a system call for its own random bytes, most of its cost
    (docs/benchmarks). Nothing is kept for later: the ids are new in a fork too.
    """
    stamp = f"{time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"  # 48 bits of Unix milliseconds, then the version
    random = secrets.token_hex(10 * count)  # 20 hex digits an id, of which 74 bits are used
    ids = []
    for at in range(0, 20 * count, 20):
        digits = random[at : at + 20]
        # 12 random bits; the variant (binary 10) with 2 random bits, and 12 more; 48 random bits
        ids.append(f"{head}{digits[:3]}-{_VARIANT[digits[3]]}{digits[4:7]}-{digits[8:]}")
    return ids


def new_public_id() -> str:
    """A version-7 UUID: 48 bits of Unix milliseconds, then 74 random bits, as a string."""
    return new_public_ids(1)[0]
