"""Passwords: the rules a new one must meet, Argon2id hashes, and a stored hash kept when it still fits."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from provisionhub.auth.passwords import check_password, hash_for, verify_password
from provisionhub.directory.errors import Invalid, Reason

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("short", Reason.TOO_SHORT),
        ("x" * 257, Reason.TOO_LONG),
        (12345678, Reason.INVALID),
        ("\ud800" * 8, Reason.INVALID),
    ],
)
def test_a_password_must_be_text_of_8_to_256_characters(value: object, reason: Reason) -> None:
    with pytest.raises(Invalid) as caught:
        check_password("password", value)
    assert (caught.value.field, caught.value.reason) == ("password", reason)


def test_a_hash_is_argon2id_salted_and_verifies_only_its_password() -> None:
    first, second = hash_for("open sesame", None), hash_for("open sesame", None)

    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(first, "open sesame")
    assert verify_password(second, "open sesame")
    assert not verify_password(first, "open sesame!")
    assert not verify_password(None, "open sesame")
    assert not verify_password("not a hash", "open sesame")


def test_the_stored_hash_is_kept_for_the_same_password_and_replaced_otherwise() -> None:
    stored = hash_for("open sesame", None)
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("open sesame")

    assert hash_for("open sesame", stored) == stored
    assert hash_for("something else", stored) != stored
    renewed = hash_for("open sesame", weaker)  # the right password, but yesterday's parameters
    assert renewed != weaker
    assert verify_password(renewed, "open sesame")
