"""Tables for the rokka / Symfony ExpressionLanguage evaluator: literals, operators, precedence,
rokka's examples (errors, limits and parsing: test_expressions_limits.py)."""
from __future__ import annotations

import math

import pytest

from chalicelib.render.expressions import evaluate
from tests.render.expression_names import NAMES, VARIABLES, ev


# --- literals --------------------------------------------------------------

LITERALS = [
    ("1", 1),
    ("0", 0),
    ("42", 42),
    ("3.25", 3.25),
    (".5", 0.5),
    ("1_000_000", 1000000),
    ("1e3", 1000.0),
    ("1.5E+2", 150.0),
    ("2e-2", 0.02),
    ("'single'", "single"),
    ('"double"', "double"),
    ("'it\\'s'", "it's"),
    ('"say \\"hi\\""', 'say "hi"'),
    ('"a\\nb"', "a\nb"),
    ('"tab\\tx"', "tab\tx"),
    ('"back\\\\slash"', "back\\slash"),
    ('"\\x41"', "A"),
    ("''", ""),
    ("true", True),
    ("TRUE", True),
    ("True", True),
    ("false", False),
    ("FALSE", False),
    ("null", None),
    ("NULL", None),
    ("Null", None),
    ("[]", []),
    ("[1, 2]", [1, 2]),
    ("[1, 'a', [2, 3],]", [1, "a", [2, 3]]),
    ("{}", {}),
    ("{a: 1, 'b': 2, \"c\": 3}", {"a": 1, "b": 2, "c": 3}),
    ("{1: 'x', (1 + 1): 'y'}", {1: "x", 2: "y"}),
    ("{'1': 'x'}", {1: "x"}),
    ("{a: [1, {b: 2}]}", {"a": [1, {"b": 2}]}),
    ("9223372036854775807", 9223372036854775807),
    ("9223372036854775808", 9.223372036854775808e18),
]


@pytest.mark.parametrize("expr,expected", LITERALS)
def test_literals(expr, expected):
    result = ev(expr)
    assert result == expected
    assert type(result) is type(expected)


# --- operators -------------------------------------------------------------

