"""The lifecycle's runs: one pass applying every transition due (for cron, `provisionhub lifecycle run`),
or a pass every interval inside `serve`."""

from __future__ import annotations

import asyncio
import logging
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
    """A pass now and every interval seconds after, until cancelled. A failed pass is logged; the next
    one comes on time."""
    while True:
        try:
            moved = await run_lifecycle(directory, batch_size=batch_size)
        except Exception:
            log.exception("lifecycle: the pass failed; the next one is in %g s", interval)
        else:
            if any(moved.values()):
                log.info("lifecycle: %s", ", ".join(f"{n} {s.value}" for s, n in moved.items() if n))
        await asyncio.sleep(interval)
