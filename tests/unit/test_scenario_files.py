"""Scenario files: the TOML format loads into the scenario the runner takes, every mistake is named with its file,
line and field (and a suggestion), the committed JSON Schema is the model's, and the built-in catalogue is written
in the same format."""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import jsonschema
import pytest

from sagalab.cli import main
from sagalab.schemas import SCENARIO_FILE_SCHEMA, scenario_file_schema
from scenarios.broker_faults import RestartBroker
from scenarios.catalogue import SCENARIOS, STORY
from scenarios.checks import AllEnd, Completes, DeadLettered, Rejected, Violates, WatcherReports
from scenarios.files.load import ScenarioFileError, load, loads
from scenarios.files.model import UnsafeSwitch
from scenarios.files.positions import Positions
from scenarios.injectors import Forge, OutOfBoundsOrder, Trigger
from shared.config import UNSAFE_SWITCHES

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "scenarios"
SCHEMA = ROOT / "docs" / "schemas" / SCENARIO_FILE_SCHEMA
CATALOGUE_FILES = sorted((ROOT / "scenarios" / "catalogue").glob("*.toml"))


def problems(source: str, name: str = "mine.toml") -> list[str]:
    """Every problem loading ``source`` reports, one string each."""
    with pytest.raises(ScenarioFileError) as raised:
        loads(source, Path(name))
    return [str(p) for p in raised.value.problems]


# --- the catalogue ------------------------------------------------------------------------------------------


def test_the_catalogue_is_one_file_per_scenario_story_first() -> None:
    """Every file of scenarios/catalogue is a scenario named after it; the story's five come first, in order."""
    assert sorted(SCENARIOS) == sorted(p.stem for p in CATALOGUE_FILES) and len(SCENARIOS) == 35
    assert tuple(SCENARIOS)[:5] == STORY
    assert {s.name for s in SCENARIOS.faults()} == set(SCENARIOS) - set(STORY)


def test_catalogue_scenarios_hold_what_their_python_definitions_held() -> None:
    """Pinned from the Python catalogue the files replaced (a unit test compared all 31 before it was deleted)."""
    oob = SCENARIOS["out-of-bounds"]
    admission = oob.orders(None, 7, "tok")
    assert len(admission.orders) == 2 and len(admission.rejected) == 4
    assert oob.checks_for("orchestration")[2:5] == (Completes(2), Rejected(4), DeadLettered(2))
    assert oob.injectors == {m: (OutOfBoundsOrder(),) for m in ("choreography", "orchestration")}
    assert SCENARIOS["mixed"].stock_for(100) == {"KEYBOARD": 30, "MOUSE": 25, "MONITOR": 15, "DOCK": 8, "WEBCAM": 0}
    assert SCENARIOS["mixed"].default_orders == 50 and SCENARIOS["mixed"].deadline_s == 120.0
    assert SCENARIOS["broker-restart"].injectors["orchestration"] == (RestartBroker(Trigger("PaymentCharged", 5)),)
    forged = SCENARIOS["forged-event"]
    assert forged.own_users and forged.stock_for(None) == {"KEYBOARD": 5}
    assert forged.injectors["choreography"] == (
        Forge("PaymentCharged", "PaymentDeclined", until=("ShipmentScheduled", "ShipmentFailed", "OutOfStock")),
        Forge("StockReserved", "PaymentDeclined", until=("ShipmentScheduled", "ShipmentFailed"), unknown_order=True),
        Forge("StockReserved", "PaymentDeclined", as_service="payment"))  # fmt: skip
    assert [c for c in forged.checks_for("orchestration") if isinstance(c, DeadLettered)] == [DeadLettered(3)]
    slow = SCENARIOS["slow-service"]
    assert slow.faults == {"choreography": {"shipping": ("delay:StockReserved:15",)},
                           "orchestration": {"shipping": ("delay:ScheduleShipment:15:2",)}}  # fmt: skip
    assert slow.service_options == {"orders": {"saga_deadline": "3"}} and slow.attention_grace_s == 30.0
    assert slow.expect == {"choreography": (AllEnd("completed"), WatcherReports()),
                           "orchestration": (AllEnd("compensated"),)}  # fmt: skip
    assert SCENARIOS["unsafe-no-inbox"].unsafe == {"no-inbox", "no-business-key"}
    assert SCENARIOS["express-rerun-after-compensation"].service_options == {"orchestrator": {"workflow": "express"}}
    declined = SCENARIOS["payment-declined"].orders(3, 7, "tok").orders
    assert [o.card_number for o in declined] == ["4000000000000002"] * 3


