"""python -m bench: run the benchmarks, print a table and write bench/results/<UTC timestamp>.json."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bench import deliveries, directory_bulk, http_push, myon_users, report, scim

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
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    results: list[report.Result] = []
    failures: dict[str, str] = {}
    for name in [args.only] if args.only else list(BENCHMARKS):
        print(f"bench: {name}{' (quick)' if args.quick else ''}", file=sys.stderr, flush=True)
        try:
            produced = BENCHMARKS[name](args.quick, args.database_url)
            results.extend(produced if isinstance(produced, list) else [produced])
        except report.BenchError as exc:
            failures[name] = str(exc)
            print(f"bench: {name} FAILED: {exc}", file=sys.stderr, flush=True)
    options = {"only": args.only, "quick": args.quick, "database_url_given": args.database_url is not None}
    path = report.write(started, options, results, failures)
    print(report.table(results, failures))
    for line in report.cpu_lines(results):
        print(line)
    print(f"\nwritten to {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
