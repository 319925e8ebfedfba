"""SCIM benchmark: provisionhub's /scim/v2 against scim2-server, the reference peer, in the same run.

Both run under uvicorn (one worker, uvloop) on loopback: provisionhub as `provisionhub serve` runs it (its
HTTP protocol, uvicorn's httptools with each response in one write), and the peer the same way, with the same
process tuning, over its in-memory storage: neither side has a response path or tuning the other lacks.
Both are pinned to the servers' cores, wrk to the clients' (bench/host.py). First each side is given
exactly plan.list_users Users (a list page costs more the more Users a side holds). Then wrk (16
connections) drives, in rounds alternating between the two, each round started once both servers are
idle: reads by id (GET /Users/{id} of the first 1,000 Users), list pages (GET
/Users?startIndex=..&count=100 at random starts) and creates (POST /Users, a new userName each; on our side
each committed with its change-log and outbox rows). All of it twice: both servers quiet (warnings only,
no access log), then both logged as `provisionhub serve` logs by default (info, the access log on), each
time on new databases and a new peer. Then the latency of a `userName eq` filter on our side,
with 1,000 and with 100,000 SCIM people stored: on SQLite two databases served at once and timed request
by request in turn; on PostgreSQL one database, timed at 1,000 and again once grown to 100,000. On
PostgreSQL the tables are analysed after each load (as autovacuum would, where it is on).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from bench import scim_filter
from bench.http_push import count_people
from bench.report import BenchError, Result
from bench.rounds import Measured, Side, alternate, compare
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
FILTER_P99_LIMIT_MS = 10.0
#: "No slower at 100,000 people than at 1,000" (indexes, not scans): the larger's p99 within this factor
#: of the smaller's, about as far as the p99 moves from run to run of the same code; a search that scanned
#: the table would be tens of times slower (the runs behind it: docs/benchmarks).
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
    seconds=4,
    rounds=5,
    list_users=20_000,
    small=1_000,
    large=100_000,
    filter_rounds=5,
    filter_requests=1_000,
)
QUICK = Plan(
    warmup=1,
    seconds=1,
    rounds=2,
    list_users=1_000,
    small=1_000,
    large=5_000,
    filter_rounds=2,
    filter_requests=100,
)


def run(quick: bool, database_url: str | None) -> list[Result]:
    """Creates, reads and list pages against both servers, quiet and then logged; then our filter latency
    at two sizes. Every database is one of the bench's own: temp SQLite files, or, given a PostgreSQL
    server, scratch databases there (the people other benchmarks left would be Users too)."""
    wrk = ensure_wrk()
    plan = QUICK if quick else FULL
    nonce = secrets.token_hex(3)
    postgresql = database_url if database_url and _is_postgresql(database_url) else None
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        folder = Path(tmp)
        for logged in (False, True):
            phase = folder / ("logged" if logged else "quiet")
            phase.mkdir()
            with _database(postgresql, phase, "provisionhub_bench_scim") as url:
                measured = _phase(wrk, url, plan, nonce, phase, logged)
                results += [_throughput(kind, measured, url, plan, logged) for kind in TARGETS]
        if postgresql is None:
            filter_url = _filter_database(folder, plan.large)
            stages = filter_sizes_side_by_side(folder, nonce, plan)
        else:  # one database of its own: 1,000 people, then 100,000
            with scratch_postgres_database(postgresql, "provisionhub_bench_filter") as filter_url:
                token = prepare(filter_url, f"bench-scim-filter-{nonce}")
                stages = filter_stages(filter_url, token, nonce, plan, folder)
    return [*results, _filter_result(stages, filter_url, plan)]


def _is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


@contextmanager
def _database(postgresql: str | None, folder: Path, name: str) -> Iterator[str]:
    """A new, empty database: a scratch one on the PostgreSQL server given, or a SQLite file in folder."""
    if postgresql is None:
        yield f"sqlite:///{folder / 'scim.db'}"
    else:
        with scratch_postgres_database(postgresql, name) as url:
            yield url


@dataclass(frozen=True, slots=True)
class Scim:
    """One of the two servers as a SCIM service: its name, where it serves SCIM, its Authorization
    header's value and its log."""

    name: str
    server: Server
    prefix: str
    authorization: str
    log: Path


def _phase(wrk: str, url: str, plan: Plan, nonce: str, folder: Path, logged: bool) -> list[Measured]:
    """Both servers started (quiet or logged), each filled with exactly plan.list_users Users, then reads,
    list pages and creates in alternating rounds; every run, and every create answered checked stored."""
    ours_token = prepare(url, f"bench-scim-{nonce}")
    peer_token = secrets.token_urlsafe(24)
    suffix = " (logged)" if logged else ""
    with (
        serve(url, folder / "ours.log", logged=logged) as ours,
        serve_peer(peer_token, folder / "peer.log", logged=logged) as peer,
    ):
        services = [
            Scim("provisionhub", ours, "/scim/v2", f"Bearer {ours_token}", folder / "ours.log"),
            Scim("scim2-server", peer, "/v2", f"Bearer {peer_token}", folder / "peer.log"),
        ]
        starts = [random.randint(1, plan.list_users - PAGE + 1) for _ in range(1_000)]
        paths: dict[tuple[str, str], Path] = {}
        for service in services:
            fill(service, plan.list_users, f"{nonce}f")
            if (held := _total(service)) != plan.list_users:
                raise BenchError(f"{service.name}: filled with {plan.list_users} Users, but holds {held}")
            paths[service.name, "read"] = folder / f"read-{service.name}.txt"
            paths[service.name, "read"].write_text(
                "".join(f"{service.prefix}/Users/{i}\n" for i in _ids(service))
            )
            paths[service.name, "list"] = folder / f"page-{service.name}.txt"
            paths[service.name, "list"].write_text(
                "".join(f"{service.prefix}/Users?startIndex={s}&count={PAGE}\n" for s in starts)
            )
            _check_page(service, starts[0])
        print(f"bench:   each side holds {plan.list_users:,} Users{suffix}", file=sys.stderr)
        _analyze(url)

        def side(service: Scim, kind: str) -> Side:
            def create(seconds: float, label: str) -> WrkRun:
                return run_wrk(
                    wrk, service.server.base, f"{service.prefix}/Users", seconds, f"{nonce}{label}",
                    HEAD, TAIL, service.authorization,
                )  # fmt: skip

            def get(seconds: float, label: str) -> WrkRun:
                arguments = [str(paths[service.name, kind]), service.authorization]
                shown = f"{service.prefix}/Users/{{id}}" if kind == "read" else f"{service.prefix}/Users?.."
                return run_script(wrk, service.server.base, PATHS_SCRIPT, arguments, seconds, shown)

            return Side(service.name, service.server, create if kind == "create" else get, service.log)

        measured: list[Measured] = []
        for kind in ("read", "list", "create"):  # creates last: they change what each side holds
            sides = [side(service, kind) for service in services]
            measured += alternate(kind, sides, plan.warmup, plan.seconds, plan.rounds)
    # Every create answered is stored: the fill's and those of every create run, warm-ups included.
    ours_runs = [m for m in measured if m.kind == "create" and m.side == "provisionhub"]
    answered = plan.list_users + sum(m.run.requests for m in ours_runs)
    stored = count_people(url, f"u{nonce}", "username")
    if not answered <= stored <= answered + CONNECTIONS * len(ours_runs):
        raise BenchError(f"{answered} creates were answered but {stored} Users are stored")
    return measured


def fill(service: Scim, count: int, tag: str) -> None:
    """Create exactly count Users on a side, CONNECTIONS at a time: both sides hold the same number,
    whatever their rates (a list page costs the peer more the more Users it holds)."""
    asyncio.run(_fill(service.server.base + service.prefix + "/Users", service.authorization, count, tag))


