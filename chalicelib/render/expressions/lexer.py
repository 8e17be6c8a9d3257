"""Tokenizer of rokka's (Symfony ExpressionLanguage) expressions: source text -> tokens.

Context-dependent like Symfony's Lexer: `.5` is a number only where an operand may start,
`not in` / `starts with` / `ends with` are one operator, words after `.` are names, and
brackets are matched here so that an unclosed one is reported where it opens.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.limits import MAX_SOURCE_LENGTH
from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.values import PHP_INT_MAX


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
