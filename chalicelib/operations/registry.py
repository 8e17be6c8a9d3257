"""The one list of operations: drives validation, rendering and `GET /operations`."""
from __future__ import annotations

import importlib

from chalicelib.errors import InvalidOperation
from chalicelib.operations.base import OperationSpec

# Module names under chalicelib.operations; each exposes SPEC.
_MODULES = (
    "resize", "rotate", "autorotate", "crop", "blur", "trim", "noop", "grayscale",
    "sepia", "modulate", "alpha", "circlemask", "multiply", "sharpen",
)

OPERATIONS: dict[str, OperationSpec] = {}
for _name in _MODULES:
    _spec = importlib.import_module(f"chalicelib.operations.{_name}").SPEC
    OPERATIONS[_spec.name] = _spec


def get(name: str) -> OperationSpec:
    spec = OPERATIONS.get(name)
    if spec is None:
        raise InvalidOperation(f"Operation '{name}' does not exist")
    return spec


def describe_all() -> dict:
    """`GET /operations`: every operation's schema, keyed by name."""
    return {name: spec.describe() for name, spec in sorted(OPERATIONS.items())}
