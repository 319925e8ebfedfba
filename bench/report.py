"""Benchmark results: the Result record, the printed table and the JSON file of a run."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: Where each run's JSON is written: bench/results, or BENCH_RESULTS (the harness's test's own folder).
RESULTS = Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


class BenchError(Exception):
    """A benchmark could not produce a trustworthy figure; the message says why."""


@dataclass(frozen=True, slots=True)
class Result:
    """One benchmark's figure, the reference measured beside it, and the ratio target (None: none).

    figure and reference are each side's median over the rounds; round_ratios are the rounds' own
    ratios (figure over reference, each round's two measured minutes apart at most), and the ratio is
    their median, with their min and max as its spread. A pooled ratio (the filter's: a p99 over every
    round's requests together) is figure over reference, the rounds giving its spread only.
    cpu_us and reference_cpu_us are the CPU time of the server (or process) doing the work, per
    cpu_per (a request, a person, a delivery), medians over the rounds; None where it was not measured.

    A ratio must reach the target, or, when lower_is_better (a latency), stay at or under it; a limit
    is an absolute bound the figure must stay at or under as well, a floor one it must reach.
    """

    name: str
    unit: str
    figure: float
    reference: float
    reference_name: str
    target: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    lower_is_better: bool = False
    limit: float | None = None
    floor: float | None = None
    round_ratios: tuple[float, ...] = ()
    pooled: bool = False
    cpu_us: float | None = None
    reference_cpu_us: float | None = None
    cpu_per: str = "request"

    @property
    def ratio(self) -> float:
        if self.round_ratios and not self.pooled:
            return statistics.median(self.round_ratios)
        return self.figure / self.reference if self.reference else float("nan")

    @property
    def spread(self) -> tuple[float, float] | None:
        """The least and the greatest of the rounds' ratios (None: a single measurement)."""
        return (min(self.round_ratios), max(self.round_ratios)) if self.round_ratios else None

    @property
    def met(self) -> bool | None:
        if self.target is None and self.limit is None and self.floor is None:
            return None
        if self.floor is not None and self.figure < self.floor:
            return False
        if self.target is not None and not (
            self.ratio <= self.target if self.lower_is_better else self.ratio >= self.target
        ):
            return False
        return self.limit is None or self.figure <= self.limit

    def wanted(self) -> str:
        """The target as text: "-" when there is none."""
        parts = []
        if self.target is not None:
            parts.append(f"{'<=' if self.lower_is_better else '>='} {self.target:g}")
        if self.limit is not None:
            parts.append(f"{self.unit} <= {self.limit:g}")
        if self.floor is not None:
            parts.append(f"{self.unit} >= {self.floor:g}")
        return ", ".join(parts) or "-"


def table(results: list[Result], failures: dict[str, str]) -> str:
    """The results as an aligned text table, failures last."""
    header = ("name", "figure", "reference", "ratio", "rounds' min-max", "server CPU µs", "target", "met?")
    rows = [
        (
            r.name,
            f"{_number(r.figure)} {r.unit}",
            f"{_number(r.reference)} {r.unit} ({r.reference_name})",
            f"{r.ratio:.3f}",
            _spread(r),
            _cpu(r),
            r.wanted(),
            {None: "-", True: "yes", False: "NO"}[r.met],
        )
        for r in results
    ]
    rows += [
        (name, "FAILED", reason.splitlines()[0], "", "", "", "", "NO") for name, reason in failures.items()
    ]
    return _aligned(header, rows)


def _aligned(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Rows as text in columns as wide as their widest cell, under the header and a rule."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, tuple("-" * width for width in widths), *rows]
    ]
    return "\n".join(lines)


def _number(value: float) -> str:
    """Thousands separated, or three significant digits for a small figure (a latency in ms)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _spread(result: Result) -> str:
    if result.spread is None:
        return "-"
    low, high = result.spread
    return f"{low:.3f}-{high:.3f} ({len(result.round_ratios)})"


def _cpu(result: Result) -> str:
    """The two sides' server CPU per unit of work, the figure's first: "163 / 875 a request"."""
    if result.cpu_us is None and result.reference_cpu_us is None:
        return "-"
    sides = [_number(v) if v is not None else "?" for v in (result.cpu_us, result.reference_cpu_us)]
    return f"{sides[0]} / {sides[1]} a {result.cpu_per}"


def write(
    started: datetime,
    options: dict[str, Any],
    results: list[Result],
    failures: dict[str, str],
    host: dict[str, Any],
) -> Path:
    """Write the run to bench/results/<UTC timestamp>.json and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "started_at": started.isoformat(),
        "options": options,
        "machine": _machine(),
        "host": host,
        "commit": _commit(),
        "results": [{**asdict(r), "ratio": r.ratio, "spread": r.spread, "met": r.met} for r in results],
        "failures": failures,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def _commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def compare(first: dict[str, Any], second: dict[str, Any]) -> tuple[str, bool]:
    """Two runs' documents side by side, row by row: each run's ratio and its rounds' spread, and where
    each run's ratio lies in the other's spread. Two runs agree on a row when either's ratio lies within
    the other's spread (their difference is no more than one run's rounds moved); "both" says each does.
    The text, and whether every row agrees."""
    earlier = {row["name"]: row for row in first["results"]}
    header = ("name", "first: ratio (min-max)", "second: ratio (min-max)", "within the other's spread")
    rows, agreed = [], True
    for row in second["results"]:
        other = earlier.get(row["name"])
        if other is None:
            continue
        second_in_first = _within(row["ratio"], other.get("spread"))
        first_in_second = _within(other["ratio"], row.get("spread"))
        agreed = agreed and (second_in_first or first_in_second)
        verdict = {
            (True, True): "both",
            (True, False): "second's in first's",
            (False, True): "first's in second's",
            (False, False): "NO",
        }[second_in_first, first_in_second]
        rows.append((row["name"], _with_spread(other), _with_spread(row), verdict))
    return _aligned(header, rows), agreed


def _within(ratio: float, spread: list[float] | None) -> bool:
    return spread is None or spread[0] <= ratio <= spread[1]


def _with_spread(row: dict[str, Any]) -> str:
    spread = row.get("spread")
    return f"{row['ratio']:.3f}" + (f" ({spread[0]:.3f}-{spread[1]:.3f})" if spread else "")
