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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.report import BenchError

#: A server is idle once it used at most this share of one core over IDLE_WINDOW seconds: /proc counts CPU
#: time in ticks of 10 ms, and our server's dispatcher looks for due deliveries every second (a tick, now
#: and then, on an idle server), where a server still at work uses most of the window.
IDLE_SHARE = 0.05
IDLE_WINDOW = 0.5
IDLE_TIMEOUT = 60.0


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


def wait_idle(servers: Sequence[tuple[str, Callable[[], float | None]]]) -> float:
    """Wait until every server's CPU time (its name, and how to read its CPU seconds) stops growing: each
    has finished the work queued by the load before (wrk stops sending, not the server working). The
    seconds waited; a server whose CPU time cannot be read is not waited for."""
    began = time.monotonic()
    busy = {name: read for name, read in servers if read() is not None}
    previous = {name: read() for name, read in busy.items()}
    while busy:
        time.sleep(IDLE_WINDOW)
        for name, read in list(busy.items()):
            now, before = read(), previous[name]
            if now is None or before is None or now - before <= IDLE_SHARE * IDLE_WINDOW:
                del busy[name]
            previous[name] = now
        if busy and time.monotonic() - began > IDLE_TIMEOUT:
            raise BenchError(f"{', '.join(busy)} still busy {IDLE_TIMEOUT:.0f} s after the load stopped")
    return time.monotonic() - began