OPERATORS = [
    # arithmetic
    ("1 + 2", 3),
    ("5 - 7", -2),
    ("3 * 4", 12),
    ("8 / 2", 4),
    ("7 / 2", 3.5),
    ("-7 / 2", -3.5),
    ("1.5 * 2", 3.0),
    ("7 % 3", 1),
    ("-7 % 3", -1),
    ("7 % -3", 1),
    ("7.9 % 3", 1),
    ("2 ** 10", 1024),
    ("2 ** -1", 0.5),
    ("4 ** 0.5", 2.0),
    ("2 ** 0", 1),
    ("-5", -5),
    ("+5", 5),
    ("- -5", 5),
    ("-(2 + 3)", -5),
    ("'5' + 1", 6),
    ("' 5 ' + 1", 6),
    ("'5.5' + 1", 6.5),
    ("'1e2' * 1", 100.0),
    ("'10' / '4'", 2.5),
    ("-'3'", -3),
    ("true + 1", 2),
    ("null + 1", 1),
    ("9223372036854775807 + 1", 9.223372036854775808e18),
    # concatenation
    ("'a' ~ 'b'", "ab"),
    ("'w' ~ 100", "w100"),
    ("'f' ~ 1.5", "f1.5"),
    ("'f' ~ 2.0", "f2"),
    ("'x' ~ true ~ false ~ null", "x1"),
    ("(0.1 + 0.2) ~ ''", "0.3"),
    ("1e20 ~ ''", "1.0E+20"),
    ("1 ~ 2 + 3", 15),  # `~` binds tighter than `+`: 1 ~ 2 = "12", + 3
    # range
    ("1..5", [1, 2, 3, 4, 5]),
    ("3..1", [3, 2, 1]),
    ("2..2", [2]),
    ("'a'..'c'", ["a", "b", "c"]),
    ("0..999 == 0..999", True),
    # equality
    ("1 == 1", True),
    ("1 == 1.0", True),
    ("1 == '1'", True),
    ("'abc' == 'abc'", True),
    ("'abc' == 'ABC'", False),
    ("'1e1' == '10'", True),
    ("0 == 'a'", False),  # PHP 8
    ("null == false", True),
    ("null == 0", True),
    ("null == ''", True),
    ("null == '0'", False),
    ("[] == false", True),
    ("[1, 2] == [1, 2]", True),
    ("[1, 2] == ['1', '2']", True),
    ("{a: 1} == {a: 1}", True),
    ("1 != 2", True),
    ("1 != '1'", False),
    ("1 === 1", True),
    ("1 === 1.0", False),
    ("1 === '1'", False),
    ("null === null", True),
    ("[1, 2] === [1, 2]", True),
    ("[1, 2] === [2, 1]", False),
    ("1 !== '1'", True),
    ("1 !== 1", False),
    # ordering
    ("1 < 2", True),
    ("2 < 1", False),
    ("2 > 1", True),
    ("1 <= 1", True),
    ("1 >= 2", False),
    ("'10' > '9'", True),  # numeric strings compare as numbers
    ("'abc' < 'abd'", True),
    ("'b' > 'a'", True),
    ("2 < '10'", True),
    ("1.5 > 1", True),
    ("null < 1", True),
    ("true > false", True),
    # membership / strings
    ("2 in [1, 2, 3]", True),
    ("4 in [1, 2, 3]", False),
    ("'2' in [1, 2, 3]", True),  # loose comparison
    ("'b' in {x: 'a', y: 'b'}", True),
    ("3 in 1..5", True),
    ("4 not in [1, 2, 3]", True),
    ("2 not in [1, 2, 3]", False),
    ("'rokka' contains 'okk'", True),
    ("'rokka' contains 'x'", False),
    ("'rokka' starts with 'ro'", True),
    ("'rokka' starts with 'ka'", False),
    ("'rokka' ends with 'ka'", True),
    ("'rokka' ends with 'ro'", False),
    ("12345 contains 234", True),
    ("'abc' matches '/^a.c$/'", True),
    ("'ABC' matches '/abc/i'", True),
    ("'abc' matches '/^b/'", False),
    ("'photo.JPG' matches '#\\\\.jpe?g$#i'", True),
    ("'x123y' matches '/\\\\d{3}/'", True),
    ("'x12y' matches '/\\\\d{3}/'", False),
    ("'dog' matches '{^d(?:o|a)g$}'", True),
    ("'a\\nb' matches '/^b$/m'", True),
    ("'a\\nb' matches '/^b$/'", False),
    ("'abc\\n' matches '/c$/'", True),
    ("'abc\\n' matches '/c$/D'", False),
    ("'hello world' matches '/\\\\bworld\\\\b/'", True),
    ("'helloworld' matches '/\\\\bworld\\\\b/'", False),
    ("'a-b' matches '/^[a\\\\-]-?b$/'", True),
    ("'Zebra' matches '/^[^a-z]/'", True),
    ("'Zebra' matches '/^[[:lower:]]/'", False),
    ("'aaa' matches '/^a{2,3}$/'", True),
    ("'aaaa' matches '/^a{2,3}$/'", False),
    ("'' matches '/^$/'", True),
    ("'ab' matches '/^(a|b)+$/'", True),
    ("'a b' matches '/a\\\\sb/'", True),
    ("'ab' matches '/a b/x'", True),
    ("'A\\nB' matches '/A.B/'", False),
    ("'A\\nB' matches '/A.B/s'", True),
    ("800 matches '/^8/'", True),
    # logic
    ("true and true", True),
    ("true and false", False),
    ("true && 1", True),
    ("false or true", True),
    ("false || 0", False),
    ("true xor true", False),
    ("true xor false", True),
    ("not true", False),
    ("not 0", True),
    ("!''", True),
    ("!'0'", True),
    ("!'0.0'", False),
    ("![]", True),
    ("![0]", False),
    ("!null", True),
    ("!!'a'", True),
    ("1 and 'x'", True),
    ("zero or empty", False),
    ("nothing or list", True),
    # ternary and coalescing
    ("true ? 'y' : 'n'", "y"),
    ("0 ? 'y' : 'n'", "n"),
    ("'0' ? 'y' : 'n'", "n"),
    ("'0.0' ? 'y' : 'n'", "y"),
    ("[] ? 'y' : 'n'", "n"),
    ("false ? 'y'", None),
    ("true ? 'y'", "y"),
    ("'a' ?: 'b'", "a"),
    ("'' ?: 'b'", "b"),
    ("0 ?: 5", 5),
    ("null ?? 'd'", "d"),
    ("0 ?? 'd'", 0),
    ("false ?? 'd'", False),
    ("nothing ?? 'd'", "d"),
    ("undefined_name ?? 'd'", "d"),
    ("$undefined ?? 'd'", "d"),
    ("$nil ?? 'd'", "d"),
    ("image.nope ?? 'd'", "d"),
    ("image.nope.deeper ?? 'd'", "d"),
    ("list[7] ?? 'd'", "d"),
    ("image.width ?? 'd'", 800),
    ("null ?? null ?? 3", 3),
    # access
    ("list[0]", 10),
    ("list[2]", 30),
    ("list['1']", 20),
    ("list[1.9]", 20),
    ("nested.a.b.c", 7),
    ("nested['a']['b'].c", 7),
    ("nested.a['b']['c']", 7),
    ("[10, 20][1]", 20),
    ("{a: {b: 5}}.a.b", 5),
    ("{a: {b: 5}}['a']['b']", 5),
    ("[[1, 2], [3, 4]][1][0]", 3),
    ("(1..10)[9]", 10),
    ("nothing?.foo", None),
    ("nothing?.foo.bar", None),
    ("image?.width", 800),
    ("true ?.5 : 2", 0.5),  # `?.` only before a name
    ("{'in': 1}['in']", 1),
    ("{'matches': {'not': 3}}.matches.not", 3),  # operator words are names after '.'
    ("notes", "n"),
    ("x in[1, 2]", True),
    # functions
    ("min(3, 1, 2)", 1),
    ("max(3, 1, 2)", 3),
    ("min([4, 5, 2])", 2),
    ("max(1..4)", 4),
    ("max(1, 2.5)", 2.5),
    ("abs(-3)", 3),
    ("abs(-3.5)", 3.5),
    ("abs('-2')", 2),
    ("round(2.5)", 3),
    ("round(-2.5)", -3),
    ("round(2.4)", 2),
    ("round(1.955, 2)", 1.96),
    ("round(1234.5678, -2)", 1200),
    ("round(7)", 7),
    ("floor(2.7)", 2),
    ("floor(-2.2)", -3),
    ("ceil(2.1)", 3),
    ("ceil(5)", 5),
    ("sqrt(16)", 4.0),
    ("rad2deg(0)", 0.0),
    ("deg2rad(180)", math.pi),
    ("sin(0)", 0.0),
    ("cos(0)", 1.0),
    ("tan(0)", 0.0),
    ("atan(0)", 0.0),
    ("atan2(1, 1)", math.pi / 4),
    ("pow(2, 8)", 256),
    ("pow(9, 0.5)", 3.0),
    ("int('42')", 42),
    ("int('42px')", 42),
    ("int('abc')", 0),
    ("int(3.99)", 3),
    ("int(-3.99)", -3),
    ("int(true)", 1),
    ("int(null)", 0),
    ("float('1.5')", 1.5),
    ("float(2)", 2.0),
    ("float('x')", 0.0),
    ("string(12)", "12"),
    ("string(1.5)", "1.5"),
    ("string(true)", "1"),
    ("string(null)", ""),
    ("strlen('rokka')", 5),
    ("strlen('ä')", 2),  # bytes, like PHP strlen
    ("strlen(12345)", 5),
    ("lower('RoKKa')", "rokka"),
    ("upper('RoKKa')", "ROKKA"),
    ("max(image.width, image.height) / min(image.width, image.height)", 800 / 600),
]


