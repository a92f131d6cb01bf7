"""Temporary: every catalogue file loads into exactly the scenario the Python catalogue defined."""

from __future__ import annotations

import random

import pytest

from scenarios.catalogue import SCENARIOS
from scenarios.python_catalogue import SCENARIOS as PYTHON


@pytest.mark.parametrize("name", list(PYTHON))
def test_file_equals_python(name: str) -> None:
    old, new = PYTHON[name], SCENARIOS[name]
    assert (new.name, new.teaches, new.default_orders, new.deadline_s, new.unsafe, new.service_options,
            new.attention_grace_s, new.place_interval_s, new.own_users) == (
            old.name, old.teaches, old.default_orders, old.deadline_s, old.unsafe, old.service_options,
            old.attention_grace_s, old.place_interval_s, old.own_users)
    for n in (None, 1, 7, 50, 100):
        assert new.stock_for(n) == old.stock_for(n)
        for seed in (1, 7, 42):
            assert new.make_orders(n or new.default_orders, random.Random(seed), "tok") == \
                   old.make_orders(n or old.default_orders, random.Random(seed), "tok")
            assert new.orders(n, seed, "tok") == old.orders(n, seed, "tok")
    for mode in ("choreography", "orchestration"):
        assert new.checks_for(mode) == old.checks_for(mode)
        assert dict(new.faults.get(mode, {})) == {k: tuple(v) for k, v in old.faults.get(mode, {}).items()}
        assert tuple(new.injectors.get(mode, ())) == tuple(old.injectors.get(mode, ()))
    assert new.expects() == old.expects()
    assert set(new.faults) == {m for m, f in old.faults.items() if f}
    assert set(new.injectors) == {m for m, i in old.injectors.items() if i}


def test_same_names_in_the_same_core_order() -> None:
    assert sorted(SCENARIOS) == sorted(PYTHON)
    assert list(SCENARIOS)[:5] == list(PYTHON)[:5]
