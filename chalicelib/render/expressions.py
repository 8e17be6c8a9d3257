"""A safe evaluator for rokka's expression language.

rokka uses the Symfony ExpressionLanguage syntax in stack `expressions`, in the
`expressions` of an operation, in stack variables and in `[expr]` values of
render URLs, e.g. ``options.dpr >= 2``, ``$width * 2``,
``image.width > image.height ? 'landscape' : 'portrait'`` or
``image.detection_face.height * 1.5``.

Expressions come from untrusted users (render URLs need no authentication), so
nothing here uses Python's eval/exec or reflection: a hand-written tokenizer
feeds a precedence-climbing parser (the same algorithm and precedence table as
Symfony's ``Parser``) that builds a small immutable AST, which an evaluator
walks. Objects are plain dicts and lists; attribute access only ever reads dict
keys. ``matches`` runs on a small Thompson-NFA regex engine (not Python's
backtracking ``re``) so that no pattern can take exponential time.

Public API::

    parse(source) -> Node                        # cached; raises ExpressionError
    evaluate(source, names, variables=None)      # -> Any; raises ExpressionError
    is_expression(value) -> bool

Values follow PHP semantics where it matters to users: PHP truthiness
(0, 0.0, "", "0", null and empty arrays are false), numeric strings in
arithmetic ("5" + 1 == 6), loose ``==`` as in PHP 8, ints that stay ints.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation as _DecimalError
from typing import Any, Callable

from chalicelib.errors import BadRequest
from chalicelib.limits import MAX_SOURCE_LENGTH, MAX_NODES, MAX_DEPTH, MAX_POW_RESULT, MAX_EXPONENT, MAX_STRING_LENGTH, MAX_RANGE, MAX_REGEX_LENGTH, MAX_REGEX_SUBJECT, MAX_REGEX_PROGRAM, MAX_REGEX_STEPS


class ExpressionError(BadRequest):
    """Syntax errors, unknown names/functions, type errors and exceeded limits."""

    def __init__(self, message: str, status: int | None = None):
        if not message.startswith("Expression"):
            message = f"Expression error: {message}"
        super().__init__(message, status)


# Limits (chalicelib/limits.py): expressions arrive in unauthenticated render URLs, so every
# one of them must be cheap to parse and to evaluate, whatever the input.

PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)

# Parent objects whose missing keys read as null instead of raising: user
# metadata is free-form and request headers are optional.
NULL_ON_MISSING_PARENTS = frozenset({"image.meta_user", "request.headers"})


# ---------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------

NUM, STR, NAME, VAR, OP, PUNC, EOF = "number", "string", "name", "variable", "operator", "punctuation", "end of expression"


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    pos: int


_NUMBER_RE = re.compile(
    r"(?:\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?", re.ASCII
)
_DIGITS = frozenset("0123456789")
_NAME_RE = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*")
_SPACE_RE = re.compile(r"\s+")

# Longest first.
_SYMBOL_OPS = ("===", "!==", "==", "!=", "<=", ">=", "**", "&&", "||",
               "+", "-", "*", "/", "%", "~", "<", ">", "!")
_WORD_OPS = frozenset({"not", "and", "or", "xor", "in", "matches", "contains"})
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {")", "]", "}"}
# Tokens after which an operand has ended (so `.5` is not a number there).
_VALUE_END = {NUM, STR, NAME, VAR}

# Backslash escapes in string literals (PHP stripcslashes).
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "a": "\a", "b": "\b", "e": "\x1b"}


def _unescape(body: str) -> str:
    out = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
        elif nxt == "x" and i + 2 < n and body[i + 2] in "0123456789abcdefABCDEF":
            j = i + 2
            while j < n and j < i + 4 and body[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(chr(int(body[i + 2:j], 16)))
            i = j
        elif nxt in "01234567":
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1:j], 8) & 0xFF))
            i = j
        else:  # \\ \' \" and unknown escapes: drop the backslash
            out.append(nxt)
            i += 2
    return "".join(out)


def _tokenize(source: str) -> list[Token]:
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"Expression is too long (more than {MAX_SOURCE_LENGTH} characters)")
    # Like Symfony: control characters count as whitespace.
    src = re.sub(r"[\r\n\t\v\f]", " ", source)
    tokens: list[Token] = []
    brackets: list[tuple[str, int]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == " " or c.isspace():
            i += 1
            continue
        prev = tokens[-1] if tokens else None
        after_dot = prev is not None and prev.kind == PUNC and prev.value in (".", "?.")

        if c in _DIGITS or (c == "." and i + 1 < n and src[i + 1] in _DIGITS
                           and not (prev and (prev.kind in _VALUE_END or prev.value in (")", "]")))):
            m = _NUMBER_RE.match(src, i)
            text = m.group(0).replace("_", "")
            if text.isascii() and text.isdigit() and int(text) <= PHP_INT_MAX:
                value: Any = int(text)
            else:
                value = float(text)
                if not math.isfinite(value):
                    raise ExpressionError(f"Expression syntax error: number out of range at offset {i}")
            tokens.append(Token(NUM, value, i))
            i = m.end()
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            if j >= n:
                raise ExpressionError(f"Expression syntax error: unclosed string starting at offset {i}")
            tokens.append(Token(STR, _unescape(src[i + 1:j]), i))
            i = j + 1
        elif c == "$":
            m = _NAME_RE.match(src, i + 1)
            if not m:
                raise ExpressionError(f"Expression syntax error: '$' must be followed by a variable name at offset {i}")
            tokens.append(Token(VAR, m.group(0), i))
            i = m.end()
        elif c in _OPEN:
            brackets.append((c, i))
            tokens.append(Token(PUNC, c, i))
            i += 1
        elif c in _CLOSE:
            if not brackets:
                raise ExpressionError(f"Expression syntax error: unexpected '{c}' at offset {i}")
            opener, at = brackets.pop()
            if _OPEN[opener] != c:
                raise ExpressionError(f"Expression syntax error: unclosed '{opener}' at offset {at}")
            tokens.append(Token(PUNC, c, i))
            i += 1
        elif src.startswith("??", i):
            tokens.append(Token(PUNC, "??", i))
            i += 2
        elif src.startswith("?.", i) and i + 2 < n and _NAME_RE.match(src, i + 2):
            tokens.append(Token(PUNC, "?.", i))
            i += 2
        elif c in "?:,.":
            if src.startswith("..", i):
                tokens.append(Token(OP, "..", i))
                i += 2
            else:
                tokens.append(Token(PUNC, c, i))
                i += 1
        elif _NAME_RE.match(src, i):
            m = _NAME_RE.match(src, i)
            word = m.group(0)
            end = m.end()
            kind = NAME
            if not after_dot:
                # Multi-word operators: `not in`, `starts with`, `ends with`.
                if word in ("not", "starts", "ends"):
                    sp = _SPACE_RE.match(src, end)
                    if sp:
                        m2 = _NAME_RE.match(src, sp.end())
                        second = "in" if word == "not" else "with"
                        if m2 and m2.group(0) == second:
                            word, end, kind = f"{word} {second}", m2.end(), OP
                if kind == NAME and word in _WORD_OPS:
                    kind = OP
            tokens.append(Token(kind, word, i))
            i = end
        else:
            for sym in _SYMBOL_OPS:
                if src.startswith(sym, i):
                    tokens.append(Token(OP, sym, i))
                    i += len(sym)
                    break
            else:
                raise ExpressionError(f"Expression syntax error: unexpected character '{c}' at offset {i}")
    if brackets:
        opener, at = brackets.pop()
        raise ExpressionError(f"Expression syntax error: unclosed '{opener}' at offset {at}")
    tokens.append(Token(EOF, None, n))
    return tokens


# ---------------------------------------------------------------------------
# AST (immutable: parse results are cached and shared)
# ---------------------------------------------------------------------------


class Node:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Var(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    cond: Node
    then: Node | None  # None for the short ternary `a ?: b`
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Coalesce(Node):
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class GetAttr(Node):
    obj: Node
    name: str
    nullsafe: bool = False  # `?.`
    null_on_missing: bool = False


@dataclass(frozen=True, slots=True)
class Index(Node):
    obj: Node
    key: Node
    null_on_missing: bool = False


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple


@dataclass(frozen=True, slots=True)
class ArrayLit(Node):
    items: tuple


@dataclass(frozen=True, slots=True)
class HashLit(Node):
    pairs: tuple  # ((key_node, value_node), ...)


def _children(node: Node) -> tuple:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary | Coalesce):
        return (node.left, node.right)
    if isinstance(node, Conditional):
        return tuple(x for x in (node.cond, node.then, node.otherwise) if x is not None)
    if isinstance(node, GetAttr):
        return (node.obj,)
    if isinstance(node, Index):
        return (node.obj, node.key)
    if isinstance(node, Call | ArrayLit):
        return node.args if isinstance(node, Call) else node.items
    if isinstance(node, HashLit):
        return tuple(x for pair in node.pairs for x in pair)
    return ()


def _static_path(node: Node) -> str | None:
    """`image.meta_user` for Name/GetAttr/constant-Index chains, else None."""
    if isinstance(node, Name):
        return node.name
    if isinstance(node, GetAttr):
        base = _static_path(node.obj)
        return f"{base}.{node.name}" if base else None
    if isinstance(node, Index) and isinstance(node.key, Const) and isinstance(node.key.value, str):
        base = _static_path(node.obj)
        return f"{base}.{node.key.value}" if base else None
    return None


# ---------------------------------------------------------------------------
# Parser: precedence climbing, Symfony's precedence table
# ---------------------------------------------------------------------------

_LEFT, _RIGHT = 1, 2
_UNARY = {"not": 50, "!": 50, "-": 500, "+": 500}
_BINARY = {
    "or": (10, _LEFT), "||": (10, _LEFT),
    "xor": (12, _LEFT),
    "and": (15, _LEFT), "&&": (15, _LEFT),
    "==": (20, _LEFT), "===": (20, _LEFT), "!=": (20, _LEFT), "!==": (20, _LEFT),
    "<": (20, _LEFT), ">": (20, _LEFT), ">=": (20, _LEFT), "<=": (20, _LEFT),
    "not in": (20, _LEFT), "in": (20, _LEFT), "contains": (20, _LEFT),
    "starts with": (20, _LEFT), "ends with": (20, _LEFT), "matches": (20, _LEFT),
    "..": (25, _LEFT),
    "+": (30, _LEFT), "-": (30, _LEFT),
    "~": (40, _LEFT),
    "*": (60, _LEFT), "/": (60, _LEFT), "%": (60, _LEFT),
    "**": (200, _RIGHT),
}


def _describe(tok: Token) -> str:
    if tok.kind == EOF:
        return "end of expression"
    return f"{tok.kind} '{tok.value}' at offset {tok.pos}"


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.nodes = 0

    # -- helpers --
    @property
    def cur(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def test(self, kind: str, value: Any = None) -> bool:
        tok = self.cur
        return tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, value: str, what: str) -> Token:
        if not self.test(kind, value):
            raise ExpressionError(f"Expression syntax error: {what}, got {_describe(self.cur)}")
        return self.advance()

    def node(self, node: Node) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(f"Expression is too complex (more than {MAX_NODES} nodes)")
        return node

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"Expression is nested too deeply (more than {MAX_DEPTH} levels)")

    # -- grammar --
    def parse(self) -> Node:
        node = self.expression()
        if not self.test(EOF):
            raise ExpressionError(f"Expression syntax error: unexpected {_describe(self.cur)}")
        return node

    def expression(self, precedence: int = 0) -> Node:
        self.enter()
        try:
            expr = self.primary()
            tok = self.cur
            while tok.kind == OP and tok.value in _BINARY and _BINARY[tok.value][0] >= precedence:
                prec, assoc = _BINARY[tok.value]
                self.advance()
                right = self.expression(prec + 1 if assoc == _LEFT else prec)
                expr = self.node(Binary(tok.value, expr, right))
                tok = self.cur
            if precedence == 0:
                expr = self.conditional(expr)
            return expr
        finally:
            self.depth -= 1

    def conditional(self, expr: Node) -> Node:
        while self.test(PUNC, "??"):
            self.advance()
            expr = self.node(Coalesce(expr, self.expression()))
        while self.test(PUNC, "?"):
            self.advance()
            if self.test(PUNC, ":"):  # short ternary `a ?: b`
                self.advance()
                expr = self.node(Conditional(expr, None, self.expression()))
            else:
                then = self.expression()
                if self.test(PUNC, ":"):
                    self.advance()
                    otherwise = self.expression()
                else:  # `a ? b` is `a ? b : null`
                    otherwise = self.node(Const(None))
                expr = self.node(Conditional(expr, then, otherwise))
        return expr

    def primary(self) -> Node:
        tok = self.cur
        if tok.kind == OP and tok.value in _UNARY:
            self.advance()
            operand = self.expression(_UNARY[tok.value])
            return self.postfix(self.node(Unary(tok.value, operand)))
        if self.test(PUNC, "("):
            self.advance()
            expr = self.expression()
            self.expect(PUNC, ")", "expected ')' to close '('")
            return self.postfix(expr)
        return self.primary_expression()

    def primary_expression(self) -> Node:
        tok = self.cur
        if tok.kind in (NUM, STR):
            self.advance()
            return self.node(Const(tok.value))
        if tok.kind == VAR:
            self.advance()
            return self.postfix(self.node(Var(tok.value)))
        if tok.kind == NAME:
            self.advance()
            lowered = tok.value.lower()
            if lowered in ("true", "false", "null"):
                return self.node(Const({"true": True, "false": False, "null": None}[lowered]))
            if self.test(PUNC, "("):
                if tok.value not in FUNCTIONS:
                    raise ExpressionError(f"Expression error: unknown function '{tok.value}'")
                return self.postfix(self.node(Call(tok.value, self.arguments())))
            return self.postfix(self.node(Name(tok.value)))
        if self.test(PUNC, "["):
            return self.postfix(self.array())
        if self.test(PUNC, "{"):
            return self.postfix(self.hash())
        raise ExpressionError(f"Expression syntax error: unexpected {_describe(tok)}")

    def arguments(self) -> tuple:
        self.expect(PUNC, "(", "expected '('")
        args = []
        while not self.test(PUNC, ")"):
            if args:
                self.expect(PUNC, ",", "arguments must be separated by a comma")
            args.append(self.expression())
        self.advance()
        return tuple(args)

    def array(self) -> Node:
        self.advance()  # [
        items: list[Node] = []
        while not self.test(PUNC, "]"):
            if items:
                self.expect(PUNC, ",", "array elements must be separated by a comma")
                if self.test(PUNC, "]"):  # trailing comma
                    break
            items.append(self.expression())
        self.advance()
        return self.node(ArrayLit(tuple(items)))

    def hash(self) -> Node:
        self.advance()  # {
        pairs: list[tuple[Node, Node]] = []
        while not self.test(PUNC, "}"):
            if pairs:
                self.expect(PUNC, ",", "hash entries must be separated by a comma")
                if self.test(PUNC, "}"):
                    break
            tok = self.cur
            if tok.kind in (STR, NAME, NUM):
                self.advance()
                key: Node = self.node(Const(tok.value))
            elif self.test(PUNC, "("):
                key = self.expression()
            else:
                raise ExpressionError(
                    "Expression syntax error: a hash key must be a quoted string, a number, a name "
                    f"or an expression in parentheses, got {_describe(tok)}")
            self.expect(PUNC, ":", "a hash key must be followed by ':'")
            pairs.append((key, self.expression()))
        self.advance()
        return self.node(HashLit(tuple(pairs)))

    def postfix(self, node: Node) -> Node:
        while True:
            tok = self.cur
            if tok.kind == PUNC and tok.value in (".", "?."):
                self.advance()
                name_tok = self.advance()
                if name_tok.kind != NAME:
                    raise ExpressionError(f"Expression syntax error: expected a name after '.', got {_describe(name_tok)}")
                if self.test(PUNC, "("):
                    raise ExpressionError(f"Expression error: method calls are not supported ('{name_tok.value}()')")
                parent = _static_path(node)
                node = self.node(GetAttr(node, name_tok.value, tok.value == "?.",
                                         parent in NULL_ON_MISSING_PARENTS))
            elif tok.kind == PUNC and tok.value == "[":
                self.advance()
                key = self.expression()
                self.expect(PUNC, "]", "expected ']'")
                parent = _static_path(node)
                node = self.node(Index(node, key, parent in NULL_ON_MISSING_PARENTS))
            else:
                return node


def _tree_depth(root: Node) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in _children(node):
            stack.append((child, depth + 1))
    return deepest


@functools.lru_cache(maxsize=1024)
def _parse_cached(source: str) -> Node:
    parser = _Parser(_tokenize(source))
    node = parser.parse()
    # Left-associative chains (`a + b + c ...`) and attribute chains are built
    # iteratively by the parser, so check the depth the evaluator will see.
    if _tree_depth(node) > MAX_DEPTH:
        raise ExpressionError(f"Expression is nested too deeply (more than {MAX_DEPTH} levels)")
    return node


def parse(source: str) -> Node:
    """Parse `source` into an immutable AST (cached). Raises ExpressionError."""
    if not isinstance(source, str):
        raise ExpressionError("Expression error: an expression must be a string")
    if not source.strip():
        raise ExpressionError("Expression syntax error: empty expression")
    return _parse_cached(source)


parse.cache_clear = _parse_cached.cache_clear  # type: ignore[attr-defined]
parse.cache_info = _parse_cached.cache_info  # type: ignore[attr-defined]


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


# ---------------------------------------------------------------------------
# Evaluator
# ---------------------------------------------------------------------------

_MISSING = object()
_SHORT_CIRCUIT = object()  # a `?.` met null: the rest of the chain is null


def _check_value(v: Any, where: str) -> Any:
    """Only plain data is visible to expressions."""
    if v is None or isinstance(v, bool | int | float | str | list | dict):
        return v
    if isinstance(v, tuple):
        return list(v)
    raise ExpressionError(f"Expression error: {where} has an unsupported type")


def _hash_key(k: Any) -> Any:
    """PHP array key normalization: "1" -> 1, 1.7 -> 1, true -> 1, null -> ""."""
    if isinstance(k, bool):
        return int(k)
    if isinstance(k, int):
        return k
    if isinstance(k, float):
        if not math.isfinite(k):
            raise ExpressionError("Expression error: invalid array key")
        return int(k)
    if k is None:
        return ""
    if isinstance(k, str):
        if re.fullmatch(r"-?[1-9]\d{0,17}|0", k, re.ASCII):
            return int(k)
        return k
    raise ExpressionError(f"Expression error: {_type_name(k)} cannot be used as an array key")


def _lookup(container: Any, key: Any) -> Any:
    """container[key] for dicts (str or int keys) and lists; _MISSING if absent."""
    if isinstance(container, dict):
        if isinstance(key, str | int) and not isinstance(key, bool) and key in container:
            return container[key]
        k = _hash_key(key)
        if k in container:
            return container[k]
        alt = str(k) if isinstance(k, int) else None
        if alt is not None and alt in container:
            return container[alt]
        return _MISSING
    if isinstance(container, list):
        k = _hash_key(key)
        if isinstance(k, int) and 0 <= k < len(container):  # no negative indexing
            return container[k]
        return _MISSING
    return _MISSING


class _Evaluator:
    def __init__(self, names: dict, variables: dict):
        self.names = names
        self.variables = variables

    def eval(self, node: Node) -> Any:
        t = type(node)
        if t is Const:
            return node.value
        if t is Name:
            if node.name not in self.names:
                raise ExpressionError(f"Expression error: unknown name '{node.name}'")
            return _check_value(self.names[node.name], f"'{node.name}'")
        if t is Var:
            if node.name not in self.variables:
                raise ExpressionError(f"Expression error: variable '${node.name}' is not defined")
            return _check_value(self.variables[node.name], f"'${node.name}'")
        if t is Binary:
            return self.binary(node)
        if t is Unary:
            v = self.eval(node.operand)
            if node.op in ("not", "!"):
                return not _truthy(v)
            n = _to_number(v, node.op)
            return _finite(-n if node.op == "-" else n)
        if t is Conditional:
            cond = self.eval(node.cond)
            if node.then is None:
                return cond if _truthy(cond) else self.eval(node.otherwise)
            return self.eval(node.then) if _truthy(cond) else self.eval(node.otherwise)
        if t is Coalesce:
            left = self.lenient(node.left)
            return self.eval(node.right) if left is None else left
        if t is GetAttr or t is Index:
            v = self.access(node, lenient=False)
            return None if v is _SHORT_CIRCUIT else v
        if t is Call:
            lo, hi, fn = FUNCTIONS[node.name]
            if not lo <= len(node.args) <= hi:
                expected = str(lo) if lo == hi else f"{lo} to {hi}"
                raise ExpressionError(
                    f"Expression error: {node.name}() expects {expected} argument(s), got {len(node.args)}")
            return _finite(fn(*(self.eval(a) for a in node.args)))
        if t is ArrayLit:
            return [self.eval(item) for item in node.items]
        if t is HashLit:
            out: dict = {}
            for k, v in node.pairs:
                out[_hash_key(self.eval(k))] = self.eval(v)
            return out
        raise ExpressionError("Expression error: unsupported node")  # pragma: no cover

    def binary(self, node: Binary) -> Any:
        op = node.op
        left = self.eval(node.left)
        if op in ("and", "&&"):
            return _truthy(left) and _truthy(self.eval(node.right))
        if op in ("or", "||"):
            return _truthy(left) or _truthy(self.eval(node.right))
        return _binary(op, left, self.eval(node.right))

    def lenient(self, node: Node) -> Any:
        """Left side of `??`: missing names, variables, keys read as null."""
        if isinstance(node, Name):
            return _check_value(self.names.get(node.name), f"'{node.name}'")
        if isinstance(node, Var):
            return _check_value(self.variables.get(node.name), f"'${node.name}'")
        if isinstance(node, GetAttr | Index):
            v = self.access(node, lenient=True)
            return None if v is _SHORT_CIRCUIT else v
        return self.eval(node)

    def access(self, node: GetAttr | Index, lenient: bool) -> Any:
        obj_node = node.obj
        if isinstance(obj_node, GetAttr | Index):
            obj = self.access(obj_node, lenient)
            if obj is _SHORT_CIRCUIT:
                return obj
        elif lenient:
            obj = self.lenient(obj_node)
        else:
            obj = self.eval(obj_node)
        if isinstance(node, GetAttr):
            if obj is None and node.nullsafe:
                return _SHORT_CIRCUIT
            key: Any = node.name
            if not isinstance(obj, dict):
                if lenient:
                    return None
                raise ExpressionError(
                    f"Expression error: cannot read attribute '{node.name}' of {_type_name(obj)}")
        else:
            key = self.eval(node.key)
            if not _is_array(obj):
                if lenient:
                    return None
                raise ExpressionError(f"Expression error: cannot index {_type_name(obj)}")
        value = _lookup(obj, key)
        if value is _MISSING:
            if lenient or node.null_on_missing:
                return None
            label = node.name if isinstance(node, GetAttr) else _to_str(key, "key")
            raise ExpressionError(f"Expression error: unknown attribute or key '{label}'")
        return _check_value(value, "value")


def evaluate(source: str | Node, names: dict, variables: dict | None = None) -> Any:
    """Evaluate an expression against `names` (image, options, request...) and
    `variables` (read as `$name`). Raises ExpressionError, never anything else."""
    node = source if isinstance(source, Node) else parse(source)
    evaluator = _Evaluator(names or {}, variables or {})
    try:
        return evaluator.eval(node)
    except ExpressionError:
        raise
    except (ArithmeticError, ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
        # Safety net: no Python exception may leak out of an expression.
        raise ExpressionError(f"Expression error: {type(exc).__name__}") from None


_MARKER_OPS = frozenset({"==", "!=", "===", "!==", "<", ">", "<=", ">="})


def is_expression(value: Any) -> bool:
    """Whether a stack variable's value is an expression rather than a literal.

    True for a string that (1) contains, outside string literals, a `$name`
    variable reference, a comparison operator (== != === !== < > <= >=) or
    `?` / `??`, and (2) parses. Everything else is a literal: "800",
    "Hello world", "What?" (does not parse), "image.width" (no marker; write
    "image.width ?? 0" if an expression is meant). Non-strings are literals.
    """
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        tokens = _tokenize(value)
    except ExpressionError:
        return False
    marked = any(
        t.kind == VAR
        or (t.kind == OP and t.value in _MARKER_OPS)
        or (t.kind == PUNC and t.value in ("?", "??"))
        for t in tokens)
    if not marked:
        return False
    try:
        parse(value)
    except ExpressionError:
        return False
    return True


# ---------------------------------------------------------------------------
# `matches`: PHP (PCRE) regex subset on a Thompson NFA, linear time
# ---------------------------------------------------------------------------
# Python's `re` backtracks: `(a+)+$` or even `.*.*x` take exponential or
# polynomial time on a 10000-character subject, and `re` cannot be
# interrupted. This engine simulates all NFA states at once, so its cost is
# bounded by len(subject) * len(program), and MAX_REGEX_STEPS caps it.
# Supported: literals, `.`, classes `[...]` (ranges, negation, \d\w\s\h\v,
# POSIX [:alpha:] etc.), groups `(...)`, `(?:...)`, named groups,
# alternation, quantifiers * + ? {n} {n,} {n,m} (lazy variants match the
# same strings), anchors ^ $ \A \z \Z \b \B, escapes \n \t \xhh \x{hhhh}.
# Flags: i m s x u D. Refused (ExpressionError): backreferences, lookaround,
# possessive quantifiers, inline flags, unicode properties.

_CHAR, _SPLIT, _JMP, _ASSERT, _MATCH = range(5)

_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ASCII_DIGIT = frozenset("0123456789")
_ASCII_SPACE = frozenset(" \t\n\r\x0b\x0c")
_HSPACE = frozenset(" \t\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000")
_VSPACE = frozenset("\n\x0b\x0c\r\x85\u2028\u2029")

_CLASS_ESCAPES: dict[str, Callable[[str], bool]] = {
    "d": lambda c: c in _ASCII_DIGIT,
    "D": lambda c: c not in _ASCII_DIGIT,
    "w": lambda c: c in _ASCII_WORD,
    "W": lambda c: c not in _ASCII_WORD,
    "s": lambda c: c in _ASCII_SPACE,
    "S": lambda c: c not in _ASCII_SPACE,
    "h": lambda c: c in _HSPACE,
    "H": lambda c: c not in _HSPACE,
    "v": lambda c: c in _VSPACE,
    "V": lambda c: c not in _VSPACE,
}
_POSIX_CLASSES: dict[str, Callable[[str], bool]] = {
    "alpha": lambda c: c.isascii() and c.isalpha(),
    "digit": lambda c: c in _ASCII_DIGIT,
    "alnum": lambda c: c.isascii() and c.isalnum(),
    "space": lambda c: c in _ASCII_SPACE,
    "upper": lambda c: "A" <= c <= "Z",
    "lower": lambda c: "a" <= c <= "z",
    "xdigit": lambda c: c in "0123456789abcdefABCDEF",
    "word": lambda c: c in _ASCII_WORD,
    "punct": lambda c: c.isascii() and 33 <= ord(c) <= 126 and not c.isalnum(),
    "blank": lambda c: c in " \t",
}
_LITERAL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "e": "\x1b", "a": "\a"}


class _RegexParser:
    def __init__(self, pattern: str, flags: str):
        self.p = pattern
        self.i = 0
        self.icase = "i" in flags
        self.multiline = "m" in flags
        self.dotall = "s" in flags
        self.extended = "x" in flags
        self.dollar_endonly = "D" in flags

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(f"Expression error: invalid regular expression: {message}")

    def peek(self) -> str | None:
        return self.p[self.i] if self.i < len(self.p) else None

    def skip_extended(self) -> None:
        if not self.extended:
            return
        while self.i < len(self.p):
            c = self.p[self.i]
            if c.isspace():
                self.i += 1
            elif c == "#":
                while self.i < len(self.p) and self.p[self.i] != "\n":
                    self.i += 1
            else:
                return

    def parse(self) -> tuple:
        node = self.alternation()
        if self.i < len(self.p):
            raise self.error("unmatched ')'")
        return node

    def alternation(self) -> tuple:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self) -> tuple:
        items = []
        while True:
            self.skip_extended()
            c = self.peek()
            if c is None or c in "|)":
                break
            atom = self.atom()
            self.skip_extended()
            quant = self.quantifier()
            if quant:
                if atom[0] == "assert":
                    raise self.error("nothing to repeat")
                atom = ("rep", atom, quant[0], quant[1])
                if self.peek() == "?":  # lazy: same set of matches
                    self.i += 1
                elif self.peek() == "+":
                    raise self.error("possessive quantifiers are not supported")
                self.skip_extended()
                if self.quantifier(peek_only=True):
                    raise self.error("nothing to repeat")
            items.append(atom)
        return ("cat", items)

    def quantifier(self, peek_only: bool = False) -> tuple | None:
        c = self.peek()
        if c in ("*", "+", "?"):
            if not peek_only:
                self.i += 1
            return {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        if c == "{":
            m = re.compile(r"\{(\d{1,6})(?:(,)(\d{0,6}))?\}").match(self.p, self.i)
            if not m:
                return None  # a literal '{'
            lo = int(m.group(1))
            hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
            if lo > 1000 or (hi is not None and (hi > 1000 or hi < lo)):
                raise self.error("invalid or too large repetition count")
            if not peek_only:
                self.i = m.end()
            return (lo, hi)
        return None

    def literal(self, ch: str) -> tuple:
        if self.icase and ch.lower() != ch.upper():
            variants = frozenset({ch, ch.lower(), ch.upper()})
            return ("char", variants.__contains__)
        return ("char", ch.__eq__)

    def atom(self) -> tuple:
        c = self.p[self.i]
        self.i += 1
        if c == "(":
            if self.peek() == "?":
                rest = self.p[self.i:]
                m = re.match(r"\?(?::|P?<[A-Za-z_]\w*>|'[A-Za-z_]\w*')", rest)
                if not m:
                    raise self.error("lookaround, inline flags and other group extensions are not supported")
                self.i += m.end()
            inner = self.alternation()
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.i += 1
            return inner
        if c in "*+?":
            raise self.error("nothing to repeat")
        if c == "[":
            return self.char_class()
        if c == ".":
            return ("char", (lambda ch: True) if self.dotall else (lambda ch: ch != "\n"))
        if c == "^":
            return ("assert", "bol")
        if c == "$":
            return ("assert", "eol")
        if c == "\\":
            return self.escape()
        return self.literal(c)

    def escape(self) -> tuple:
        if self.i >= len(self.p):
            raise self.error("trailing backslash")
        c = self.p[self.i]
        self.i += 1
        if c in _CLASS_ESCAPES:
            return ("char", _CLASS_ESCAPES[c])
        if c in "bBAzZ":
            return ("assert", c)
        ch = self.escaped_char(c)
        return self.literal(ch)

    def escaped_char(self, c: str) -> str:
        """The character of a single-character escape (after the backslash)."""
        if c in _LITERAL_ESCAPES:
            return _LITERAL_ESCAPES[c]
        if c == "x":
            if self.peek() == "{":
                m = re.compile(r"\{([0-9a-fA-F]{1,6})\}").match(self.p, self.i)
                if not m or int(m.group(1), 16) > 0x10FFFF:
                    raise self.error("invalid \\x{...} escape")
                self.i = m.end()
                return chr(int(m.group(1), 16))
            m = re.compile(r"[0-9a-fA-F]{0,2}").match(self.p, self.i)
            self.i = m.end()
            return chr(int(m.group(0) or "0", 16))
        if c == "0":
            m = re.compile(r"[0-7]{0,2}").match(self.p, self.i)
            self.i = m.end()
            return chr(int("0" + m.group(0), 8))
        if c.isdigit():
            raise self.error("backreferences are not supported")
        if c.isascii() and c.isalnum():
            raise self.error(f"unsupported escape '\\{c}'")
        return c

    def char_class(self) -> tuple:
        negate = False
        if self.peek() == "^":
            negate = True
            self.i += 1
        ranges: list[tuple[int, int]] = []
        preds: list[Callable[[str], bool]] = []
        first = True
        while True:
            if self.i >= len(self.p):
                raise self.error("missing ']'")
            c = self.p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[" and self.p.startswith("[:", self.i):
                m = re.compile(r"\[:(\^?)([a-z]+):\]").match(self.p, self.i)
                if not m or m.group(2) not in _POSIX_CLASSES:
                    raise self.error("unknown POSIX class")
                fn = _POSIX_CLASSES[m.group(2)]
                preds.append((lambda ch, fn=fn: not fn(ch)) if m.group(1) else fn)
                self.i = m.end()
                continue
            self.i += 1
            if c == "\\":
                if self.i >= len(self.p):
                    raise self.error("trailing backslash")
                e = self.p[self.i]
                self.i += 1
                if e in _CLASS_ESCAPES:
                    preds.append(_CLASS_ESCAPES[e])
                    continue
                lo = "\b" if e == "b" else self.escaped_char(e)
            else:
                lo = c
            # A range `a-z` (a '-' before ']' is a literal).
            if self.peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
                self.i += 1
                h = self.p[self.i]
                self.i += 1
                if h == "\\":
                    if self.i >= len(self.p):
                        raise self.error("trailing backslash")
                    e = self.p[self.i]
                    self.i += 1
                    if e in _CLASS_ESCAPES:
                        raise self.error("invalid range in character class")
                    h = "\b" if e == "b" else self.escaped_char(e)
                if ord(h) < ord(lo):
                    raise self.error("range out of order in character class")
                ranges.append((ord(lo), ord(h)))
            else:
                ranges.append((ord(lo), ord(lo)))
        icase = self.icase
        ranges_t = tuple(ranges)
        preds_t = tuple(preds)

        def member(ch: str) -> bool:
            o = ord(ch)
            return any(a <= o <= b for a, b in ranges_t) or any(f(ch) for f in preds_t)

        def pred(ch: str) -> bool:
            hit = member(ch) or (icase and (member(ch.lower()) or member(ch.upper())))
            return hit != negate

        return ("char", pred)


def _emit(node: tuple, prog: list) -> None:
    if len(prog) > MAX_REGEX_PROGRAM:
        raise ExpressionError("Expression error: regular expression is too complex")
    kind = node[0]
    if kind == "char":
        prog.append((_CHAR, node[1]))
    elif kind == "assert":
        prog.append((_ASSERT, node[1]))
    elif kind == "cat":
        for item in node[1]:
            _emit(item, prog)
    elif kind == "alt":
        jumps = []
        branches = node[1]
        for idx, branch in enumerate(branches):
            if idx < len(branches) - 1:
                split_at = len(prog)
                prog.append(None)
                _emit(branch, prog)
                jumps.append(len(prog))
                prog.append(None)
                prog[split_at] = (_SPLIT, split_at + 1, len(prog))
            else:
                _emit(branch, prog)
        for j in jumps:
            prog[j] = (_JMP, len(prog))
    elif kind == "rep":
        _, sub, lo, hi = node
        for _ in range(lo):
            _emit(sub, prog)
        if hi is None:
            loop = len(prog)
            prog.append(None)
            _emit(sub, prog)
            prog.append((_JMP, loop))
            prog[loop] = (_SPLIT, loop + 1, len(prog))
        else:
            splits = []
            for _ in range(hi - lo):
                splits.append(len(prog))
                prog.append(None)
                _emit(sub, prog)
            for s in splits:
                prog[s] = (_SPLIT, s + 1, len(prog))
    else:  # pragma: no cover
        raise ExpressionError("Expression error: invalid regular expression")


_DELIMITER_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}


@functools.lru_cache(maxsize=256)
def _compile_php_regex(regex: str) -> tuple[tuple, str]:
    s = regex.lstrip()
    if not s:
        raise ExpressionError("Expression error: invalid regular expression: empty")
    delim = s[0]
    if delim.isalnum() or delim == "\\" or delim.isspace():
        raise ExpressionError("Expression error: invalid regular expression: delimiter must not be alphanumeric or backslash")
    closing = _DELIMITER_PAIRS.get(delim, delim)
    i, depth = 1, 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == closing:
            depth -= 1
            if depth == 0:
                break
        elif c == delim and closing != delim:
            depth += 1
        i += 1
    if i >= len(s):
        raise ExpressionError("Expression error: invalid regular expression: no ending delimiter")
    pattern, flags = s[1:i], s[i + 1:].rstrip("\n")
    for f in flags:
        if f not in "imsxuD":
            raise ExpressionError(f"Expression error: invalid regular expression: unsupported modifier '{f}'")
    tree = _RegexParser(pattern, flags).parse()
    prog: list = []
    _emit(tree, prog)
    prog.append((_MATCH,))
    if len(prog) > MAX_REGEX_PROGRAM:
        raise ExpressionError("Expression error: regular expression is too complex")
    return tuple(prog), flags


def _is_word(s: str, pos: int) -> bool:
    return 0 <= pos < len(s) and s[pos] in _ASCII_WORD


def _assert(kind: str, s: str, pos: int, flags: str) -> bool:
    n = len(s)
    if kind == "bol":
        return pos == 0 or ("m" in flags and s[pos - 1] == "\n")
    if kind == "eol":
        if "m" in flags:
            return pos == n or s[pos] == "\n"
        if "D" in flags:
            return pos == n
        return pos == n or (pos == n - 1 and s[pos] == "\n")
    if kind == "A":
        return pos == 0
    if kind == "z":
        return pos == n
    if kind == "Z":
        return pos == n or (pos == n - 1 and s[pos] == "\n")
    if kind == "b":
        return _is_word(s, pos - 1) != _is_word(s, pos)
    if kind == "B":
        return _is_word(s, pos - 1) == _is_word(s, pos)
    return False  # pragma: no cover


def _regex_search(prog: tuple, flags: str, s: str) -> bool:
    """Unanchored search: does any substring of `s` match? (Thompson NFA)"""
    size = len(prog)
    mark = [-1] * size
    steps = 0

    def add(threads: list, pc: int, pos: int) -> bool:
        nonlocal steps
        stack = [pc]
        while stack:
            pc = stack.pop()
            if mark[pc] == pos:
                continue
            mark[pc] = pos
            steps += 1
            instr = prog[pc]
            op = instr[0]
            if op == _CHAR:
                threads.append(pc)
            elif op == _MATCH:
                return True
            elif op == _JMP:
                stack.append(instr[1])
            elif op == _SPLIT:
                stack.append(instr[2])
                stack.append(instr[1])
            elif op == _ASSERT:
                if _assert(instr[1], s, pos, flags):
                    stack.append(pc + 1)
        return False

    current: list[int] = []
    n = len(s)
    for pos in range(n + 1):
        if add(current, 0, pos):  # a match may start at every position
            return True
        if pos == n:
            break
        ch = s[pos]
        nxt: list[int] = []
        for pc in current:
            steps += 1
            if prog[pc][1](ch) and add(nxt, pc + 1, pos + 1):
                return True
        if steps > MAX_REGEX_STEPS:
            raise ExpressionError("Expression error: regular expression is too expensive for this input")
        current = nxt
    return False


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
