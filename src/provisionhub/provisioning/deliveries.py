"""A delivery: one person's changes owed to one target. Its states, the row of a new one, a delivery claimed
for sending and how one try of it went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from provisionhub.directory.people import Person
from provisionhub.provisioning.targets import Target


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"
    FOLDED = "folded"  # taken into an older delivery of its pair, which sends the newest state


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a dispatcher has claimed, with what it needs to send it."""

    id: int
    target: Target
    person: Person
    groups: list[str]
    event: str
    event_id: str
    attempts: int
    remote_id: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one try of a claimed delivery went.

    ok: the target took it. status: the HTTP status (None: no answer). retry_after: seconds the target
    asked us to wait (429, 503). final: no try could ever succeed (the person has no identifier of the
    target's type): dead at once. remote_id: the id the target gave the person (SCIM), "" to forget it.
    """

    ok: bool
    status: int | None = None
    response: str | None = None
    error: str | None = None
    retry_after: float | None = None
    final: bool = False
    remote_id: str | None = None
    elapsed_ms: int | None = None


def new_delivery(
    target_id: int, person_id: int, outbox_id: int | None, event: str, now: datetime
) -> dict[str, Any]:
    """The row of a delivery queued now, due at once (outbox_id None: queued by an operator)."""
    return {
        "target_id": target_id,
        "person_id": person_id,
        "outbox_id": outbox_id,
        "event": event,
        "state": DeliveryState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