@pytest.mark.parametrize("expr,expected", OPERATORS)
def test_operators(expr, expected):
    result = ev(expr)
    if isinstance(expected, float):
        assert isinstance(result, float), result
        assert result == pytest.approx(expected)
    else:
        assert result == expected
        assert type(result) is type(expected), (result, expected)


# --- precedence and associativity ------------------------------------------

PRECEDENCE = [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 - 2 - 3", 5),
    ("100 / 10 / 5", 2),
    ("2 * 3 % 4", 2),
    ("2 ** 3 ** 2", 512),  # right associative
    ("(2 ** 3) ** 2", 64),
    ("2 * 3 ** 2", 18),
    ("-2 ** 2", 4),  # Symfony: unary minus binds tighter than **
    ("-(2 ** 2)", -4),
    ("1 + 2 == 3", True),
    ("1 < 2 == true", True),
    ("true or false and false", True),  # and before or
    ("(true or false) and false", False),
    ("true xor true or true", True),  # or is lowest: (true xor true) or true
    ("false and false xor true", True),  # and before xor
    ("not false and false", False),  # (not false) and false
    ("not 2 * 0", True),  # not binds looser than *: not (2 * 0)
    ("not 1 == 0", True),  # Symfony: (not 1) == 0
    ("1 + 1 .. 2 + 1", [2, 3]),  # .. below +
    ("'a' ~ 'b' == 'ab'", True),
    ("1 ~ 2 * 3", "16"),
    ("1 in [1] and 2 in [2]", True),
    ("1 + 1 in [2]", True),
    ("true ? 1 : 2 + 10", 1),
    ("false ? 1 : 2 + 10", 12),
    ("1 > 2 ? 'a' : 'b'", "b"),
    ("true ? 'b' : false ? 'd' : 'e'", "b"),  # right-nested: a ? b : (c ? d : e)
    ("false ? 'b' : true ? 'd' : 'e'", "d"),
    ("false ? 'b' : false ? 'd' : 'e'", "e"),
    ("true ? (false ? 1 : 2) : 3", 2),
    ("null ?? 1 + 1", 2),
    ("null ?? false ? 'y' : 'n'", "n"),
    ("-list[0]", -10),
    ("-image.width", -800),
    ("!image.isAnimated", True),
    ("2 * -3", -6),
    ("2 - -3", 5),
    ("image.width * 2 > image.height * 2", True),
]


