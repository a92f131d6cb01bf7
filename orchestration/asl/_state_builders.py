"""Builds each kind of state from its JSON, noting every problem found on the way."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ._fanout_builders import build_map, build_parallel
from ._jsonata_builders import (
    JSONATA,
    JSONPATH,
    branch,
    compile_condition_rule,
    expression_or,
    is_timestamp,
    language_of,
    other_language_field,
)
from ._problems import Problems
from ._timestamps import parse_timestamp
from ._variables import compile_assign
from .choice import ChoiceBranch, Rule, compile_rule
from .errors import did_you_mean
from .intrinsics import IntrinsicSyntaxError, compile_intrinsic, looks_like_intrinsic
from .jsonata import compile_value, is_expression
from .paths import ROOT, InvalidPath, JsonPath, ResultPath, compile_path, compile_reference_path
from .retry import compile_catchers, compile_retriers
from .states import (
    ChoiceState,
    Dynamic,
    FailState,
    Flow,
    PassState,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)
from .templates import Template, compile_template

MAX_INTEGER = 99_999_999
Nested = Callable[[Any, str, str, Problems, str], "StateMachine | None"]

# The fields of each state type in either query language (a field of the other language gets its own message).
FIELDS: dict[str, frozenset[str]] = {
    "Task": frozenset(
        {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Assign"}
        | {"Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "Arguments", "Output"}
        | {"HeartbeatSeconds", "HeartbeatSecondsPath"}
    ),
    "Pass": frozenset({"Next", "End", "InputPath", "OutputPath", "Parameters", "Result", "ResultPath", "Assign"}
                      | {"Output"}),  # fmt: skip
    "Choice": frozenset({"InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"}),
    "Wait": frozenset(
        {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign"}
        | {"Output"}
    ),
    "Succeed": frozenset({"InputPath", "OutputPath", "Output"}),
    "Fail": frozenset({"Error", "ErrorPath", "Cause", "CausePath"}),
    "Parallel": frozenset(
        {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"}
        | {"Branches", "Assign", "Arguments", "Output"}
    ),
    "Map": frozenset(
        {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"}
        | {"ItemsPath", "ItemsPointer", "ItemSelector", "ItemProcessor", "Iterator", "MaxConcurrency"}
        | {"MaxConcurrencyPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath"}
        | {"ToleratedFailureCount", "ToleratedFailureCountPath", "Assign", "Items", "Output"}
    ),
}
COMMON_FIELDS = frozenset({"Type", "Comment", "QueryLanguage"})

UNSUPPORTED_FIELDS: dict[str, str] = {
    "Credentials": "cross-account task credentials",
    **{
        name: "distributed Map states (only ProcessorConfig Mode INLINE runs here)"
        for name in ("ItemReader", "ItemBatcher", "ResultWriter", "Label")
    },
}


def positive_integer(value: Any, least: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= MAX_INTEGER


class StateBuilder:
    """Compiles the states of one definition; `names` are all its state names, for checking targets, and
    `language` the machine's QueryLanguage (each state may say its own)."""

    def __init__(
        self, names: Collection[str], problems: Problems, language: str = JSONPATH, nested: Nested | None = None
    ) -> None:
        self.names = names
        self.problems = problems
        self.language = language
        self.jsonata = False  # the language of the state being built
        self.nested = nested
        """Compiles a Parallel branch or Map item processor: (raw, where, field, problems, language)."""

    def build(self, name: str, raw: dict[str, Any], kind: str) -> State:
        where = f"State '{name}'"
        self.jsonata = language_of(raw, self.language, self.problems, where) == JSONATA
        self._check_fields(raw, kind, where)
        assign = compile_assign(raw["Assign"], self.jsonata, self.problems, where) if "Assign" in raw else None
        comment = self._comment(raw, where)
        if self.jsonata:
            output = compile_value(raw["Output"], self.problems, where, "Output") if "Output" in raw else None
            flow = Flow(name, comment, ROOT, ROOT, jsonata=True, assign=assign, output=output)
        else:
            input_path, output_path = self._io_path(raw, "InputPath", where), self._io_path(raw, "OutputPath", where)
            flow = Flow(name, comment, input_path, output_path, assign=assign)
        builders: dict[str, Callable[[dict[str, Any], Flow, str], State]] = {
            "Task": self._task,
            "Pass": self._pass,
            "Choice": self._choice,
            "Wait": self._wait,
            "Succeed": lambda raw, flow, where: SucceedState(flow),
            "Fail": self._fail,
            "Parallel": lambda raw, flow, where: build_parallel(self, raw, flow, where),
            "Map": lambda raw, flow, where: build_map(self, raw, flow, where),
        }
        return builders[kind](raw, flow, where)

    def _check_fields(self, raw: dict[str, Any], kind: str, where: str) -> None:
        for key in raw:
            if key in UNSUPPORTED_FIELDS:
                self.problems.add(where, key, f"is not supported ({UNSUPPORTED_FIELDS[key]})")
            elif key in FIELDS[kind] and (problem := other_language_field(key, self.jsonata)) is not None:
                self.problems.add(where, key, problem)
            elif key not in FIELDS[kind] and key not in COMMON_FIELDS:
                allowed = set(FIELDS[kind]) | set(COMMON_FIELDS)
                self.problems.add(where, key, f"is not allowed in a {kind} state{did_you_mean(key, allowed)}")

    def _comment(self, raw: dict[str, Any], where: str) -> str | None:
        comment = raw.get("Comment")
        if comment is not None and not isinstance(comment, str):
            self.problems.add(where, "Comment", "must be a string")
            return None
        return comment

    def _io_path(self, raw: dict[str, Any], key: str, where: str) -> JsonPath | None:
        if key not in raw:
            return ROOT
        if raw[key] is None:
            return None
        return self._path(raw[key], key, where, reference=False) or ROOT

    def _path(self, text: Any, field: str, where: str, reference: bool) -> JsonPath | None:
        try:
            return compile_reference_path(text) if reference else compile_path(text)
        except InvalidPath as exc:
            self.problems.add(where, field, f"is invalid: {exc}")
            return None

    def target(self, value: Any, field: str, where: str) -> str | None:
        """A transition target, checked to name a state of this machine."""
        if not isinstance(value, str):
            self.problems.add(where, field, "must be a state name")
            return None
        if value not in self.names:
            self.problems.add(where, field, f"names unknown state '{value}'{did_you_mean(value, self.names)}")
        return value

    def _next(self, raw: dict[str, Any], where: str) -> str | None:
        has_next, end = "Next" in raw, raw.get("End")
        if end is not None and not isinstance(end, bool):
            self.problems.add(where, "End", "must be true")
        if has_next and end:
            self.problems.add(where, "End", "cannot be true when 'Next' is present")
        if not has_next and end is not True:
            self.problems.add(where, "Next", "is required unless 'End' is true")
        return self.target(raw["Next"], "Next", where) if has_next else None

    def _result_path(self, raw: dict[str, Any], where: str) -> ResultPath:
        try:
            return ResultPath(raw.get("ResultPath", "$"))
        except InvalidPath as exc:
            self.problems.add(where, "ResultPath", f"is invalid: {exc}")
            return ResultPath("$")

    def _template(self, raw: dict[str, Any], key: str, where: str, object_only: bool) -> Template | None:
        if key not in raw:
            return None
        if object_only and not isinstance(raw[key], dict):
            self.problems.add(where, key, "must be an object")
            return None
        return compile_template(raw[key], self.problems, where, key)

    def _task(self, raw: dict[str, Any], flow: Flow, where: str) -> State:
        resource = raw.get("Resource")
        if not isinstance(resource, str) or not resource:
            self.problems.add(where, "Resource", "is required and must be a non-empty string")
            resource = ""
        timeout, timeout_path, timeout_expression = raw.get("TimeoutSeconds"), None, None
        if self.jsonata and is_expression(timeout):
            timeout, timeout_expression = expression_or(raw, "TimeoutSeconds", bool, "", self.problems, where)
        elif timeout is not None and not positive_integer(timeout):
            self.problems.add(where, "TimeoutSeconds", f"must be a positive integer up to {MAX_INTEGER}")
            timeout = None
        if "TimeoutSecondsPath" in raw:
            timeout_path = self._optional_reference(raw, "TimeoutSecondsPath", where)
            if "TimeoutSeconds" in raw:
                self.problems.add(where, "TimeoutSecondsPath", "cannot be used together with 'TimeoutSeconds'")
        heartbeat_expression = None
        if self.jsonata and is_expression(raw.get("HeartbeatSeconds")):
            _, heartbeat_expression = expression_or(raw, "HeartbeatSeconds", bool, "", self.problems, where)
            heartbeat, heartbeat_path = None, None
        else:
            heartbeat, heartbeat_path = self._heartbeat(raw, where, timeout)
        retriers = compile_retriers(raw["Retry"], self.problems, where) if "Retry" in raw else ()
        catchers = compile_catchers(raw["Catch"], self.problems, where, self.jsonata) if "Catch" in raw else ()
        for index, catcher in enumerate(catchers):
            if catcher.next:
                self.target(catcher.next, f"Catch[{index}].Next", where)
        return TaskState(
            flow=flow,
            next=self._next(raw, where),
            resource=resource,
            parameters=self._template(raw, "Parameters", where, object_only=False),
            result_selector=self._template(raw, "ResultSelector", where, object_only=True),
            result_path=self._result_path(raw, where),
            timeout_seconds=timeout,
            timeout_seconds_path=timeout_path,
            retriers=retriers,
            catchers=catchers,
            heartbeat_seconds=heartbeat,
            heartbeat_seconds_path=heartbeat_path,
            arguments=self._jsonata_value(raw, "Arguments", where),
            timeout_expression=timeout_expression,
            heartbeat_expression=heartbeat_expression,
        )

    def _heartbeat(self, raw: dict[str, Any], where: str, timeout: int | None) -> tuple[int | None, JsonPath | None]:
        """HeartbeatSeconds (smaller than TimeoutSeconds, as the spec requires) or HeartbeatSecondsPath."""
        heartbeat = raw.get("HeartbeatSeconds")
        if heartbeat is not None and not positive_integer(heartbeat):
            self.problems.add(where, "HeartbeatSeconds", f"must be a positive integer up to {MAX_INTEGER}")
            heartbeat = None
        if heartbeat is not None and timeout is not None and heartbeat >= timeout:
            self.problems.add(where, "HeartbeatSeconds", f"must be smaller than TimeoutSeconds ({timeout})")
        path = self._optional_reference(raw, "HeartbeatSecondsPath", where) if "HeartbeatSecondsPath" in raw else None
        if "HeartbeatSecondsPath" in raw and "HeartbeatSeconds" in raw:
            self.problems.add(where, "HeartbeatSecondsPath", "cannot be used together with 'HeartbeatSeconds'")
        return heartbeat, path

    def _pass(self, raw: dict[str, Any], flow: Flow, where: str) -> State:
        return PassState(
            flow=flow,
            next=self._next(raw, where),
            parameters=self._template(raw, "Parameters", where, object_only=False),
            has_result="Result" in raw,
            result=raw.get("Result"),
            result_path=self._result_path(raw, where),
        )

    def _choice(self, raw: dict[str, Any], flow: Flow, where: str) -> State:
        choices = raw.get("Choices")
        branches: list[ChoiceBranch] = []
        if not isinstance(choices, list) or not choices:
            self.problems.add(where, "Choices", "is required and must be a non-empty array of Choice Rules")
            choices = []
        for index, item in enumerate(choices):
            rule: Rule | None
            if self.jsonata:
                rule = compile_condition_rule(item, index, self.problems, where)
            else:
                rule = compile_rule(item, self.problems, where, f"Choices[{index}]", top_level=True)
            target = item.get("Next") if isinstance(item, dict) else None
            if isinstance(target, str):
                self.target(target, f"Choices[{index}].Next", where)
            if rule is not None and isinstance(target, str):
                branches.append(branch(rule, target, self._rule_extras(item, index, where)))
        default = self.target(raw["Default"], "Default", where) if "Default" in raw else None
        return ChoiceState(flow=flow, choices=tuple(branches), default=default)

    def _jsonata_value(self, raw: dict[str, Any], key: str, where: str) -> Any:
        return compile_value(raw[key], self.problems, where, key) if key in raw else None

    def _rule_extras(self, item: dict[str, Any], index: int, where: str) -> tuple[Any, Any]:
        """A top-level Choice Rule's Assign and (JSONata) Output."""
        field = f"Choices[{index}]"
        assign = compile_assign(item["Assign"], self.jsonata, self.problems, where, f"{field}.Assign") \
            if "Assign" in item else None  # fmt: skip
        output = compile_value(item["Output"], self.problems, where, f"{field}.Output") \
            if self.jsonata and "Output" in item else None  # fmt: skip
        return assign, output

    def _wait(self, raw: dict[str, Any], flow: Flow, where: str) -> State:
        if self.jsonata:
            return self._jsonata_wait(raw, flow, where)
        given = [key for key in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if key in raw]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            options = "Seconds, SecondsPath, Timestamp, TimestampPath"
            self.problems.add(where, "Seconds", f"exactly one of {options} is required (found {found})")
        seconds = raw.get("Seconds")
        if seconds is not None and not positive_integer(seconds, least=0):
            self.problems.add(where, "Seconds", f"must be an integer from 0 to {MAX_INTEGER}")
            seconds = None
        timestamp = parse_timestamp(raw["Timestamp"]) if "Timestamp" in raw else None
        if "Timestamp" in raw and timestamp is None:
            self.problems.add(where, "Timestamp", "must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z")
        return WaitState(
            flow=flow,
            next=self._next(raw, where),
            seconds=seconds,
            seconds_path=self._optional_reference(raw, "SecondsPath", where),
            timestamp=timestamp,
            timestamp_path=self._optional_reference(raw, "TimestampPath", where),
        )

    def _jsonata_wait(self, raw: dict[str, Any], flow: Flow, where: str) -> State:
        given = [key for key in ("Seconds", "Timestamp") if key in raw]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            self.problems.add(where, "Seconds", f"exactly one of Seconds, Timestamp is required (found {found})")
        seconds, seconds_expression = expression_or(
            raw, "Seconds", lambda value: positive_integer(value, least=0), f"an integer from 0 to {MAX_INTEGER}",
            self.problems, where,
        )  # fmt: skip
        text, timestamp_expression = expression_or(
            raw, "Timestamp", is_timestamp, "an RFC 3339 timestamp such as 2016-03-14T01:59:00Z", self.problems, where
        )
        return WaitState(
            flow=flow,
            next=self._next(raw, where),
            seconds=seconds,
            seconds_path=None,
            timestamp=parse_timestamp(text) if text is not None else None,
            timestamp_path=None,
            seconds_expression=seconds_expression,
            timestamp_expression=timestamp_expression,
        )

    def _optional_reference(self, raw: dict[str, Any], key: str, where: str) -> JsonPath | None:
        return self._path(raw[key], key, where, reference=True) if key in raw else None

    def _fail(self, raw: dict[str, Any], flow: Flow, where: str) -> State:
        texts: dict[str, str | None] = {}
        expressions: dict[str, Dynamic | None] = {"Error": None, "Cause": None}
        for key in ("Error", "Cause"):
            value = raw.get(key)
            if self.jsonata and is_expression(value):
                expressions[key] = expression_or(raw, key, lambda _: False, "", self.problems, where)[1]
                value = None
            if value is not None and not isinstance(value, str):
                self.problems.add(where, key, "must be a string")
                value = None
            if key in raw and f"{key}Path" in raw:
                self.problems.add(where, f"{key}Path", f"cannot be used together with '{key}'")
            texts[key] = value
        return FailState(
            flow=flow,
            error=texts["Error"],
            error_path=expressions["Error"] or self._dynamic(raw, "ErrorPath", where),
            cause=texts["Cause"],
            cause_path=expressions["Cause"] or self._dynamic(raw, "CausePath", where),
        )

    def _dynamic(self, raw: dict[str, Any], key: str, where: str) -> Dynamic | None:
        if key not in raw:
            return None
        text = raw[key]
        if isinstance(text, str) and looks_like_intrinsic(text):
            try:
                return compile_intrinsic(text)
            except IntrinsicSyntaxError as exc:
                self.problems.add(where, key, f"is invalid: {exc}")
                return None
        return self._path(text, key, where, reference=True)

