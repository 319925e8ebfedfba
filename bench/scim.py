"""SCIM benchmark: provisionhub's /scim/v2 against scim2-server, the reference peer, in the same run.

Both run under uvicorn (one worker, uvloop) on loopback: provisionhub as `provisionhub serve` runs it (its
HTTP protocol, uvicorn's httptools with each response in one write), and the peer the same way, with the same
process tuning, over its in-memory storage: neither side has a response path or tuning the other lacks.
First each side creates Users until both hold about plan.list_users, as many as each other (a list page
costs more the more Users a side holds). Then wrk (16 connections) drives, in rounds alternating between
the two: reads by id (GET /Users/{id} of the first 1,000 Users), list pages (GET
/Users?startIndex=..&count=100 at random starts) and creates (POST /Users, a new userName each; on our side
each committed with its change-log and outbox rows). Then the latency of a `userName eq` filter on our side,
with 1,000 and with 100,000 SCIM people stored: on SQLite two databases served at once and timed request
by request in turn; on PostgreSQL one database, timed at 1,000 and again once grown to 100,000. On
PostgreSQL the tables are analysed after each load (as autovacuum would, where it is on).
"""

from __future__ import annotations

import itertools
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import scim_filter
from bench.http_push import check_run, count_people
from bench.report import BenchError, Result
from bench.scim_peer import serve_peer
from bench.server import Server, request, serve
from bench.wrk import CONNECTIONS, WrkRun, ensure_wrk, run_script, run_wrk
from devtools.scratch import scratch_postgres_database
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade

PATHS_SCRIPT = Path(__file__).resolve().parent / "paths.lua"
PAGE = 100
READ_IDS = 1_000
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
#: A create's body: HEAD with the request's key three times, then TAIL; push.lua formats it.
HEAD = (
    f'{{"schemas":["{USER_SCHEMA}"],"userName":"u%s@bench.example.org","displayName":"Babs %s",'
    '"emails":[{"value":"e%s@bench.example.org","type":"work","primary":true}],'
)
TAIL = '"name":{"givenName":"Barbara","familyName":"Jensen"},"active":true}'
TARGETS = {"create": 5.0, "read": 3.0, "list": 20.0}
#: Before the reads and list pages, each side creates Users until both hold plan.list_users and are this
#: close (a fraction of the larger), for at most this long.
EVEN_WITHIN = 0.02
FILL_SECONDS = 180.0
FILTER_P99_LIMIT_MS = 10.0
#: "No slower at 100,000 people than at 1,000" (indexes, not scans): the larger's p99 within this factor
#: of the smaller's, about as far as the p99 moves from run to run of the same code; a search that scanned
#: the table would be tens of times slower (the runs behind it: bench/README.md).
FILTER_NO_SLOWER_WITHIN = 1.10


@dataclass(frozen=True, slots=True)
class Plan:
    """Seconds of each wrk run (warm-up and measured), rounds per kind, the Users each side holds for the
    reads and list pages, and the filter stages: people stored at each, rounds and requests a round."""

    warmup: float
    seconds: float
    rounds: int
    list_users: int
    small: int
    large: int
    filter_rounds: int
    filter_requests: int


FULL = Plan(
    warmup=2,
    seconds=6,
    rounds=3,
    list_users=20_000,
    small=1_000,
    large=100_000,
    filter_rounds=5,
    filter_requests=1_000,
)
QUICK = Plan(
    warmup=1,
    seconds=2,
    rounds=2,
    list_users=5_000,
    small=1_000,
    large=10_000,
    filter_rounds=2,
    filter_requests=200,
)


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two servers: its name, where it serves SCIM, and its Authorization header's value."""

    name: str
    server: Server
    prefix: str
    authorization: str
    log: Path


@dataclass(frozen=True, slots=True)
class Measured:
    """One measured wrk run of one side, with the server's CPU time per request (None: unknown)."""

    kind: str
    side: str
    run: WrkRun
    cpu_us: float | None


