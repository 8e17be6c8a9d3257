"""Expressions: errors, limits (time and memory bounded), the parse cache and is_expression."""
from __future__ import annotations

import time

import pytest

from chalicelib.errors import BadRequest
from chalicelib.render.expressions import ExpressionError, evaluate, is_expression, parse
from tests.render.expression_names import NAMES, ev


# --- errors ----------------------------------------------------------------

ERRORS = [
    # syntax
    "",
    "   ",
    "1 +",
    "* 2",
    "(1 + 2",
    "1 + 2)",
    "[1, 2",
    "{a: 1",
    "{a 1}",
    "{[1]: 2}",
    "[1 2]",
    "1 2",
    "'unclosed",
    '"unclosed',
    "1 = 2",
    "1 & 2",
    "1 | 2",
    "a @ b",
    "$",
    "$ width",
    "$1",
    "image.",
    "image.1",
    "true ? : ",
    "? 1",
    "(]",
    "min(1, 2",
    "min(1 2)",
    "'abc'[0]",
    "image.width()",
    "image.foo(1)",
    # unknown names, attributes, variables, functions
    "unknown",
    "unknown + 1",
    "image.unknown",
    "image.subject_area.z",
    "nested.a.x",
    "options.nope",
    "list[3]",
    "list[-1]",
    "list['x']",
    "image.width.foo",
    "list.foo",
    "'str'.length",
    "$undefined",
    "$undefined * 2",
    "constant('PHP_INT_MAX')",
    "eval('1')",
    "__import__('os')",
    "exec('1')",
    "system('ls')",
    "image.__class__",
    "foo()",
    # arity
    "abs()",
    "abs(1, 2)",
    "round(1, 2, 3)",
    "atan2(1)",
    "min()",
    "min(1)",
    "min([])",
    # type errors
    "'a' * 2",
    "'abc' + 1",
    "[1] + 1",
    "{a: 1} - 1",
    "-'x'",
    "'a' ~ [1]",
    "[1] ~ 'a'",
    "1 in 5",
    "1 in 'abc'",
    "[1] < [2]",
    "[1] > 1",
    "[1] contains 1",
    "'a' matches 5",
    "image.width[0]",
    "list[[1]]",
    "{([1]): 1}",
    "sqrt(-1)",
    "sqrt('x')",
    "abs('x')",
    "floor([1])",
    "round(1.5, 'x')",
    "round(1.5, 1.5)",
    "round(1.5, 100)",
    "'a'..5",
    "1.5..3",
    "string([1])",
    "lower([1])",
    # division by zero
    "1 / 0",
    "1 / 0.0",
    "1 / '0'",
    "1 / null",
    "5 % 0",
    "5 % 0.5",
    "0 ** -1",
    "pow(0, -1)",
    # numeric limits
    "2 ** 100",
    "10 ** 16",
    "10.0 ** 16",
    "2 ** 1000000",
    "1 ** 5000",
    "pow(10, 20)",
    "(-8) ** (1/3)",
    "1e308 * 10",
    "1e999",
    "9223372036854775807 * 9223372036854775807 * 9223372036854775807 * 1e300",
    # regex
    "'a' matches 'abc'",
    "'a' matches '/abc'",
    "'a' matches '/a/Q'",
    "'a' matches '/a/e'",
    "'a' matches '/(a/'",
    "'a' matches '/a)/'",
    "'a' matches '/[a/'",
    "'a' matches '/*a/'",
    "'a' matches '/a**/'",
    "'a' matches '/(a)\\\\1/'",
    "'a' matches '/(?=a)/'",
    "'a' matches '/(?i)a/'",
    "'a' matches '/a++/'",
    "'a' matches '/\\\\p{L}/'",
    "'a' matches '/[z-a]/'",
    "'a' matches '/a{5,2}/'",
    "'a' matches '/a{2000}/'",
    "'a' matches '/" + "a" * 200 + "/'",
]


@pytest.mark.parametrize("expr", ERRORS)
def test_errors(expr):
    with pytest.raises(ExpressionError) as info:
        ev(expr)
    assert isinstance(info.value, BadRequest)
    assert info.value.status == 400
    assert info.value.message


def test_non_string_source():
    with pytest.raises(ExpressionError):
        evaluate(123, NAMES)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError):
        parse(["1"])  # type: ignore[arg-type]


def test_unsupported_value_types_are_refused():
    with pytest.raises(ExpressionError):
        evaluate("obj", {"obj": object()})
    with pytest.raises(ExpressionError):
        evaluate("x.y", {"x": {"y": object()}})


# --- limits ----------------------------------------------------------------

