"""How Step Functions names a Task's history events, by its Resource.

- ``arn:aws:lambda:<region>:<account>:function:<name>``: ``LambdaFunctionScheduled/Started/Succeeded/Failed/
  TimedOut`` with ``resource`` (the ARN); the scheduled event carries the task's ``input``;
- ``arn:aws:states:::<service>:<action>`` (an optimized or SDK integration, e.g. ``lambda:invoke``):
  ``Task*`` events with ``resourceType`` (``lambda``) and ``resource`` (``invoke``,
  ``invoke.waitForTaskToken``); a ``.waitForTaskToken`` task also gets ``TaskSubmitted`` once its request is
  sent, then waits for the token's answer;
- anything else (``sagalab:<participant>:<Command>``, a name the resource map binds): ``Task*`` events with the
  whole ``resource``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

_LAMBDA_ARN = re.compile(r"^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:[^:]+(:[^:]+)?$")
_INTEGRATION = re.compile(r"^arn:aws[\w-]*:states:::(?P<service>[^:]+):(?P<action>.+)$")
WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"


@dataclass(frozen=True, slots=True)
class TaskKind:
    prefix: str
    """``Task`` or ``LambdaFunction``: the events are ``{prefix}Scheduled`` ..."""
    names: dict[str, Any]
    """The details naming the resource, in every event of the task."""
    input_key: str
    """Where the scheduled event puts the task's input: ``parameters`` (Task) or ``input`` (Lambda)."""
    waits_for_token: bool


@functools.lru_cache(maxsize=1024)
def kind_of(resource: str) -> TaskKind:
    if _LAMBDA_ARN.match(resource):
        return TaskKind("LambdaFunction", {"resource": resource}, "input", False)
    if m := _INTEGRATION.match(resource):
        names = {"resourceType": m["service"], "resource": m["action"]}
        return TaskKind("Task", names, "parameters", m["action"].endswith(WAIT_FOR_TASK_TOKEN))
    return TaskKind("Task", {"resource": resource}, "parameters", False)
