"""Connectors: the registry of how a claimed delivery becomes calls to its target, by the target's kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from provisionhub.provisioning import apiprovisioner, scim
from provisionhub.provisioning.deliveries import Claimed, Outcome
from provisionhub.provisioning.targets import Kind

Connector = Callable[[aiohttp.ClientSession, Claimed], Awaitable[Outcome]]

CONNECTORS: dict[Kind, Connector] = {Kind.APIPROVISIONER: apiprovisioner.deliver, Kind.SCIM: scim.deliver}


def connector_for(kind: Kind) -> Connector:
    return CONNECTORS[kind]
