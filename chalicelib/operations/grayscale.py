"""grayscale: drop the colour, keep any alpha channel."""
from __future__ import annotations

from chalicelib.operations.base import OperationSpec

# L and LA are already gray; the encoders accept both, so no need to go back to RGB.
_GRAY = {"RGB": "L", "RGBA": "LA"}


def apply(ctx, opts: dict) -> None:
    target = _GRAY.get(ctx.image.mode)
    if target:
        ctx.image = ctx.image.convert(target)


SPEC = OperationSpec(
    name="grayscale",
    options={},
    apply=apply,
    description="Converts the image to grayscale.",
)
