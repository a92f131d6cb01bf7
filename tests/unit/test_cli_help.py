"""``sagalab --help`` and each command's: every option explained, every default shown, every command listed."""

from __future__ import annotations

import argparse

import sagalab.cli
from sagalab.cli import parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_of_every_command_has_help_and_shows_its_default() -> None:
    for name, command in _commands().items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"sagalab {name}: {action.option_strings or action.dest} has no help"
            if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
                assert "default" in command._get_formatter()._get_help_string(action), (name, action.dest)
    assert "orders placed while the chaos lasts (default: 200)" in " ".join(_commands()["chaos"].format_help().split())


def test_the_module_docstring_names_every_command() -> None:
    for name in _commands():
        assert f"``{name}``" in (sagalab.cli.__doc__ or ""), f"sagalab.cli's docstring does not name {name}"
