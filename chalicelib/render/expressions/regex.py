"""`matches`: a PHP (PCRE) regex subset on a Thompson NFA, linear in time."""
from __future__ import annotations

import functools
import re
from typing import Callable

from chalicelib.limits import MAX_REGEX_PROGRAM, MAX_REGEX_STEPS
from chalicelib.render.expressions.errors import ExpressionError


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
