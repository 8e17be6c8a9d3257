"""A safe evaluator for rokka's expression language.

rokka uses the Symfony ExpressionLanguage syntax in stack `expressions`, in the
`expressions` of an operation, in stack variables and in `[expr]` values of
render URLs, e.g. ``options.dpr >= 2``, ``$width * 2``,
``image.width > image.height ? 'landscape' : 'portrait'`` or
``image.detection_face.height * 1.5``.

Expressions come from untrusted users (render URLs need no authentication), so
nothing here uses Python's eval/exec or reflection. The package, in the order a
source goes through it:

    lexer.py      source -> tokens (context-dependent, as Symfony's Lexer)
    grammar.py    tokens -> immutable AST: precedence climbing with Symfony's
                  precedence table; `parse` (cached)
    evaluator.py  AST + names + $variables -> value; `evaluate`, `is_expression`
    values.py     PHP value semantics and the operators
    functions.py  the callable functions (min, max, round, ...)
    regex.py      `matches` on a Thompson NFA (not Python's backtracking `re`),
                  so that no pattern can take exponential time
    variables.py  the rokka variables (image, options, request, $name): passed-in data
    errors.py     ExpressionError (a 400)

Limits (source length, nodes, depth, powers, ranges, strings, regex size and
steps) are in chalicelib/limits.py.

Public API::

    parse(source) -> Node                        # cached; raises ExpressionError
    evaluate(source, names, variables=None)      # -> Any; raises ExpressionError
    is_expression(value) -> bool

Values follow PHP semantics where it matters to users: PHP truthiness
(0, 0.0, "", "0", null and empty arrays are false), numeric strings in
arithmetic ("5" + 1 == 6), loose ``==`` as in PHP 8, ints that stay ints.

Why not a parser library? Lark's LALR(1) parser was tried on this grammar
(commit "Expressions grammar on Lark's LALR(1) parser"): it needs this lexer
all the same (Symfony's tokens are context-dependent: `.5`, `not in`, `?.`)
and gave the same ASTs as the climber on 120,000 random inputs, but it cost
0.21 s of CPU on the first parse of every process (import 0.10 s, table build
0.12 s; 0.01 s with Lark's on-disk cache, which a new Lambda container does
not have) and 3.6x the CPU per parse (606 us vs 167 us), on the render path
of every stack with expressions. The climber (grammar.py, ~380 lines with the
AST) has no dependency, and the table tests and the fuzz tests
(tests/render/test_expressions*.py, tests/security/test_fuzz.py) pin it.
"""
from __future__ import annotations

from chalicelib.limits import (  # noqa: F401 - re-exported: the limits of expressions
    MAX_DEPTH, MAX_EXPONENT, MAX_NODES, MAX_POW_RESULT, MAX_RANGE, MAX_REGEX_LENGTH, MAX_REGEX_PROGRAM,
    MAX_REGEX_STEPS, MAX_REGEX_SUBJECT, MAX_SOURCE_LENGTH, MAX_STRING_LENGTH,
)
from chalicelib.render.expressions.errors import ExpressionError
from chalicelib.render.expressions.evaluator import evaluate, is_expression
from chalicelib.render.expressions.functions import FUNCTIONS
from chalicelib.render.expressions.grammar import (
    ArrayLit, Binary, Call, Coalesce, Conditional, Const, GetAttr, HashLit, Index, Name, Node, Unary, Var, parse,
)
from chalicelib.render.expressions.values import PHP_INT_MAX, PHP_INT_MIN
from chalicelib.render.expressions.variables import NULL_ON_MISSING_PARENTS

__all__ = [
    "ExpressionError", "parse", "evaluate", "is_expression", "FUNCTIONS", "NULL_ON_MISSING_PARENTS",
    "PHP_INT_MAX", "PHP_INT_MIN", "Node", "Const", "Name", "Var", "Unary", "Binary", "Conditional",
    "Coalesce", "GetAttr", "Index", "Call", "ArrayLit", "HashLit",
]
