"""The functions an expression may call (`FUNCTIONS`: name -> (min args, max args, fn))."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation as _DecimalError
from typing import Any, Callable

from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.values import PHP_INT_MAX, PHP_INT_MIN, _LEADING_NUMERIC_RE, _check_str, _cmp, _finite, _is_array, _numeric_string, _parse_numeric, _pow, _to_number, _to_str


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


def _num_arg(v: Any, fn: str) -> int | float:
    if isinstance(v, str) and _numeric_string(v) is None:
        raise ExpressionError(f"Expression error: {fn}() expects a number, got '{v[:50]}'")
    if _is_array(v):
        raise ExpressionError(f"Expression error: {fn}() expects a number, got array")
    return _to_number(v, f"{fn}()")


def _int_result(f: float) -> int | float:
    # floor/ceil/round return floats in PHP; integral results are returned
    # as ints here so that `round($w * 1.5)` is a valid pixel count.
    return int(f) if PHP_INT_MIN <= f <= PHP_INT_MAX else f


def _fn_round(x: Any, precision: Any = 0) -> int | float:
    v = _num_arg(x, "round")
    p = _num_arg(precision, "round")
    if p != int(p) or not -15 <= p <= 15:
        raise ExpressionError("Expression error: round() precision must be an integer between -15 and 15")
    p = int(p)
    if isinstance(v, int) and p >= 0:
        return v
    try:
        d = Decimal(repr(float(v)) if isinstance(v, float) else v)
        r = d.quantize(Decimal(1).scaleb(-p), rounding=ROUND_HALF_UP)  # half away from zero
    except _DecimalError:
        return v
    return _int_result(float(r)) if p <= 0 else float(r)


def _fn_floor(x: Any) -> int | float:
    v = _num_arg(x, "floor")
    return v if isinstance(v, int) else _int_result(math.floor(v))


def _fn_ceil(x: Any) -> int | float:
    v = _num_arg(x, "ceil")
    return v if isinstance(v, int) else _int_result(math.ceil(v))


def _fn_sqrt(x: Any) -> float:
    v = _num_arg(x, "sqrt")
    if v < 0:
        raise ExpressionError("Expression error: sqrt() of a negative number")
    return math.sqrt(v)


def _float_fn(fn: Callable, name: str) -> Callable:
    def call(*args: Any) -> float:
        return fn(*(float(_num_arg(a, name)) for a in args))
    return call


def _minmax(name: str, pick_greater: bool) -> Callable:
    def call(*args: Any) -> Any:
        values = args
        if len(args) == 1:
            if not _is_array(args[0]):
                raise ExpressionError(f"Expression error: {name}() with one argument expects an array")
            values = tuple(args[0] if isinstance(args[0], list) else args[0].values())
        if not values:
            raise ExpressionError(f"Expression error: {name}() of an empty array")
        best = values[0]
        for v in values[1:]:
            c = _cmp(v, best)
            if (c > 0) if pick_greater else (c < 0):
                best = v
        return best
    return call


def _fn_int(x: Any) -> int:
    if x is None:
        return 0
    if isinstance(x, bool):
        return int(x)
    if _is_array(x):
        return 1 if x else 0
    if isinstance(x, str):
        m = _LEADING_NUMERIC_RE.match(x)
        if not m:
            return 0
        x = _parse_numeric(m.group(0))
    if isinstance(x, float):
        if not math.isfinite(x) or not PHP_INT_MIN <= x <= PHP_INT_MAX:
            raise ExpressionError("Expression error: int() argument out of integer range")
        return int(x)
    return x


def _fn_float(x: Any) -> float:
    if isinstance(x, str):
        m = _LEADING_NUMERIC_RE.match(x)
        return float(m.group(0)) if m else 0.0
    if _is_array(x):
        return 1.0 if x else 0.0
    return float(_to_number(x, "float()"))


def _fn_abs(x: Any) -> int | float:
    return _finite(abs(_num_arg(x, "abs")))


# name -> (min args, max args, implementation)
FUNCTIONS: dict[str, tuple[int, int, Callable]] = {
    "min": (1, 100, _minmax("min", False)),
    "max": (1, 100, _minmax("max", True)),
    "abs": (1, 1, _fn_abs),
    "round": (1, 2, _fn_round),
    "floor": (1, 1, _fn_floor),
    "ceil": (1, 1, _fn_ceil),
    "sqrt": (1, 1, _fn_sqrt),
    "rad2deg": (1, 1, _float_fn(math.degrees, "rad2deg")),
    "deg2rad": (1, 1, _float_fn(math.radians, "deg2rad")),
    "sin": (1, 1, _float_fn(math.sin, "sin")),
    "cos": (1, 1, _float_fn(math.cos, "cos")),
    "tan": (1, 1, _float_fn(math.tan, "tan")),
    "atan": (1, 1, _float_fn(math.atan, "atan")),
    "atan2": (2, 2, _float_fn(math.atan2, "atan2")),
    "pow": (2, 2, _pow),
    "int": (1, 1, _fn_int),
    "float": (1, 1, _fn_float),
    "string": (1, 1, lambda x: _check_str(_to_str(x, "string()"))),
    # PHP strlen counts bytes (UTF-8), not characters.
    "strlen": (1, 1, lambda x: len(_to_str(x, "strlen()").encode("utf-8"))),
    "lower": (1, 1, lambda x: _check_str(_to_str(x, "lower()").lower())),
    "upper": (1, 1, lambda x: _check_str(_to_str(x, "upper()").upper())),
}
