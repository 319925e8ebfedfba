"""Public ids: valid version-7 UUIDs, unique, in creation order."""

from __future__ import annotations

import time
import uuid

from provisionhub.directory.ids import new_public_id, new_public_ids


def test_public_ids_are_version_7_uuids_of_the_rfc_variant() -> None:
    parsed = uuid.UUID(new_public_id())
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_public_ids_carry_the_time_they_were_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(new_public_id())
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after


def test_public_ids_are_unique_and_later_ones_sort_after_earlier_ones() -> None:
    first = [new_public_id() for _ in range(2000)]
    time.sleep(0.002)
    second = [new_public_id() for _ in range(2000)]
    assert len(set(first + second)) == 4000
    assert max(first) < min(second)


def test_ids_made_at_once_are_valid_distinct_and_of_their_time() -> None:
    before = time.time_ns() // 1_000_000
    made = new_public_ids(5000)
    after = time.time_ns() // 1_000_000

    parsed = [uuid.UUID(text) for text in made]
    assert [str(value) for value in parsed] == made  # the canonical form: lower-case, hyphenated
    assert all(value.version == 7 and value.variant == uuid.RFC_4122 for value in parsed)
    assert all(before <= value.int >> 80 <= after for value in parsed)
    assert len(set(made)) == 5000
    assert new_public_ids(0) == []
