"""Builds pydantic models from values known to be valid, skipping validation on the interpreter's hot path."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


def build(cls: type[Model], values: dict[str, Any]) -> Model:
    """What `cls.model_construct(**values)` does when `values` names every field, at a fraction of its cost."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance
