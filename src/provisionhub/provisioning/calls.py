"""A connector's calls to its target: the headers each carries, one call, and its answer as an outcome."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from provisionhub.provisioning.queue import Claimed, Outcome
from provisionhub.provisioning.targets import Auth, Target

#: Statuses whose Retry-After header is honoured.
RETRY_AFTER_STATUSES = frozenset({429, 503})


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
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body: Any | None
) -> tuple[httpx.Response | None, Outcome | None, int]:
    """One HTTP call: (response, None, ms), or (None, a failed outcome, ms) when no answer came."""
    started = time.perf_counter()
    content = None if body is None else orjson.dumps(body)
    if content is not None:
        headers = {**headers, "Content-Type": "application/json"}
    try:
        response = await client.request(method, url, content=content, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = _ms(started)
        return None, Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__,
                             elapsed_ms=elapsed), elapsed  # fmt: skip
    return response, None, _ms(started)


def outcome_of(response: httpx.Response, elapsed_ms: int, **extra: Any) -> Outcome:
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


def retry_after(response: httpx.Response) -> float | None:
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
