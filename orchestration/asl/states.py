"""The compiled, immutable form of a state machine: one frozen object per state, and the machine itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from .choice import ChoiceBranch
from .intrinsics import Intrinsic
from .jsonata import Expression, Value
from .paths import JsonPath, ResultPath
from .retry import Catcher, Retrier
from .templates import Template

if TYPE_CHECKING:
    from ._variables import Assignment

StateType = Literal["Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"]
TransitionKind = Literal["next", "catch", "choice", "default"]


@dataclass(frozen=True, slots=True)
class Flow:
    """What every state shares: its name, and the InputPath/OutputPath (None means JSON null, i.e. `{}`); in a
    JSONata state (`jsonata`), its Output instead; its Assign in either language."""

    name: str
    comment: str | None
    input_path: JsonPath | None
    output_path: JsonPath | None
    jsonata: bool = False
    assign: Assignment | None = None
    output: Value | None = None


@dataclass(frozen=True, slots=True)
class TaskState:
    flow: Flow
    next: str | None
    resource: str
    parameters: Template | None
    result_selector: Template | None
    result_path: ResultPath
    timeout_seconds: int | None
    timeout_seconds_path: JsonPath | None
    retriers: tuple[Retrier, ...]
    catchers: tuple[Catcher, ...]
    heartbeat_seconds: int | None = None
    heartbeat_seconds_path: JsonPath | None = None
    type: StateType = "Task"
    arguments: Value | None = None
    """JSONata: the task's input (default: the state's input)."""
    timeout_expression: Expression | None = None
    heartbeat_expression: Expression | None = None


@dataclass(frozen=True, slots=True)
class PassState:
    flow: Flow
    next: str | None
    parameters: Template | None
    has_result: bool
    result: Any
    result_path: ResultPath
    type: StateType = "Pass"


@dataclass(frozen=True, slots=True)
class ChoiceState:
    flow: Flow
    choices: tuple[ChoiceBranch, ...]
    default: str | None
    type: StateType = "Choice"


@dataclass(frozen=True, slots=True)
class WaitState:
    flow: Flow
    next: str | None
    seconds: int | None
    seconds_path: JsonPath | None
    timestamp: datetime | None
    timestamp_path: JsonPath | None
    type: StateType = "Wait"
    seconds_expression: Expression | None = None
    timestamp_expression: Expression | None = None


@dataclass(frozen=True, slots=True)
class SucceedState:
    flow: Flow
    type: StateType = "Succeed"


# Fail's ErrorPath/CausePath may be a path or an intrinsic; both read the state's raw input. A JSONata state's
# Error/Cause may be an expression.
Dynamic = JsonPath | Intrinsic | Expression


@dataclass(frozen=True, slots=True)
class FailState:
    flow: Flow
    error: str | None
    error_path: Dynamic | None
    cause: str | None
    cause_path: Dynamic | None
    type: StateType = "Fail"


@dataclass(frozen=True, slots=True)
class ParallelState:
    """Runs each of `branches` (a StateMachine each) on the same input; the output is their outputs in order."""

    flow: Flow
    next: str | None
    branches: tuple[StateMachine, ...]
    parameters: Template | None
    result_selector: Template | None
    result_path: ResultPath
    retriers: tuple[Retrier, ...]
    catchers: tuple[Catcher, ...]
    type: StateType = "Parallel"
    arguments: Value | None = None
    """JSONata: every branch's input (default: the state's input)."""


@dataclass(frozen=True, slots=True)
class MapState:
    """Runs `processor` once per item of an array (inline mode); the output is their outputs in item order."""

    flow: Flow
    next: str | None
    processor: StateMachine
    items_path: JsonPath | None
    """ItemsPath (a reference path; `$` by default), or None when ItemsPointer is used."""
    items_pointer: str | None
    """ItemsPointer: an RFC 6901 JSON Pointer into the effective input."""
    item_selector: Template | None
    """ItemSelector (or the legacy Parameters), rendered per item with `$$.Map.Item.Index`/`Value`."""
    max_concurrency: int
    """0: unbounded."""
    max_concurrency_path: JsonPath | None
    tolerated_count: int | None
    tolerated_count_path: JsonPath | None
    tolerated_percentage: float | None
    tolerated_percentage_path: JsonPath | None
    result_selector: Template | None
    result_path: ResultPath
    retriers: tuple[Retrier, ...]
    catchers: tuple[Catcher, ...]
    type: StateType = "Map"
    jsonata: MapJsonata | None = None
    """A JSONata Map's Items, ItemSelector and expression-valued counts (its JSONPath fields are then unset)."""


@dataclass(frozen=True, slots=True)
class MapJsonata:
    """The JSONata forms of a Map's fields; each expression sees `$states.input` and the variables."""

    items: Value | None
    """Items: an array, or an expression giving one (default: the state's input)."""
    item_selector: Value | None
    """ItemSelector, evaluated per item with `$states.context.Map.Item.Index`/`Value`."""
    max_concurrency: Expression | None = None
    tolerated_count: Expression | None = None
    tolerated_percentage: Expression | None = None


State = TaskState | PassState | ChoiceState | WaitState | SucceedState | FailState | ParallelState | MapState
FanoutState = ParallelState | MapState


@dataclass(frozen=True, slots=True)
class Transition:
    """One edge of the state graph, for drawing it."""

    source: str
    target: str
    kind: TransitionKind
    label: str


@dataclass(frozen=True)
class StateMachine:
    """A loaded definition: paths, templates and rules are compiled, so interpreting a step is cheap."""

    start_at: str
    states: Mapping[str, State]
    timeout_seconds: int | None
    comment: str | None
    uses_execution_input: bool = False
    _transitions: tuple[Transition, ...] = field(default=(), repr=False)

    def transitions(self) -> list[Transition]:
        """Every edge: Next, Catch, Choice rule and Default, in definition order."""
        return list(self._transitions)

    def state(self, name: str) -> State:
        return self.states[name]

    def state_type(self, name: str) -> StateType:
        return self.states[name].type

    def resource(self, name: str) -> str:
        """The verbatim Resource of a Task state."""
        state = self.states[name]
        if not isinstance(state, TaskState):
            raise KeyError(f"state {name!r} is a {state.type} state, not a Task")
        return state.resource

    def task_resources(self) -> dict[str, str]:
        """Resource of each Task state, by state name (top-level states only; see `all_task_states`)."""
        return {name: state.resource for name, state in self.states.items() if isinstance(state, TaskState)}

    def all_task_states(self) -> list[TaskState]:
        """Every Task state, including those inside Parallel branches and Map item processors."""
        found: list[TaskState] = []
        for state in self.states.values():
            if isinstance(state, TaskState):
                found.append(state)
            elif isinstance(state, ParallelState):
                found.extend(task for branch in state.branches for task in branch.all_task_states())
            elif isinstance(state, MapState):
                found.extend(state.processor.all_task_states())
        return found


def edges_of(state: State) -> list[Transition]:
    """The transitions leaving one state."""
    name = state.flow.name
    if isinstance(state, ChoiceState):
        edges = [Transition(name, branch.next, "choice", branch.rule.describe()) for branch in state.choices]
        if state.default is not None:
            edges.append(Transition(name, state.default, "default", "Default"))
        return edges
    edges = []
    if isinstance(state, (TaskState, PassState, WaitState, ParallelState, MapState)) and state.next is not None:
        edges.append(Transition(name, state.next, "next", "Next"))
    if isinstance(state, (TaskState, ParallelState, MapState)):
        for catcher in state.catchers:
            edges.append(Transition(name, catcher.next, "catch", ", ".join(catcher.errors.names)))
    return edges
