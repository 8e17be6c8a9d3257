"""Typed errors: each carries its HTTP status and public message.

Raised anywhere in the domain; turned into an HTTP status and body in exactly one
place, `http_error` below, which both edges call: `chalicelib.web.api_view` for the API
(and thus localserver.py, which runs the same Chalice app) and `RenderService.handle` for
render URLs.
"""
import logging


class RokkaError(Exception):
    status = 500
    code_name = "internal_error"

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error": {"code": self.status, "message": self.message}}


class BadRequest(RokkaError):
    status = 400


class InvalidOperation(BadRequest):
    """An operation or one of its options does not validate."""


class NotFound(RokkaError):
    status = 404


class Conflict(RokkaError):
    status = 409


class Forbidden(RokkaError):
    """Authenticated, but the role does not allow the action."""

    status = 403


class AuthenticationFailed(RokkaError):
    """No or an invalid API key: rokka answers 403 with a flat body."""

    status = 403

    def __init__(self, message: str = "API credentials are not supplied or not a valid format."):
        super().__init__(message)

    def body(self) -> dict:
        return {"code": self.status, "message": self.message, "invalid_authentication": True}


class InvalidToken(AuthenticationFailed):
    """An invalid, expired or IP-mismatched JWT: 401 with the flat authentication body."""

    status = 401


class PayloadTooLarge(RokkaError):
    status = 413


class UnsupportedMediaType(RokkaError):
    status = 415


class ServiceUnavailable(RokkaError):
    """A dependency (S3, DynamoDB) is throttling or failing after retries, or a render ran out
    of time: 503, the client may try again later."""

    status = 503


def http_error(exc: BaseException, where: str = "") -> tuple[int, dict]:
    """The HTTP status and JSON body for any error. A typed error gives its own; anything else
    is logged with its traceback and becomes a 500 that shows no internals."""
    if not isinstance(exc, RokkaError):
        logging.getLogger("rokka").error("unhandled error in %s", where or "request", exc_info=exc)
        exc = RokkaError("Internal server error")
    return exc.status, exc.body()
