"""Which transport a process runs: ``plain`` unless ``SAGALAB_TRANSPORT`` opts into ``fast``."""

from __future__ import annotations

import pytest

from sagalab.cli import main
from shared.transport.broker import Broker, transport_from_env
from shared.transport.fast import FastTransport
from shared.transport.plain import PlainTransport
from shared.transport.topology import Topology


def test_the_plain_transport_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SAGALAB_TRANSPORT a broker consumes and publishes with aio-pika's own objects."""
    monkeypatch.delenv("SAGALAB_TRANSPORT", raising=False)
    assert isinstance(transport_from_env(), PlainTransport)
    assert isinstance(Broker(None, Topology("ns"), "test").transport, PlainTransport)  # type: ignore[arg-type]


def test_sagalab_transport_fast_opts_into_the_fast_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """SAGALAB_TRANSPORT=fast picks the aiormq path, for every process that inherits the environment."""
    monkeypatch.setenv("SAGALAB_TRANSPORT", "fast")
    assert isinstance(transport_from_env(), FastTransport)


def test_an_unknown_transport_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo fails loudly instead of silently running the default."""
    monkeypatch.setenv("SAGALAB_TRANSPORT", "fastest")
    with pytest.raises(ValueError, match="plain, fast"):
        transport_from_env()


def test_the_cli_refuses_an_unknown_transport_as_bad_usage(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Exit 2 with the names it takes, before anything starts: never a traceback from deep in a service."""
    monkeypatch.setenv("SAGALAB_TRANSPORT", "turbo")
    assert main(["run", "happy-path", "--mode", "choreography"]) == 2
    assert "SAGALAB_TRANSPORT='turbo' names no transport; use one of plain, fast" in capsys.readouterr().out
