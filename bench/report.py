"""Benchmark results: the Result record, the printed table and the JSON file of a run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


class BenchError(Exception):
    """A benchmark could not produce a trustworthy figure; the message says why."""


@dataclass(frozen=True, slots=True)
class Result:
    """One benchmark's figure, the reference measured beside it, and the ratio target (None: none).

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

    @property
    def ratio(self) -> float:
        return self.figure / self.reference if self.reference else float("nan")

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
    header = ("name", "figure", "reference", "ratio", "target", "met?")
    rows = [
        (
            r.name,
            f"{_number(r.figure)} {r.unit}",
            f"{_number(r.reference)} {r.unit} ({r.reference_name})",
            f"{r.ratio:.3f}",
            r.wanted(),
            {None: "-", True: "yes", False: "NO"}[r.met],
        )
        for r in results
    ]
    rows += [(name, "FAILED", reason.splitlines()[0], "", "", "NO") for name, reason in failures.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, tuple("-" * width for width in widths), *rows]
    ]
    return "\n".join(lines)


def _number(value: float) -> str:
    """Thousands separated, or three significant digits for a small figure (a latency in ms)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def cpu_lines(results: list[Result]) -> list[str]:
    """For a benchmark that measured it, the server's CPU time per request against its reference's."""
    lines = []
    for result in results:
        cpu = result.details.get("server_cpu_us_per_request") or {}
        mine, reference = cpu.get("push"), cpu.get(result.reference_name)
        if mine and reference:
            lines.append(
                f"{result.name}: server CPU {mine:,.0f} µs/request against {reference:,.0f} "
                f"({result.reference_name}): ratio {reference / mine:.3f}"
            )
    return lines


def write(
    started: datetime, options: dict[str, Any], results: list[Result], failures: dict[str, str]
) -> Path:
    """Write the run to bench/results/<UTC timestamp>.json and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    document = {
        "started_at": started.isoformat(),
        "options": options,
        "machine": _machine(),
        "commit": _commit(),
        "results": [{**asdict(r), "ratio": r.ratio, "met": r.met} for r in results],
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
            cwd=RESULTS.parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()
