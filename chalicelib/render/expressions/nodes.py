"""The AST of an expression: small immutable nodes (parse results are cached and shared)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
