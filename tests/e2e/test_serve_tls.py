"""End to end: `provisionhub serve` answering HTTPS with a certificate it is given."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl to make a certificate")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1, and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_serve_with_a_certificate_answers_https(empty_database_url: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))
    server = Server(
        empty_database_url, tmp_path / "serve.log", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key),
        scheme="https", verify=trusted,
    )  # fmt: skip
    server.start()
    try:
        assert httpx.get(f"{server.base}/healthz", verify=trusted).json() == {"status": "ok"}
        with pytest.raises(httpx.ConnectError):  # a client that does not trust it is refused
            httpx.get(f"{server.base}/healthz")
        with pytest.raises(httpx.TransportError):  # and plain HTTP is not served there
            httpx.get(f"http://127.0.0.1:{server.port}/healthz")
        assert f"curl -s -X POST https://127.0.0.1:{server.port}/" in server.output()
    finally:
        server.stop()


def test_the_certificate_can_come_from_the_settings(empty_database_url: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    trusted = ssl.create_default_context(cafile=str(cert))
    server = Server(empty_database_url, tmp_path / "serve.log", scheme="https", verify=trusted)
    server.env |= {"PROVISIONHUB_SSL_CERTFILE": str(cert), "PROVISIONHUB_SSL_KEYFILE": str(key)}
    server.start()
    try:
        assert httpx.get(f"{server.base}/healthz", verify=trusted).json() == {"status": "ok"}
    finally:
        server.stop()
