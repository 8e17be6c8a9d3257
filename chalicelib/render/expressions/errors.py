"""The one error type of expressions: a 400 with rokka's error body."""
from __future__ import annotations

from chalicelib.errors import BadRequest


class ExpressionError(BadRequest):
    """Syntax errors, unknown names/functions, type errors and exceeded limits."""

    def __init__(self, message: str, status: int | None = None):
        if not message.startswith("Expression"):
            message = f"Expression error: {message}"
        super().__init__(message, status)