def test_the_committed_schema_is_the_models_and_every_catalogue_file_validates_against_it() -> None:
    """docs/schemas/scenario-file.schema.json is what `sagalab schema` writes; every built-in file passes it, and
    it refuses a misspelt key as the loader does."""
    assert SCHEMA.read_text() == scenario_file_schema(), "run `sagalab schema` to regenerate docs/schemas"
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    for path in [*CATALOGUE_FILES, *DATA.glob("*.toml")]:
        assert not list(validator.iter_errors(tomllib.loads(path.read_text()))), path.name
    assert list(validator.iter_errors({"teaches": "x", "orders": {"cont": 2}}))


def test_the_files_unsafe_switches_are_the_runtimes() -> None:
    assert UnsafeSwitch.__args__ == UNSAFE_SWITCHES  # type: ignore[attr-defined]


# --- what a file can say -------------------------------------------------------------------------------------


def test_a_minimal_file_takes_its_name_from_the_file_and_the_defaults_for_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text('teaches = "one good order"\n')
    scenario = load(path)
    assert (scenario.name, scenario.default_orders, scenario.deadline_s, scenario.stock_for(None)) == ("tiny", 1, 60.0, {})
    assert scenario.expect == () and scenario.faults == {} and scenario.injectors == {}


def test_listed_orders_are_placed_in_turn_and_extra_ones_after_them() -> None:
    """``[[orders.list]]`` sets the count and repeats when more are asked; ``[[orders.extra]]`` come last, one
    each; ``{ repeat, times }`` writes a long text."""
    scenario = loads('''teaches = "t"
[[orders.list]]
card_number = "4000000000000002"
[[orders.list]]
destination = "Atlantis"
[[orders.extra]]
customer_id = { repeat = "c", times = 300 }
''', Path("x.toml"))  # fmt: skip
    assert scenario.default_orders == 2
    made = [dict(o) for o in scenario.make_orders(3, random.Random(1), "tok")]
    assert [o["card_number"] for o in made[:3]] == ["4000000000000002", "4242424242424242", "4000000000000002"]
    assert made[1]["destination"] == "Atlantis" and made[3]["customer_id"] == "c" * 300
    assert [o["order_id"] for o in made] == [f"ord-tok-{i:04d}" for i in range(4)]
    assert len(scenario.orders(None, 1, "tok").rejected) == 1  # a 300-character id is out of bounds


def test_expect_applies_to_both_modes_and_a_mode_table_adds_or_replaces() -> None:
    scenario = loads('''teaches = "t"
[expect]
completes = 2
dead_lettered = 1
[expect.orchestration]
dead_lettered = 0
violates = ["money.net"]
''', Path("x.toml"))  # fmt: skip
    assert scenario.expect == {"choreography": (Completes(2), DeadLettered(1)),
                               "orchestration": (Violates("money.net"), Completes(2), DeadLettered(0))}  # fmt: skip


def test_service_options_become_serve_options_and_a_definition_path_is_the_files_neighbour() -> None:
    scenario = load(DATA / "express-transient.toml")
    assert scenario.service_options == {"orchestrator": {"workflow": "express",
                                                         "definition": str(DATA / "checkout-copy.asl.json")}}  # fmt: skip
    assert scenario.faults["orchestration"] == {"payment": ("raise:ChargePayment:2",)}
    assert "choreography" in scenario.faults and "orchestration" not in scenario.injectors


