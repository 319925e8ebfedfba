"""myON bulk users benchmark: POST /myon/users arrays of 1,000 users against OPS-COM single pushes.

One server, one database. In each round, wrk pushes single OPS-COM profiles for a while, then one client
sends its share of the bulk requests, one after another, the server idle before each; a round's ratio is
its bulk people per second over its single pushes per second, and the row's the median of the rounds'.
The users carry no password: a password costs an Argon2id hash, which no batching can amortise
(docs/benchmarks). A smaller run with passwords is reported beside it, as a detail.
"""

from __future__ import annotations

import http.client
import json
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.http_push import HEAD, PUSH_PATH, body_tail, prepare, probe
from bench.report import BenchError, Result
from bench.rounds import Side, median_or_none, timed
from bench.server import per_unit_us, serve
from bench.wrk import CONNECTIONS, ensure_wrk, run_wrk
from provisionhub.auth.tokens import create_token
from provisionhub.directory.access import Permission
from provisionhub.directory.memberships import LOGIN_SOURCE
from provisionhub.directory.operations import Operations
from provisionhub.directory.organisations import OrgKind, UpsertOrganisation
from provisionhub.store import tables
from provisionhub.store.database import Database

USERS_PATH = "/myon/users"
BATCH = 1_000
TARGET = 5.0


@dataclass(frozen=True, slots=True)
class Plan:
    """Seconds of the pushes' warm-up and of each round's pushes, how many rounds, bulk requests in all
    (shared evenly among the rounds), and users with passwords."""

    warmup: float
    seconds: float
    rounds: int
    requests: int
    with_passwords: int


FULL = Plan(warmup=2, seconds=6, rounds=5, requests=100, with_passwords=100)
QUICK = Plan(warmup=1, seconds=1, rounds=2, requests=4, with_passwords=4)


def run(quick: bool, database_url: str | None) -> Result:
    wrk = ensure_wrk()
    plan = QUICK if quick else FULL
    nonce = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="provisionhub-bench-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'myon.db'}"
        push_token = prepare(url, f"bench-push-{nonce}")
        myon_token, account = _prepare_myon(url, nonce)
        tail = body_tail(push_token)
        bodies = [_users(account, f"{nonce}-{n}", BATCH) for n in range(plan.requests)]
        with_passwords = _users(account, f"{nonce}-pw", plan.with_passwords, password=True)
        log = Path(tmp) / "server.log"
        rounds: list[dict[str, Any]] = []
        with serve(url, log) as server:
            probe(server.base, PUSH_PATH, (HEAD % ((f"{nonce}-probe",) * 3) + tail).encode())
            _post(server.base, myon_token, [_users(account, f"{nonce}-warm", BATCH)])  # warm-up
            pushes = Side(
                "push",
                server,
                lambda seconds, label: run_wrk(
                    wrk, server.base, PUSH_PATH, seconds, nonce + label, HEAD, tail
                ),
                log,
            )
            server.wait_idle()
            timed(pushes, plan.warmup, "w")
            for number in range(plan.rounds):
                server.wait_idle()
                pushed, push_cpu = timed(pushes, plan.seconds, f"r{number}")
                server.wait_idle()
                share = bodies[number :: plan.rounds]
                before = server.cpu_seconds()
                elapsed = _post(server.base, myon_token, share)
                people = len(share) * BATCH
                bulk_cpu = per_unit_us(server.cpu_since(before), people)
                rounds.append({
                    "push_rate": pushed.requests_per_second, "push_cpu_us": push_cpu,
                    "bulk_people": people, "bulk_seconds": elapsed, "bulk_rate": people / elapsed,
                    "bulk_cpu_us_per_person": bulk_cpu,
                })  # fmt: skip
                print(
                    f"bench:   round {number}: push {pushed.requests_per_second:,.0f} req/s, "
                    f"bulk {people / elapsed:,.0f} people/s",
                    file=sys.stderr,
                )
            server.wait_idle()
            password_seconds = _post(server.base, myon_token, [with_passwords])
        stored = _count_users(url, account)
    expected = (plan.requests + 1) * BATCH + plan.with_passwords
    if stored != expected:
        raise BenchError(f"{expected} users were answered as created but {stored} are members of the account")
    return Result(
        name="myon_users",
        unit="people/s",
        figure=statistics.median(r["bulk_rate"] for r in rounds),
        reference=statistics.median(r["push_rate"] for r in rounds),
        reference_name="single push",
        target=TARGET,
        round_ratios=tuple(r["bulk_rate"] / r["push_rate"] for r in rounds),
        cpu_us=median_or_none([r["bulk_cpu_us_per_person"] for r in rounds]),
        reference_cpu_us=median_or_none([r["push_cpu_us"] for r in rounds]),
        cpu_per="person",
        details={
            "database": make_url(url).render_as_string(hide_password=True),
            "plan": asdict(plan),
            "batch": BATCH,
            "push_connections": CONNECTIONS,
            "rounds": rounds,
            "with_passwords_people_per_second": plan.with_passwords / password_seconds,
        },
    )


def _prepare_myon(url: str, nonce: str) -> tuple[str, str]:
    """A user-create token and an account for the users; (token, account's myon_id)."""
    database = Database(url)
    try:
        directory = Operations()
        with database.transaction() as conn:
            token = create_token(conn, f"bench-myon-{nonce}", [Permission.USER_CREATE], actor="bench")
            command = UpsertOrganisation(OrgKind.ACCOUNT, fields={"title": f"Bench District {nonce}"})
            [account] = directory.upsert_organisations(conn, [command], "bench")
        return token, account.organisation.public_id
    finally:
        database.dispose()


def _users(account: str, prefix: str, count: int, *, password: bool = False) -> bytes:
    """A users array of count district admins of account, each with its own username."""
    users: list[dict[str, Any]] = [
        {
            "account_id": account,
            "user_role_id": 6,
            "name_first": "Edna",
            "name_last": f"Krabappel {n}",
            "username": f"admin-{prefix}-{n}@bench.example.org",
            "email": f"edna-{prefix}-{n}@bench.example.org",
        }
        for n in range(count)
    ]
    if password:
        for n, user in enumerate(users):
            user["password"] = f"correct horse battery {n}"
    return json.dumps(users, separators=(",", ":")).encode()


def _post(base: str, token: str, bodies: list[bytes]) -> float:
    """POST each body in turn on one new connection (an idle one the server may have closed); the
    seconds it took. Every user must be answered as created."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=300)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    try:
        started = time.perf_counter()
        for body in bodies:
            connection.request("POST", USERS_PATH, body, headers)
            response = connection.getresponse()
            text = response.read()
            if response.status != 201:
                raise BenchError(f"POST {USERS_PATH} answered {response.status}: {text[:2000]!r}")
            if any(item.get("result") != "created" for item in json.loads(text)):
                raise BenchError(f"POST {USERS_PATH}: not every user was created: {text[:2000]!r}")
        return time.perf_counter() - started
    finally:
        connection.close()


def _count_users(url: str, account: str) -> int:
    database = Database(url)
    try:
        with database.snapshot() as conn:
            members = tables.memberships.join(
                tables.organisations, tables.memberships.c.account_id == tables.organisations.c.id
            ).join(tables.people, tables.memberships.c.person_id == tables.people.c.id)
            query = (
                select(func.count())
                .select_from(members)
                .where(
                    tables.organisations.c.public_id == account, tables.people.c.login_source == LOGIN_SOURCE
                )
            )
            return int(conn.execute(query).scalar_one())
    finally:
        database.dispose()
