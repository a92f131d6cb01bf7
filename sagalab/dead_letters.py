"""``sagalab dead-letters``: list a namespace's dead-lettered messages, show one, requeue them after a fix."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from sagalab.exits import EXIT_OK, EXIT_UNMET, UsageError
from shared.transport.broker import Broker
from shared.transport.dead_letter_queue import DeadLetter, look, requeue
from shared.transport.topology import Topology

ACTIONS = ("list", "show", "requeue")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=ACTIONS, default="list",
                   help="list (default), show ID, or requeue ID... | --all")  # fmt: skip
    p.add_argument("ids", nargs="*", metavar="ID", help="a dead letter's id, as `list` prints it")
    p.add_argument("--all", action="store_true", help="requeue: every dead letter of the namespace")
    p.add_argument("--json", action="store_true", help="print JSON, for scripts")
    p.add_argument("--limit", type=int, default=10_000, help="read at most this many (default: 10000)")


def _check(args: argparse.Namespace) -> None:
    """Bad usage is refused before the broker is touched."""
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.action == "list" and (args.ids or args.all):
        raise UsageError("`dead-letters list` takes no ID and no --all")
    if args.action == "show" and (len(args.ids) != 1 or args.all):
        raise UsageError("`dead-letters show` takes exactly one ID (see `sagalab dead-letters`)")
    if args.action == "requeue" and bool(args.ids) == args.all:
        raise UsageError("`dead-letters requeue` takes one or more IDs, or --all (not both)")


async def dead_letters(args: argparse.Namespace, console: Console) -> int:
    _check(args)
    # Always confirmed, whatever SAGALAB_DURABILITY says: a requeued message leaves the dead-letter queue only
    # once the broker confirmed its copy (it declares no queue, so it never clashes with a light namespace).
    topology = Topology(args.namespace, durability="strict")
    broker = await Broker.connect(args.amqp_url, topology, "dead-letters", declare=False)
    try:
        letters, total = await look(broker, args.limit)
        if args.action == "list":
            return _list(letters, total, args, console)
        unknown = [i for i in args.ids if i not in {letter.id for letter in letters}]
        if unknown:
            raise UsageError(f"no dead letter {', '.join(map(repr, unknown))} in namespace {args.namespace} "
                             "(`sagalab dead-letters` lists them)")  # fmt: skip
        if args.action == "show":
            return _show([letter for letter in letters if letter.id == args.ids[0]], args, console)
        return await _requeue(broker, args, console)
    finally:
        await broker.close()


def _list(letters: list[DeadLetter], total: int, args: argparse.Namespace, console: Console) -> int:
    if args.json:
        print(json.dumps([_summary(letter) for letter in letters], indent=2))
        return EXIT_OK
    for letter in letters:  # two lines each: readable at any width, the id whole for copying
        when = letter.when.strftime("%Y-%m-%d %H:%M:%S") if letter.when else "time unknown"
        tries = "" if letter.attempts is None else f" after {letter.attempts} attempt(s)"
        console.print(f"{letter.id}  {letter.type or '(no type)'}  order {letter.correlation_id or '-'}  "
                      f"{letter.service or '-'}  {when}", style="bold", highlight=False, markup=False, soft_wrap=True)
        console.print(f"  {letter.error}{tries}: {letter.reason}", highlight=False, markup=False, soft_wrap=True)
    more = f"; {total - len(letters)} more not read (--limit)" if total > len(letters) else ""
    console.print(f"{len(letters)} dead letter(s) in {args.namespace}{more}", highlight=False, markup=False)
    return EXIT_OK


def _summary(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id, "type": letter.type, "order": letter.correlation_id, "error": letter.error,
        "reason": letter.reason, "service": letter.service, "queue": letter.queue, "attempts": letter.attempts,
        "when": letter.when.isoformat() if letter.when else None, "exchange": letter.exchange,
        "routing_key": letter.routing_key,
    }  # fmt: skip


def _show(letters: list[DeadLetter], args: argparse.Namespace, console: Console) -> int:
    """Every dead letter with this id (a message id reused with another body is dead-lettered more than once)."""
    for letter in letters:
        body = _pretty(letter.body)
        if args.json:
            print(json.dumps(_summary(letter) | {"properties": letter.properties, "headers": letter.headers,
                                                 "body": body}, indent=2, default=str))  # fmt: skip
            continue
        for key, value in _summary(letter).items():
            console.print(f"{key:>12}: {'' if value is None else value}", highlight=False, markup=False, soft_wrap=True)
        console.print("  properties:", style="bold")
        for key, value in sorted(letter.properties.items()):
            console.print(f"    {key}: {value}", highlight=False, markup=False, soft_wrap=True)
        console.print("  headers:", style="bold")
        for key, value in sorted(letter.headers.items()):
            console.print(f"    {key}: {value}", highlight=False, markup=False, soft_wrap=True)
        console.print("  body:", style="bold")
        console.print(body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False),
                      highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    return EXIT_OK


def _pretty(body: bytes) -> Any:
    """The body as JSON when it is JSON, else as text with undecodable bytes escaped."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="backslashreplace")


async def _requeue(broker: Broker, args: argparse.Namespace, console: Console) -> int:
    wanted = set(args.ids)
    done = await requeue(broker, lambda letter: args.all or letter.id in wanted, args.limit)
    for letter in done.moved:
        console.print(f"requeued {letter.id} ({letter.type}) to {letter.exchange} {letter.routing_key}",
                      highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    for letter, problem in done.failed:
        console.print(f"not requeued {letter.id} ({letter.type}): {problem}; it stays in the dead-letter queue",
                      style="red", highlight=False, markup=False, soft_wrap=True)  # fmt: skip
    gone = wanted - {letter.id for letter in done.moved} - {letter.id for letter, _ in done.failed}
    for letter_id in sorted(gone):  # taken by someone else between the look and the requeue
        console.print(f"not requeued {letter_id}: no longer in the dead-letter queue", style="red", highlight=False,
                      markup=False, soft_wrap=True)  # fmt: skip
    console.print(f"{len(done.moved)} requeued, {len(done.failed) + len(gone)} not", highlight=False, markup=False)
    return EXIT_UNMET if done.failed or gone else EXIT_OK
