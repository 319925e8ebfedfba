"""Settings: read from the environment, and below every package that is given them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from provisionhub.settings import DEFAULT_DATABASE_POOL_SIZE, Settings

LOADED = """
import sys
import provisionhub.settings
print(" ".join(sorted(name for name in sys.modules if name.startswith("provisionhub."))))
"""


def test_settings_import_nothing_of_provisionhub() -> None:
    # In a fresh interpreter: this one has loaded the store already. The store may import settings,
    # never the reverse.
    command = [sys.executable, "-c", LOADED]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["provisionhub.settings"]


def test_database_pool_size_defaults_to_the_settings_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISIONHUB_DATABASE_POOL_SIZE", raising=False)
    assert Settings().database_pool_size == DEFAULT_DATABASE_POOL_SIZE
