"""HTTP push benchmark: OPS-COM profile pushes (each a durable create) against the no-op ceiling, on one
server, in three variants, each a row: quiet (no access log, warnings only), logged as `provisionhub serve`
logs by default (level info, the access log on), and on SQLite with `synchronous=FULL` (each commit synced
to disk)."""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.app import NOOP_PATH
from bench.report import BenchError, Result
from bench.rounds import Side, alternate, compare
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


FULL = Plan(warmup=3, seconds=6, rounds=5)
QUICK = Plan(warmup=1, seconds=1, rounds=2)


@dataclass(frozen=True, slots=True)
class Variant:
    """How the server runs: its row's name, whether it logs as `serve` does by default, its further
    settings, and whether it runs only on SQLite."""

    name: str
    logged: bool = False
    settings: tuple[tuple[str, str], ...] = ()
    sqlite_only: bool = False


VARIANTS = (
    Variant("http_push"),
    Variant("http_push (logged)", logged=True),
    Variant(
        "http_push (synchronous=FULL)",
        settings=(("PROVISIONHUB_SQLITE_SYNCHRONOUS", "FULL"),),
        sqlite_only=True,
    ),
)


def run(quick: bool, database_url: str | None) -> list[Result]:
    """Each variant in turn: its own database and server, noop and push runs alternating, every create
    checked to have landed."""
    on_sqlite = database_url is None or make_url(database_url).get_backend_name() == "sqlite"
    return [
        run_variant(variant, quick, database_url)
        for variant in VARIANTS
        if on_sqlite or not variant.sqlite_only
    ]


def run_variant(variant: Variant, quick: bool, database_url: str | None) -> Result:
    """Migrate a database, start the server, alternate noop and push runs, and check every create landed."""
    wrk = ensure_wrk()
    plan = QUICK if quick else FULL
    nonce = secrets.token_hex(3)
    print(f"bench:  {variant.name}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'push.db'}"
        token = prepare(url, f"bench-{nonce}")
        tail = body_tail(token)
        log = Path(tmp) / "server.log"
        with serve(url, log, logged=variant.logged, environment=dict(variant.settings)) as server:
            probe(server.base, PUSH_PATH, (HEAD % ((f"{nonce}-probe",) * 3) + tail).encode())
            probe(server.base, NOOP_PATH, (HEAD % ((f"{nonce}-probe",) * 3) + tail).encode())

            def driver(path: str) -> Callable[[float, str], WrkRun]:
                return lambda seconds, label: run_wrk(
                    wrk, server.base, path, seconds, nonce + label, HEAD, tail
                )

            sides = [
                Side("noop", server, driver(NOOP_PATH), log),
                Side("push", server, driver(PUSH_PATH), log),
            ]
            measured = alternate("", sides, plan.warmup, plan.seconds, plan.rounds)
        stored = count_people(url, f"u{nonce}")
    # Every push answered (the probe's and every run's) is stored; wrk may have sent a few more it did
    # not wait for when its time was up.
    pushed = sum(m.run.requests for m in measured if m.side == "push") + 1
    runs = sum(1 for m in measured if m.side == "push")
    if not pushed <= stored <= pushed + CONNECTIONS * runs:
        raise BenchError(f"{pushed} pushes were answered but {stored} people were stored for this run")
    compared = compare(measured, "", "push", "noop")
    return Result(
        name=variant.name,
        unit="req/s",
        figure=compared.figure,
        reference=compared.reference,
        reference_name="noop",
        target=TARGET,
        round_ratios=compared.round_ratios,
        cpu_us=compared.cpu_us,
        reference_cpu_us=compared.reference_cpu_us,
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "connections": CONNECTIONS,
            "logged": variant.logged,
            "settings": dict(variant.settings),
            "people_stored": stored,
            "runs": [
                {"side": m.side, "round": m.round, **asdict(m.run), "server_cpu_us_per_request": m.cpu_us}
                for m in measured
            ],
        },
    )


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
