"""The commented scenario file ``sagalab scenarios new NAME`` writes: it loads and runs as it is, in both modes, and
shows (commented out) the keys a class reaches for first."""

from __future__ import annotations

TEMPLATE = """\
# {name}: a sagalab scenario.
#
#   sagalab scenarios check {name}.toml         check it without running it
#   sagalab run {name}.toml --mode choreography  run it in one mode
#   sagalab compare {name}.toml                  run it in both, side by side
#
# Every key is listed in the README ("Write your own scenario") and in docs/schemas/scenario-file.schema.json,
# which editors that read JSON Schema use to complete and check the file. Keys of the file itself come first;
# the [tables] follow.

teaches = "Two orders race for the last keyboard: one completes, the other is refunded; a copy of a message changes nothing."

deadline_seconds = 60          # how long every saga has to end (--deadline overrides it)
# place_interval_seconds = 0.2 # a pause between orders, so faults strike while sagas are in flight
# own_users = true             # each service logs in as its own broker user (needs rabbitmqctl)
# unsafe = ["no-inbox"]        # switch a defence off to see what it prevents (then expect a violation)

# Faults, one string each, in the grammar `sagalab faults` lists: [MODE/]TARGET:KIND[:ARGS][@TYPE[#N][+SECONDS]].
# A MODE/ prefix keeps a fault to one mode.
faults = [
  "lab:duplicate:PaymentCharged",                      # publish a copy of the first PaymentCharged, same id
  # "choreography/payment:crash:after-commit:OutOfStock", # kill -9 Payment after it commits, before it acks
  # "orchestration/payment:raise:ChargePayment:2",        # the first two charges fail with a transient error
  # "payment:kill:3@PaymentCharged",                      # kill Payment once a charge is seen, down for 3 s
]

[orders]
count = 2                      # --orders N overrides it
# mix = "mixed"                # a seeded mix of every outcome instead of alike orders

[orders.fields]                # what every order has; the rest: a good card, one KEYBOARD at 49.99, a city
# card_number = "4000000000000002"  # a card Payment declines
# destination = "Atlantis"          # a place Shipping does not serve
# quantity = 2

# [[orders.extra]]             # an order placed after the others, e.g. one the edge must refuse
# quantity = 0

[stock]                        # units in stock when the run starts
KEYBOARD = 1

# [service_options.orchestrator]
# workflow = "express"         # executions in memory, re-run from the start after a crash
# definition = "my-checkout.asl.json"   # a States Language definition, relative to this file
# [service_options.orders]
# saga_deadline = 3            # choreography's watcher reports a saga idle this many seconds

# What a run must show, in both modes; [expect.choreography] and [expect.orchestration] add to it for one mode.
# Without a word here, every run must settle, the oracle must find nothing wrong, and every order whose end can
# be foreseen (a declined card, an unserved city) must end so.
[expect]
completes = 1                  # exactly one order completes
# all_end = "compensated"      # every order ends compensated (or "completed")
# violates = ["money.net"]     # the oracle must report these rules (a scenario with a defence switched off)
# dead_lettered = 0            # exactly this many messages reach the dead-letter queue
# rejected = 0                 # exactly this many orders are refused at the edge
# [expect.choreography]
# watcher_reports = true       # choreography's deadline watcher reports a stalled saga
"""


def starting_file(name: str) -> str:
    """A commented scenario file named ``name``."""
    return TEMPLATE.format(name=name)
