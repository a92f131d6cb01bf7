"""The orchestrator's load-time check of Task resources reads a JSONata Task's Arguments as it reads Parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orchestration.asl import DefinitionError
from orchestration.definitions import Definition
from orchestration.resources import ResourceMap

LAMBDA = "arn:aws:states:::lambda:invoke"
RESOURCES = ResourceMap({"known": "lambdas"})


def jsonata_lambda(function_name: str) -> str:
    definition: dict[str, Any] = {
        "QueryLanguage": "JSONata",
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": LAMBDA, "End": True,
                            "Arguments": {"FunctionName": function_name, "Payload": "{% $states.input %}"}}},
    }  # fmt: skip
    return json.dumps(definition)


def test_a_static_function_name_in_arguments_must_be_in_the_resource_map() -> None:
    Definition.compile("ok.asl.json", jsonata_lambda("known"), RESOURCES)
    with pytest.raises(DefinitionError) as caught:
        Definition.compile("bad.asl.json", jsonata_lambda("unknown"), RESOURCES)
    assert caught.value.problems == ["State 'Call': field 'Resource': 'unknown' is not in the resource map "
                                     "(bind it with --resources)"]  # fmt: skip


def test_a_function_name_chosen_by_an_expression_is_left_to_run_time() -> None:
    Definition.compile("dynamic.asl.json", jsonata_lambda("{% $states.input.function %}"), RESOURCES)
