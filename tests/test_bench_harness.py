"""The benchmark harness, end to end, at its smallest plan (`python -m bench --quick`): every benchmark
runs (servers, wrk, the peer, the sink, the reference sender) and writes its rows, so that the harness
cannot rot between the runs that judge its figures. Nothing here judges a figure: the targets are
`make bench`'s business, on a quiet host, never the test suite's."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

from bench import report
from bench.__main__ import BENCHMARKS

REPO = Path(__file__).resolve().parent.parent

#: The rows each benchmark writes.
ROWS = {
    "http_push": {"http_push", "http_push (logged)", "http_push (synchronous=FULL)"},
    "directory_bulk": {"directory_bulk", "directory_bulk (bare table)"},
    "myon_users": {"myon_users"},
    "scim": {
        *("scim_create", "scim_read", "scim_list"),
        *("scim_create (logged)", "scim_read (logged)", "scim_list (logged)"),
        "scim_filter",
    },
    "deliveries": {"delivery_rate", "delivery_latency"},
}


def test_the_quick_plan_runs_every_benchmark_and_writes_every_row(tmp_path: Path) -> None:
    assert set(ROWS) == set(BENCHMARKS)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=REPO,
        env={**os.environ, "BENCH_RESULTS": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:] + done.stdout[-3000:]
    [written] = tmp_path.glob("*.json")
    document = json.loads(written.read_text())
    assert document["failures"] == {}
    rows = {row["name"]: row for row in document["results"]}
    assert set(rows) == set().union(*ROWS.values())
    for name, row in rows.items():
        assert math.isfinite(row["ratio"]), name
        assert row["ratio"] > 0, name
        assert row["figure"] > 0, name
        assert row["reference"] > 0, name
        low, high = row["spread"]
        assert low <= row["ratio"] <= high or row["pooled"], name
        assert row["cpu_us"] > 0, name
    assert {"cores", "load"} <= document["host"].keys()
    for name in rows:  # the printed table has every row
        assert name in done.stdout


def test_the_reference_sender_fails_at_a_call_not_answered(tmp_path: Path) -> None:
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps({"headers": {"Accept": "application/json"}, "body": {"person": {}}}))
    with socket.socket() as unused:  # a port nothing listens on: every call fails to connect
        unused.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{unused.getsockname()[1]}"
        done = subprocess.run(
            [sys.executable, "-m", "bench.sender", str(sample), base, "3"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert f"PUT {base}/ref/" in done.stderr
    assert done.stdout == ""  # no CPU figure for a reference that did not send


def _run_of(**ratios: tuple[float, float, float]) -> dict[str, object]:
    """A result document whose rows have these (ratio, least, greatest) figures."""
    return {"results": [{"name": n, "ratio": r, "spread": [lo, hi]} for n, (r, lo, hi) in ratios.items()]}


def test_two_runs_agree_on_a_row_when_either_ratio_lies_within_the_others_spread() -> None:
    first = _run_of(steady=(1.0, 0.9, 1.1), drifted=(1.0, 0.95, 1.05), apart=(1.0, 0.98, 1.02))
    second = _run_of(steady=(1.05, 0.95, 1.1), drifted=(1.2, 0.9, 1.3), apart=(1.2, 1.15, 1.25))

    text, agreed = report.compare(first, second)

    verdicts = {line.split()[0]: line.split("  ")[-1].strip() for line in text.splitlines()[2:]}
    assert verdicts == {"steady": "both", "drifted": "first's in second's", "apart": "NO"}
    assert not agreed
    assert report.compare(first, _run_of(steady=(1.05, 0.95, 1.1)))[1]
