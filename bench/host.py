"""The host a run is on: which cores the servers and the clients are pinned to, and how loaded it is.

On a machine of two cores or more, servers (ours, the reference peer, a reference sender) run on the
last half of the cores this process may use and everything that drives them (this process, wrk, the
delivery sink) on the first half, so that the load generator never takes CPU from the server it is
measuring. `taskset`'s own system call (`sched_setaffinity`) does the pinning; a server started from here is
started under `taskset -c`, so that it is pinned before it runs a line. On one core nothing is pinned.
"""

from __future__ import annotations

import functools
import os
import shutil
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cores:
    """The cores servers and clients run on (empty: not pinned)."""

    server: tuple[int, ...]
    client: tuple[int, ...]

    @property
    def pinned(self) -> bool:
        return bool(self.server)

    def describe(self) -> dict[str, object]:
        return {"server": list(self.server), "client": list(self.client), "pinned": self.pinned}


@functools.cache
def cores() -> Cores:
    """The split of this process's cores between servers and clients (none on a single core), as found
    at the first call: before this process is pinned to the clients' share."""
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2 or shutil.which("taskset") is None:
        return Cores((), ())
    half = len(allowed) // 2
    return Cores(server=tuple(allowed[half:]), client=tuple(allowed[:half]))


def pin_this_process(split: Cores) -> None:
    """Pin this process (and so wrk and every client it starts) to the clients' cores."""
    if split.pinned:
        os.sched_setaffinity(0, split.client)


def under_taskset(command: list[str], on: tuple[int, ...]) -> list[str]:
    """command run pinned to the cores `on` (as it is, when there are none)."""
    if not on:
        return command
    return ["taskset", "-c", ",".join(map(str, on)), *command]


def load() -> dict[str, float]:
    """The host's load averages over 1, 5 and 15 minutes (/proc/loadavg): recorded as a benchmark starts
    and ends, they show what else the host was running meanwhile."""
    with open("/proc/loadavg") as averages:
        one, five, fifteen = (float(x) for x in averages.read().split()[:3])
    return {"load_1m": one, "load_5m": five, "load_15m": fifteen}