def run(quick: bool, database_url: str | None) -> list[Result]:
    """Creates, reads and list pages against both servers; then our filter latency at two sizes. Given a
    PostgreSQL server, in a database of its own there: the people other benchmarks left in the one
    given would be Users too, and the peer would have to hold as many."""
    if database_url and _is_postgresql(database_url):
        with scratch_postgres_database(database_url, "provisionhub_bench_scim") as url:
            return _run(quick, url)
    return _run(quick, database_url)


def _is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _run(quick: bool, database_url: str | None) -> list[Result]:
    wrk = ensure_wrk()
    plan = QUICK if quick else FULL
    nonce = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        folder = Path(tmp)
        url = database_url or f"sqlite:///{folder / 'scim.db'}"
        ours_token = prepare(url, f"bench-scim-{nonce}")
        peer_token = secrets.token_urlsafe(24)
        measured: list[Measured] = []
        with (
            serve(url, folder / "ours.log") as ours_server,
            serve_peer(peer_token, folder / "peer.log") as peer_server,
        ):
            sides = [
                Side("provisionhub", ours_server, "/scim/v2", f"Bearer {ours_token}", folder / "ours.log"),
                Side("scim2-server", peer_server, "/v2", f"Bearer {peer_token}", folder / "peer.log"),
            ]

            def create(side: Side, seconds: float, label: str) -> WrkRun:
                path = f"{side.prefix}/Users"
                return run_wrk(
                    wrk, side.server.base, path, seconds, f"{nonce}{label}", HEAD, TAIL, side.authorization
                )

            totals = fill(sides, plan.list_users, lambda side, seconds, n: create(side, seconds, f"f{n}"))
            _analyze(url)

            files = {side.name: folder / f"read-{side.name}.txt" for side in sides}
            for side in sides:
                ids = _ids(side)
                files[side.name].write_text("".join(f"{side.prefix}/Users/{i}\n" for i in ids))

            def read(side: Side, seconds: float, label: str) -> WrkRun:
                arguments = [str(files[side.name]), side.authorization]
                return run_script(
                    wrk, side.server.base, PATHS_SCRIPT, arguments, seconds, f"{side.prefix}/Users/{{id}}"
                )

            measured += rounds("read", sides, plan, read)

            common = min(totals.values())
            starts = [random.randint(1, common - PAGE + 1) for _ in range(1_000)]
            for side in sides:
                lines = "".join(f"{side.prefix}/Users?startIndex={s}&count={PAGE}\n" for s in starts)
                files[side.name].write_text(lines)
                _check_page(side, starts[0])

            def page(side: Side, seconds: float, label: str) -> WrkRun:
                arguments = [str(files[side.name]), side.authorization]
                return run_script(
                    wrk,
                    side.server.base,
                    PATHS_SCRIPT,
                    arguments,
                    seconds,
                    f"{side.prefix}/Users?startIndex=..",
                )

            measured += rounds("list", sides, plan, page)

            measured += rounds("create", sides, plan, create)
            # Every create answered is stored: those of the measured rounds on top of the Users held before.
            created = sum(m.run.requests for m in measured if m.kind == "create" and m.side == "provisionhub")
            stored = count_people(url, f"u{nonce}", "username")
            if totals["provisionhub"] + created > stored:
                raise BenchError(
                    f"{totals['provisionhub']} Users were held and {created} more creates answered, "
                    f"but {stored} Users are stored"
                )

        if database_url is None:
            filter_url = _filter_database(folder, plan.large)
            stages = filter_sizes_side_by_side(folder, nonce, plan)
        elif _is_postgresql(database_url):  # a database of its own: 1,000 people, not the creates' too
            with scratch_postgres_database(database_url, "provisionhub_bench_filter") as filter_url:
                token = prepare(filter_url, f"bench-scim-filter-{nonce}")
                stages = filter_stages(filter_url, token, nonce, plan, folder)
        else:
            filter_url = database_url
            stages = filter_stages(database_url, ours_token, nonce, plan, folder)
    return [
        *(_throughput(kind, measured, url, plan, totals) for kind in TARGETS),
        _filter_result(stages, filter_url, plan),
    ]


