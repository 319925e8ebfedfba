"""The documentation site builds with --strict (no broken link, no page outside the nav), and its
configuration page names every setting."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError
from pydantic import Field
from pydantic_settings import BaseSettings

from provisionhub.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strict_and_its_configuration_page_names_every_setting(tmp_path: Path) -> None:
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    page = (site / "operations" / "configuration.html").read_text()
    for name in Settings.model_fields:
        assert f"PROVISIONHUB_{name.upper()}" in page


def test_a_setting_without_a_description_fails_the_build() -> None:
    class Undescribed(BaseSettings):
        described: int = Field(1, description="Has one.")
        bare: int = 2

    with pytest.raises(PluginError, match="bare"):
        runpy.run_path(str(ROOT / "docs" / "hooks" / "settings_table.py"))["settings_table"](Undescribed)
