"""Settings: read from the environment, and below every package that is given them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

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


def test_sqlite_synchronous_defaults_to_normal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVISIONHUB_SQLITE_SYNCHRONOUS", raising=False)
    assert Settings().sqlite_synchronous == "NORMAL"


@pytest.mark.parametrize(("value", "level"), [("FULL", "FULL"), ("full", "FULL"), ("Normal", "NORMAL")])
def test_sqlite_synchronous_is_read_from_the_environment_in_any_case(
    monkeypatch: pytest.MonkeyPatch, value: str, level: str
) -> None:
    monkeypatch.setenv("PROVISIONHUB_SQLITE_SYNCHRONOUS", value)
    assert Settings().sqlite_synchronous == level


@pytest.mark.parametrize("value", ["OFF", "EXTRA", "2", ""])
def test_an_unknown_sqlite_synchronous_fails_at_start_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PROVISIONHUB_SQLITE_SYNCHRONOUS", value)
    with pytest.raises(ValidationError, match="sqlite_synchronous") as refused:
        Settings()
    assert "'NORMAL' or 'FULL'" in str(refused.value)
