"""End to end: `provisionhub serve` as a real process on loopback, from an empty database."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import stat
import subprocess
from pathlib import Path

import httpx

from provisionhub.store import tables
from provisionhub.store.database import Database
from tests.conftest import count_rows
from tests.dialects.opscom.test_push import PUSH, seed_request_body
from tests.e2e.conftest import CLI, Server
from tests.factories import opscom_push


def first_token(output: str) -> str:
    """The admin token of the first start: its output is a file, not a terminal, so the token is in a file
    only its owner may read, whose path the output names."""
    found = re.findall(r"^It is in (\S+), readable only by you", output, flags=re.M)
    assert len(found) == 1, output
    kept = Path(found[0])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    token = kept.read_text().strip()
    assert re.fullmatch(r"ph-[A-Za-z0-9]{40}", token)
    return token


def test_first_start_migrates_keeps_an_admin_token_out_of_its_log_and_serves(server: Server) -> None:
    token = first_token(server.output())
    assert token not in server.output()
    answer = httpx.post(
        f"{server.base}/opscom/api/OC_TOMA/v1/profiles/types/list", json={"apiToken": token}
    )  # as the curl line the output shows
    assert answer.json() == {"status": "success", "user_types": []}
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
    assert "/opscom/api/OC_TOMA/v1/profiles/push" in httpx.get(f"{server.base}/openapi.json").json()["paths"]
    assert httpx.get(f"{server.base}/docs").status_code == 200

    server.stop()
    server.start()
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


def test_on_a_terminal_the_first_start_prints_the_admin_token_and_keeps_no_file(
    empty_database_url: str, tmp_path: Path
) -> None:
    server = Server(empty_database_url, tmp_path / "unused.log")
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(server.port)],
        env=server.env,
        stdout=terminal,
        stderr=subprocess.DEVNULL,
    )
    os.close(terminal)
    printed = b""
    try:
        while b"Try it:" not in printed or b"apiToken" not in printed:
            ready, _, _ = select.select([main], [], [], 30)
            assert ready, printed
            printed += os.read(main, 4096)
    finally:
        process.terminate()
        process.wait(15)
        os.close(main)
    tokens = re.findall(rb"^\s+(ph-[A-Za-z0-9]{40})\r?$", printed, flags=re.M)
    assert len(tokens) == 1, printed
    assert b'"apiToken": "' + tokens[0] + b'"' in printed
    assert not list(tmp_path.rglob("admin-token"))
