"""Alternating rounds: a warm-up of each side, then rounds in which each side is driven in turn, each
side's server idle (its earlier load finished) before any run starts, and its CPU time measured around
the run. A comparison's ratio is then the median of its rounds' own ratios, with their min and max."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.report import BenchError
from bench.server import Server, per_unit_us, wait_idle
from bench.wrk import WrkRun


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a comparison: its name, the server it loads, how one run of it is driven (for so many
    seconds, with a label unique to the run), and the server's log."""

    name: str
    server: Server
    drive: Callable[[float, str], WrkRun]
    log: Path


@dataclass(frozen=True, slots=True)
class Measured:
    """One run of one side in round number `round` (-1: its warm-up), with its server's CPU time per
    request."""

    kind: str
    side: str
    round: int
    run: WrkRun
    cpu_us: float | None


def alternate(kind: str, sides: Sequence[Side], warmup: float, seconds: float, rounds: int) -> list[Measured]:
    """A warm-up of each side, then `rounds` rounds of every side in turn; every run (a warm-up's round
    is -1). Before each run every server in the comparison is waited for until idle: a server still
    working through requests queued by the last run (wrk stops sending, not the server working) would
    take CPU from the next."""
    measured: list[Measured] = []
    servers = list({s.server.pid: s.server for s in sides}.values())
    steps = [(side, warmup, "w", -1) for side in sides]
    steps += [(side, seconds, f"r{n}", n) for n in range(rounds) for side in sides]
    for side, length, label, number in steps:
        wait_idle(*servers)
        done, cpu = timed(side, length, label)
        cpu_text = "" if cpu is None else f", server CPU {cpu:,.0f} µs/request"
        print(
            f"bench:   {kind} {side.name}{'' if number >= 0 else ' (warm-up)'}: "
            f"{done.requests_per_second:,.0f} req/s{cpu_text}",
            file=sys.stderr,
        )
        measured.append(Measured(kind, side.name, number, done, cpu))
    return measured


def timed(side: Side, seconds: float, label: str) -> tuple[WrkRun, float | None]:
    """One run of a side, checked, with its server's CPU time per request (None: unknown)."""
    before = side.server.cpu_seconds()
    done = side.drive(seconds, label)
    used = side.server.cpu_since(before)
    check_run(done, side.log)
    return done, per_unit_us(used, done.requests)


def check_run(measured: WrkRun, log: Path) -> None:
    """Fail loudly on any non-2xx answer or socket error: the figure would not be of real requests."""
    errors = {name: count for name, count in measured.socket_errors.items() if count}
    if measured.non_2xx or errors:
        server = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise BenchError(
            f"{measured.path}: {measured.non_2xx} non-2xx responses, socket errors {errors or 'none'} "
            f"in {measured.requests} requests\nserver log (end):\n{server}"
        )
    if measured.requests == 0:
        raise BenchError(f"{measured.path}: wrk completed no request")


@dataclass(frozen=True, slots=True)
class Compared:
    """Two sides' rates and CPU per request over the rounds: medians of each, and each round's ratio."""

    figure: float
    reference: float
    round_ratios: tuple[float, ...]
    cpu_us: float | None
    reference_cpu_us: float | None


def compare(measured: Sequence[Measured], kind: str, figure_side: str, reference_side: str) -> Compared:
    """The figure side against the reference side over the rounds of one kind of run."""

    def of(side: str) -> dict[int, Measured]:
        return {m.round: m for m in measured if m.kind == kind and m.side == side and m.round >= 0}

    mine, theirs = of(figure_side), of(reference_side)
    numbers = sorted(mine.keys() & theirs.keys())
    if not numbers:
        raise BenchError(f"{kind}: no round measured both {figure_side} and {reference_side}")
    return Compared(
        figure=statistics.median(mine[n].run.requests_per_second for n in numbers),
        reference=statistics.median(theirs[n].run.requests_per_second for n in numbers),
        round_ratios=tuple(
            mine[n].run.requests_per_second / theirs[n].run.requests_per_second for n in numbers
        ),
        cpu_us=median_or_none([mine[n].cpu_us for n in numbers]),
        reference_cpu_us=median_or_none([theirs[n].cpu_us for n in numbers]),
    )


def median_or_none(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None
