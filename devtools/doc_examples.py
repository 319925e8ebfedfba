"""Run a Markdown page's shell examples as its reader would, and check their answers against the page.

A page is read in order (docs/development.md, "Examples that run", says the same for writers):
- a fenced `sh` block is run, in one bash script for the whole page (`set -euo pipefail`, so variables carry
  from block to block and the first failing command stops the page);
- a `json` or `text` block directly after an `sh` block (only blank lines between) is what that block
  prints on stdout, compared ignoring whitespace, with `...` standing for any text;
- `<!-- run in background: NAME -->` before an `sh` block starts it beside the page, as a second terminal
  would (so it sees exported variables only); `; ready: URL` waits until URL answers 200;
- `<!-- output of: NAME -->` before a `text` block waits (up to 20 s) until that background block has
  printed it;
- `<!-- not run -->` before a block leaves it out, and so does any other info string.

Ports are rewritten (`127.0.0.1:8000` to a free port, say) so that pages can be run side by side.
`python -m devtools.doc_examples run PAGE [--port 8000=N ...]` runs one page from the current directory.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(?P<fence>```+|~~~+)(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*(?P<text>.*?)\s*-->$", re.S)
SHELLS = ("sh", "bash", "shell")
OUTPUTS = ("json", "text")
#: How long a page may wait for a background block to print what the page says it prints.
OUTPUT_WAIT_SECONDS = 20.0
READY_WAIT_SECONDS = 90.0


@dataclass
class Step:
    """One thing the page does: run a block (foreground, or in the background as `name`), or wait for a
    background block's output. line: where the block starts in the page (1-based)."""

    kind: str  # "run", "background", "await"
    body: str
    line: int
    name: str = ""
    ready: str = ""
    expected: str | None = None


@dataclass
class Page:
    steps: list[Step] = field(default_factory=list)

    @property
    def backgrounds(self) -> set[str]:
        return {step.name for step in self.steps if step.kind == "background"}


def read_page(text: str) -> Page:
    """The steps of a page, in order."""
    page = Page()
    previous_end: int | None = None
    for match in FENCE.finditer(text):
        between = text[previous_end : match.start()] if previous_end is not None else None
        before = text[: match.start()].rstrip()
        marker = MARKER.match(before[before.rfind("<!--") :]) if before.endswith("-->") else None
        note = marker["text"] if marker else ""
        language = (match["info"].split() or [""])[0].lower()
        line = text.count("\n", 0, match.start()) + 1
        body = match["body"]
        previous_end = match.end()
        if note == "not run":
            continue
        if note.startswith("run in background:") and language in SHELLS:
            name, _, ready = note.removeprefix("run in background:").partition(";")
            ready = ready.strip().removeprefix("ready:").strip()
            page.steps.append(Step("background", body, line, name=name.strip(), ready=ready))
        elif note.startswith("output of:"):
            name = note.removeprefix("output of:").strip()
            page.steps.append(Step("await", "", line, name=name, expected=body))
        elif language in SHELLS:
            page.steps.append(Step("run", body, line))
        elif (
            language in OUTPUTS
            and between is not None
            and not between.strip()
            and page.steps
            and page.steps[-1].kind == "run"
            and page.steps[-1].expected is None
        ):
            page.steps[-1].expected = body
    return page


def rewrite_ports(text: str, ports: Mapping[int, int]) -> str:
    """The page with each documented port replaced by the one it is run on."""
    for documented, actual in ports.items():
        text = re.sub(rf"(?<=127\.0\.0\.1:|localhost:){documented}\b", str(actual), text)
        text = re.sub(rf"(?<=--port ){documented}\b", str(actual), text)
    return text


