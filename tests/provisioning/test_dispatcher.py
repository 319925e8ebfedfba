"""The dispatcher's retry policy: the backoff doubles from its first step up to its cap, its jitter takes
a half to the whole of a step, and a target's Retry-After wins when it asks for longer (up to an hour)."""

from __future__ import annotations

import random

import pytest

from provisionhub.provisioning.dispatcher import RETRY_AFTER_MAX_SECONDS, Policy


def high(bottom: float, top: float) -> float:
    """A jitter that always draws its upper bound: the whole step."""
    return top


def low(bottom: float, top: float) -> float:
    """A jitter that always draws its lower bound."""
    return bottom


def test_the_first_try_waits_the_first_step() -> None:
    assert Policy(backoff_seconds=2.0, jitter=high).backoff(1, None) == 2.0
    assert Policy(backoff_seconds=0.5, jitter=high).backoff(1, None) == 0.5


def test_each_failed_try_doubles_the_step() -> None:
    policy = Policy(backoff_seconds=2.0, backoff_max_seconds=3600.0, jitter=high)

    assert [policy.backoff(tries, None) for tries in range(1, 9)] == [2, 4, 8, 16, 32, 64, 128, 256]


def test_the_jitter_draws_a_factor_between_a_half_and_the_whole_of_the_step() -> None:
    drawn: list[tuple[float, float]] = []

    def three_quarters(bottom: float, top: float) -> float:
        drawn.append((bottom, top))
        return 0.75

    policy = Policy(backoff_seconds=2.0, jitter=three_quarters)

    assert [policy.backoff(tries, None) for tries in (1, 2, 3)] == [1.5, 3.0, 6.0]
    assert drawn == [(0.5, 1.0)] * 3
    assert [Policy(backoff_seconds=2.0, jitter=low).backoff(tries, None) for tries in (1, 2, 3)] == [1, 2, 4]


def test_the_step_stops_doubling_at_the_cap_and_the_jitter_applies_to_the_capped_step() -> None:
    capped = Policy(backoff_seconds=2.0, backoff_max_seconds=60.0, jitter=high)

    assert [capped.backoff(tries, None) for tries in range(4, 9)] == [16, 32, 60, 60, 60]
    assert Policy(backoff_seconds=2.0, backoff_max_seconds=60.0, jitter=low).backoff(7, None) == 30


def test_a_target_failing_for_ever_waits_the_cap_and_never_overflows() -> None:
    policy = Policy(backoff_seconds=2.0, backoff_max_seconds=3600.0, jitter=high)

    assert policy.backoff(10_000, None) == 3600.0


def test_a_retry_after_longer_than_the_backoff_wins() -> None:
    policy = Policy(backoff_seconds=2.0, backoff_max_seconds=60.0, jitter=high)

    assert policy.backoff(1, 30.0) == 30.0
    assert policy.backoff(1, 600.0) == 600.0  # beyond the backoff's cap: the target asked for it


def test_a_retry_after_shorter_than_the_backoff_does_not_shorten_it() -> None:
    policy = Policy(backoff_seconds=2.0, backoff_max_seconds=60.0, jitter=high)

    assert policy.backoff(3, 1.0) == 8.0
    assert policy.backoff(3, 0.0) == 8.0
    assert Policy(backoff_seconds=2.0, jitter=low).backoff(3, 3.0) == 4.0  # against the jittered step


def test_a_retry_after_is_honoured_up_to_an_hour() -> None:
    policy = Policy(backoff_seconds=2.0, backoff_max_seconds=60.0, jitter=high)

    assert RETRY_AFTER_MAX_SECONDS == 3600.0
    assert policy.backoff(1, 86_400.0) == 3600.0
    assert policy.backoff(1, 3599.0) == 3599.0
    beyond = Policy(backoff_seconds=7200.0, backoff_max_seconds=7200.0, jitter=high)
    assert beyond.backoff(1, 86_400.0) == 7200.0  # the hour caps what the target asks, not the backoff


@pytest.mark.parametrize("tries", [1, 4, 20])
def test_by_default_the_jitter_is_drawn_from_random(tries: int) -> None:
    policy = Policy(backoff_seconds=2.0, backoff_max_seconds=3600.0)
    step = min(3600.0, 2.0 * 2 ** (tries - 1))

    random.seed(tries)
    waited = policy.backoff(tries, None)
    random.seed(tries)

    assert waited == step * random.uniform(0.5, 1.0)
    assert step / 2 <= waited <= step


def test_the_jitter_is_no_part_of_a_policys_identity() -> None:
    assert Policy(jitter=high) == Policy(jitter=low) == Policy()
    assert repr(Policy(jitter=high)) == repr(Policy())