@pytest.mark.parametrize("expr,expected", PRECEDENCE)
def test_precedence(expr, expected):
    assert ev(expr) == expected


# --- rokka examples --------------------------------------------------------

ROKKA = [
    ("options.dpr >= 2", {}, True),
    ("options.dpr >= 2", {"names": {"options": {"dpr": 1}}}, False),
    ("$width * 2", {}, 800),
    ("$w * 2", {}, 1600),  # URL variables are strings
    ("$w / 3", {}, 800 / 3),
    ("image.width > image.height ? 'landscape' : 'portrait'", {}, "landscape"),
    ("image.width > image.height ? 'landscape' : 'portrait'",
     {"names": {"image": {"width": 300, "height": 600}}}, "portrait"),
    ("request.headers.save_data == 'on'", {}, True),
    ("request.headers.save_data == 'on'", {"names": {"request": {"headers": {}}}}, False),
    ("image.detection_face.height*1.5", {}, 180.0),
    ("image.detection_face.height * 1.5 + 10", {}, 190.0),
    ("image.hasSubjectArea and image.subject_area.width > 100", {}, True),
    ("image.meta_user.title ~ '!'", {}, "Hello!"),
    ("image.meta_user.missing", {}, None),
    ("image.meta_user['missing']", {}, None),
    ("request.headers.x_forwarded_for", {}, None),
    ("image.meta_user.missing == null", {}, True),
    ("image.format == 'jpg' and not image.isAnimated", {}, True),
    ("image.format in ['png', 'gif']", {}, False),
    ("options['jpg.quality']", {}, 80),
    ("$name ~ '-' ~ image.hash", {}, "rokka-abc123def456"),
    ("rad2deg(atan2(image.height, image.width))", {}, math.degrees(math.atan2(600, 800))),
    ("round($width * $ratio)", {}, 600),
    ("$flag ? $width : 0", {}, 400),
    ("min(image.width, 500) * options.dpr", {}, 1000),
]


@pytest.mark.parametrize("expr,extra,expected", ROKKA)
def test_rokka_examples(expr, extra, expected):
    names = {**NAMES, **extra.get("names", {})}
    result = evaluate(expr, names, VARIABLES)
    if isinstance(expected, float):
        assert result == pytest.approx(expected)
    else:
        assert result == expected


def test_variables_default_to_empty():
    assert evaluate("1 + 1", {}) == 2
    assert evaluate("image.width", {"image": {"width": 5}}, None) == 5


def test_tuple_values_are_lists():
    assert evaluate("t[1]", {"t": (1, 2)}) == 2
