"""The one list of operations: drives validation, rendering and `GET /operations`.

Operation modules are imported when first needed: `get(name)` imports the module of that name
(one module per operation, named like it), so a render imports the operations of its stack
only; `OPERATIONS` and `describe_all()` import all of them.
"""
from __future__ import annotations

import functools
import importlib
import os

import chalicelib.operations as _package
from chalicelib.errors import InvalidOperation
from chalicelib.operations.base import OperationSpec

# Every module of this package that declares SPEC is an operation (one module per operation).
_NOT_OPERATIONS = {"base", "registry"}

_loaded: dict[str, OperationSpec] = {}
_all: dict[str, OperationSpec] | None = None


@functools.lru_cache(maxsize=1)
def _module_names() -> frozenset:
    names = set()
    for path in _package.__path__:
        for entry in os.listdir(path):
            name, ext = os.path.splitext(entry)
            if ext in (".py", ".pyc") and name.isidentifier() and not name.startswith("_") and name not in _NOT_OPERATIONS:
                names.add(name)
    return frozenset(names)


def _load(module_name: str) -> OperationSpec | None:
    spec = getattr(importlib.import_module(f"chalicelib.operations.{module_name}"), "SPEC", None)
    if isinstance(spec, OperationSpec):
        _loaded[spec.name] = spec
        return spec
    return None


def _everything() -> dict[str, OperationSpec]:
    global _all
    if _all is None:
        for module_name in sorted(_module_names()):
            _load(module_name)
        _all = dict(sorted(_loaded.items()))
    return _all


def __getattr__(name: str):
    if name == "OPERATIONS":  # every operation, by name (imports all operation modules)
        return _everything()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(name: str) -> OperationSpec:
    spec = _loaded.get(name)
    if spec is None:
        if name in _module_names():  # the module named like the operation: the usual case
            _load(name)
            spec = _loaded.get(name)
        if spec is None:  # not loaded yet under another module name, or no such operation
            spec = _everything().get(name)
    if spec is None:
        raise InvalidOperation(f"Operation '{name}' does not exist")
    return spec


def describe_all() -> dict:
    """`GET /operations`: every operation's schema, keyed by name."""
    return {name: spec.describe() for name, spec in sorted(_everything().items())}
