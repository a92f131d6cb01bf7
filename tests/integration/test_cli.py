"""The CLI contract: exit statuses, messages and the result JSON's fixed keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def sagalab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)  # fmt: skip


def test_bad_usage_exits_2_with_a_message() -> None:
    """Unknown scenario, bad --orders and bad --mode are usage errors, not tracebacks."""
    unknown = sagalab("run", "nope", "--mode", "choreography")
    assert unknown.returncode == 2 and "unknown scenario 'nope'" in unknown.stdout
    zero = sagalab("run", "happy-path", "--mode", "choreography", "--orders", "0")
    assert zero.returncode == 2 and "--orders" in zero.stdout
    mode = sagalab("run", "happy-path", "--mode", "telepathy")
    assert mode.returncode == 2 and "invalid choice" in mode.stderr
    deadline = sagalab("run", "happy-path", "--mode", "choreography", "--deadline", "0")
    assert deadline.returncode == 2 and "--deadline must be a positive" in deadline.stdout


def test_an_invalid_definition_exits_2_listing_every_problem(tmp_path: Path) -> None:
    """A definition with several faults is refused before anything starts, every problem named."""
    bad = tmp_path / "bad.asl.json"
    bad.write_text('{"StartAt": "A", "States": {"A": {"Type": "Task", "Next": "Nope"}, '
                   '"B": {"Type": "Parallel", "End": true}, '
                   '"C": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "D", '
                   '"States": {"D": {"Type": "Succeed"}}}, "End": true}}}')  # fmt: skip
    for args in (["run", "happy-path", "--mode", "orchestration"], ["compare", "happy-path"], ["execute"]):
        out = sagalab(*args[:1], *([str(bad)] if args == ["execute"] else args[1:]),
                      *([] if args == ["execute"] else ["--definition", str(bad)]))  # fmt: skip
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        for problem in ("'Resource' is required", "unknown state 'Nope'", "non-empty array of state machines",
                        "distributed Map"):
            assert problem in out.stdout.replace("\n", " "), (args, out.stdout)
        assert "Traceback" not in out.stdout + out.stderr


def test_a_missing_broker_exits_3_and_says_how_to_start_one() -> None:
    """No broker at the URL: exit 3, a one-paragraph message, no traceback, whatever the command."""
    nowhere = ["--amqp-url", "amqp://guest:guest@127.0.0.1:1/"]
    for command in (["run", "happy-path", "--mode", "choreography"], ["compare", "out-of-stock"],
                    ["serve", "payment", "--mode", "choreography"], ["bench", "--orders", "5"],
                    ["chaos", "--broker-restarts", "0"]):  # fmt: skip
        out = sagalab(*command, *nowhere)
        assert out.returncode == 3, (command, out.stdout, out.stderr)
        assert "rabbitmq-server -detached" in out.stdout and "Traceback" not in out.stdout + out.stderr


def test_a_bad_fault_spec_is_a_usage_error() -> None:
    """serve --fault with a spec that does not parse: exit 2 and the reason."""
    out = sagalab("serve", "payment", "--mode", "choreography", "--fault", "bogus")
    assert out.returncode == 2 and "cannot read fault 'bogus'" in out.stdout


def test_the_runners_light_serve_entry_answers_bad_input_as_sagalab_serve_does() -> None:
    """``python -m sagalab.serve`` (how the runner starts services, without loading the rest of the command line):
    the same exit statuses and messages as ``sagalab serve``."""
    for args, status, said in (
        (["payment", "--mode", "choreography", "--amqp-url", "amqp://guest:guest@127.0.0.1:1/"], 3,
         "rabbitmq-server -detached"),
        (["payment", "--mode", "choreography", "--fault", "bogus"], 2, "cannot read fault 'bogus'"),
        (["lambdas", "--mode", "choreography"], 2, "no service 'lambdas' in choreography"),
    ):  # fmt: skip
        light = subprocess.run([sys.executable, "-m", "sagalab.serve", *args], capture_output=True, text=True, timeout=60)
        full = sagalab("serve", *args)
        assert (light.returncode, full.returncode) == (status, status), (args, light.stdout, light.stderr)
        assert said in light.stdout and said in full.stdout, (args, light.stdout, full.stdout)
        assert "Traceback" not in light.stdout + light.stderr


def test_scenarios_lists_the_catalogue() -> None:
    """Every core scenario is listed with what it teaches."""
    out = sagalab("scenarios")
    assert out.returncode == 0
    for name in ("happy-path", "out-of-stock", "payment-declined", "shipping-failure", "mixed"):
        assert name in out.stdout


@pytest.mark.broker
def test_compare_out_of_stock_writes_the_fixed_json(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """`sagalab compare out-of-stock --json` exits 0 and writes both modes with the fixed keys."""
    out = sagalab("compare", "out-of-stock", "--json", str(tmp_path / "out.json"), "--amqp-url", amqp_url,
                  "--namespace", namespace, "--out", str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "choreography" in out.stdout and "orchestration" in out.stdout
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["scenario"] == "out-of-stock"
    for mode in ("choreography", "orchestration"):
        r = data[mode]
        assert {"scenario", "mode", "seed", "orders", "consistency", "messages", "latency_ms", "duration_s",
                "settled", "expectation_met"} <= set(r)  # fmt: skip
        assert r["orders"] == {"total": 1, "completed": 0, "compensated": 1, "inconsistent": 0, "stuck": 0,
                               "rejected": 0}
        assert r["consistency"] == {"ok": True, "violations": []}
        assert {"total", "per_order", "by_type", "dead_lettered"} <= set(r["messages"])
        assert r["messages"]["by_type"]["RefundPayment" if mode == "orchestration" else "PaymentRefunded"] == 1
        assert set(r["latency_ms"]) >= {"p50", "p95", "p99"}
    (order_id,) = data["orchestration"]["outcomes"]
    history = sagalab("history", "--run", str(tmp_path / "run"))  # no id: the run's first execution
    assert history.returncode == 0, history.stdout + history.stderr
    assert f"execution {order_id}" in history.stdout and "RefundPayment" in history.stdout
    assert sagalab("history", order_id, "--run", str(tmp_path / "run"), "--json").returncode == 0


@pytest.mark.broker
def test_a_run_stopped_at_its_deadline_while_a_saga_still_moves_is_not_settled(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """transient-failure in orchestration waits 1 s then 2 s before retrying the charge; stopped at a 1 s
    deadline, the saga is still moving: the result says ``settled: false``, the order is stuck with its story,
    and the run exits 1 (the scenario does not allow it)."""
    out = sagalab("run", "transient-failure", "--mode", "orchestration", "--deadline", "1", "--json",
                  str(tmp_path / "r.json"), "--amqp-url", amqp_url, "--namespace", namespace, "--out",
                  str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["settled"] is False
    assert "the run did not settle before its deadline" in result["expectation_failures"]
    (order_id,) = result["outcomes"]
    assert result["outcomes"][order_id] == "stuck" and result["stories"][order_id]["outcome"] == "stuck"
    assert f"orchestration {order_id} stuck" in out.stdout


def test_history_without_any_orchestration_run_says_what_to_do(tmp_path: Path) -> None:
    out = sagalab("history", cwd=tmp_path)
    assert out.returncode == 2 and "run a scenario in orchestration mode first" in out.stdout.replace("\n", " ")


@pytest.mark.broker
def test_faults_from_the_command_line_strike_the_named_modes(amqp_url: str, namespace: str, tmp_path: Path) -> None:
    """`compare --fault`: a duplicate the lab publishes in both modes and a crash in one mode only, added to the
    scenario's own faults; both modes end consistent (inbox, ack after commit) and the result says what struck."""
    out = sagalab("compare", "out-of-stock", "--fault", "lab:duplicate:PaymentCharged",
                  "--fault", "choreography/payment:crash:after-commit:OutOfStock", "--json", str(tmp_path / "out.json"),
                  "--amqp-url", amqp_url, "--namespace", namespace, "--out", str(tmp_path / "run"))  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    for mode in ("choreography", "orchestration"):
        r = data[mode]
        assert r["consistency"]["ok"] and r["orders"]["compensated"] == 1, r
        assert r["extra"]["faults_injected"] == {"duplicate PaymentCharged": 1}
        assert r["messages"]["by_type"]["PaymentCharged"] == 2
    assert data["choreography"]["extra"]["restarts"] == {"payment": 1}
    assert not data["orchestration"]["extra"].get("restarts")
    listed = sagalab("faults")
    assert listed.returncode == 0 and all(kind in listed.stdout for kind in ("crash", "duplicate", "restart"))
    bad = sagalab("compare", "out-of-stock", "--fault", "paymnt:crash:after-commit:X")
    assert bad.returncode == 2 and "did you mean 'payment'" in bad.stderr
