"""PHP value semantics where they matter to users: truthiness, numeric strings in arithmetic,
loose and strict comparison (PHP 8), integer overflow to float, and the binary operators.
"""
from __future__ import annotations

import math
import re
from typing import Any

from chalicelib.limits import MAX_POW_RESULT, MAX_EXPONENT, MAX_STRING_LENGTH, MAX_RANGE, MAX_REGEX_LENGTH, MAX_REGEX_SUBJECT
from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.regex import _compile_php_regex, _regex_search


PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)


# ---------------------------------------------------------------------------
# PHP-ish value semantics
# ---------------------------------------------------------------------------

_NUMERIC_STR_RE = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*", re.ASCII)
_LEADING_NUMERIC_RE = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_array(v: Any) -> bool:
    return isinstance(v, list | dict)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if _is_array(v):
        return "array"
    return type(v).__name__


def _parse_numeric(text: str) -> int | float:
    t = text.strip()
    if re.fullmatch(r"[+-]?\d+", t, re.ASCII):
        value = int(t)
        return value if PHP_INT_MIN <= value <= PHP_INT_MAX else float(value)
    return float(t)


def _numeric_string(v: str) -> int | float | None:
    if len(v) <= 400 and _NUMERIC_STR_RE.fullmatch(v):
        return _parse_numeric(v)
    return None


def _to_number(v: Any, op: str) -> int | float:
    """Operand conversion for arithmetic, like PHP 8 (non-numeric strings fail)."""
    if _is_number(v):
        return v
    if isinstance(v, bool):
        return int(v)
    if v is None:
        return 0
    if isinstance(v, str):
        num = _numeric_string(v)
        if num is not None:
            return num
        raise ExpressionError(f"Expression error: non-numeric value '{v[:50]}' used with '{op}'")
    raise ExpressionError(f"Expression error: unsupported operand type {_type_name(v)} for '{op}'")


def _finite(v: Any) -> Any:
    """PHP overflows ints into floats; non-finite floats are refused here."""
    if isinstance(v, int) and not isinstance(v, bool):
        if not PHP_INT_MIN <= v <= PHP_INT_MAX:
            v = float(v)
    if isinstance(v, float) and not math.isfinite(v):
        raise ExpressionError("Expression error: numeric result out of range")
    return v


