"""Declarations shared by every operation module.

An operation module declares its options as data (`Option` objects) and an
`apply(ctx, options)` function. The registry turns those declarations into
`GET /operations` and uses the same objects to validate stack definitions and
URL overrides before any pixel is touched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib.errors import InvalidOperation

HEX_COLOR = r"^[0-9a-fA-F]{6}$"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One option of an operation (or a stack option): type, range, default, enum."""

    type: str  # "integer" | "number" | "string" | "boolean" | "array" | "object"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    values: tuple | None = None
    pattern: str | None = None
    nullable: bool = False
    description: str = ""

    def describe(self) -> dict:
        """The option as rokka's `/operations` lists it."""
        out: dict = {"type": [self.type, "null"] if self.nullable else self.type}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.values is not None:
            out["values"] = list(self.values)
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.default is not None or self.nullable:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out

    def coerce(self, value: Any, where: str) -> Any:
        """Return `value` converted to this option's type, or raise InvalidOperation.

        URL values arrive as strings ("90", "true"); JSON values arrive typed.
        """
        if value is None:
            if self.nullable:
                return None
            raise InvalidOperation(f"{where}: must not be null")
        t = self.type
        try:
            if t == "integer":
                value = _to_int(value)
            elif t == "number":
                value = _to_number(value)
            elif t == "boolean":
                value = _to_bool(value)
            elif t == "string":
                if isinstance(value, bool):
                    value = "true" if value else "false"
                elif isinstance(value, (int, float)):
                    value = _number_text(value)
                elif not isinstance(value, str):
                    raise ValueError("not a string")
            elif t == "array":
                if not isinstance(value, list):
                    raise ValueError("not an array")
            elif t == "object":
                if value == []:
                    value = {}
                if not isinstance(value, dict):
                    raise ValueError("not an object")
        except (ValueError, TypeError):
            raise InvalidOperation(f"{where}: expected a value of type {t}, got {value!r}") from None
        if self.minimum is not None and value < self.minimum:
            raise InvalidOperation(f"{where}: {value} is below the minimum {_number_text(self.minimum)}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidOperation(f"{where}: {value} is above the maximum {_number_text(self.maximum)}")
        if self.values is not None and value not in self.values:
            raise InvalidOperation(f"{where}: {value!r} is not one of {', '.join(map(str, self.values))}")
        if self.pattern is not None and not re.search(self.pattern, value):
            raise InvalidOperation(f"{where}: {value!r} does not match {self.pattern}")
        return value


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise ValueError


def _to_number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    raise ValueError


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise ValueError


def _number_text(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


ENABLED = Option("boolean", default=True, description="false skips the operation")


@dataclass(frozen=True)
class OperationSpec:
    """What an operation module declares; the registry holds one per operation."""

    name: str
    options: dict[str, Option]
    apply: Callable[[Any, dict], None]
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    description: str = ""
    # Optional extra validation over the whole (coerced) option dict.
    check: Callable[[dict], None] | None = None
    all_options: dict[str, Option] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "all_options", {**self.options, "enabled": ENABLED})

    def describe(self) -> dict:
        out: dict = {
            "properties": {k: o.describe() for k, o in self.all_options.items()},
            "required": list(self.required),
        }
        if self.one_of:
            out["oneOf"] = list(self.one_of)
        out["description"] = self.description
        return out

    def validate(self, options: dict, deferred: frozenset = frozenset()) -> dict:
        """Coerce every given option and check required ones; unknown options are errors.

        `deferred` names options whose value comes from an expression evaluated at render
        time: they count as present but are checked only once evaluated.
        """
        if options == []:
            options = {}
        if not isinstance(options, dict):
            raise InvalidOperation(f"Operation {self.name}: options must be an object")
        clean: dict = {}
        for key in set(options) | set(deferred):
            if key not in self.all_options:
                raise InvalidOperation(f"Operation {self.name}: unknown option '{key}'")
        for key, value in options.items():
            if key not in deferred:
                clean[key] = self.all_options[key].coerce(value, f"Operation {self.name}, option {key}")
        for key in self.required:
            if key not in clean and key not in deferred:
                raise InvalidOperation(f"Operation {self.name}: option '{key}' is required")
        if self.one_of and not any(k in clean or k in deferred for k in self.one_of):
            raise InvalidOperation(
                f"Operation {self.name}: one of the options {', '.join(self.one_of)} is required"
            )
        if self.check is not None and not deferred:
            self.check(clean)
        return clean

    def with_defaults(self, options: dict) -> dict:
        """The validated options completed with every declared default."""
        full = {k: o.default for k, o in self.all_options.items()}
        full.update(options)
        return full