def script(page: Page, work: Path, python: str) -> str:
    """The bash script that does what the page says, its files in `work`."""
    check = f"{shlex.quote(python)} {shlex.quote(str(Path(__file__).resolve()))}"
    lines = [
        "set -euo pipefail",
        "__background=()",
        '__stop() { for pid in ${__background[@]+"${__background[@]}"}; do kill -TERM -- -$pid 2>/dev/null '
        '|| true; done; for pid in ${__background[@]+"${__background[@]}"}; do '
        "for i in $(seq 50); do kill -0 -- -$pid 2>/dev/null || break; sleep 0.1; done; done; }",
        "trap __stop EXIT",
    ]
    for number, step in enumerate(page.steps, 1):
        here = work / f"step{number}"
        (work / f"step{number}.sh").write_text(step.body)
        lines.append(f"echo {number} > {work / 'current'}")
        if step.kind == "run":
            lines += ["{", step.body.rstrip("\n"), f"}} > {here}.out 2> {here}.err"]
            if step.expected is not None:
                (work / f"step{number}.expected").write_text(step.expected)
                lines.append(f"{check} check {here}.expected {here}.out")
        elif step.kind == "background":
            log = work / f"{step.name}.log"
            lines += [
                f"setsid bash -c {shlex.quote('set -euo pipefail; ' + step.body)} > {log} 2>&1 &",
                "__background+=($!)",
            ]
            if step.ready:
                lines.append(f"{check} ready {shlex.quote(step.ready)} {log} $!")
        else:
            (work / f"step{number}.expected").write_text(step.expected or "")
            wait = f"--wait {OUTPUT_WAIT_SECONDS}"
            lines.append(f"{check} check --contains {wait} {here}.expected {work / step.name}.log")
    lines.append(f"echo done > {work / 'current'}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Outcome:
    """How a page's run ended: ok, or the step it stopped at with what it printed."""

    ok: bool
    report: str


def run_page(
    path: Path,
    work: Path,
    *,
    ports: Mapping[int, int],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 600.0,
) -> Outcome:
    """Run a page's examples from cwd with env; the outcome, with what went wrong and where."""
    page = read_page(rewrite_ports(path.read_text(encoding="utf-8"), ports))
    if not page.steps:
        return Outcome(False, f"{path}: no examples to run")
    (work / "page.sh").write_text(script(page, work, sys.executable))
    done = subprocess.run(  # noqa: S603 (the page's own examples, which is the point)
        [shutil.which("bash") or "/bin/bash", str(work / "page.sh")],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    reached = (work / "current").read_text().strip() if (work / "current").exists() else "0"
    if done.returncode == 0 and reached == "done":
        return Outcome(True, "")
    step = page.steps[int(reached) - 1] if reached.isdigit() and int(reached) else None
    report = [f"{path}: stopped (exit {done.returncode})"]
    if step is not None:
        report.append(f"at the block on line {step.line}:\n{step.body}")
        for suffix in (".out", ".err"):
            produced = work / f"step{reached}{suffix}"
            if produced.exists():
                report.append(f"--- its {suffix[1:]}:\n{produced.read_text(errors='replace')}")
    report.append(f"--- the check said:\n{done.stdout}{done.stderr}")
    for name in sorted(page.backgrounds):
        log = work / f"{name}.log"
        if log.exists():
            report.append(f"--- background {name!r} printed:\n{log.read_text(errors='replace')[-4000:]}")
    return Outcome(False, "\n".join(report))


def matches(expected: str, actual: str, *, contains: bool = False) -> bool:
    """Whether actual is what expected shows, whitespace ignored, each `...` standing for any text."""
    pieces = re.sub(r"\s+", "", expected).split("...")
    pattern = ".*?".join(re.escape(piece) for piece in pieces)
    squeezed = re.sub(r"\s+", "", actual)
    found = re.search(pattern, squeezed, re.S) if contains else re.fullmatch(pattern, squeezed, re.S)
    return found is not None


def _check(args: argparse.Namespace) -> int:
    expected = Path(args.expected).read_text()
    deadline = time.monotonic() + args.wait
    while True:
        actual = Path(args.actual).read_text(errors="replace") if Path(args.actual).exists() else ""
        if matches(expected, actual, contains=args.contains):
            return 0
        if time.monotonic() >= deadline:
            print(f"the page shows:\n{expected}\nbut this was printed:\n{actual}")
            return 1
        time.sleep(0.1)


def _ready(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + READY_WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(args.url, timeout=2) as answer:  # noqa: S310 (the page's own URL)
                if answer.status == 200:
                    return 0
        except (urllib.error.URLError, OSError):
            pass
        try:
            os.kill(int(args.pid), 0)
        except ProcessLookupError:
            print(f"the background block ended before {args.url} answered:\n{Path(args.log).read_text()}")
            return 1
        time.sleep(0.2)
    print(f"{args.url} did not answer 200 within {READY_WAIT_SECONDS:.0f} s:\n{Path(args.log).read_text()}")
    return 1


def _run(args: argparse.Namespace) -> int:
    ports = dict(tuple(int(p) for p in pair.split("=")) for pair in args.port)  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as work:
        outcome = run_page(Path(args.page), Path(work), ports=ports, env=os.environ, cwd=Path.cwd())
    print("ok" if outcome.ok else outcome.report)
    return 0 if outcome.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.doc_examples", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a page's examples")
    run.add_argument("page")
    run.add_argument("--port", action="append", default=[], help="DOCUMENTED=ACTUAL, e.g. 8000=8123")
    check = commands.add_parser("check", help="(used by the page's script) compare an output")
    check.add_argument("--contains", action="store_true")
    check.add_argument("--wait", type=float, default=0.0, help="seconds to wait for it to match")
    check.add_argument("expected")
    check.add_argument("actual")
    ready = commands.add_parser("ready", help="(used by the page's script) wait for a URL")
    ready.add_argument("url")
    ready.add_argument("log")
    ready.add_argument("pid")
    args = parser.parse_args(argv)
    return {"run": _run, "check": _check, "ready": _ready}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
