"""Ending a service when the process that started it goes away, without ``preexec_fn``.

The runner starts its services with a pipe as their stdin and never writes to it; the kernel closes the
parent's end when the parent exits, however it exits (kill -9 included), and the child then reads EOF.
That is portable, needs no ``prctl`` and no code run between fork and exec, and works in any event loop.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _stop_at_eof() -> None:
    # os.read on the descriptor, not sys.stdin.buffer: the buffered reader holds its lock while it blocks, and a
    # process exiting with this thread still blocked then waited a second for that lock and aborted
    # ("Fatal Python error: _enter_buffered_busy"), so every service stopped late and died of SIGABRT.
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass  # the parent writes nothing; anything it does write is not a message to us
    except (OSError, ValueError):
        pass  # stdin closed under us: the parent is gone just the same
    # SIGTERM is how a service is always stopped, so it drains and closes as it would for the runner.
    os.kill(os.getpid(), signal.SIGTERM)


def exit_with_parent() -> None:
    """Stop this process (SIGTERM to itself) once stdin, the parent's pipe, reaches end of file."""
    threading.Thread(target=_stop_at_eof, name="exit-with-parent", daemon=True).start()
