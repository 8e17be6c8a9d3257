"""The one object every render step reads and writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from PIL import Image


@dataclass
class RenderContext:
    # The working image (one frame; animated sources run the operations once per frame).
    image: Image.Image
    # Validated stack options (defaults not filled in), e.g. {"dpr": 2, "jpg.quality": 50}.
    stack_options: dict = field(default_factory=dict)
    # Source image record fields usable by operations (hash, width, height, dynamic_metadata...).
    source: dict = field(default_factory=dict)
    # Size the image had before shrink-on-load (JPEG draft); the first resize computes its
    # target from it so that shrink-on-load never changes output dimensions.
    size_before_draft: tuple[int, int] | None = None
    # Free-form notes operations leave for later steps (e.g. "resized": True).
    notes: dict[str, Any] = field(default_factory=dict)
    # Access to other images of the same organization, for composition, face, text...
    # Each raises chalicelib.errors.NotFound / BadRequest on a bad reference.
    resources: "RenderResources | None" = None

    @property
    def dpr(self) -> float:
        return float(self.stack_options.get("dpr", 1) or 1)

    def logical_size(self) -> tuple[int, int]:
        """The size operations should reason about (pre-draft size until the first resize)."""
        return self.size_before_draft or self.image.size


class RenderResources:
    """What operations may load besides their own image; the render service provides it."""

    def __init__(self, load_image: Callable[[str], Image.Image],
                 load_bytes: Callable[[str], bytes],
                 render_stack: Callable[..., Image.Image],
                 on_source: Callable[[Image.Image], None] | None = None):
        # Another source image by hash or short hash: upright, mode RGB/RGBA/L/LA.
        self.load_image = load_image
        # The original bytes of another source image (e.g. a TrueType font uploaded as a source).
        self.load_bytes = load_bytes
        # The result of rendering another stack (name, variables[, image hash]) on this render's
        # source image or on the given one, as an image (composition's secondary_stack).
        self.render_stack = render_stack
        # Called once with the decoded source (after shrink-on-load) before the operations run.
        self.on_source = on_source
        # A kept decode of the source at the scale this render's shrink-on-load asks for:
        # `reduced_decode()` gives (image, size before the draft) or None, and a render that had
        # to decode passes its result to `keep_reduced_decode(image, before)` (reduced_decodes.py).
        self.reduced_decode: Callable[[], tuple | None] | None = None
        self.keep_reduced_decode: Callable[[Image.Image, tuple[int, int]], None] | None = None
