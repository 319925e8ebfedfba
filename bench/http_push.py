"""HTTP push benchmark: OPS-COM profile pushes (each a durable create) against the no-op ceiling."""

from __future__ import annotations

import contextlib
import json
import secrets
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.app import NOOP_PATH
from bench.report import BenchError, Result
from bench.server import request, serve
from bench.wrk import CONNECTIONS, WrkRun, ensure_wrk, run_wrk
from provisionhub.auth.authenticator import directory_over
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.directory.errors import Conflict
from provisionhub.directory.reference_data import AddUserType
from provisionhub.store import tables
from provisionhub.store.database import Database
from provisionhub.store.migrate import upgrade

PUSH_PATH = "/opscom/api/OC_TOMA/v1/profiles/push"
TARGET = 0.5

#: The seed request's attributes, less those that differ on every request and the token.
SEED_FIELDS: dict[str, str] = {
    "first_name": "firstname",
    "last_name": "lastname",
    "street": "123 Main Street, 123 Main Street,123 Main Street,123 Main Street,123 Main Street,"
    "123 Main Street",
    "city": "Everywhere",
    "province": "bc",
    "state": "NY",
    "postal_code": "HOHOHO",
    "zip": "12345-1212",
    "phone_cell": "613-555-1212",
    "user_type_id": "6",
    "employ_no": "employee number: default",
    "employee_phone": "emp ph. klondike 555",
    "student_no": "SN 543209854",
    "student_phone": "999",
    "driver_licence_num": "QC 99999999",
    "driver_license_num": "NYNY",
    "date_of_birth": "1901-01-31",
    "locker_user_type_id": "3",
    "driver_licence_prov": "BC",
    "driver_license_state": "CA",
}

#: The start of every body, formatted with one key three times; push.lua does the same.
HEAD = '{"unique_id":"u%s","user_name":"n%s","email":"e%s@bench.example.org",'


def body_tail(token: str) -> str:
    """What follows HEAD in every push body: the seed's attributes and the token, closing the object."""
    return json.dumps({"apiToken": token, "login_source": "OPSCOM", **SEED_FIELDS}, separators=(",", ":"))[1:]


@dataclass(frozen=True, slots=True)
class Plan:
    """How long each wrk run lasts, in seconds, and how many noop/push rounds follow the warm-up."""

    warmup: float
    seconds: float
    rounds: int


FULL = Plan(warmup=3, seconds=8, rounds=3)
QUICK = Plan(warmup=1, seconds=2, rounds=3)


def run(quick: bool, database_url: str | None) -> Result:
    """Migrate a database, start the server, alternate noop and push runs, and check every create landed."""
    wrk = ensure_wrk()
    plan = QUICK if quick else FULL
    nonce = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'push.db'}"
        token = prepare(url, f"bench-{nonce}")
        tail = body_tail(token)
        log = Path(tmp) / "server.log"
        runs: list[tuple[str, WrkRun, float | None]] = []
        with serve(url, log) as server:
            probe(server.base, PUSH_PATH, (HEAD % ((f"{nonce}-probe",) * 3) + tail).encode())
            probe(server.base, NOOP_PATH, (HEAD % ((f"{nonce}-probe",) * 3) + tail).encode())
            steps = [("warmup", NOOP_PATH, plan.warmup, "w"), ("warmup", PUSH_PATH, plan.warmup, "w")]
            for number in range(plan.rounds):
                steps += [("measured", path, plan.seconds, f"r{number}") for path in (NOOP_PATH, PUSH_PATH)]
            for kind, path, seconds, label in steps:
                before = server.cpu_seconds()
                measured = run_wrk(wrk, server.base, path, seconds, nonce + label, HEAD, tail)
                after = server.cpu_seconds()
                check_run(measured, log)
                cpu = None if before is None or after is None else (after - before) * 1e6 / measured.requests
                cpu_text = "" if cpu is None else f", server CPU {cpu:,.0f} µs/request"
                print(
                    f"bench:   {kind} {path}: {measured.requests_per_second:,.0f} req/s{cpu_text}",
                    file=sys.stderr,
                )
                runs.append((kind, measured, cpu))
        pushed = sum(r.requests for _, r, _ in runs if r.path == PUSH_PATH) + 1
        stored = count_people(url, f"u{nonce}")
    push_runs = sum(1 for _, r, _ in runs if r.path == PUSH_PATH)
    if not pushed <= stored <= pushed + CONNECTIONS * push_runs:
        raise BenchError(f"{pushed} pushes were answered but {stored} people were stored for this run")
    measured = [(r, cpu) for kind, r, cpu in runs if kind == "measured"]
    return Result(
        name="http_push",
        unit="req/s",
        figure=statistics.median(r.requests_per_second for r, _ in measured if r.path == PUSH_PATH),
        reference=statistics.median(r.requests_per_second for r, _ in measured if r.path == NOOP_PATH),
        reference_name="noop",
        target=TARGET,
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "connections": CONNECTIONS,
            "people_stored": stored,
            # The same comparison by the server's own CPU time: steadier than throughput on a busy host.
            "server_cpu_us_per_request": {
                name: _median_or_none([cpu for r, cpu in measured if r.path == path])
                for name, path in (("noop", NOOP_PATH), ("push", PUSH_PATH))
            },
            "runs": [{"kind": kind, **asdict(r), "server_cpu_us_per_request": cpu} for kind, r, cpu in runs],
        },
    )


def _median_or_none(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None


def prepare(url: str, token_name: str) -> str:
    """Migrate, make sure user type 6 exists, and return the secret of a new user-create token."""
    database = Database(url)
    try:
        upgrade(database.engine)
        with contextlib.suppress(Conflict):  # a reused (PostgreSQL) database has it from an earlier run
            directory_over(database).apply(AddUserType(id="6", name="Demo"), "bench")
        with database.transaction() as conn:
            return create_token(conn, token_name, [Permission.USER_CREATE], actor="bench")
    finally:
        database.dispose()


def probe(base: str, path: str, body: bytes) -> None:
    """One request before the load: it must answer 200 with status success, or nothing is measured."""
    answer = request(base, "POST", path, body, {"Content-Type": "application/json"})
    if answer.status != 200 or not isinstance(answer.json, dict) or answer.json.get("status") != "success":
        raise BenchError(f"POST {path} answered {answer.status}: {answer.text}")


def count_people(url: str, prefix: str, column: str = "unique_id") -> int:
    """People whose column (of the people table) starts with prefix."""
    database = Database(url)
    try:
        with database.snapshot() as conn:
            query = select(func.count()).where(tables.people.c[column].startswith(prefix, autoescape=True))
            return int(conn.execute(query).scalar_one())
    finally:
        database.dispose()


def check_run(measured: WrkRun, log: Path) -> None:
    """Fail loudly on any non-2xx answer or socket error: the figure would not be of real pushes."""
    errors = {name: count for name, count in measured.socket_errors.items() if count}
    if measured.non_2xx or errors:
        server = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise BenchError(
            f"{measured.path}: {measured.non_2xx} non-2xx responses, socket errors {errors or 'none'} "
            f"in {measured.requests} requests\nserver log (end):\n{server}"
        )
    if measured.requests == 0:
        raise BenchError(f"{measured.path}: wrk completed no request")
