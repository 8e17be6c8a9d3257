"""Pixel work of a render: open with shrink-on-load, run the operations, encode.

Everything here receives already validated operations; nothing is parsed here.
"""
from __future__ import annotations

from PIL import Image

from chalicelib.errors import BadRequest
from chalicelib.operations import resize
from chalicelib.render import codecs
from chalicelib.render.context import RenderContext


def draft_size(operations: list, source_size: tuple[int, int], dpr: float) -> tuple[int, int] | None:
    """When the first operation is a resize, the size it will produce (for JPEG shrink-on-load)."""
    if not operations or operations[0][0].name != "resize":
        return None
    target = resize.target_size(source_size, operations[0][1], dpr)
    return target if target[0] < source_size[0] and target[1] < source_size[1] else None


def check_output_size(size: tuple[int, int], max_pixels: int) -> None:
    if size[0] * size[1] > max_pixels:
        raise BadRequest(f"The result would be {size[0]}x{size[1]} pixels, more than the limit of {max_pixels}.")


def process(data: bytes, source: dict, operations: list, options: dict, max_output_pixels: int,
            resources=None) -> Image.Image:
    """Decode the source and apply the operations in order; returns the working image."""
    dpr = float(options.get("dpr") or 1)
    for spec, opts in operations:  # refuse oversized results before touching pixels
        if spec.name == "resize":
            check_output_size(resize.target_size((source["width"], source["height"]), opts, dpr),
                              max_output_pixels)
    image, before = codecs.open_source(data, draft_size(operations, (source["width"], source["height"]), dpr))
    ctx = RenderContext(image=image, stack_options=options, source=source, size_before_draft=before,
                        resources=resources)
    for spec, opts in operations:
        spec.apply(ctx, opts)
        check_output_size(ctx.image.size, max_output_pixels)
    return ctx.image


def render_pixels(data: bytes, source: dict, operations: list, options: dict, fmt: str,
                  max_output_pixels: int, resources=None) -> bytes:
    """Decode, apply the operations, flatten if asked, encode to `fmt` with the stack options."""
    image = process(data, source, operations, options, max_output_pixels, resources)
    if options.get("transparency.color"):
        image = codecs.flatten(image, options["transparency.color"])
    return codecs.encode(image, fmt, options)
