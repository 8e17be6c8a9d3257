"""Exceptions of the SDK; API failures carry rokka's error JSON."""
from __future__ import annotations


class RokkaError(Exception):
    """Any SDK failure (connection errors included)."""


class RokkaApiError(RokkaError):
    """The server answered with an error status; `error` is rokka's {"code", "message"} object."""

    def __init__(self, status: int, body, method: str = "", url: str = ""):
        self.status = status
        self.body = body
        self.method, self.url = method, url
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) and isinstance(body, dict) and "message" in body:
            error = body  # authentication failures answer {"code", "message"} without the wrapper
        self.error = error if isinstance(error, dict) else {"code": status, "message": str(body or "")}
        self.code = self.error.get("code", status)
        self.message = str(self.error.get("message", ""))
        super().__init__(f"{status} {method} {url}: {self.message}".strip())
