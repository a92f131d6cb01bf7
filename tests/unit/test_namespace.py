"""The namespace every participant gets by default, the names the CLI accepts, and what `sagalab clean`
learns from RabbitMQ's management API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from sagalab.clean import belongs_to, known_queues, listed_by_management, shared_with_parent
from sagalab.cli import parser
from shared.config import default_namespace, namespace_problem
from shared.transport.topology import Topology


def test_the_environment_names_the_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGALAB_NAMESPACE", "table-7")
    assert default_namespace() == "table-7"


@pytest.mark.parametrize(("user", "expected"), [("ada", "sagalab-ada"), ("Ada Lovelace", "sagalab-ada-lovelace"),
                                                ("", "sagalab")])  # fmt: skip
def test_else_the_user_name_does(monkeypatch: pytest.MonkeyPatch, user: str, expected: str) -> None:
    monkeypatch.delenv("SAGALAB_NAMESPACE", raising=False)
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, user)
    if not user:
        monkeypatch.setattr("getpass.getuser", lambda: (_ for _ in ()).throw(OSError("no user")))
    assert default_namespace() == expected


def test_the_cli_refuses_a_namespace_that_cannot_prefix_a_queue(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("", "a b", "x" * 64, "-lead", "ns/../x"):
        with pytest.raises(SystemExit) as exc:
            parser().parse_args(["clean", "--namespace", bad])
        assert exc.value.code == 2
    assert "letters, digits" in capsys.readouterr().err
    assert parser().parse_args(["clean", "--namespace", "sagalab-ada.2"]).namespace == "sagalab-ada.2"


@pytest.mark.parametrize("bad", ["ns\n", "ns\r\n", "n\ts", "ns\x00", "ns\x1b[31m"])
def test_a_namespace_with_a_control_character_is_refused_and_named(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`$` in a pattern lets a trailing newline through; the namespace check matches the whole string."""
    assert namespace_problem(bad) is not None
    with pytest.raises(SystemExit) as exc:
        parser().parse_args(["clean", "--namespace", bad])
    assert exc.value.code == 2
    assert "control character" in capsys.readouterr().err


def test_a_namespace_that_would_share_a_name_with_its_parent_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`X.raw-choreography`'s inventory queue would be `X`'s bench queue: cleaning one would delete the other's."""
    assert shared_with_parent("x.raw-choreography") == "x.raw-choreography.inventory"
    assert shared_with_parent("x.victim") is None and shared_with_parent("x") is None
    with pytest.raises(SystemExit):
        parser().parse_args(["clean", "--namespace", "x.raw-orchestration"])
    assert "would share" in capsys.readouterr().err


def test_a_name_belongs_to_a_namespace_only_exactly() -> None:
    """Never by prefix across a `.`: `X.victim`'s names are not `X`'s."""
    known = set(known_queues(Topology("x")))
    assert belongs_to("x.payment", "x", known) and belongs_to("x.flights", "x", known)
    assert not any(belongs_to(n, "x", known) for n in ("x.victim.payment", "x.victim.tap", "xy.payment", "x.", "x"))


def test_every_mode_s_queues_are_known_to_clean() -> None:
    names = known_queues(Topology("ns"))
    assert {"ns.orders", "ns.payment", "ns.orchestrator.replies", "ns.orchestrator.replies.2", "ns.dead-letters", "ns.tap"} <= set(names)
    assert all(n.startswith("ns.") for n in names)


class _Management(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        rows = {"/api/queues/%2F?columns=name": [{"name": n} for n in ("ns.flights", "other.q", "nsx.q", "ns.payment",
                                                                         "ns.orchestrator.replies.12", "ns.victim.payment",
                                                                         "ns.victim.orchestrator.replies.2", "ns.a.b")],
                "/api/exchanges/%2F?columns=name": [{"name": "ns.events"}, {"name": ""}, {"name": "ns.victim.events"},
                                                    {"name": "ns.victim.dead-letter"}]}.get(self.path)  # fmt: skip
        assert self.headers["Authorization"] == "Basic dTpw"  # u:p from the AMQP URL
        self.send_response(200 if rows is not None else 404)
        self.end_headers()
        self.wfile.write(json.dumps(rows or {}).encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def management() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Management)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_the_management_api_adds_what_the_topology_does_not_know(management: int) -> None:
    """Only the namespace's own names are taken (known ones, a participant's `ns.<word>`, a further instance's
    replies), never a name of a nested namespace; without the API (port closed) clean falls back to known names."""
    assert listed_by_management("amqp://u:p@127.0.0.1:5672/", "ns", port=management) == (
        ["ns.flights", "ns.payment", "ns.orchestrator.replies.12"], ["ns.events"])
    assert listed_by_management("amqp://u:p@127.0.0.1:5672/", "ns", port=1) == ([], [])
