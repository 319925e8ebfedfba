"""End to end: `provisionhub serve` as a real process on loopback, from an empty database."""

from __future__ import annotations

import asyncio
import re

import httpx

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows
from tests.dialects.opscom.test_push import PUSH, seed_request_body
from tests.e2e.conftest import Server
from tests.factories import opscom_push


def first_token(output: str) -> str:
    found = re.findall(r"^\s+(ph-[A-Za-z0-9]{40})$", output, flags=re.M)
    assert len(found) == 1, output
    return found[0]


def test_first_start_migrates_prints_an_admin_token_once_and_serves(server: Server) -> None:
    token = first_token(server.output())
    assert f'"apiToken": "{token}"' in server.output()  # the curl example uses it
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
    assert "/opscom/api/OC_TOMA/v1/profiles/push" in httpx.get(f"{server.base}/openapi.json").json()["paths"]
    assert httpx.get(f"{server.base}/docs").status_code == 200

    server.stop()
    server.start()
    assert server.output().count(token) == 2  # the banner and its curl line, from the first start only
    assert len(re.findall(r"first start", server.output())) == 1


def test_the_seed_raw_request_succeeds_with_a_cli_token(server: Server, empty_database_url: str) -> None:
    server.cli("user-type", "add", "6", "Demo")
    token = server.cli("token", "create", "banner", "--permission", "user-create").strip()
    body = seed_request_body().replace("YOUR-API-TOKEN", token)
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Cache-Control": "no-cache"}

    first = httpx.post(f"{server.base}{PUSH}", content=body, headers=headers)
    again = httpx.post(f"{server.base}{PUSH}", content=body, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["status"] == "success"
    assert again.json() == first.json()
    server.stop()
    for secret in ("1901-01-31", "QC 99999999", "NYNY", token):
        assert secret not in server.output()


def test_concurrent_pushes_are_each_durable(server: Server, empty_database_url: str) -> None:
    token = server.cli("token", "create", "load", "--permission", "user-create").strip()
    bodies = [opscom_push(token) for _ in range(60)]

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            return await asyncio.gather(*(http.post(PUSH, json=body) for body in bodies))

    responses = asyncio.run(send_all())

    assert [r.status_code for r in responses] == [200] * 60
    assert len({r.json()["reference_id"] for r in responses}) == 60
    database = Database(empty_database_url)
    try:
        assert count_rows(database, tables.people) == 60
        assert count_rows(database, tables.outbox) == 60
    finally:
        database.dispose()


def test_a_credential_in_a_request_line_never_reaches_the_log(server: Server) -> None:
    answer = httpx.post(f"{server.base}/uniweb/api/token.php?access_token=pha-do-not-log-me&x=1")
    httpx.get(f"{server.base}/healthz?token=ph-nor-me")

    assert answer.status_code == 400
    log = server.output()
    assert "access_token=***&x=1" in log  # the access log has the line, masked
    assert "pha-do-not-log-me" not in log
    assert "ph-nor-me" not in log
