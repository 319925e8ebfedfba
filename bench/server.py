"""One uvicorn process (one worker, uvloop) serving an app factory on a free 127.0.0.1 port: bench.app
(provisionhub) as `provisionhub serve` serves it (its HTTP protocol: httptools, each response in one write;
no proxy headers), or a reference peer (bench/scim_peer.py gives it the same options). Servers are
pinned to the servers' cores (bench/host.py). Quiet, a server logs warnings only and no access log;
logged, it logs as `provisionhub serve` does by default (level info, every request in the access log),
to a file."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import host
from bench.report import BenchError
from provisionhub.http.server import HTTP_PROTOCOL

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
#: provisionhub under load: the product app plus the no-op route.
BENCH_APP = "bench.app:create_bench_app"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    pid: int
    name: str

    def wait_idle(self) -> float:
        """Wait until this server has finished what earlier load queued on it; the seconds waited."""
        return wait_idle(self)

    def cpu_since(self, before: float | None) -> float | None:
        """CPU seconds used since the reading `before` of cpu_seconds (None: either unknown)."""
        now = self.cpu_seconds()
        return None if before is None or now is None else now - before

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far (user + system); None where /proc has no answer."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        # After the command name: state is field 3 of stat(5), utime 14 and stime 15.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_unit_us(seconds: float | None, count: int) -> float | None:
    """CPU seconds spent on count units of work (requests, people, deliveries) as µs a unit."""
    return None if seconds is None else seconds * 1e6 / count


#: A server is idle once it used at most this share of one core over IDLE_WINDOW seconds: /proc counts CPU
#: time in ticks of 10 ms, and our server's dispatcher looks for due deliveries every second (a tick, now
#: and then, on an idle server), where a server still at work uses most of the window.
IDLE_SHARE = 0.05
IDLE_WINDOW = 0.5
IDLE_TIMEOUT = 60.0


def wait_idle(*servers: Server) -> float:
    """Wait until every server's CPU time stops growing: each has finished the work queued by the load
    before (wrk stops sending, not the server working). The seconds waited; a server whose CPU time
    cannot be read is not waited for."""
    began = time.monotonic()
    previous = {server: server.cpu_seconds() for server in servers}
    busy = [server for server in servers if previous[server] is not None]
    while busy:
        time.sleep(IDLE_WINDOW)
        working = []
        for server in busy:
            used = server.cpu_since(previous[server])
            if used is not None and used > IDLE_SHARE * IDLE_WINDOW:
                working.append(server)
            previous[server] = server.cpu_seconds()
        busy = working
        if busy and time.monotonic() - began > IDLE_TIMEOUT:
            names = ", ".join(server.name for server in busy)
            raise BenchError(f"{names} still busy {IDLE_TIMEOUT:.0f} s after the load stopped")
    return time.monotonic() - began


#: How `provisionhub serve` has uvicorn serve HTTP.
AS_SERVE_SERVES = ("--http", HTTP_PROTOCOL, "--no-proxy-headers")
#: How uvicorn logs: quiet (the benchmarks' figures), or as `provisionhub serve` does by default.
QUIET = ("--no-access-log", "--log-level", "warning")
LOGGED = ("--access-log", "--log-level", "info")


@contextmanager
def serve(
    database_url: str,
    log_path: Path,
    *,
    logged: bool = False,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Start provisionhub on database_url (with environment's further PROVISIONHUB_* settings), quiet or
    logged, wait until /healthz answers, yield it; always stop it."""
    settings = {"PROVISIONHUB_DATABASE_URL": database_url, **(environment or {})}
    options = (*AS_SERVE_SERVES, *(LOGGED if logged else QUIET))
    with serve_app(BENCH_APP, "/healthz", settings, log_path, options, name="provisionhub") as server:
        yield server


@contextmanager
def serve_app(
    factory: str,
    ready_path: str,
    environment: Mapping[str, str],
    log_path: Path,
    options: Sequence[str] = ("--http", "httptools", *QUIET),
    *,
    name: str = "",
    on_client_cores: bool = False,
) -> Iterator[Server]:
    """Start uvicorn on factory (module:function) with environment added to ours and options (its HTTP
    protocol's and logging's) given to it, pinned to the servers' cores (the clients', for a sink that
    plays the client's part), wait until a GET of ready_path answers 200, yield the server; always stop
    it afterwards."""
    port = free_port()
    env = os.environ.copy()
    env.update(environment)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "src"), str(REPO), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", HOST, "--port", str(port), "--workers", "1", "--loop", "uvloop", *options,
    ]  # fmt: skip
    cores = host.cores()
    command = host.under_taskset(command, cores.client if on_client_cores else cores.server)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_ready(process, port, ready_path, log_path)
            yield Server(f"http://{HOST}:{port}", process.pid, name or factory)
        finally:
            _stop(process)


@dataclass(frozen=True, slots=True)
class Answer:
    """A response's status, its body as text, and the body parsed as JSON (None: not JSON)."""

    status: int
    text: str
    json: Any


def request(
    base: str, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Answer:
    """One request on a new connection to a server under test (a loaded one may take its time)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
    try:
        connection.request(method, path, body, dict(headers or {}))
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
    finally:
        connection.close()
    parsed: Any = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(text)
    return Answer(response.status, text, parsed)


def _wait_ready(process: subprocess.Popen[bytes], port: int, ready_path: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the server exited with {process.returncode} at start:\n{_tail(log_path)}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=1)
            connection.request("GET", ready_path)
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(
        f"the server did not answer {ready_path} within {START_TIMEOUT:.0f} s:\n{_tail(log_path)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful shutdown: the lifespan drains the write queue), then SIGKILL."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"bench: the server did not stop within {STOP_TIMEOUT:.0f} s; killed", file=sys.stderr)
        process.kill()
        process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"