LIMITS = [
    "(" * 1000 + "1" + ")" * 1000,
    "(" * 60 + "1" + ")" * 60,
    "[" * 60 + "]" * 60,
    "-" * 100 + "1",
    "not " * 100 + "true",
    "1" + " + 1" * 300,  # too many nodes
    "+".join(["1"] * 60),  # too deep (left-associative chain)
    "a" + ".b" * 60,
    "list" + "[0]" * 60,
    "1 + " * 1000 + "1",
    "x" * 2001,
    "'" + "a" * 2000 + "'",
    "[" + ", ".join(["1"] * 600) + "]",
    "0..1000",  # 1001 elements
    "-1000..1",
    "lo..hi",  # a character range of 4097 elements
    "s ~ s",
    "s ~ 'x'",
    "upper(t)",  # 'ß' upper-cases to 'SS'; the result is checked too
    "string(s) ~ '1'",
    "big matches '/a/'",
    "'x' matches '/(a{0,30}){0,30}x/'",  # fine on a short subject ...
]


@pytest.mark.parametrize("expr", LIMITS[:-1])
def test_limits(expr):
    names = {"s": "a" * 9000 + "b" * 1000, "big": "a" * 10001, "list": [[1]], "a": {}, "t": "ß" * 6000, "lo": "\x00", "hi": "\u1000"}
    with pytest.raises(ExpressionError):
        evaluate(expr, names)


def test_limits_allow_reasonable_sizes():
    assert evaluate("(" * 40 + "1" + ")" * 40, {}) == 1
    assert evaluate("+".join(["1"] * 40), {}) == 40
    assert len(evaluate("0..999", {})) == 1000
    assert evaluate("2 ** 49", {}) == 2**49
    assert evaluate("10 ** 15", {}) == 10**15
    assert evaluate("s ~ ''", {"s": "a" * 10000}) == "a" * 10000
    assert evaluate("s matches '/b$/'", {"s": "a" * 9999 + "b"}) is True
    assert evaluate(LIMITS[-1], {}) is True


def test_regex_is_linear_time():
    # Catastrophic for a backtracking engine; must stay fast here.
    cases = [
        ("a" * 9999 + "!", "/(a+)+$/"),
        ("a" * 9999 + "!", "/^(a|aa)*$/"),
        ("a" * 10000, "/.*.*.*x/"),
        ("a" * 10000, "/(a*)*b/"),
    ]
    for subject, regex in cases:
        start = time.perf_counter()
        assert evaluate("s matches r", {"s": subject, "r": regex}) is False
        assert time.perf_counter() - start < 2


def test_regex_step_budget():
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        evaluate("s matches '/(a{0,30}){0,30}x/'", {"s": "a" * 10000})
    assert time.perf_counter() - start < 5


def test_no_python_exception_leaks():
    weird = ["1 / 0", "'a' * 'b'", "min('a', [1])", "round(1e300, 2)", "floor(1e300)",
             "int(1e300)", "1 % 1e300", "abs(-9223372036854775807 - 1)", "[] == {}"]
    for expr in weird:
        try:
            evaluate(expr, {})
        except ExpressionError:
            pass


# --- parse / cache / is_expression ------------------------------------------


def test_parse_is_cached_and_reusable():
    parse.cache_clear()
    first = parse("image.width * 2")
    assert parse("image.width * 2") is first
    assert parse.cache_info().hits >= 1
    assert evaluate("image.width * 2", {"image": {"width": 3}}) == 6
    assert evaluate("image.width * 2", {"image": {"width": 4}}) == 8


def test_parse_errors_are_expression_errors():
    with pytest.raises(ExpressionError):
        parse("1 +")
    with pytest.raises(ExpressionError):
        parse("nope(1)")


def test_literal_results_are_fresh():
    a = evaluate("[1, 2]", {})
    a.append(3)
    assert evaluate("[1, 2]", {}) == [1, 2]


IS_EXPRESSION = [
    ("$width * 2", True),
    ("$w", True),
    ("options.dpr >= 2", True),
    ("image.width > image.height ? 'a' : 'b'", True),
    ("image.width == 800", True),
    ("$a ?? 5", True),
    ("x != y", True),
    ("800", False),
    ("Hello world", False),
    ("What?", False),  # has `?` but does not parse
    ("Price: $5", False),
    ("It's", False),
    ("'a<b'", False),  # the marker is inside a string literal
    ("image.width", False),
    ("", False),
    (800, False),
    (None, False),
    (True, False),
    (["$x"], False),
]


@pytest.mark.parametrize("value,expected", IS_EXPRESSION)
def test_is_expression(value, expected):
    assert is_expression(value) is expected
