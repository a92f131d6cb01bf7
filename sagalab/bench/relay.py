"""Raw-chain relay processes: the hidden ``sagalab raw-relay`` subcommand and the bench's handle on each one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sagalab.parent import exit_with_parent
from scenarios.processes import EXIT_WITH_PARENT, ServiceProcess
from shared.config import Mode, default_amqp_url
from shared.runtime.loop import run as run_loop
from shared.transport.raw_chain import Chain, serve_relay
from shared.transport.topology import DURABILITIES

CHAINS: dict[Mode, Chain] = {
    "choreography": Chain("choreography", ("orders", "payment", "inventory", "shipping", "orders")),
    "orchestration": Chain("orchestration", ("orchestrator", "payment", "orchestrator", "inventory",
                                             "orchestrator", "shipping", "orchestrator")),
}  # fmt: skip
"""Each mode's happy path as a route of processes: the same hops (5 and 7 messages) and the same four
processes, so ``route[-1]`` is the coordinator that records the settled order."""

COMMAND = "raw-relay"


@dataclass
class RelayProcess(ServiceProcess):
    """One relay of a raw chain, started as ``python -m sagalab.bench.relay ROLE`` (also ``sagalab raw-relay ROLE``);
    ready, stopped and killed like a service."""

    chain: Chain | None = None
    prefetch: int = 128

    def command(self) -> list[str]:
        s, chain = self.settings, self.chain
        assert chain is not None
        return [sys.executable, "-m", "sagalab.bench.relay", s.service, "--chain", chain.name,
                "--route", ",".join(chain.route), "--amqp-url", s.amqp_url, "--namespace", s.namespace,
                "--data-dir", str(s.data_dir), "--ready", str(self.ready_path), "--prefetch", str(self.prefetch),
                "--durability", s.durability, EXIT_WITH_PARENT]  # fmt: skip


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"sagalab {COMMAND}", description="One relay process of the bench's raw chain.")
    p.add_argument("role", help="which entry of the route this process serves")
    p.add_argument("--chain", required=True, help="the chain's name (part of its queue names)")
    p.add_argument("--route", required=True, help="the roles in hop order, comma-separated")
    p.add_argument("--data-dir", type=Path, required=True, help="where the last role keeps raw-CHAIN.db")
    p.add_argument("--ready", type=Path, required=True, help="file written once the relay consumes")
    p.add_argument("--prefetch", type=int, default=128)
    p.add_argument("--durability", choices=DURABILITIES, default="strict", help="queues and confirms, as the sagas'")
    p.add_argument("--amqp-url", default=default_amqp_url())
    p.add_argument("--namespace", default="sagalab")
    p.add_argument(EXIT_WITH_PARENT, action="store_true", help="stop when stdin (the bench's pipe) closes")
    return p


def main(argv: Sequence[str]) -> int:
    """Run one relay until SIGTERM (the bench starts these; they are not part of the public CLI)."""
    args = parser().parse_args(argv)
    chain = Chain(args.chain, tuple(args.route.split(",")))
    if args.role not in chain.roles:
        print(f"sagalab {COMMAND}: {args.role!r} is not on the route {args.route}", file=sys.stderr)
        return 2
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.exit_with_parent:
        exit_with_parent()
    run_loop(serve_relay(args.amqp_url, args.namespace, chain, args.role, args.data_dir, args.ready, args.prefetch,
                         args.durability))  # fmt: skip
    return 0


if __name__ == "__main__":  # how the bench starts its relays: without loading the rest of the command line
    sys.exit(main(sys.argv[1:]))