async def _fill(url: str, authorization: str, count: int, tag: str) -> None:
    headers = {"Authorization": authorization, "Content-Type": "application/scim+json"}
    numbers = iter(range(count))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def worker() -> None:
            for n in numbers:
                key = f"{tag}-{n}"
                body = (HEAD % (key, key, key) + TAIL).encode()
                async with client.post(url, data=body, headers=headers) as answer:
                    text = await answer.text()
                    if answer.status != 201:
                        raise BenchError(f"POST {url} answered {answer.status}: {text[:500]}")

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))


def filter_sizes_side_by_side(folder: Path, nonce: str, plan: Plan) -> list[scim_filter.Latency]:
    """SQLite: one database of plan.small SCIM people and one of plan.large, each served, and the filter
    timed on both in the same rounds, request by request in turn, so that both sizes are measured under
    the same host load: timed minutes apart, or even in alternating rounds, the two carried the host's
    drift (docs/benchmarks)."""
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
        servers = {plan.small: small, plan.large: large}
        before = {size: server.cpu_seconds() for size, server in servers.items()}
        latencies = dict(
            zip(sizes, scim_filter.measure(targets, plan.filter_rounds, plan.filter_requests), strict=True)
        )
        cpu = {size: server.cpu_since(before[size]) for size, server in servers.items()}
    stages = [scim_filter.stage(people[size], latencies[size], cpu[size]) for size in sizes]
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
            before = server.cpu_seconds()
            (latencies,) = scim_filter.measure([target], plan.filter_rounds, plan.filter_requests)
            cpu = server.cpu_since(before)
        stages.append(scim_filter.stage(people, latencies, cpu))
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


def _get(service: Scim, path: str) -> dict[str, Any]:
    """GET a SCIM path of a side; the JSON answer, which must be a 200."""
    answer = request(
        service.server.base, "GET", service.prefix + path, headers={"Authorization": service.authorization}
    )
    if answer.status != 200 or not isinstance(answer.json, dict):
        raise BenchError(
            f"{service.name}: GET {service.prefix}{path} answered {answer.status}: {answer.text[:2000]}"
        )
    return answer.json


def _total(service: Scim) -> int:
    return int(_get(service, "/Users?count=0")["totalResults"])


def _ids(service: Scim) -> list[str]:
    """The ids of the first READ_IDS Users of a side."""
    answer = _get(service, f"/Users?startIndex=1&count={READ_IDS}&attributes=id")
    ids = [resource["id"] for resource in answer.get("Resources", [])]
    if len(ids) != READ_IDS:
        raise BenchError(f"{service.name}: asked for {READ_IDS} Users, got {len(ids)}")
    return ids


def _check_page(service: Scim, start: int) -> None:
    answer = _get(service, f"/Users?startIndex={start}&count={PAGE}")
    if answer.get("itemsPerPage") != PAGE or len(answer.get("Resources", [])) != PAGE:
        raise BenchError(f"{service.name}: a page from {start} did not hold {PAGE} Users")


def _throughput(kind: str, measured: list[Measured], url: str, plan: Plan, logged: bool) -> Result:
    """One kind of request's row: ours against the peer, round by round."""
    compared = compare(measured, kind, "provisionhub", "scim2-server")
    return Result(
        name=f"scim_{kind}{' (logged)' if logged else ''}",
        unit="pages/s" if kind == "list" else "req/s",
        figure=compared.figure,
        reference=compared.reference,
        reference_name="scim2-server",
        target=TARGETS[kind],
        round_ratios=compared.round_ratios,
        cpu_us=compared.cpu_us,
        reference_cpu_us=compared.reference_cpu_us,
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "connections": CONNECTIONS,
            "logged": logged,
            "users_held_by_each": plan.list_users,
            "runs": [
                {"side": m.side, "round": m.round, **asdict(m.run), "cpu_us": m.cpu_us}
                for m in measured
                if m.kind == kind
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
        pooled=True,
        round_ratios=tuple(lp / sp for lp, sp in zip(large.p99_ms, small.p99_ms, strict=True)),
        cpu_us=large.cpu_us,
        reference_cpu_us=small.cpu_us,
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "stages": [asdict(s) for s in stages],
        },
    )