def _truthy(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return v not in ("", "0")
    if _is_array(v):
        return len(v) > 0
    if isinstance(v, bool | int | float):
        return v != 0
    return True


def _php_float_str(f: float) -> str:
    # PHP converts floats to strings with 14 significant digits.
    s = "%.14G" % f
    if "E" in s:
        mant, exp = s.split("E")
        if "." not in mant:
            mant += ".0"
        e = int(exp)
        s = f"{mant}E{'+' if e >= 0 else '-'}{abs(e)}"
    return s


def _to_str(v: Any, what: str = "string conversion") -> str:
    if isinstance(v, str):
        return v
    if v is None or v is False:
        return ""
    if v is True:
        return "1"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _php_float_str(v)
    raise ExpressionError(f"Expression error: cannot use {_type_name(v)} in {what}")


def _check_str(s: str) -> str:
    if len(s) > MAX_STRING_LENGTH:
        raise ExpressionError(f"Expression error: string result longer than {MAX_STRING_LENGTH} characters")
    return s


def _array_items(v: Any) -> list[tuple[Any, Any]]:
    return list(enumerate(v)) if isinstance(v, list) else list(v.items())


def _loose_eq(a: Any, b: Any) -> bool:
    """PHP 8 `==`."""
    if a is None and b is None:
        return True
    if a is None and isinstance(b, str):
        return b == ""
    if b is None and isinstance(a, str):
        return a == ""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return _truthy(a) == _truthy(b)
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        na, nb = _numeric_string(a), _numeric_string(b)
        if na is not None and nb is not None:
            return na == nb
        return a == b
    if _is_number(a) and isinstance(b, str):
        a, b = b, a
    if isinstance(a, str) and _is_number(b):
        na = _numeric_string(a)
        return na == b if na is not None else a == _to_str(b)
    if _is_array(a) and _is_array(b):
        da, db = dict(_array_items(a)), dict(_array_items(b))
        if len(da) != len(db):
            return False
        return all(k in db and _loose_eq(v, db[k]) for k, v in da.items())
    return False


def _strict_eq(a: Any, b: Any) -> bool:
    """PHP `===` (1 and 1.0 differ; arrays must match in order and types)."""
    if _type_name(a) != _type_name(b):
        return False
    if _is_array(a):
        ia, ib = _array_items(a), _array_items(b)
        return len(ia) == len(ib) and all(
            _strict_eq(ka, kb) and _strict_eq(va, vb) for (ka, va), (kb, vb) in zip(ia, ib))
    return a == b


def _cmp(a: Any, b: Any) -> int:
    """PHP 8 `<=>` for scalars; ordering arrays is refused."""
    if _is_array(a) or _is_array(b):
        raise ExpressionError("Expression error: arrays cannot be compared with <, >, <=, >=")
    if a is None and isinstance(b, str):
        a = ""
    elif b is None and isinstance(a, str):
        b = ""
    elif isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        a, b = _truthy(a), _truthy(b)
    elif isinstance(a, str) and isinstance(b, str):
        na, nb = _numeric_string(a), _numeric_string(b)
        if na is not None and nb is not None:
            a, b = na, nb
    elif isinstance(a, str) or isinstance(b, str):
        s, other = (a, b) if isinstance(a, str) else (b, a)
        ns = _numeric_string(s)
        if ns is not None:
            a, b = (ns, other) if isinstance(a, str) else (other, ns)
        else:
            a, b = _to_str(a), _to_str(b)
    return (a > b) - (a < b)


# ---------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------


def _pow(base: Any, exp: Any) -> int | float:
    b, e = _to_number(base, "**"), _to_number(exp, "**")
    if abs(e) > MAX_EXPONENT:
        raise ExpressionError(f"Expression error: exponent larger than {MAX_EXPONENT}")
    if isinstance(b, int) and isinstance(e, int) and e >= 0:
        if abs(b) > 1 and e * math.log10(abs(b)) > 15.5:
            raise ExpressionError("Expression error: power result too large")
        result: int | float = b**e
    else:
        try:
            result = math.pow(float(b), float(e))
        except (OverflowError, ValueError, ZeroDivisionError):
            raise ExpressionError("Expression error: invalid power") from None
    if abs(result) > MAX_POW_RESULT:
        raise ExpressionError("Expression error: power result too large")
    return _finite(result)


def _divide(a: Any, b: Any) -> int | float:
    x, y = _to_number(a, "/"), _to_number(b, "/")
    if y == 0:
        raise ExpressionError("Expression error: division by zero")
    if isinstance(x, int) and isinstance(y, int) and x % y == 0:
        return _finite(x // y)
    return _finite(x / y)


def _to_int_operand(v: Any, op: str) -> int:
    n = _to_number(v, op)
    if isinstance(n, float):
        if not math.isfinite(n) or not PHP_INT_MIN <= n <= PHP_INT_MAX:
            raise ExpressionError(f"Expression error: operand of '{op}' out of integer range")
        n = int(n)
    return n


def _modulo(a: Any, b: Any) -> int:
    x, y = _to_int_operand(a, "%"), _to_int_operand(b, "%")
    if y == 0:
        raise ExpressionError("Expression error: modulo by zero")
    r = abs(x) % abs(y)
    return -r if x < 0 else r  # PHP: the sign of the dividend


def _range(a: Any, b: Any) -> list:
    if (isinstance(a, str) and isinstance(b, str) and len(a) == 1 and len(b) == 1
            and _numeric_string(a) is None and _numeric_string(b) is None):
        lo, hi = ord(a), ord(b)
        step = 1 if hi >= lo else -1
        if abs(hi - lo) + 1 > MAX_RANGE:
            raise ExpressionError(f"Expression error: range longer than {MAX_RANGE} elements")
        return [chr(c) for c in range(lo, hi + step, step)]
    x, y = _to_number(a, ".."), _to_number(b, "..")
    if x != int(x) or y != int(y):
        raise ExpressionError("Expression error: range bounds must be integers")
    lo, hi = int(x), int(y)
    if abs(hi - lo) + 1 > MAX_RANGE:
        raise ExpressionError(f"Expression error: range longer than {MAX_RANGE} elements")
    step = 1 if hi >= lo else -1
    return list(range(lo, hi + step, step))


def _in(needle: Any, haystack: Any, op: str) -> bool:
    if not _is_array(haystack):
        raise ExpressionError(f"Expression error: the right side of '{op}' must be an array")
    values = haystack if isinstance(haystack, list) else haystack.values()
    return any(_loose_eq(needle, v) for v in values)


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return _finite(_to_number(a, op) + _to_number(b, op))
    if op == "-":
        return _finite(_to_number(a, op) - _to_number(b, op))
    if op == "*":
        return _finite(_to_number(a, op) * _to_number(b, op))
    if op == "/":
        return _divide(a, b)
    if op == "%":
        return _modulo(a, b)
    if op == "**":
        return _pow(a, b)
    if op == "~":
        return _check_str(_to_str(a, "'~'") + _to_str(b, "'~'"))
    if op == "..":
        return _range(a, b)
    if op == "==":
        return _loose_eq(a, b)
    if op == "!=":
        return not _loose_eq(a, b)
    if op == "===":
        return _strict_eq(a, b)
    if op == "!==":
        return not _strict_eq(a, b)
    if op == "<":
        return _cmp(a, b) < 0
    if op == ">":
        return _cmp(a, b) > 0
    if op == "<=":
        return _cmp(a, b) <= 0
    if op == ">=":
        return _cmp(a, b) >= 0
    if op == "in":
        return _in(a, b, op)
    if op == "not in":
        return not _in(a, b, op)
    if op == "contains":
        return _to_str(b, "'contains'") in _to_str(a, "'contains'")
    if op == "starts with":
        return _to_str(a, "'starts with'").startswith(_to_str(b, "'starts with'"))
    if op == "ends with":
        return _to_str(a, "'ends with'").endswith(_to_str(b, "'ends with'"))
    if op == "matches":
        return _regex_matches(b, a)
    if op == "xor":
        return _truthy(a) != _truthy(b)
    raise ExpressionError(f"Expression error: unknown operator '{op}'")  # pragma: no cover


def _regex_matches(regex: Any, subject: Any) -> bool:
    if not isinstance(regex, str):
        raise ExpressionError("Expression error: the right side of 'matches' must be a regular expression string")
    if len(regex) > MAX_REGEX_LENGTH:
        raise ExpressionError(f"Expression error: regular expression longer than {MAX_REGEX_LENGTH} characters")
    text = _to_str(subject, "'matches'")
    if len(text) > MAX_REGEX_SUBJECT:
        raise ExpressionError(f"Expression error: 'matches' subject longer than {MAX_REGEX_SUBJECT} characters")
    prog, flags = _compile_php_regex(regex)
    return _regex_search(prog, flags, text)
