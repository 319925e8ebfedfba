"""Running wrk (installed with apt-get when missing and root) and reading its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.report import BenchError

SCRIPT = Path(__file__).resolve().parent / "push.lua"
THREADS = 2
CONNECTIONS = 16

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True, slots=True)
class WrkRun:
    """What one wrk run reports."""

    path: str
    seconds: float
    requests: int
    requests_per_second: float
    non_2xx: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]


def ensure_wrk() -> str:
    """The path of wrk; installs the Debian package when it is missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed and this is not root: install it with `apt-get install wrk`")
    print("bench: wrk is missing; installing it with apt-get", file=sys.stderr, flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is not installed and `apt-get install -y wrk` did not install it")
    return found


def run_wrk(
    wrk: str,
    base_url: str,
    path: str,
    seconds: float,
    tag: str,
    head: str,
    tail: str,
    authorization: str | None = None,
) -> WrkRun:
    """Drive POST base_url+path for `seconds` with push.lua; each request's key starts with tag, and
    carries authorization (an Authorization header's value) when given."""
    arguments = [path, tag, head, tail, *([authorization] if authorization else [])]
    return run_script(wrk, base_url, SCRIPT, arguments, seconds, path)


def run_script(
    wrk: str, base_url: str, script: Path, arguments: Sequence[str], seconds: float, label: str
) -> WrkRun:
    """Drive base_url for `seconds` with a wrk lua script and its arguments; label names the run."""
    command = [
        wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "10s", "--latency",
        "-s", str(script), base_url, "--", *arguments,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish a {seconds:g} s run against {label}") from None
    if done.returncode != 0 or done.stderr.strip():
        raise BenchError(f"wrk failed against {label} (exit {done.returncode}):\n{done.stderr}{done.stdout}")
    return parse(done.stdout, label)


def parse(output: str, path: str) -> WrkRun:
    """Read wrk's text report (with --latency)."""
    totals = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if totals is None or rate is None:
        raise BenchError(f"could not read wrk's report for {path}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = map(int, socket.groups()) if socket else (0, 0, 0, 0)
    latency = re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return WrkRun(
        path=path,
        seconds=float(totals.group(2)) * _UNITS_MS[totals.group(3)] / 1000.0,
        requests=int(totals.group(1)),
        requests_per_second=float(rate.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), counts, strict=True)),
        latency_ms={f"p{percent}": float(value) * _UNITS_MS[unit] for percent, value, unit in latency},
    )
