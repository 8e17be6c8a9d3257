"""The grammar: the AST of an expression and the parser that builds it from tokens.

Precedence climbing with Symfony's `Parser` precedence table (`_BINARY`, `_UNARY`), so that
every expression groups as it does in rokka. The AST is immutable: parse results are cached
(`parse`, LRU of 1024) and shared between threads. Bounded: MAX_SOURCE_LENGTH characters,
MAX_NODES nodes, MAX_DEPTH levels (chalicelib/limits.py).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from chalicelib.limits import MAX_NODES, MAX_DEPTH
from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.variables import NULL_ON_MISSING_PARENTS
from chalicelib.render.expressions.lexer import EOF, NAME, NUM, OP, PUNC, STR, Token, VAR, _tokenize
from chalicelib.render.expressions.functions import FUNCTIONS


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
