"""Every docs page's examples, run as written against a `provisionhub serve` of their own on an empty
database (devtools/doc_examples.py says how a page is read). The README's tour is tests/docs/test_tour.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from devtools.doc_examples import read_page, run_page
from tests.e2e.conftest import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    page.relative_to(ROOT).as_posix()
    for page in (ROOT / "docs").rglob("*.md")
    if any(step.kind == "run" for step in read_page(page.read_text(encoding="utf-8")).steps)
)


@pytest.mark.parametrize("page", PAGES)
def test_the_examples_of_a_page_run_as_written(page: str, tmp_path: Path) -> None:
    server = Server(f"sqlite:///{tmp_path / 'var' / 'provisionhub.db'}", tmp_path / "serve.log")
    server.start()
    try:
        env = {
            **server.env,
            # The pages are written for a reader whose virtualenv is active.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
        work = tmp_path / "work"
        work.mkdir()
        outcome = run_page(ROOT / page, work, ports={8000: server.port, 9000: free_port()}, env=env, cwd=ROOT)
    finally:
        server.stop()
    assert outcome.ok, f"{outcome.report}\n--- the server printed:\n{server.output()[-4000:]}"


def test_the_pages_with_examples_are_found() -> None:
    """A page whose examples silently stopped being found would stop being checked."""
    assert {"docs/dialects/opscom.md", "docs/dialects/scim.md"} <= set(PAGES)
