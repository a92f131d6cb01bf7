"""How a run's golden transcript verdict reads in the terminal: matched, recorded, not compared and why, or the
diff (the golden's lines in red, this run's in green)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from scenarios.result import RunResult

DIFF_STYLES = {"+": "green", "-": "red", "@": "cyan"}


def show_golden(result: RunResult, console: Console) -> None:
    check = result.golden
    if check is None:
        return
    where = f"{result.mode}: golden {check.file}"
    if check.recorded:
        console.print(f"{where}: recorded this run's transcript", style="green", highlight=False, soft_wrap=True)
    elif check.checked and check.matched:
        console.print(f"{where}: the transcript matches", style="green", highlight=False, soft_wrap=True)
    elif check.checked:
        console.print(f"{where}: the transcript DIFFERS", style="bold red", highlight=False, soft_wrap=True)
        for line in check.diff:
            console.print(Text(line, style=DIFF_STYLES.get(line[:1], "")), highlight=False, soft_wrap=True)
    else:
        console.print(f"{where}: not compared ({check.reason})", style="dim", highlight=False, soft_wrap=True)
