"""The libraries whose internals the code relies on keep an upper bound in pyproject.toml, which the
installed release meets: an upgrade past it is a decision, taken after their seam tests pass."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

#: Each pinned library, and the test module that checks what the code takes from inside it.
PINNED = {
    "fastapi": "tests/http/test_library_seams.py",
    "starlette": "tests/http/test_library_seams.py",
    "uvicorn": "tests/http/test_library_seams.py",
    "sqlalchemy": "tests/store/test_library_seams.py",
    "psycopg": "tests/store/test_library_seams.py",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_library_the_code_steps_inside_is_pinned_below_its_next_release(name: str) -> None:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    [pin] = [r for r in map(Requirement, dependencies) if canonicalize_name(r.name) == name]
    assert any(spec.operator == "<" for spec in pin.specifier), f"{pin}: see {PINNED[name]}"
    assert pin.specifier.contains(version(name)), f"{version(name)} installed, outside {pin}"
    assert (PYPROJECT.parent / PINNED[name]).is_file()
