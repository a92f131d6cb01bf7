"""Task resources: how a State's ``Resource`` becomes a command on RabbitMQ, and its answer an output.

Forms understood:
- ``sagalab:<participant>:<Command>``: one of sagalab's typed commands (``sagalab:payment:ChargePayment``);
- ``arn:aws:lambda:<region>:<account>:function:<name>``: the function ``name``, input = the task input;
- ``arn:aws:states:::lambda:invoke``: the function in ``Parameters.FunctionName``, input = ``Payload``,
  output wrapped as Lambda's ``{"ExecutedVersion", "Payload", "StatusCode"}``;
- ``arn:aws:states:::lambda:invoke.waitForTaskToken``: the same function and input, but the output is the
  participant's answer as sent (on AWS, what ``SendTaskSuccess`` carries), not wrapped;
- ``arn:aws:states:::sns:publish``: a ``Notification`` event, succeeding at once with ``{"MessageId"}``;
- anything else: looked up whole in the resource map.

A resource map binds function names (or whole resources) to ``participant`` or
``participant/function`` (the generic ``InvokeTask`` protocol, optionally renaming the function) or to
``sagalab:<participant>:<Command>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.domain.contracts import MESSAGE_TYPES, Command

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_INVOKE_WAIT = LAMBDA_INVOKE + ".waitForTaskToken"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
_LAMBDA_ARN = re.compile(r"^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:(?P<name>[^:]+)(:[^:]+)?$")
_SAGALAB = re.compile(r"^sagalab:(?P<participant>[\w-]+):(?P<command>\w+)$")


class UnknownResource(Exception):
    """A Task names a resource nothing is bound to."""


@dataclass(frozen=True)
class Call:
    """What one task dispatch means on the broker."""

    kind: Literal["typed", "invoke", "notify"]
    participant: str
    input: Any
    command: type[Command] | None = None
    function: str | None = None
    wrap_lambda_result: bool = False

    def output(self, result: Any) -> Any:
        if self.wrap_lambda_result:
            return {"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200}
        return result


class ResourceMap:
    def __init__(self, bindings: dict[str, str] | None = None) -> None:
        self.bindings = dict(bindings or {})

    @classmethod
    def load(cls, source: str | Path | None) -> ResourceMap:
        """From a JSON file, a JSON object string, or nothing (sagalab's own resources need no map)."""
        if source is None:
            return cls()
        text = str(source)
        data = json.loads(text) if text.lstrip().startswith("{") else json.loads(Path(text).read_text())
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError("a resource map is a JSON object of name -> participant or sagalab:<participant>:<Command>")
        return cls(data)

    def resolve(self, resource: str, parameters: Any) -> Call:
        if resource == SNS_PUBLISH:
            return Call("notify", "notifications", parameters)
        if resource in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT):
            if not isinstance(parameters, dict) or "FunctionName" not in parameters:
                raise UnknownResource("lambda:invoke needs Parameters.FunctionName")
            call = self._bound(str(parameters["FunctionName"]), parameters.get("Payload"))
            wrap = resource == LAMBDA_INVOKE
            return Call(call.kind, call.participant, call.input, call.command, call.function, wrap_lambda_result=wrap)
        if m := _SAGALAB.match(resource):
            return _typed(m["participant"], m["command"], parameters)
        if m := _LAMBDA_ARN.match(resource):
            if resource in self.bindings:
                return self._bound(resource, parameters)
            return self._bound(m["name"], parameters)
        return self._bound(resource, parameters)

    def check(self, resources: list[tuple[str, str, Any]]) -> list[str]:
        """Problems with statically known resources: (state name, resource, parameters template)."""
        problems = []
        for state, resource, parameters in resources:
            if resource in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT) and isinstance(parameters, dict) and (
                _chosen_at_run_time(parameters)
            ):
                continue
            try:
                self.resolve(resource, parameters if isinstance(parameters, dict) else {})
            except UnknownResource as exc:
                problems.append(f"State '{state}': field 'Resource': {exc}")
        return problems

    def _bound(self, name: str, task_input: Any) -> Call:
        target = self.bindings.get(name)
        if target is None:
            raise UnknownResource(f"{name!r} is not in the resource map (bind it with --resources)")
        if m := _SAGALAB.match(target):
            return _typed(m["participant"], m["command"], task_input)
        participant, _, function = target.partition("/")
        return Call("invoke", participant, task_input, function=function or name)


def _typed(participant: str, command: str, task_input: Any) -> Call:
    cls = MESSAGE_TYPES.get(command)
    if cls is None or not issubclass(cls, Command):
        raise UnknownResource(f"sagalab has no command {command!r}")
    return Call("typed", participant, task_input, command=cls)


def _chosen_at_run_time(parameters: dict[str, Any]) -> bool:
    """A Lambda's FunctionName read from a path (`FunctionName.$`) or a JSONata expression (`{% %}`)."""
    name = parameters.get("FunctionName")
    return "FunctionName.$" in parameters or (isinstance(name, str) and name.startswith("{%") and name.endswith("%}"))
