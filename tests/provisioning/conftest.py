"""Provisioning fixtures: a receiver on loopback, targets, people, and a dispatcher over the database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from provisionhub.directory.people import UpsertPerson
from provisionhub.directory.service import Directory
from provisionhub.provisioning.dispatcher import Dispatcher, Policy
from provisionhub.provisioning.targets import AddTarget, Kind, Target, add_target
from provisionhub.store.database import Database
from tests.factories import upsert
from tests.provisioning.receiver import Receiver, receiving

#: Quick retries, short leases: tests wait milliseconds, not minutes.
FAST = Policy(
    backoff_seconds=0.05, backoff_max_seconds=0.5, lease_seconds=5, timeout_seconds=5, idle_seconds=0.2
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


def new_target(database: Database, url: str, **options: Any) -> Target:
    options.setdefault("name", f"target-{len(url)}-{id(options)}")
    options.setdefault("kind", Kind.APIPROVISIONER)
    with database.transaction() as conn:
        return add_target(conn, AddTarget(url=url, **options), "test", datetime.now(UTC))


def new_person(directory: Directory, **fields: Any) -> str:
    """A new OPS-COM person through the directory; their public id."""
    command: UpsertPerson = upsert(**fields)
    with directory.database.transaction() as conn:
        return str(directory.upsert_person(conn, command, "test").row["public_id"])


@pytest.fixture
async def dispatcher(database: Database) -> AsyncIterator[Dispatcher]:
    """A dispatcher running on the test's loop; stopped afterwards, and the write queue with it while the
    loop still runs (a write it left queued settles on its loop: once closed, the writer thread fails)."""
    database.start()
    dispatcher = Dispatcher(database, FAST)
    dispatcher.start()
    yield dispatcher
    await dispatcher.stop()
    database.stop()
