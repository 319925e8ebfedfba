"""The README's tour, run as written: a server started by `make run`, a receiver, every dialect; a step
that fails or prints other than the README shows turns the suite red (devtools/doc_examples.py)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from devtools.doc_examples import read_page, run_page
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    server, receiver = free_port(), free_port()
    env = {
        **os.environ,
        "PROVISIONHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'provisionhub.db'}",
        "PROVISIONHUB_PORT": str(server),
        # The tour activates the virtualenv itself, as its reader does: start without it.
        "PATH": os.pathsep.join(
            p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent
        ),
    }
    env.pop("VIRTUAL_ENV", None)
    work = tmp_path / "work"
    work.mkdir()

    outcome = run_page(README, work, ports={8000: server, 9000: receiver}, env=env, cwd=ROOT)

    assert outcome.ok, outcome.report


def test_the_tour_shows_every_dialect_and_a_delivery() -> None:
    page = read_page(README.read_text())
    run = "\n".join(step.body for step in page.steps)

    for mount in ("/opscom/", "/myon/", "/ocl/", "/scim/v2/", "/uniweb/", "/comanage/"):
        assert mount in run, f"the tour pushes nothing through {mount}"
    assert {"server", "receiver"} <= page.backgrounds
    assert [step for step in page.steps if step.kind == "await"], "the tour shows no delivery arriving"
    assert all(step.expected is not None for step in page.steps if "curl" in step.body), (
        "a tour step that calls the server shows no answer to compare with"
    )


def test_the_readme_links_only_to_files_that_exist() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text()):
        if not target.startswith(("http://", "https://", "mailto:")):
            assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
