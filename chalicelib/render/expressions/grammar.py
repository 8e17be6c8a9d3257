"""The grammar: tokens (lexer.py) -> AST (nodes.py), with Lark's LALR(1) parser.

The rules below are Symfony's ExpressionLanguage `Parser` precedence table written as grammar
levels, loosest first (or 10, xor 12, and 15, comparisons 20, `..` 25, `+ -` 30, `~` 40,
`not !` 50, `* / %` 60, `**` 200 right-associative, unary `- +` 500), with `??` and the
ternary at the top of every full expression (parentheses, arguments, array items, hash values,
index keys, branches), as Symfony's precedence climber groups them. `not` binds looser than
`*`, so `not a * b` is `not (a * b)` and `a * not b * c` is `a * (not (b * c))`; the
shift/reduce conflicts that this and the optional `: else` of the ternary bring are resolved as
shift by Lark, which is the grouping Symfony's parser makes.

Tokens come from lexer.py (the lexing is context-dependent: `.5`, `not in`, `?.`), so Lark gets
a custom lexer that hands them over. Rules build nodes while Lark reduces (no parse tree, no
recursion): a 2000-character expression parses in well under a millisecond. parser.py builds the
parser on first use (this module imports Lark; nothing else does), caches the parse table in the
temp directory, and bounds and caches the results.
"""
from __future__ import annotations

from lark import Lark, Transformer, v_args
from lark.lexer import Lexer
from lark.lexer import Token as LarkToken

from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.functions import FUNCTIONS
from chalicelib.render.expressions.lexer import EOF, NAME, NUM, STR, VAR
from chalicelib.render.expressions.nodes import (
    ArrayLit, Binary, Call, Coalesce, Conditional, Const, GetAttr, HashLit, Index, Name, Node, Unary, Var, _static_path,
)
from chalicelib.render.expressions.variables import NULL_ON_MISSING_PARENTS

GRAMMAR = r"""
?start: expr

?expr: or_
     | or_ COALESCE expr                   -> coalesce
     | or_ QMARK COLON expr                -> short_ternary
     | or_ QMARK expr COLON expr           -> ternary
     | or_ QMARK expr                      -> ternary_no_else

?or_: xor_ | or_ OR xor_                   -> binary
?xor_: and_ | xor_ XOR and_                -> binary
?and_: cmp | and_ AND cmp                  -> binary
?cmp: range_ | cmp CMP range_              -> binary
?range_: add | range_ RANGE add            -> binary
?add: concat | add (PLUS | MINUS) concat   -> binary
?concat: not_ | concat TILDE not_          -> binary
?not_: mul | NOT not_                      -> unary
?mul: pow | mul MUL (pow | not_prefix)     -> binary
?pow: neg | neg POW (pow | not_prefix)     -> binary
?neg: postfix | (PLUS | MINUS) (neg | not_prefix) -> unary
not_prefix: NOT not_                       -> unary

?postfix: NUMBER                           -> number
        | STRING                           -> string
        | CONSTANT                         -> constant
        | accessible
?accessible: atom
           | accessible DOT NAME           -> getattr
           | accessible NULLSAFE NAME      -> getattr
           | accessible LSQB expr RSQB     -> index
?atom: NAME                                -> name
     | VARIABLE                            -> variable
     | NAME LPAR [expr (COMMA expr)*] RPAR -> call
     | LPAR expr RPAR
     | LSQB [expr (COMMA expr)* COMMA?] RSQB                 -> array
     | LBRACE [pair (COMMA pair)* COMMA?] RBRACE             -> hash
pair: (STRING | NAME | CONSTANT | NUMBER | LPAR expr RPAR) COLON expr

%declare NUMBER STRING NAME CONSTANT VARIABLE OR XOR AND CMP RANGE PLUS MINUS TILDE NOT MUL POW
%declare COALESCE QMARK COLON COMMA DOT NULLSAFE LPAR RPAR LSQB RSQB LBRACE RBRACE
"""

