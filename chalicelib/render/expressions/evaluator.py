"""Evaluation: walks a parsed AST against the names and variables it is given.

Names (image, options, request...) and `$variables` are plain passed-in data; attribute access
only reads dict keys, nothing is called but the functions in `FUNCTIONS`. Every node is
evaluated at most once (no loops), so time is bounded by MAX_NODES.
"""
from __future__ import annotations

import math
import re
from typing import Any

from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.lexer import OP, PUNC, VAR, _tokenize
from chalicelib.render.expressions.values import _binary, _finite, _is_array, _to_number, _to_str, _truthy, _type_name
from chalicelib.render.expressions.functions import FUNCTIONS
from chalicelib.render.expressions.grammar import ArrayLit, Binary, Call, Coalesce, Conditional, Const, GetAttr, HashLit, Index, Name, Node, Unary, Var, parse


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