def test_the_user_scenarios_in_tests_data_load() -> None:
    assert load(DATA / "three-customers.toml").orders(None, 7, "t").orders[1].customer_id == "bob"


# --- errors --------------------------------------------------------------------------------------------------


def test_unknown_keys_and_values_name_file_line_field_and_a_suggestion() -> None:
    """Each misspelling is reported on its own line with the field's path and the nearest known word; every
    problem of the file is listed at once."""
    found = problems('''teaches = "t"
deadline_second = 5

[orders]
count = 3
fields = { card_numbr = "1" }

[expect]
all_end = "compensate"

[expect.choreograhpy]
completes = 1
''')  # fmt: skip
    assert found == [
        "mine.toml:2: deadline_second: unknown key 'deadline_second'; did you mean 'deadline_seconds'? (known here: "
        "name, teaches, orders, stock, stock_per_order, deadline_seconds, place_interval_seconds, "
        "attention_grace_seconds, own_users, unsafe, durability, faults, service_options, expect)",
        "mine.toml:6: orders.fields.card_numbr: unknown key 'card_numbr'; did you mean 'card_number'? (known here: "
        "order_id, customer_id, sku, quantity, lines, amount_cents, card_number, destination)",
        "mine.toml:9: expect.all_end: 'compensate' is not one of completed, compensated; did you mean 'compensated'?",
        "mine.toml:11: expect.choreograhpy: unknown key 'choreograhpy'; did you mean 'choreography'? (known here: "
        "violates, all_end, completes, rejected, dead_lettered, may_not_settle, watcher_reports, choreography, "
        "orchestration)",
    ]


def test_a_bad_fault_string_carries_the_grammars_error_with_its_file_and_line() -> None:
    found = problems('''teaches = "t"
faults = [
  "payment:crash:after-commit:ChargePayment",
  "paymnt:kill@PaymentCharged",
  "orchestration/orders:kill",
]
''')  # fmt: skip
    assert found[0].startswith("mine.toml:4: faults[1]: 'paymnt:kill@PaymentCharged': unknown target 'paymnt'; "
                               "did you mean 'payment'?")  # fmt: skip
    assert found[1] == ("mine.toml:5: faults[2]: 'orchestration/orders:kill': orchestration has no orders service "
                        "(it has orchestrator, payment, inventory, shipping)")  # fmt: skip


@pytest.mark.parametrize(("source", "says"), [
    ('teaches = "t"\n[stock\nKEYBOARD = 1\n', "mine.toml:2: not valid TOML: Expected ']'"),
    ('name = "x"\n', "mine.toml:1: teaches: missing: say what the scenario teaches"),
    ('teaches = "t"\n\n[stock]\nKEYBOARD = "lots"\n', "mine.toml:4: stock.KEYBOARD: input should be a valid integer"),
    ('teaches = "t"\nunsafe = ["no-inbx"]\n', "mine.toml:2: unsafe[0]: 'no-inbx' is not one of no-inbox, no-outbox, "
                                              "ack-first, no-barrier, no-business-key, no-failure-events, no-pinning, "
                                              "no-publisher-check; did you mean 'no-inbox'?"),
    ('teaches = "t"\n[orders]\nmix = "mixed"\n[orders.fields]\nsku = "MOUSE"\n',
     "mine.toml:3: orders.mix: the mixed mix makes every order's fields itself"),
    ('teaches = "t"\n[stock]\nMOUSE = 1\n[stock_per_order]\nMOUSE = 0.5\n',
     "mine.toml:5: stock_per_order.MOUSE: MOUSE is in [stock] too"),
    ('teaches = "t"\n[service_options.orchestrator]\ndefinition = "nowhere.asl.json"\n',
     "mine.toml:3: service_options.orchestrator.definition: no file "),
    ('teaches = "t"\n[service_options.orchestrator]\nworkflow = "expres"\n',
     "did you mean 'express'?"),
    ('teaches = "t"\n[[orders.list]]\nquantity = 1\n[[orders.list]]\nquantty = 2\n',
     "mine.toml:5: orders.list[1].quantty: unknown key 'quantty'; did you mean 'quantity'?"),
])  # fmt: skip
def test_each_kind_of_mistake_is_named_where_it_is(source: str, says: str) -> None:
    assert any(p.startswith(says) or says in p for p in problems(source)), problems(source)