def rounds(
    kind: str, sides: list[Side], plan: Plan, drive: Callable[[Side, float, str], WrkRun]
) -> list[Measured]:
    """A warm-up of each side, then plan.rounds rounds of ours and the peer's in turn; the measured."""
    measured: list[Measured] = []
    steps = [(side, plan.warmup, "w", False) for side in sides]
    steps += [(side, plan.seconds, f"r{n}", True) for n in range(plan.rounds) for side in sides]
    for side, seconds, label, counted in steps:
        before = side.server.cpu_seconds()
        done = drive(side, seconds, label)
        after = side.server.cpu_seconds()
        check_run(done, side.log)
        cpu = None if before is None or after is None else (after - before) * 1e6 / done.requests
        cpu_text = "" if cpu is None else f", server CPU {cpu:,.0f} µs/request"
        print(
            f"bench:   {kind} {side.name}{'' if counted else ' (warm-up)'}: "
            f"{done.requests_per_second:,.0f} req/s{cpu_text}",
            file=sys.stderr,
        )
        if counted:
            measured.append(Measured(kind, side.name, done, cpu))
    return measured


def fill(sides: list[Side], target: int, create: Callable[[Side, float, int], WrkRun]) -> dict[str, int]:
    """The Users each side holds after creating more, a second at a time, on the side holding fewer,
    until both hold about target or more and about as many as each other (within EVEN_WITHIN), for at
    most FILL_SECONDS. A list page costs more the more Users a side holds (the peer filters and sorts them
    all, we count them): pages are compared at one size, not at what each side created in equal time."""
    totals = {side.name: _total(side) for side in sides}
    began = time.monotonic()
    for n in itertools.count():
        goal = max(target, *totals.values())
        fewer = min(sides, key=lambda side: totals[side.name])
        if goal - totals[fewer.name] <= goal * EVEN_WITHIN or time.monotonic() - began > FILL_SECONDS:
            break
        check_run(create(fewer, 1.0, n), fewer.log)
        totals[fewer.name] = _total(fewer)
    print(f"bench:   Users held for the reads and list pages: {totals}", file=sys.stderr)
    return totals


def filter_sizes_side_by_side(folder: Path, nonce: str, plan: Plan) -> list[scim_filter.Latency]:
    """SQLite: one database of plan.small SCIM people and one of plan.large, each served, and the filter
    timed on both in the same rounds, request by request in turn, so that both sizes are measured under
    the same host load: timed minutes apart, or even in alternating rounds, the two carried the host's
    drift (bench/README.md)."""
    sizes = (plan.small, plan.large)
    urls = {size: _filter_database(folder, size) for size in sizes}
    tokens = {size: prepare(urls[size], f"bench-scim-filter-{nonce}") for size in sizes}
    people = {size: scim_filter.seed(urls[size], nonce, 0, size) for size in sizes}
    with (
        serve(urls[plan.small], folder / f"filter-{plan.small}.log") as small,
        serve(urls[plan.large], folder / f"filter-{plan.large}.log") as large,
    ):
        targets = [
            scim_filter.Target(
                server.base,
                f"Bearer {tokens[size]}",
                [scim_filter.username(nonce, n) for n in range(size)],
            )
            for size, server in ((plan.small, small), (plan.large, large))
        ]
        latencies = dict(
            zip(sizes, scim_filter.measure(targets, plan.filter_rounds, plan.filter_requests), strict=True)
        )
    stages = [scim_filter.stage(people[size], latencies[size]) for size in sizes]
    for latency in stages:
        _print_filter_stage(latency)
    return stages


def _filter_database(folder: Path, size: int) -> str:
    return f"sqlite:///{folder / f'filter-{size}.db'}"


def filter_stages(url: str, token: str, nonce: str, plan: Plan, folder: Path) -> list[scim_filter.Latency]:
    """One database given (PostgreSQL's scratch one, or a SQLite file named with --database-url): seed
    plan.small SCIM people and time the filter, then seed up to plan.large and time it again."""
    stages = []
    seeded = 0
    for size in (plan.small, plan.large):
        people = scim_filter.seed(url, nonce, seeded, size)
        seeded = size
        names = [scim_filter.username(nonce, n) for n in range(size)]
        with serve(url, folder / f"filter-{size}.log") as server:
            target = scim_filter.Target(server.base, f"Bearer {token}", names)
            (latencies,) = scim_filter.measure([target], plan.filter_rounds, plan.filter_requests)
        stages.append(scim_filter.stage(people, latencies))
        _print_filter_stage(stages[-1])
    return stages


