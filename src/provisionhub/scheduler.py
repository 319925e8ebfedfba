"""The lifecycle's runs: one pass applying every transition due (for cron, `provisionhub lifecycle run`),
or a pass every interval inside `serve`; and the clock serve runs such passes on (`every`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from provisionhub.directory.lifecycle import BATCH_SIZE, WINDOW_STATUSES
from provisionhub.directory.people import Status
from provisionhub.directory.service import Directory

log = logging.getLogger(__name__)


async def run_lifecycle(
    directory: Directory, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[Status, int]:
    """One pass at now (default: the directory's clock): every due transition, a batch a transaction.
    How many people moved to each window status."""
    moment = now if now is not None else directory.now()
    moved = dict.fromkeys(WINDOW_STATUSES, 0)
    while True:
        batch = await directory.advance_lifecycle(moment, batch_size)
        for transition in batch:
            moved[transition.new] += 1
        if len(batch) < batch_size:
            return moved


async def run_periodically(directory: Directory, interval: float, batch_size: int = BATCH_SIZE) -> None:
    """The lifecycle's pass now and every interval seconds after, until cancelled."""

    async def one_pass() -> str | None:
        moved = await run_lifecycle(directory, batch_size=batch_size)
        return ", ".join(f"{n} {status.value}" for status, n in moved.items() if n) or None

    await every(interval, "lifecycle", one_pass)


async def every(interval: float, what: str, run: Callable[[], Awaitable[str | None]]) -> None:
    """What serve does on a clock (the lifecycle, retention): run now and every interval seconds after,
    until cancelled. What a pass says it did is logged; a failed pass is logged with its traceback, and
    the next one comes on time."""
    while True:
        try:
            said = await run()
        except Exception:
            log.exception("%s: the pass failed; the next one is in %g s", what, interval)
        else:
            if said:
                log.info("%s: %s", what, said)
        await asyncio.sleep(interval)
