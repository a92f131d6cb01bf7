"""Bring your own participant: a run in which the user's process stands in for a built-in domain service.

``--participant payment="python my_payment.py"`` starts that command (split like a shell would, but run
without one) instead of ``sagalab serve payment``; ``--participant payment=external`` starts nothing and
waits for a process the user runs. Either speaks docs/participant-protocol.md, and the runner waits until it
answers the ledger query before placing orders; the oracle then reads its effects through that query.

A started participant gets what it needs in its environment: ``AMQP_URL``, ``SAGALAB_NAMESPACE``,
``SAGALAB_MODE`` (choreography or orchestration), ``SAGALAB_PARTICIPANT`` (its name), ``SAGALAB_DATA_DIR``
(a folder of the run for its own store), ``SAGALAB_PARENT_PIPE=1`` (stdin is the runner's pipe: exit when
it closes, so no participant outlives a runner that died) and, for inventory, ``SAGALAB_STOCK`` (the run's stock, a JSON object
SKU -> quantity).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from scenarios.ledger import LedgerUnanswered, ProtocolLedger
from scenarios.processes import Fleet, ServiceFailedToStart, ServiceProcess
from scenarios.scenario import Need, Scenario
from shared.config import Mode, Settings
from shared.runtime.handlers import DOMAIN_SERVICES

EXTERNAL = "external"
"""``--participant SERVICE=external``: the user runs the participant; the runner only waits for it."""


class CannotReplace(Exception):
    """A ``--participant`` the run cannot honour (the user's input is at fault: exit status 2)."""


def parse_participants(specs: list[str]) -> dict[str, str]:
    """``SERVICE=COMMAND`` pairs from the command line, checked: a domain service, once, with a command."""
    found: dict[str, str] = {}
    for spec in specs:
        service, sep, command = spec.partition("=")
        service, command = service.strip(), command.strip()
        if not sep or not command:
            raise CannotReplace(f"--participant {spec!r}: write SERVICE=COMMAND (or SERVICE={EXTERNAL})")
        if service not in DOMAIN_SERVICES:
            raise CannotReplace(f"--participant {spec!r}: only {', '.join(DOMAIN_SERVICES)} can be replaced")
        if service in found:
            raise CannotReplace(f"--participant {service} given twice")
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise CannotReplace(f"--participant {spec!r}: {exc}") from None
        if not argv:
            raise CannotReplace(f"--participant {spec!r}: empty command")
        if command != EXTERNAL and shutil.which(argv[0]) is None:
            raise CannotReplace(f"--participant {spec!r}: no program {argv[0]!r} (not a file, not on PATH)")
        found[service] = command
    return found


def refuse_faults_on(scenario: Scenario, mode: Mode, replaced: Mapping[str, str]) -> None:
    """A fault hook or an injector that must own a replaced service's process cannot strike the user's."""
    for service in replaced:
        if scenario.faults.get(mode, {}).get(service):
            hooks = ", ".join(scenario.faults[mode][service])
            raise CannotReplace(f"{scenario.name} in {mode}: the fault hook {hooks} lives inside the built-in {service} "
                                f"service and cannot reach a participant you bring; drop that fault or "
                                f"--participant {service}")  # fmt: skip
        for injector in scenario.injectors.get(mode, ()):
            if Need.PROCESSES in injector.needs and getattr(injector, "service", None) == service:
                raise CannotReplace(f"{scenario.name} in {mode}: {type(injector).__name__} {service} needs the runner "
                                    f"to {Need.PROCESSES.value}, and {service} is a participant you bring; drop that "
                                    f"fault or --participant {service}")  # fmt: skip


class ParticipantProcess(ServiceProcess):
    """The user's command in place of a built-in service: started, supervised and stopped like one, but
    ready once it answers the ledger query (it writes no ready file)."""

    def __init__(self, settings: Settings, log_path: Path, command_line: str, stock: dict[str, int]) -> None:
        super().__init__(settings, log_path)
        self.command_line = command_line
        """The user's command, split like a shell would (quotes work) and run without one."""
        self.stock = stock

    def command(self) -> list[str]:
        return shlex.split(self.command_line)

    def environment(self) -> dict[str, str]:
        s = self.settings
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "AMQP_URL": s.amqp_url, "SAGALAB_NAMESPACE": s.namespace,
               "SAGALAB_MODE": s.mode, "SAGALAB_PARTICIPANT": s.service, "SAGALAB_DATA_DIR": str(s.data_dir),
               "SAGALAB_PARENT_PIPE": "1"}  # fmt: skip
        if s.service == "inventory":
            env["SAGALAB_STOCK"] = json.dumps(self.stock)
        return env

    async def start(self) -> None:
        try:
            await super().start()
        except OSError as exc:
            raise ServiceFailedToStart(f"cannot start your {self.name} participant ({self.command_line}): {exc}") from None

    def is_ready(self) -> bool:
        return self.alive()  # answering the ledger query is what makes it ready (see ``wait_answering``)


async def wait_answering(ledger: ProtocolLedger, replaced: Mapping[str, str], fleet: Fleet,
                         timeout_s: float = 60.0) -> None:  # fmt: skip
    """Poll each replaced participant with a ping (a ledger query about no order) until it answers; a started one
    that exits first, or any that stays silent past ``timeout_s``, fails the run before an order is placed."""
    deadline = time.monotonic() + timeout_s
    for service, command in replaced.items():
        started = None if command == EXTERNAL else fleet[service]
        while True:
            if started is not None and not started.alive():
                raise ServiceFailedToStart(f"your {service} participant ({command}) exited before it answered the "
                                           f"ledger query:\n{started.log_tail()}")  # fmt: skip
            try:
                await ledger.ask(service, None, timeout_s=1.0)
                break
            except LedgerUnanswered as exc:
                if time.monotonic() > deadline:
                    how = f"started as {command}" if started else "which you run yourself"
                    raise ServiceFailedToStart(f"your {service} participant ({how}) did not answer the ledger "
                                               f"query within {timeout_s:g}s: {exc}") from None  # fmt: skip
            await asyncio.sleep(0.2)  # polling with a deadline: the participant is still starting
