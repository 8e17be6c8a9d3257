"""Resource limits of a render that do not fit in one function's arguments.

Time
    `guard(seconds)` opens a render's wall-clock budget (per thread/context, so nested
    compositions share it); the pipeline calls `check()` between operations and frames. Over
    the budget → `RenderTimeout` (503): the work done so far is dropped and nothing is cached.
    A single decode or operation is not interrupted; the check bounds how far past the budget
    a render can run to one step.

Decoding
    Pillow's own decompression-bomb check (`Image.MAX_IMAGE_PIXELS`, an error above twice that)
    is aligned with MAX_SOURCE_PIXELS by `configure_pillow`: Pillow's default (~89 MP) would
    otherwise refuse sources the upload accepted. Inside `guard`, a source that Pillow cannot
    decode (truncated or corrupt pixel data that the header checks at upload cannot see, or a
    bomb) is a 400, not a 500.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import struct
import time

from PIL import Image

from chalicelib.errors import BadRequest, ServiceUnavailable

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("render_deadline", default=None)
_PIL_DIR = os.path.dirname(Image.__file__)
_DECODER_DIRS = (_PIL_DIR, os.path.join(os.path.dirname(_PIL_DIR), "pillow_heif"),
                 os.path.join(os.path.dirname(_PIL_DIR), "pillow_jxl"))


class RenderTimeout(ServiceUnavailable):
    """The render took longer than RENDER_TIMEOUT_SECONDS."""


def configure_pillow(max_source_pixels: int) -> None:
    """Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that: warn at our limit."""
    Image.MAX_IMAGE_PIXELS = max(1, int(max_source_pixels))


def check() -> None:
    """Raise RenderTimeout when the current render is over its budget (no-op outside `guard`)."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise RenderTimeout("The render took too long and was stopped; try again later or use a "
                            "smaller image or fewer operations.")


def remaining() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextlib.contextmanager
def guard(seconds: float | None):
    """The budget of one render; decode failures inside become 400s (see the module doc)."""
    outer = _deadline.get()
    deadline = None if not seconds else time.monotonic() + seconds
    if outer is not None:  # a nested render never extends the outer budget
        deadline = outer if deadline is None else min(outer, deadline)
    token = _deadline.set(deadline)
    try:
        yield
    except Image.DecompressionBombError:
        raise BadRequest("The source image has more pixels than this server decodes.") from None
    except RecursionError:  # e.g. an SVG nested thousands of levels deep
        raise BadRequest("The source image is nested too deeply to be rendered.") from None
    except (OSError, SyntaxError, EOFError, struct.error, ValueError, RuntimeError) as exc:
        if not _raised_while_decoding(exc):
            raise
        raise BadRequest("The source image cannot be decoded: it is corrupt or truncated.") from None
    finally:
        _deadline.reset(token)


# Pillow / pillow-heif functions that read a file (header, frames, pixel data).
_DECODING = frozenset({"open", "_open", "load", "load_prepare", "load_read", "load_end", "seek", "_seek", "data"})


def _raised_while_decoding(exc: BaseException) -> bool:
    """True when the error came out of Pillow (or pillow-heif) while it read the source: a
    corrupt file. Storage and network errors never pass through those frames, and encoder or
    operation errors (Pillow's save, resize arguments) keep their 500."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in _DECODING and code.co_filename.startswith(_DECODER_DIRS):
            return True
        tb = tb.tb_next
    return False
