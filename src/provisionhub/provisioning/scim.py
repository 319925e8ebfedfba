"""The SCIM connector: a person pushed to a SCIM 2.0 service provider (RFC 7644) as a User.

No remote id linked: POST /Users; a 409 (the userName is taken) finds the User by userName, links to it and
updates it. A remote id linked: PATCH when the provider's ServiceProviderConfig says it supports PATCH, else
PUT; a 404 means the User is gone, and it is created again. A deleted person's User is deleted (a 404 counts
as done) and the link forgotten. The remote id goes back in the Outcome, which the queue keeps as the link.
What the provider says of itself (RFC 7644 4: its ServiceProviderConfig, and the attributes its /Schemas
list, which are all that is sent) is asked once and kept a few minutes per base URL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson

from provisionhub.directory.people import Status
from provisionhub.provisioning.apiprovisioner import NoIdentifier
from provisionhub.provisioning.calls import Answer, call, headers_for, outcome_of
from provisionhub.provisioning.deliveries import Claimed, Outcome
from provisionhub.provisioning.scim_user import USER, patch_request, user_document, user_values

#: What is asked for: SCIM's media type, or JSON (RFC 7644 3.1 lets a provider answer either).
ACCEPT = "application/scim+json, application/json"
#: Answers that say a provider has no such endpoint: as settled as a 2xx (it has nothing to say).
ABSENT = frozenset({404, 405, 501})
#: Seconds what a provider says of itself is kept before it is asked again.
DISCOVERY_LIFETIME = 300.0


@dataclass(frozen=True, slots=True)
class Provider:
    """What a SCIM service provider says of itself: whether it supports PATCH, and the attribute paths
    of its User schemas (casefolded; None when it did not say: then everything is sent)."""

    patch: bool
    paths: frozenset[str] | None

    def knows(self, path: str) -> bool:
        return self.paths is None or path == "externalId" or path.casefold() in self.paths


class Providers:
    """What each provider says of itself, by base URL, kept for `lifetime` seconds: a cache for the process
    (a provider that changes its mind is heard within that time; until then its refusals are retried as any
    failure is). Concurrent deliveries to one provider wait for one discovery rather than each asking: a
    lock per URL, made anew for another event loop (an asyncio lock belongs to one)."""

    def __init__(self, lifetime: float = DISCOVERY_LIFETIME) -> None:
        self.lifetime = lifetime
        self._known: dict[str, tuple[float, Provider]] = {}
        self._locks: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    async def provider(self, exchange: _Exchange) -> Provider:
        found = self._fresh(exchange.base)
        if found is not None:
            return found
        async with self._lock(exchange.base):
            found = self._fresh(exchange.base)  # asked while this delivery waited
            if found is not None:
                return found
            provider, settled = await _discover(exchange)
            if settled:
                self._known[exchange.base] = (time.monotonic() + self.lifetime, provider)
            return provider

    def clear(self) -> None:
        """Forget every provider (tests: a loopback port may serve another provider later)."""
        self._known.clear()
        self._locks.clear()

    def _fresh(self, url: str) -> Provider | None:
        entry = self._known.get(url)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def _lock(self, url: str) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        held = self._locks.get(url)
        if held is None or held[0] is not loop:
            held = self._locks[url] = (loop, asyncio.Lock())
        return held[1]


#: The process's one cache: module state, as it must outlive each delivery and be shared by them all.
PROVIDERS = Providers()


class _Unanswered(Exception):
    """A call got no answer: the delivery's outcome is the failed one this carries."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


class _Exchange:
    """The calls of one delivery to one provider: its base URL, the headers, and the time they took."""

    def __init__(self, client: aiohttp.ClientSession, claimed: Claimed) -> None:
        self.client = client
        self.base = claimed.target.url
        self.headers = {**headers_for(claimed.target, claimed), "Accept": ACCEPT}
        self.timeout_seconds = claimed.target.timeout_seconds
        self.elapsed_ms = 0

    async def send(self, method: str, path: str, body: Any | None = None) -> Answer:
        """The provider's answer; _Unanswered when none came."""
        response, failed, elapsed = await call(
            self.client, method, self.base + path, self.headers, body, self.timeout_seconds
        )
        self.elapsed_ms += elapsed
        if response is None:
            assert failed is not None
            raise _Unanswered(replace(failed, elapsed_ms=self.elapsed_ms))
        return response

    def outcome(self, response: Answer, remote_id: str | None = None) -> Outcome:
        return outcome_of(response, self.elapsed_ms, remote_id=remote_id)


async def deliver(client: aiohttp.ClientSession, claimed: Claimed) -> Outcome:
    """Bring the person's User at the target up to their state (see the module's docstring)."""
    exchange = _Exchange(client, claimed)
    try:
        if claimed.person.status is Status.DELETED:
            return await _delete(exchange, claimed.remote_id)
        try:
            values = user_values(claimed.target, claimed.person)
        except NoIdentifier as exc:
            return Outcome(False, error=str(exc), final=True)
        provider = await PROVIDERS.provider(exchange)
        if not claimed.remote_id:
            return await _create(exchange, provider, values)
        return await _update(exchange, provider, claimed.remote_id, values)
    except _Unanswered as unanswered:
        return unanswered.outcome


