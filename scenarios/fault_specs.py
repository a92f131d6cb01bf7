"""Every fault as one line of text: what ``--fault`` takes on ``run``, ``compare`` and ``chaos``, and what scenario
files list. A spec names who is struck and how, and optionally when::

    [MODE/]TARGET:KIND[:ARG ...][@TRIGGER]

- ``MODE/`` (``choreography/`` or ``orchestration/``) keeps the fault to one mode; without it, both.
- ``TARGET`` is a service of the mode (``payment``, ``inventory``, ``shipping``, ``orders``, ``orchestrator``),
  ``broker`` (the broker itself) or ``lab`` (messages the lab publishes as if someone else had).
- ``ARG``s are positional, or ``key=value`` for the optional ones.
- ``@TRIGGER`` is when an outside fault strikes: ``@TYPE`` once the tap has seen a message of TYPE, ``@TYPE#N``
  the Nth, ``+SECONDS`` a delay after that (``@PaymentCharged#5+0.5``, or ``@+2`` for a delay alone).

Faults on a service that run inside it (raise, bug, crash, delay, ...) are its fault hooks
(``shared/runtime/faults.py``, ``sagalab serve --fault``); the others are the runner's injectors
(``scenarios/injectors.py``). ``KINDS`` lists every kind with the anomaly it provokes and the defence that
absorbs it; ``sagalab faults`` prints them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from scenarios.fault_kinds import KINDS, MODES, OUTSIDE_TARGETS, SERVICE_TARGETS, BadFaultSpec, Built, HookFault, Spec
from scenarios.injectors import Trigger
from scenarios.scenario import Scenario, ServiceFaults
from scenarios.topologies import services
from shared.config import Mode


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _trigger(text: str, spec: str) -> Trigger:
    after, _, delay = text.partition("+")
    type_, _, nth = after.partition("#")
    try:
        return Trigger(after=type_ or None, nth=int(nth) if nth else 1, delay_s=float(delay) if delay else 0.0)
    except ValueError:
        raise BadFaultSpec(f"{spec!r}: a trigger is @TYPE, @TYPE#N, @TYPE+SECONDS or @+SECONDS") from None


def read(text: str) -> Spec:
    """Read one spec (raises ``BadFaultSpec`` with what is wrong)."""
    body, at, when = text.strip().partition("@")
    if at and body.endswith(":"):  # ``bug:TYPE:@SUFFIX``: an argument that starts with @, not a trigger
        arg, at, when = when.partition("@")
        body = f"{body}@{arg}"
    mode: Mode | None = None
    if "/" in body.split(":", 1)[0]:
        prefix, body = body.split("/", 1)
        if prefix not in MODES:
            raise BadFaultSpec(f"{text!r}: unknown mode {prefix!r}; use choreography/ or orchestration/")
        mode = prefix  # type: ignore[assignment]
    parts = body.split(":")
    if len(parts) < 2 or not all(parts[:2]):
        raise BadFaultSpec(f"{text!r}: a fault is TARGET:KIND[:ARGS][@TRIGGER], e.g. payment:crash:after-commit:"
                           f"ChargePayment or broker:restart@PaymentCharged#5")  # fmt: skip
    target, kind, *rest = parts
    targets = SERVICE_TARGETS | OUTSIDE_TARGETS
    if target not in targets:
        raise BadFaultSpec(f"{text!r}: unknown target {target!r}{_suggest(target, targets)} "
                           f"(services: {', '.join(sorted(SERVICE_TARGETS))}; or broker, lab)")  # fmt: skip
    if kind not in KINDS:
        raise BadFaultSpec(f"{text!r}: unknown fault kind {kind!r}{_suggest(kind, KINDS)} (`sagalab faults` lists them)")
    if target not in KINDS[kind].targets:
        raise BadFaultSpec(f"{text!r}: {kind} strikes {', '.join(sorted(KINDS[kind].targets))}, not {target}; "
                           f"the form is {KINDS[kind].form}")  # fmt: skip
    args = tuple(p for p in rest if "=" not in p or kind in ("change-definition",))
    options = dict(p.split("=", 1) for p in rest if "=" in p and kind not in ("change-definition",))
    spec = Spec(text, mode, target, kind, args, options, _trigger(when, text) if at else None)
    spec_kind = KINDS[kind]
    spec_kind.build(spec)  # checks the arguments now, not when the run is half-way
    return spec


def build(spec: Spec) -> Built:
    return KINDS[spec.kind].build(spec)


def read_all(texts: Sequence[str]) -> tuple[Spec, ...]:
    """Read every spec, listing every problem at once."""
    specs: list[Spec] = []
    problems: list[str] = []
    for text in texts:
        try:
            specs.append(read(text))
        except BadFaultSpec as exc:
            problems.append(str(exc))
    if problems:
        raise BadFaultSpec("\n".join(problems))
    return tuple(specs)


def with_faults(scenario: Scenario, specs: Sequence[Spec]) -> Scenario:
    """The scenario with these faults added to its own, each in the modes it names (both when it names none)."""
    if not specs:
        return scenario
    faults: dict[str, ServiceFaults] = {m: dict(scenario.faults.get(m, {})) for m in MODES}
    injectors: dict[Mode, tuple[Any, ...]] = {m: tuple(scenario.injectors.get(m, ())) for m in MODES}
    for spec in specs:
        for mode in (spec.mode,) if spec.mode else MODES:
            if spec.target in SERVICE_TARGETS and spec.target not in services(mode):
                if spec.mode is None:
                    continue  # the orders service in orchestration, the orchestrator in choreography
                raise BadFaultSpec(f"{spec.text!r}: {mode} has no {spec.target} service "
                                   f"(it has {', '.join(services(mode))})")  # fmt: skip
            built = build(spec)
            if isinstance(built, HookFault):
                faults[mode][built.service] = (*faults[mode].get(built.service, ()), built.spec)
            else:
                injectors[mode] = (*injectors[mode], built)
    return replace(scenario, faults=faults, injectors=injectors)