# lexer.py token -> Lark terminal.
_OPERATORS = {
    "or": "OR", "||": "OR", "xor": "XOR", "and": "AND", "&&": "AND",
    **dict.fromkeys(("==", "===", "!=", "!==", "<", ">", "<=", ">=", "not in", "in", "contains",
                     "starts with", "ends with", "matches"), "CMP"),
    "..": "RANGE", "+": "PLUS", "-": "MINUS", "~": "TILDE", "not": "NOT", "!": "NOT",
    "*": "MUL", "/": "MUL", "%": "MUL", "**": "POW",
}
_PUNCTUATION = {"??": "COALESCE", "?": "QMARK", ":": "COLON", ",": "COMMA", ".": "DOT", "?.": "NULLSAFE",
                "(": "LPAR", ")": "RPAR", "[": "LSQB", "]": "RSQB", "{": "LBRACE", "}": "RBRACE"}
_KINDS = {NUM: "NUMBER", STR: "STRING", NAME: "NAME", VAR: "VARIABLE"}
_CONSTANTS = {"true": True, "false": False, "null": None}


def _null_on_missing(obj: Node) -> bool:
    return _static_path(obj) in NULL_ON_MISSING_PARENTS


class _TokenLexer(Lexer):
    """Hands lexer.py's tokens to Lark (`parse` gets the token list instead of text)."""

    def __init__(self, lexer_conf):
        pass

    def lex(self, tokens):
        after_dot = False
        for tok in tokens:
            if tok.kind == EOF:
                return
            kind = _KINDS.get(tok.kind) or _OPERATORS.get(tok.value) or _PUNCTUATION[tok.value]
            if kind == "NAME" and not after_dot and tok.value.lower() in _CONSTANTS:
                kind = "CONSTANT"  # true/false/null (any case) take no `.x`, `[i]` or `(...)`
            after_dot = kind in ("DOT", "NULLSAFE")
            yield LarkToken(kind, tok.value, start_pos=tok.pos)

@v_args(inline=True)
class _Build(Transformer):
    """Rule name -> node, called by Lark on every reduction (stateless: shared by threads)."""

    def binary(self, left, op, right):
        return Binary(op.value, left, right)

    def unary(self, op, operand):
        return Unary(op.value, operand)

    def coalesce(self, left, _op, right):
        return Coalesce(left, right)

    def short_ternary(self, cond, _q, _c, otherwise):
        return Conditional(cond, None, otherwise)

    def ternary(self, cond, _q, then, _c, otherwise):
        return Conditional(cond, then, otherwise)

    def ternary_no_else(self, cond, _q, then):  # `a ? b` is `a ? b : null`
        return Conditional(cond, then, Const(None))

    def number(self, tok):
        return Const(tok.value)

    string = number

    def constant(self, tok):
        return Const(_CONSTANTS[tok.value.lower()])

    def name(self, tok):
        return Name(tok.value)

    def variable(self, tok):
        return Var(tok.value)

    def getattr(self, obj, dot, name):
        return GetAttr(obj, name.value, dot.value == "?.", _null_on_missing(obj))

    def index(self, obj, _open, key, _close):
        return Index(obj, key, _null_on_missing(obj))

    def call(self, name, _open, *rest):
        if name.value not in FUNCTIONS:
            raise ExpressionError(f"Expression error: unknown function '{name.value}'")
        return Call(name.value, _items(rest))

    def array(self, _open, *rest):
        return ArrayLit(_items(rest))

    def hash(self, _open, *rest):
        return HashLit(_items(rest))

    def pair(self, *parts):
        key = parts[1] if len(parts) == 5 else Const(parts[0].value)  # ( expr ) : value
        return key, parts[-1]

    def atom(self, _open, expr, _close):  # parentheses
        return expr

def _items(children) -> tuple:
    """The nodes between the brackets, without the separators and the closing bracket."""
    return tuple(c for c in children if c is not None and not isinstance(c, LarkToken))


def build() -> Lark:
    """The LALR(1) parser; rules build nodes as Lark reduces. Thread-safe (no state)."""
    return Lark(GRAMMAR, parser="lalr", lexer=_TokenLexer, transformer=_Build(), maybe_placeholders=True,
                cache=True)
