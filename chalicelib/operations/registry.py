"""The one list of operations: drives validation, rendering and `GET /operations`."""
from __future__ import annotations

import importlib
import pkgutil

import chalicelib.operations as _package
from chalicelib.errors import InvalidOperation
from chalicelib.operations.base import OperationSpec

# Every module of this package that declares SPEC is an operation (one module per operation).
_NOT_OPERATIONS = {"base", "registry"}

OPERATIONS: dict[str, OperationSpec] = {}
for _info in sorted(pkgutil.iter_modules(_package.__path__), key=lambda m: m.name):
    if _info.name in _NOT_OPERATIONS or _info.name.startswith("_"):
        continue
    _spec = getattr(importlib.import_module(f"chalicelib.operations.{_info.name}"), "SPEC", None)
    if isinstance(_spec, OperationSpec):
        OPERATIONS[_spec.name] = _spec


def get(name: str) -> OperationSpec:
    spec = OPERATIONS.get(name)
    if spec is None:
        raise InvalidOperation(f"Operation '{name}' does not exist")
    return spec


def describe_all() -> dict:
    """`GET /operations`: every operation's schema, keyed by name."""
    return {name: spec.describe() for name, spec in sorted(OPERATIONS.items())}