async def _create(exchange: _Exchange, provider: Provider, values: dict[str, Any]) -> Outcome:
    response = await exchange.send("POST", "/Users", user_document(values, provider.knows))
    if response.status_code == 409:
        return await _adopt(exchange, provider, values, response)
    if not response.is_success:
        return exchange.outcome(response)
    remote_id = _body(response).get("id")
    if not isinstance(remote_id, str) or not remote_id:
        return replace(exchange.outcome(response), ok=False, error="the User was created, but no id answered")
    return exchange.outcome(response, remote_id)


async def _adopt(
    exchange: _Exchange, provider: Provider, values: dict[str, Any], conflict: Answer
) -> Outcome:
    """After a 409 on create: the User with the person's userName, linked and brought up to date."""
    name = values["userName"]
    query = {"filter": f"userName eq {orjson.dumps(name).decode()}", "attributes": "userName"}
    response = await exchange.send("GET", f"/Users?{urlencode(query, quote_via=quote)}")
    if not response.is_success:
        return exchange.outcome(response)
    remote_id = _named(response, name)
    if remote_id is None:
        error = f"HTTP 409 on create, and no User has the userName {name!r}: another unique value is taken"
        return replace(exchange.outcome(conflict), error=error)
    return replace(await _update(exchange, provider, remote_id, values, recreate=False), remote_id=remote_id)


async def _update(
    exchange: _Exchange, provider: Provider, remote_id: str, values: dict[str, Any], *, recreate: bool = True
) -> Outcome:
    """PATCH or PUT the User; on a 404 (it is gone) create it again, unless recreate is false."""
    path = f"/Users/{quote(remote_id, safe='')}"
    if provider.patch:
        response = await exchange.send("PATCH", path, patch_request(values, provider.knows))
    else:
        document = {**user_document(values, provider.knows, whole=True), "id": remote_id}
        response = await exchange.send("PUT", path, document)
    if response.status_code == 404 and recreate:
        created = await _create(exchange, provider, values)
        return created if created.remote_id is not None else replace(created, remote_id="")
    return exchange.outcome(response)


async def _delete(exchange: _Exchange, remote_id: str | None) -> Outcome:
    """DELETE the linked User and forget the link; with no User linked there is nothing to do."""
    if not remote_id:
        return Outcome(True)
    response = await exchange.send("DELETE", f"/Users/{quote(remote_id, safe='')}")
    if response.status_code == 404:  # gone already: what the delete was for
        return replace(exchange.outcome(response), ok=True, error=None, remote_id="")
    return exchange.outcome(response, "" if response.is_success else None)


async def _discover(exchange: _Exchange) -> tuple[Provider, bool]:
    """Ask the provider for its ServiceProviderConfig and Schemas (RFC 7644 4): what it says, and whether
    its answers are settled enough to keep (a 5xx, 429 or a refused credential is not)."""
    config = await exchange.send("GET", "/ServiceProviderConfig")
    schemas = await exchange.send("GET", "/Schemas")
    declared = _body(config).get("patch") if config.is_success else None
    patch = isinstance(declared, dict) and declared.get("supported") is True
    paths = _paths(_body(schemas)) if schemas.is_success else None
    settled = all(r.is_success or r.status_code in ABSENT for r in (config, schemas))
    return Provider(patch, paths), settled


def _paths(listing: dict[str, Any]) -> frozenset[str] | None:
    """The attribute paths of the User schemas a /Schemas answer lists: the core schema's by name (and
    name.sub), an extension's by its URN (itself, and URN:name, URN:name.sub); casefolded. None when the
    answer does not list the core User schema (it is not an answer to go by)."""
    found: set[str] = set()
    for schema in _objects(listing.get("Resources")):
        urn = schema.get("id")
        if not isinstance(urn, str):
            continue
        prefix = "" if urn == USER else f"{urn}:"
        found.add(urn)
        for attribute in _objects(schema.get("attributes")):
            name = f"{prefix}{attribute.get('name')}"
            found.add(name)
            found.update(f"{name}.{sub.get('name')}" for sub in _objects(attribute.get("subAttributes")))
    return frozenset(path.casefold() for path in found) if USER in found else None


def _named(listing: Answer, name: str) -> str | None:
    """The id of the User a filtered list answered with the userName name (compared as the provider
    does, case-insensitively)."""
    for resource in _objects(_body(listing).get("Resources")):
        found = resource.get("id")
        if isinstance(found, str) and str(resource.get("userName", "")).casefold() == name.casefold():
            return found
    return None


def _objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a list (an answer's Resources, a schema's attributes); [] for anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _body(response: Answer) -> dict[str, Any]:
    """The answer's JSON object; {} for an empty, unreadable or other answer."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
