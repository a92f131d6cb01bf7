"""docs/workshop.md runs as written: every command a participant types, in order, against a real broker.

Which blocks run: every ```console block. In one, a line starting with ``$ `` is a command (a line ending in a
backslash continues on the next line) and every other line is output shown to the reader. Of that output only
the rows that state a result are compared (``CHECKED_ROWS``: the message total, the consistency verdict and the
expectation of each mode), and not for runs with ``--orders`` (how a race for the last unit ends varies). The
```sh blocks (the broker set-up, ``make``, ``docker compose``, the ``export`` lines) are not run: this test
provides what they set up itself, namely ``AMQP_URL`` (a participant's seat from ``sagalab workshop provision``:
their own vhost and user, not an administrator), ``SAGALAB_NAMESPACE`` (the fixture's fresh namespace) and the
venv first on ``PATH``, so ``sagalab`` and ``python3`` are the venv's.

The commands run one after the other in one temporary folder that stands for the participant's checkout: it
holds the repo files the guide reads (``REPO_FILES``) and collects the run folders, reports and JSON files
the guide writes. Each command is its own ``bash -c``, so no shell state carries over; the guide relies on
none. A command must exit 0 unless its line ends with ``# exits N: why``.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from yarl import URL

pytestmark = pytest.mark.broker

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "workshop.md"
REPO_FILES = ("orchestration/checkout.asl.json",)
"""The checkout's files the guide's commands read, copied into the working folder."""
FEWEST_COMMANDS = 25
"""The guide has more than this; fewer means the parser missed blocks (an empty parse must not pass)."""
EXIT_NOTE = re.compile(r"#\s*exits (\d+)\b[^\n]*$")
CHECKED_ROWS = re.compile(r"^│ (messages|consistency|expectation) +│")


@dataclass(frozen=True)
class Command:
    """One command as bash gets it, the guide's line it starts on, and the exit status the guide promises."""

    text: str
    line: int
    exit_status: int
    shown: tuple[str, ...] = ()
    """The output lines the guide shows under the command."""

    def promised_rows(self) -> list[str]:
        """The shown result rows this command must print, whitespace collapsed."""
        if "--orders" in self.text:
            return []
        return [" ".join(line.split()) for line in self.shown if CHECKED_ROWS.match(line)]


def console_commands(markdown: str) -> list[Command]:
    """Each ``$ `` command of the guide's ```console blocks, continuations joined, in order."""
    commands: list[Command] = []
    pending: list[str] = []
    in_console, start, block_start = False, 0, 0
    for number, line in enumerate(markdown.splitlines(), start=1):
        if line.startswith("```"):
            assert not pending, f"docs/workshop.md:{start}: a command continues past the end of its block"
            in_console, block_start = line.strip() == "```console", number
            continue
        if not in_console:
            continue
        if pending:
            pending.append(line)
        elif line.startswith("$ "):
            pending, start = [line[2:]], number
        elif commands and commands[-1].line >= block_start:
            commands[-1] = replace(commands[-1], shown=(*commands[-1].shown, line))
        if pending and not line.endswith("\\"):
            text = "\n".join(pending)  # bash itself removes each backslash-newline
            note = EXIT_NOTE.search(pending[-1])
            commands.append(Command(text, start, int(note.group(1)) if note else 0))
            pending = []
    assert not pending, f"docs/workshop.md:{start}: a command continues past the end of the guide"
    return commands


def test_the_parser_joins_continuations_and_reads_exit_notes() -> None:
    """Only ```console blocks count; output lines are skipped; a backslash joins lines; `# exits N` is read."""
    markdown = "\n".join([
        "```sh", "$ make compare", "```",
        "```console", "$ sagalab scenarios", "  happy-path  1", "$ sagalab compare x \\", "    --orders 2",
        "output", "$ sagalab run y --mode choreography  # exits 1: the scenario expects more", "```",
    ])  # fmt: skip
    assert console_commands(markdown) == [
        Command("sagalab scenarios", 5, 0, ("  happy-path  1",)),
        Command("sagalab compare x \\\n    --orders 2", 7, 0, ("output",)),
        Command("sagalab run y --mode choreography  # exits 1: the scenario expects more", 10, 1),
    ]
    shown = Command(
        "sagalab compare z", 1, 0, ("│ messages   │  5 │   7 │", "│ latency p50 │ 3 ms │", "│ consistency │ ok │")
    )
    assert shown.promised_rows() == ["│ messages │ 5 │ 7 │", "│ consistency │ ok │"]
    assert replace(shown, text="sagalab compare mixed --orders 200").promised_rows() == []


def test_the_guide_is_linked_from_the_readme() -> None:
    """A newcomer finds the workshop from the README."""
    assert "docs/workshop.md" in (REPO / "README.md").read_text()


@pytest.fixture
def participant_url(amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A participant's seat as the guide's set-up gives it (``sagalab workshop provision``: a vhost and a user of
    their own, not an administrator), torn down afterwards. Without the management API (a testcontainers broker
    publishes only AMQP) the guide runs as ``amqp_url``'s user instead, and says so."""
    try:
        urllib.request.urlopen(f"http://{URL(amqp_url).host}:15672/", timeout=3).close()
    except (urllib.error.URLError, OSError):
        print("no management API: the guide runs on the test broker's own user and vhost, not a participant's")
        yield amqp_url
        return
    name, sheet = f"tg{uuid.uuid4().hex[:8]}", tmp_path_factory.mktemp("seat") / "sheet.csv"
    cli = [sys.executable, "-m", "sagalab.cli", "workshop"]
    made = subprocess.run([*cli, "provision", "--participants", "1", "--name", name, "--out", str(sheet),
                           "--amqp-url", amqp_url], capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    try:
        assert made.returncode == 0, made.stdout + made.stderr
        with sheet.open() as f:
            yield next(csv.DictReader(f))["amqp_url"]
    finally:
        subprocess.run([*cli, "teardown", "--name", name, "--amqp-url", amqp_url], capture_output=True, timeout=60,
                       check=False)  # fmt: skip


@pytest.mark.slow  # some 25 commands in a row, a 200-order compare and a bench among them: four minutes
def test_every_command_of_the_workshop_exits_as_the_guide_says(participant_url: str, namespace: str,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    """Each ``$ `` command of docs/workshop.md, run in order from one folder as a participant in their own vhost,
    exits 0 or as its note says."""
    amqp_url = participant_url
    guide = GUIDE.read_text()
    commands = console_commands(guide)
    assert len(commands) > FEWEST_COMMANDS, [c.text for c in commands]
    for relative in REPO_FILES:
        assert relative in guide, f"{relative} is no longer read by the guide: drop it from REPO_FILES"
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, tmp_path / relative)
    env = {**os.environ, "AMQP_URL": amqp_url, "SAGALAB_NAMESPACE": namespace,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    checked_rows = 0
    for command in commands:
        done = subprocess.run(["bash", "-c", command.text], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=180)  # fmt: skip
        assert done.returncode == command.exit_status, (
            f"docs/workshop.md:{command.line}: `{command.text}` exited {done.returncode}, "
            f"not {command.exit_status}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        printed = {" ".join(line.split()) for line in done.stdout.splitlines()}
        missing = [row for row in command.promised_rows() if row not in printed]
        assert not missing, f"docs/workshop.md:{command.line}: `{command.text}` did not print {missing}\n{done.stdout}"
        checked_rows += len(command.promised_rows())
    assert checked_rows >= 20, checked_rows
