"""A connector's calls to its target: the headers each carries, one call, and its answer as an outcome."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
from yarl import URL

from provisionhub.provisioning.deliveries import Claimed, Outcome
from provisionhub.provisioning.targets import Auth, Target

#: Statuses whose Retry-After header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Answer:
    """A target's answer: its status, reason, headers (names lower-cased) and body."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def client_session(timeout_seconds: float, connections: int) -> aiohttp.ClientSession:
    """The dispatcher's HTTP client: aiohttp, whose calls cost a fraction of httpx's (docs/benchmarks);
    no proxies from the environment, no redirects followed (see call)."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        connector=aiohttp.TCPConnector(limit=connections),
        trust_env=False,
    )


def headers_for(target: Target, claimed: Claimed) -> dict[str, str]:
    """Every call's headers: JSON, the target's credentials, and what lets a receiver drop duplicates
    and stale messages: the event id (the same on every retry) and the person's sequence number (their
    version, which grows with every change)."""
    headers = {
        "Accept": "application/json",
        "X-Provisionhub-Event": claimed.event_id,
        "X-Provisionhub-Sequence": str(claimed.person.version),
    }
    if target.auth is Auth.BASIC:
        pair = f"{target.username}:{target.secret or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif target.auth is Auth.BEARER:
        headers["Authorization"] = f"Bearer {target.secret}"
    return headers


async def call(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any | None,
    timeout_seconds: float | None = None,
) -> tuple[Answer | None, Outcome | None, int]:
    """One HTTP call: (answer, None, ms), or (None, a failed outcome, ms) when no answer came. The URL goes
    as given (already encoded); a redirect is an answer like any other 3xx: not a success. timeout_seconds:
    the target's own timeout (None: the client's)."""
    started = time.perf_counter()
    content = None if body is None else orjson.dumps(body)
    if content is not None:
        headers = {**headers, "Content-Type": "application/json"}
    options: dict[str, Any] = {}
    if timeout_seconds is not None:
        options["timeout"] = aiohttp.ClientTimeout(total=timeout_seconds)
    try:
        async with client.request(
            method, URL(url, encoded=True), data=content, headers=headers, allow_redirects=False, **options
        ) as response:
            answered = await response.read()
            answer = Answer(
                response.status,
                response.reason or "",
                {name.lower(): value for name, value in response.headers.items()},
                answered,
            )
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        elapsed = _ms(started)
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return None, Outcome(False, error=error[:500], elapsed_ms=elapsed), elapsed
    return answer, None, _ms(started)


def outcome_of(response: Answer, elapsed_ms: int, **extra: Any) -> Outcome:
    """A response as an outcome: any 2xx is success (COmanage's rule)."""
    ok = 200 <= response.status_code < 300
    return Outcome(
        ok=ok,
        status=response.status_code,
        response=response.text[:500] if response.content else None,
        error=None if ok else f"HTTP {response.status_code} {response.reason_phrase}".strip(),
        retry_after=retry_after(response) if response.status_code in RETRY_AFTER_STATUSES else None,
        elapsed_ms=elapsed_ms,
        **extra,
    )


def retry_after(response: Answer) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
