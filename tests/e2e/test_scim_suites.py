"""The SCIM conformance suites written outside this project, against `provisionhub serve` on loopback:
scim2-tester (PyPI) and Okta's SCIM 2.0 SPEC test (the Runscope export and its runner, beside the project
in shared/scim-suites). Both must find nothing wrong, on each backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.conftest import shared_file
from tests.e2e.conftest import Server

SUITES = shared_file("scim-suites")


@pytest.fixture
def scim_base(server: Server) -> tuple[str, str]:
    """The SCIM base URL of a running server, and an admin token's Authorization header value.

    The install has one user type, as any install that provisions people has: scim2-tester fills
    userType from the values the schema suggests (the user types there are).
    """
    token = server.cli("token", "create", "conformance", "--permission", "admin").strip()
    server.cli("user-type", "add", "6", "Student")
    return f"{server.base}/scim/v2", f"Bearer {token}"


def test_scim2_tester_finds_nothing_wrong(scim_base: tuple[str, str]) -> None:
    base, authorization = scim_base
    with Client(base_url=base, headers={"Authorization": authorization}, timeout=30) as http:
        results = check_server(SyncSCIMClient(http))

    failed = [f"{r.status.name} {r.title}: {r.reason}" for r in results if r.status is not Status.SUCCESS]
    assert len(results) > 100  # discovery, then every resource type's CRUD, queries and PATCH
    assert failed == []


def test_oktas_scim_spec_test_passes(scim_base: tuple[str, str], tmp_path: Path) -> None:
    base, authorization = scim_base
    runner = SUITES / "runscope_run.py"
    assert runner.exists(), f"the suites are expected beside the project, in {SUITES}"

    done = subprocess.run(
        [sys.executable, str(runner), base, "--auth", authorization, "--json", str(tmp_path / "okta.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.stdout.strip().splitlines()[-1].startswith("okta-spec: 12 passed, 0 failed"), done.stdout
    assert done.returncode == 0
