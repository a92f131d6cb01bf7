"""Error names of the States Language, how Retry and Catch match them, and this package's exceptions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

ALL = "States.ALL"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
TASK_FAILED = "States.TaskFailed"
RUNTIME = "States.Runtime"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"

KNOWN_STATES_ERRORS = frozenset(
    {
        ALL,
        TIMEOUT,
        TASK_FAILED,
        RUNTIME,
        NO_CHOICE_MATCHED,
        PARAMETER_PATH_FAILURE,
        RESULT_PATH_MATCH_FAILURE,
        INTRINSIC_FAILURE,
        DATA_LIMIT_EXCEEDED,
        HEARTBEAT_TIMEOUT,
        "States.Permissions",
        "States.BranchFailed",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        QUERY_EVALUATION_ERROR,
    }
)

def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``; did you mean 'Resource'?`` for a near miss among the known names, else nothing."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


# The spec and AWS make these terminal: no Retrier or Catcher ever handles them, not even States.ALL.
UNCATCHABLE = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class DefinitionError(Exception):
    """A state machine definition was refused; `problems` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the state machine definition:\n{lines}")


class StatesError(Exception):
    """A runtime error raised under an ASL error name (`location` says which field raised it)."""

    def __init__(self, error: str, cause: str, location: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.location = location


def is_catchable(error: str) -> bool:
    """Whether any Retrier or Catcher may handle `error`."""
    return error not in UNCATCHABLE


@dataclass(frozen=True, slots=True)
class ErrorMatcher:
    """The `ErrorEquals` list of one Retrier or Catcher, precompiled for fast matching."""

    names: tuple[str, ...]
    exact: frozenset[str]
    matches_all: bool
    matches_task_failed: bool

    @classmethod
    def of(cls, names: Iterable[str]) -> ErrorMatcher:
        listed = tuple(names)
        return cls(listed, frozenset(listed), ALL in listed, TASK_FAILED in listed)

    def matches(self, error: str) -> bool:
        if error in UNCATCHABLE:
            return False
        if self.matches_all or error in self.exact:
            return True
        return self.matches_task_failed and error != TIMEOUT
