"""python -m bench: run the benchmarks, print a table and write bench/results/<UTC timestamp>.json."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import deliveries, directory_bulk, host, http_push, myon_users, report, scim

#: Each runs with (quick, database_url) and returns its result, or several for a benchmark of several
#: targets (scim: one a kind of request).
BENCHMARKS: dict[str, Callable[[bool, str | None], report.Result | list[report.Result]]] = {
    "http_push": http_push.run,
    "directory_bulk": directory_bulk.run,
    "myon_users": myon_users.run,
    "scim": scim.run,
    "deliveries": deliveries.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run this benchmark alone")
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    parser.add_argument(
        "--database-url",
        help="database for the HTTP bench (e.g. postgresql+psycopg://...); default: a temp SQLite file",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar="RESULT",
        type=Path,
        help="compare two runs' result files row by row instead of running anything",
    )
    args = parser.parse_args(argv)
    if args.compare:
        first, second = (json.loads(path.read_text()) for path in args.compare)
        text, agreed = report.compare(first, second)
        print(text)
        return 0 if agreed else 1
    started = datetime.now(UTC)
    cores = host.cores()
    host.pin_this_process(cores)
    host_record: dict[str, Any] = {"cores": cores.describe(), "load": {"start": host.load()}}
    results: list[report.Result] = []
    failures: dict[str, str] = {}
    for name in [args.only] if args.only else list(BENCHMARKS):
        host_record["load"][f"{name} start"] = started_load = host.load()
        quick = " (quick)" if args.quick else ""
        print(f"bench: {name}{quick}; host {started_load}", file=sys.stderr, flush=True)
        try:
            produced = BENCHMARKS[name](args.quick, args.database_url)
            results.extend(produced if isinstance(produced, list) else [produced])
        except report.BenchError as exc:
            failures[name] = str(exc)
            print(f"bench: {name} FAILED: {exc}", file=sys.stderr, flush=True)
        host_record["load"][f"{name} end"] = host.load()
    options = {"only": args.only, "quick": args.quick, "database_url_given": args.database_url is not None}
    path = report.write(started, options, results, failures, host_record)
    print(report.table(results, failures))
    print(f"\nservers on cores {list(cores.server) or 'any'}, clients on {list(cores.client) or 'any'}; "
          f"host load (1 min) {host_record['load']['start']['load_1m']} at the start, "
          f"{host.load()['load_1m']} at the end")  # fmt: skip
    print(f"written to {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