def _print_filter_stage(latency: scim_filter.Latency) -> None:
    print(
        f"bench:   filter with {latency.people:,} people: p99 {latency.p99:.2f} ms "
        f"(each round's: {', '.join(f'{p:.2f}' for p in latency.p99_ms)}; "
        f"p50 {statistics.median(latency.p50_ms):.2f} ms)",
        file=sys.stderr,
    )


def _analyze(url: str) -> None:
    database = Database(url)
    try:
        scim_filter.analyze(database)
    finally:
        database.dispose()


def prepare(url: str, token_name: str) -> str:
    """Migrate, and return the secret of a new token that may create and read Users."""
    database = Database(url)
    try:
        upgrade(database.engine)
        with database.transaction() as conn:
            permissions = [Permission.USER_CREATE, Permission.USER_READ]
            return create_token(conn, token_name, permissions, actor="bench")
    finally:
        database.dispose()


def _get(side: Side, path: str) -> dict[str, Any]:
    """GET a SCIM path of a side; the JSON answer, which must be a 200."""
    answer = request(
        side.server.base, "GET", side.prefix + path, headers={"Authorization": side.authorization}
    )
    if answer.status != 200 or not isinstance(answer.json, dict):
        raise BenchError(
            f"{side.name}: GET {side.prefix}{path} answered {answer.status}: {answer.text[:2000]}"
        )
    return answer.json


def _total(side: Side) -> int:
    return int(_get(side, "/Users?count=0")["totalResults"])


def _ids(side: Side) -> list[str]:
    """The ids of the first READ_IDS Users of a side."""
    answer = _get(side, f"/Users?startIndex=1&count={READ_IDS}&attributes=id")
    ids = [resource["id"] for resource in answer.get("Resources", [])]
    if len(ids) != READ_IDS:
        raise BenchError(f"{side.name}: asked for {READ_IDS} Users, got {len(ids)}")
    return ids


def _check_page(side: Side, start: int) -> None:
    answer = _get(side, f"/Users?startIndex={start}&count={PAGE}")
    if answer.get("itemsPerPage") != PAGE or len(answer.get("Resources", [])) != PAGE:
        raise BenchError(f"{side.name}: a page from {start} did not hold {PAGE} Users")


def _throughput(kind: str, measured: list[Measured], url: str, plan: Plan, totals: dict[str, int]) -> Result:
    def rates(side: str) -> list[float]:
        return [m.run.requests_per_second for m in measured if m.kind == kind and m.side == side]

    def cpu(side: str) -> float | None:
        known = [m.cpu_us for m in measured if m.kind == kind and m.side == side and m.cpu_us is not None]
        return statistics.median(known) if known else None

    return Result(
        name=f"scim_{kind}",
        unit="pages/s" if kind == "list" else "req/s",
        figure=statistics.median(rates("provisionhub")),
        reference=statistics.median(rates("scim2-server")),
        reference_name="scim2-server",
        target=TARGETS[kind],
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "connections": CONNECTIONS,
            "users_held_for_reads_and_lists": totals,
            "rates": {side: rates(side) for side in ("provisionhub", "scim2-server")},
            "server_cpu_us_per_request": {side: cpu(side) for side in ("provisionhub", "scim2-server")},
            "runs": [
                {"side": m.side, **asdict(m.run), "cpu_us": m.cpu_us} for m in measured if m.kind == kind
            ],
        },
    )


def _filter_result(stages: list[scim_filter.Latency], url: str, plan: Plan) -> Result:
    small, large = stages
    return Result(
        name="scim_filter",
        unit="ms",
        figure=large.p99,
        reference=small.p99,
        reference_name=f"p99 at {small.people:,} people",
        target=FILTER_NO_SLOWER_WITHIN,
        lower_is_better=True,
        limit=FILTER_P99_LIMIT_MS,
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "stages": [asdict(s) for s in stages],
        },
    )