def test_positions_see_through_strings_comments_and_multi_line_arrays() -> None:
    positions = Positions('''teaches = "a # not a comment, [not a table], x = 1"
faults = [  # a comment with "quotes"
  "a",

  "b", "c",
]
[[orders.extra]]
"quoted key" = 1
[[orders.extra]]
quantity = { nested = 1 }
''')  # fmt: skip
    assert positions.line_of(("teaches",)) == 1
    assert [positions.line_of(("faults", i)) for i in range(3)] == [3, 5, 5]
    assert positions.line_of(("orders", "extra", 0, "quoted key")) == 8
    assert positions.line_of(("orders", "extra", 1, "quantity", "nested")) == 10
    assert positions.line_of(("orders", "extra", 1, "sku")) == 9  # not written: the table's line


# --- the command line ----------------------------------------------------------------------------------------


def test_scenarios_new_writes_a_commented_file_that_loads_and_never_overwrites(tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert main(["scenarios", "new", "my-lab", "--out", str(tmp_path)]) == 0
    written = tmp_path / "my-lab.toml"
    assert written.read_text().count("#") > 20 and load(written).name == "my-lab"
    assert main(["scenarios", "check", str(written)]) == 0
    assert "ok · my-lab · 2 order(s)" in capsys.readouterr().out
    assert main(["scenarios", "new", "my-lab", "--out", str(tmp_path)]) == 2
    assert main(["scenarios", "new", "bad/name", "--out", str(tmp_path)]) == 2


def test_bad_files_exit_2_naming_every_problem_never_a_traceback(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """`scenarios check`, `run FILE` and `compare FILE` refuse a bad file before anything starts (no broker is
    needed to see it)."""
    bad = tmp_path / "bad.toml"
    bad.write_text('teaches = "t"\n\n[expect]\nall_ends = "completed"\n')
    for argv in (["scenarios", "check", str(bad)], ["scenarios", str(bad), str(tmp_path / "none.toml")],
                 ["run", str(bad), "--mode", "choreography"], ["compare", str(bad)]):  # fmt: skip
        assert main(argv) == 2, argv
        out = capsys.readouterr().out
        assert f"{bad}:4: expect.all_ends: unknown key 'all_ends'; did you mean 'all_end'?" in out, out
        assert "Traceback" not in out
    assert main(["run", str(tmp_path / "missing.toml"), "--mode", "choreography"]) == 2
    assert "no scenario file" in capsys.readouterr().out


def test_an_unknown_scenario_name_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "out-of-stok", "--mode", "choreography"]) == 2
    assert "unknown scenario 'out-of-stok' (did you mean 'out-of-stock'?)" in capsys.readouterr().out


def test_the_readme_example_is_the_tested_file_and_a_typo_in_it_is_found_with_the_fault_typo() -> None:
    """README's complete example is tests/data/scenarios/big-spender.toml, which loads (and, in the slow broker
    test, runs); a misspelt key and a misspelt fault in it are both reported, at their lines."""
    readme = (ROOT / "README.md").read_text()
    example = (DATA / "big-spender.toml").read_text()
    assert example in readme and load(DATA / "big-spender.toml").default_orders == 3
    broken = example.replace("amount_cents = 2_000_000", "amount_cent = 2_000_000").replace('"choreography/payment',
                                                                                          '"choreography/paymnt')  # fmt: skip
    found = problems(broken, "big-spender.toml")
    assert [p.split(": ")[0] for p in found] == ["big-spender.toml:12", "big-spender.toml:21"], found
