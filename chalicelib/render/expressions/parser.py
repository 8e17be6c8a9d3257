"""`parse`: source -> AST, bounded and cached; the grammar itself is in grammar.py (Lark).

Bounds (chalicelib/limits.py): MAX_SOURCE_LENGTH characters (checked by the lexer), bracket
nesting and token count before parsing, MAX_NODES nodes and MAX_DEPTH levels on the tree. The
AST is immutable; results are cached (LRU of 1024) and shared between threads. Lark is imported
and the parser built on the first parse, so that renders without expressions do not pay for it.
"""
from __future__ import annotations

import functools

from chalicelib.limits import MAX_DEPTH, MAX_NODES
from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.lexer import NUM, STR, Token, _tokenize
from chalicelib.render.expressions.nodes import Node, _children


@functools.lru_cache(maxsize=1)
def _parser():
    from chalicelib.render.expressions import grammar

    return grammar.build()


def _describe(tok) -> str:
    return f"'{tok.value}' at offset {tok.start_pos}" if tok.start_pos is not None else f"'{tok.value}'"


def _check_size(root: Node) -> None:
    count, deepest, stack = 0, 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    if count > MAX_NODES:
        raise ExpressionError(f"Expression is too complex (more than {MAX_NODES} nodes)")
    if deepest > MAX_DEPTH:
        raise ExpressionError(f"Expression is nested too deeply (more than {MAX_DEPTH} levels)")


def _nesting(tokens: list[Token]) -> int:
    depth = deepest = 0
    for tok in tokens:
        if tok.value in ("(", "[", "{") and tok.kind not in (STR, NUM):
            depth += 1
            deepest = max(deepest, depth)
        elif tok.value in (")", "]", "}") and tok.kind not in (STR, NUM):
            depth -= 1
    return deepest


@functools.lru_cache(maxsize=1024)
def _parse_cached(source: str) -> Node:
    tokens = _tokenize(source)
    if _nesting(tokens) > MAX_DEPTH:
        raise ExpressionError(f"Expression is nested too deeply (more than {MAX_DEPTH} levels)")
    if len(tokens) > 2 * MAX_NODES + 2:  # every node takes at most two tokens (and the EOF)
        raise ExpressionError(f"Expression is too complex (more than {MAX_NODES} nodes)")
    parser = _parser()
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
    try:
        node = parser.parse(tokens)
    except UnexpectedToken as exc:
        what = "end of expression" if exc.token.type == "$END" else _describe(exc.token)
        raise ExpressionError(f"Expression syntax error: unexpected {what}") from None
    except (UnexpectedEOF, UnexpectedCharacters, UnexpectedInput):
        raise ExpressionError("Expression syntax error: unexpected end of expression") from None
    except LarkError as exc:  # a rule's ExpressionError comes wrapped
        cause = exc.__context__ if isinstance(exc.__context__, ExpressionError) else None
        raise cause or ExpressionError("Expression syntax error") from None
    _check_size(node)
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
