"""The runner of the docs' examples (devtools/doc_examples.py) on small pages of its own: it must fail a
page whose answers differ from what the page shows, or whose commands fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools.doc_examples import main, matches, read_page, rewrite_ports, run_page

FENCE = "```"


def page(*parts: str) -> str:
    return "\n".join(parts) + "\n"


def sh(body: str) -> str:
    return f"{FENCE}sh\n{body}\n{FENCE}\n"


def output(body: str, info: str = "text") -> str:
    return f"{FENCE}{info}\n{body}\n{FENCE}\n"


def run(tmp_path: Path, text: str, ports: dict[int, int] | None = None) -> tuple[bool, str]:
    doc = tmp_path / "page.md"
    doc.write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_page(doc, work, ports=ports or {}, env=dict(os.environ), cwd=tmp_path, timeout=60)
    return outcome.ok, outcome.report


def test_a_page_whose_answers_match_passes(tmp_path: Path) -> None:
    ok, report = run(
        tmp_path,
        page(
            "Set a variable, then use it in a later block:",
            sh("NAME=ada"),
            sh('echo "{\\"user\\": \\"$NAME\\", \\"id\\": 42}"'),
            output('{"user": "ada", "id": ...}', "json"),
        ),
    )
    assert ok, report


def test_an_answer_that_differs_fails_and_says_where(tmp_path: Path) -> None:
    ok, report = run(tmp_path, page("Intro.", sh("echo hello"), output("goodbye")))

    assert not ok
    assert "line 2" in report
    assert "goodbye" in report
    assert "hello" in report


def test_a_failing_command_stops_the_page(tmp_path: Path) -> None:
    ok, report = run(tmp_path, page(sh("false\necho after > after.txt"), sh("echo next")))

    assert not ok
    assert "line 1" in report
    assert not (tmp_path / "after.txt").exists()


def test_blocks_marked_not_run_and_other_languages_are_left_out(tmp_path: Path) -> None:
    text = page(
        "<!-- not run -->", sh("exit 3"), f"{FENCE}console\nexit 4\n{FENCE}", sh("echo ran"), output("ran")
    )

    assert [step.body for step in read_page(text).steps] == ["echo ran\n"]
    assert run(tmp_path, text)[0]


def test_an_output_block_after_prose_is_not_an_expected_answer() -> None:
    steps = read_page(page(sh("echo one"), "Some prose.", output("two"))).steps

    assert steps[0].expected is None


def test_a_background_block_is_waited_for_and_stopped(tmp_path: Path) -> None:
    ok, report = run(
        tmp_path,
        page(
            "<!-- run in background: ticker -->",
            sh("sleep 0.5; echo tick one; sleep 600"),
            "<!-- output of: ticker -->",
            output("tick ..."),
        ),
    )
    assert ok, report


def test_a_background_output_that_never_comes_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devtools.doc_examples.OUTPUT_WAIT_SECONDS", 0.5)
    ok, report = run(
        tmp_path,
        page(
            "<!-- run in background: quiet -->", sh("sleep 600"), "<!-- output of: quiet -->", output("tick")
        ),
    )
    assert not ok
    assert "tick" in report


def test_ports_are_rewritten_in_commands_and_answers() -> None:
    text = "curl http://127.0.0.1:8000/x localhost:8000 --port 9000 127.0.0.1:80001"

    assert rewrite_ports(text, {8000: 8123, 9000: 9123}) == (
        "curl http://127.0.0.1:8123/x localhost:8123 --port 9123 127.0.0.1:80001"
    )


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        ('{"a": 1, "b": ...}', '{"a":1,"b":[1,2]}', True),
        ('{"a": 1}', '{"a":1,"b":2}', False),
        ('{"a": 1, ...}', '{"a":2,"b":2}', False),
        ("PUT /people/... -> 200", "PUT /people/019 -> 200", True),
        ("PUT /people/... -> 200", "PUT /people/019 -> 500", False),
    ],
)
def test_matching_ignores_whitespace_and_takes_dots_for_any_text(
    expected: str, actual: str, found: bool
) -> None:
    assert matches(expected, actual) is found


@pytest.mark.parametrize(("printed", "status"), [("ran", 0), ("other", 1)])
def test_the_command_runs_one_page_and_says_how_it_went(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    printed: str,
    status: int,
) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(page(sh("echo ran"), output(printed)))
    monkeypatch.chdir(tmp_path)

    assert main(["run", str(doc)]) == status
    assert capsys.readouterr().out.startswith("ok" if status == 0 else f"{doc}: stopped")
