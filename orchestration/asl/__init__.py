"""A pure Amazon States Language interpreter (JSONPath and JSONata, with variables) the orchestrator drives: no
broker, no clock, no I/O; it is stepped from outside with the time and each task's reply. It imports nothing of the
project but itself (the standard library, pydantic, jsonpath-ng and jsonata-python only), so it could be lifted out
whole."""

from .definition import load_definition
from .errors import DefinitionError, StatesError
from .execution import Execution, Fanout, PendingTask, Step, TaskDispatch, pending_tasks
from .history import HistoryEvent
from .interpreter import Interpreter, abandon, deadline_passed
from .states import StateMachine, Transition

__all__ = [
    "DefinitionError",
    "Execution",
    "Fanout",
    "HistoryEvent",
    "Interpreter",
    "PendingTask",
    "StateMachine",
    "StatesError",
    "Step",
    "TaskDispatch",
    "Transition",
    "abandon",
    "deadline_passed",
    "load_definition",
    "pending_tasks",
]
