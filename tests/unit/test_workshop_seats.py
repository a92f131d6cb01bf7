"""``sagalab workshop``'s decisions without a broker: which names it makes, what it refuses, what it keeps on a
re-run, what teardown removes, and the sheets it writes."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import aiormq
import pytest

from sagalab.cli import main
from sagalab.exits import UsageError
from sagalab.workshop import TAG, Management, earlier_passwords, provision, seat_names, sheet, sheet_rows, teardown
from shared.transport.broker import BrokerRefused, _refusal


class FakeApi(Management):
    """The management API as a dict of users and vhosts (name -> tags), recording every call."""

    def __init__(self, users: dict[str, list[str]] | None = None, vhosts: dict[str, list[str]] | None = None,
                 me: list[str] | None = None) -> None:  # fmt: skip
        super().__init__("http://fake/api", "teacher", "Basic x")
        object.__setattr__(self, "state", {"users": dict(users or {}), "vhosts": dict(vhosts or {}), "calls": [],
                                           "me": me if me is not None else ["administrator"]})  # fmt: skip

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        state: dict[str, Any] = self.state  # type: ignore[attr-defined]
        state["calls"].append((method, path, body))
        if path == "/whoami":
            return {"name": "teacher", "tags": state["me"]}
        kind, _, name = path.strip("/").partition("/")
        if method == "GET":
            return [{"name": n, "tags": t} for n, t in state[kind].items()]
        if method == "PUT" and kind in ("users", "vhosts"):
            state[kind][name] = str(body["tags"]).split(",") if body else []
        if method == "DELETE":
            del state[kind][name]
        return None


def test_seat_names_are_numbered_wide_enough_to_sort() -> None:
    assert seat_names("ws", 3) == ["ws-01", "ws-02", "ws-03"]
    assert seat_names("ws", 120)[-1] == "ws-120" and seat_names("ws", 120)[0] == "ws-001"


def test_provision_gives_each_participant_a_vhost_a_user_and_permissions_there_only() -> None:
    api = FakeApi()
    seats = provision(api, "ws", 2)
    assert [s.name for s in seats] == ["ws-01", "ws-02"] and all(s.password for s in seats)
    assert api.state["users"]["ws-01"] == ["management", TAG] and TAG in api.state["vhosts"]["ws-02"]  # type: ignore[attr-defined]
    grants = [(path, body) for method, path, body in api.state["calls"] if path.startswith("/permissions/")]  # type: ignore[attr-defined]
    assert grants == [(f"/permissions/ws-0{i}/ws-0{i}", {"configure": ".*", "write": ".*", "read": ".*"}) for i in (1, 2)]
    assert seats[0].amqp_url("broker.lan", 5672) == f"amqp://ws-01:{seats[0].password}@broker.lan:5672/ws-01"


def test_a_rerun_keeps_existing_passwords_unless_asked_and_takes_them_from_the_earlier_sheet() -> None:
    api = FakeApi()
    first = provision(api, "ws", 1)
    rows = sheet_rows(first, "h", 5672, "http://h:15672")
    known = earlier_passwords(sheet(rows, Path("s.csv")))
    before_rerun = len(api.state["calls"])  # type: ignore[attr-defined]
    assert known == {"ws-01": first[0].password}
    kept = provision(api, "ws", 2, known=known)
    assert kept[0].password == first[0].password and kept[0].action.startswith("kept") and kept[1].action == "created"
    assert not any(m == "PUT" and p == "/users/ws-01" for m, p, _ in api.state["calls"][before_rerun:])  # type: ignore[attr-defined]
    reset = provision(api, "ws", 1, reset_passwords=True)
    assert reset[0].password not in (None, first[0].password) and reset[0].action == "new password"


def test_provision_refuses_names_it_did_not_make_and_a_non_administrator() -> None:
    with pytest.raises(UsageError, match="user ws-01 already exist"):
        provision(FakeApi(users={"ws-01": ["administrator"]}), "ws", 2)
    with pytest.raises(UsageError, match="not an administrator"):
        provision(FakeApi(me=["management"]), "ws", 2)


def test_teardown_removes_the_workshops_tagged_names_and_nothing_else() -> None:
    api = FakeApi(users={"ws-01": [TAG], "ws-99": [], "wsx-01": [TAG], "guest": ["administrator"]},
                  vhosts={"ws-01": [TAG], "ws-02": [TAG], "ws-extra": [TAG], "/": []})  # fmt: skip
    removed = teardown(api, "ws")
    assert (removed.vhosts, removed.users) == (["ws-01", "ws-02"], ["ws-01"])
    assert set(api.state["users"]) == {"ws-99", "wsx-01", "guest"} and set(api.state["vhosts"]) == {"ws-extra", "/"}  # type: ignore[attr-defined]


def test_the_sheets_carry_the_lines_to_paste() -> None:
    rows = sheet_rows(provision(FakeApi(), "ws", 2), "broker.lan", 5672, "http://broker.lan:15672")
    table = list(csv.DictReader(io.StringIO(sheet(rows, Path("s.csv")))))
    assert [r["participant"] for r in table] == ["ws-01", "ws-02"] and table[0]["amqp_url"] == rows[0]["amqp_url"]
    markdown = sheet(rows, Path("s.md"))
    assert f"export AMQP_URL={rows[1]['amqp_url']}\nexport SAGALAB_NAMESPACE=ws-02" in markdown


@pytest.mark.parametrize(("argv", "says"), [
    (["provision", "--participants", "0"], "--participants must be between 1 and 999"),
    (["provision", "--participants", "2", "--name", "no spaces"], "--name 'no spaces'"),
    (["provision", "--participants", "2", "--out", "sheet.txt"], "write a .csv or a .md file"),
])  # fmt: skip
def test_bad_input_is_a_usage_error(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workshop", *argv]) == 2
    assert says in capsys.readouterr().out.replace("\n", "")


def test_no_management_api_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    """Port 9 (discard) has nothing listening on a test machine: the command says where it looked."""
    assert main(["workshop", "teardown", "--management-url", "http://127.0.0.1:9"]) == 3
    assert "no management API at http://127.0.0.1:9/api" in capsys.readouterr().out.replace("\n", "")


def test_a_refused_login_is_told_apart_from_a_missing_broker() -> None:
    """A wrong password (ACCESS_REFUSED) or someone else's vhost (the broker closes the connection instead of
    opening it) is a refusal naming user and vhost; a closed port stays 'cannot reach'."""
    assert _refusal(aiormq.exceptions.ProbableAuthenticationError("ACCESS_REFUSED - Login was refused")) is not None
    vhost = aiormq.exceptions.InvalidFrameError("Expected one of ['Connection.OpenOk'], got <Connection.Close object>")
    assert "NOT_ALLOWED" in str(_refusal(vhost))
    assert _refusal(ConnectionRefusedError(111, "Connect call failed")) is None
    message = str(BrokerRefused("amqp://ws-01:secret@broker.lan:5672/ws-02", "NOT_ALLOWED"))
    assert "refused user 'ws-01' on vhost 'ws-02'" in message and "secret" not in message
