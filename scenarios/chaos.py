"""``sagalab chaos``: a seeded stream of orders while services are killed and restarted at random, the
broker restarts, and messages are duplicated, poisoned and forged; then everything settles and the oracle
judges. With every defence on, nothing may be lost or applied twice. With ``--instances K`` each kill strikes one
replica of the service (counted by its name, ``payment.2``), the others carry on."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import structlog

from scenarios.checks import BrokenOnPurpose, DeadLettersEqualInjected, StuckOnlyIfReported
from scenarios.injectors import ChangeDefinition, Poison, forge_copy, republish, with_fresh_id
from scenarios.run_state import Run
from scenarios.scenario import DECLINED_CARD, UNSERVED, Need, Scenario, mixed_orders, mixed_stock
from scenarios.topologies import services

log = structlog.get_logger()

FORGEABLE = frozenset({"OrderPlaced", "PaymentCharged", "PaymentDeclined", "PaymentRefunded", "StockReserved",
                       "OutOfStock", "StockReleased", "ShipmentScheduled", "ShipmentFailed", "ChargePayment",
                       "RefundPayment", "ReserveStock", "ReleaseStock", "ScheduleShipment", "CancelShipment"})  # fmt: skip
"""Messages a consumer takes only from one service's user (not a client's PlaceOrder, not a generic reply)."""


REPLICA_RESTART_S = 180.0
"""How long a killed replica may take to be ready again: the others serve meanwhile, so a slow start on a busy
machine is no failure of the run."""


@dataclass(frozen=True)
class ChaosPlan:
    """How much of each fault to inject over the run, and the seed that places them in time."""

    duration_s: float = 60.0
    kills_per_service: int = 3
    broker_restarts: int = 1
    duplicates: int = 10
    fresh_duplicates: int = 5
    """Copies under a new message id: the inbox cannot tell them, the business key must."""
    poison: int = 5
    definition_changes: int = 1
    """Orchestration: times the orchestrator is killed and restarted on an edited definition (states renamed);
    executions in flight must finish on the definition they started on."""
    forgeries: int = 0
    """Copies of saga messages published under new ids by the runner's user: each service then gets its own
    broker user, and each forgery must be dead-lettered (WrongPublisher) without effect."""
    broken_compensations: int = 1
    """Orders whose release fails for good (a bug tied to the order's data, which survives restarts): the
    refund must still run and the order be parked naming the step."""
    seed: int = 7


@dataclass(frozen=True)
class ChaosMonkey:
    """Carries out a chaos plan on a run: its kills, broker restarts, duplicates, poison and forgeries."""

    plan: ChaosPlan

    @property
    def needs(self) -> frozenset[Need]:
        """The processes (to kill them and edit the definition) and, when the plan restarts it, the broker."""
        return frozenset({Need.PROCESSES} | ({Need.BROKER_CONTROL} if self.plan.broker_restarts else set()))

    async def inject(self, run: Run) -> None:
        rng = random.Random(self.plan.seed)
        start = time.monotonic()
        restarting: list[asyncio.Task[None]] = []
        for at, action, target in self._schedule(rng, run):
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))  # the chaos timetable
            if action == "kill" and len(run.fleet.replicas(target)) > 1:
                # One replica down while the others serve: its restart must not hold up the timetable.
                restarting.append(asyncio.create_task(self._kill_a_replica(target, run, rng.uniform(0.2, 1.5), rng)))
                continue
            await self._patiently(action, target, run, rng)
        await asyncio.gather(*restarting)

    async def _kill_a_replica(self, service: str, run: Run, down_s: float, rng: random.Random) -> None:
        """kill -9 one running replica of the service (chosen by the seed), keep it down, start it again."""
        up = [p for p in run.fleet.replicas(service) if p.alive() and not p.held]
        if not up:
            return
        process = rng.choice(up)
        async with run.fleet.held(process):
            await process.kill()
            run.count(f"kill {process.name}")
            await asyncio.sleep(down_s)  # downtime
            await run.fleet.restart(process, timeout_s=REPLICA_RESTART_S)

    async def _patiently(self, action: str, target: str, run: Run, rng: random.Random) -> None:
        """Do one action; a publish that meets the broker mid-restart is tried again for a while."""
        for attempt in range(60):
            try:
                await self._do(action, target, run, rng)
                return
            except Exception as exc:  # one failed injection must not stop the rest of the chaos
                if action not in ("duplicate", "duplicate-new-id", "poison", "forge") or attempt == 59:
                    log.error("chaos action failed", action=action, target=target, error=repr(exc))
                    run.count(f"chaos action failed: {action}")
                    return
                await asyncio.sleep(0.5)  # the broker is restarting

    def _schedule(self, rng: random.Random, run: Run) -> list[tuple[float, str, str]]:
        span = self.plan.duration_s
        plan: list[tuple[float, str, str]] = []
        for service in services(run.options.mode):
            for k in range(self.plan.kills_per_service):
                # spread each service's kills over the run, jittered within their slice
                slice_s = span / self.plan.kills_per_service
                plan.append((k * slice_s + rng.uniform(0.1, 0.9) * slice_s * 0.8, "kill", service))
        for k in range(self.plan.broker_restarts):
            plan.append(((k + 0.5) * span / max(self.plan.broker_restarts, 1), "broker", ""))
        plan += [(rng.uniform(0, span), "duplicate", "") for _ in range(self.plan.duplicates)]
        plan += [(rng.uniform(0, span), "duplicate-new-id", "") for _ in range(self.plan.fresh_duplicates)]
        plan += [(rng.uniform(0, span), "poison", "") for _ in range(self.plan.poison)]
        plan += [(rng.uniform(0, span), "forge", "") for _ in range(self.plan.forgeries)]
        if run.options.mode == "orchestration":
            times = sorted(rng.uniform(0.2, 0.8) * span for _ in range(self.plan.definition_changes))
            plan += [(at, "definition", str(k)) for k, at in enumerate(times)]  # numbered in the order they happen
        return sorted(plan)

    async def _do(self, action: str, target: str, run: Run, rng: random.Random) -> None:
        if action == "kill":
            process = run.fleet[target]
            if not process.alive():
                return
            async with run.fleet.held(process):
                await process.kill()
                run.count(f"kill {target}")
                await asyncio.sleep(rng.uniform(0.2, 1.5))  # downtime
                await run.fleet.restart(process)
        elif action == "broker":
            control = run.broker_control()
            try:
                await control.stop_app()
                run.count("broker restart")
                await asyncio.sleep(2.0)  # the outage
            finally:
                await asyncio.shield(control.start_app())
        elif action in ("duplicate", "duplicate-new-id"):
            seen = run.trace.random_seen(rng)
            if seen is not None:
                await republish(run, seen if action == "duplicate" else with_fresh_id(seen))
                run.count(action)
        elif action == "definition":
            before = "" if target == "0" else str(int(target) - 1)  # each change renames the previous edit's names
            renamed = tuple((f"{name}{before}", f"{name}{target}") for name in ("ReserveStock", "ScheduleShipment"))
            await ChangeDefinition(renamed).inject(run)
        elif action == "forge":
            seen = run.trace.random_seen(rng, FORGEABLE)
            if seen is not None:
                await forge_copy(run, seen)
                run.count("forged")
        elif action == "poison":
            exchange, key = ("events", "orders.OrderPlaced") if run.options.mode == "choreography" else (
                "commands", "payment.ChargePayment")  # fmt: skip
            await Poison(key, exchange=exchange, count=1).inject(run)


def broken_orders(orders: int, plan: ChaosPlan, order_seed: int) -> tuple[str, ...]:
    """Order-id suffixes of the first orders that will fail at shipping (so their release is needed): the ones
    whose release the chaos run breaks for good. Early in the run, while their SKU is still in stock."""
    placed, stock = mixed_orders(orders, random.Random(order_seed), "x"), mixed_stock(orders)
    unshippable = [f"-{i:04d}" for i, o in enumerate(placed) if o["destination"] == UNSERVED
                   and o["card_number"] != DECLINED_CARD and stock[str(o["sku"])] > 0]  # fmt: skip
    return tuple(unshippable[: plan.broken_compensations])


def _release_bugs(suffixes: tuple[str, ...]) -> dict[str, dict[str, tuple[str, ...]]]:
    """The same data bug in each mode: Inventory fails for good on that order's release."""
    return {"choreography": {"inventory": tuple(f"bug:ShipmentFailed:@{s}" for s in suffixes)},
            "orchestration": {"inventory": tuple(f"bug:ReleaseStock:@{s}" for s in suffixes)}}  # fmt: skip


def chaos_scenario(orders: int, plan: ChaosPlan, order_seed: int = 7) -> Scenario:
    """A scenario made for one chaos run: mixed orders spread over the duration, the monkey loose.
    ``order_seed`` is the run's seed (the orders), so the orders with a broken release can be chosen."""
    monkey = ChaosMonkey(plan)
    broken = broken_orders(orders, plan, order_seed)
    return Scenario(
        "chaos",
        "Random kills, a broker restart, duplicates and poison under a stream of orders: nothing lost or doubled.",
        mixed_stock,
        mixed_orders,
        default_orders=orders,
        place_interval_s=plan.duration_s / max(orders, 1),
        injectors={"choreography": (monkey,), "orchestration": (monkey,)},
        service_options={"orders": {"saga_deadline": "20"}},
        deadline_s=plan.duration_s + 180.0,
        faults=_release_bugs(broken),
        expect=(DeadLettersEqualInjected(), StuckOnlyIfReported(), BrokenOnPurpose(broken)),
        own_users=plan.forgeries > 0,
    )
