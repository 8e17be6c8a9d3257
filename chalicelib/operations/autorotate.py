"""autorotate: EXIF orientation, plus turning the image to match a box's orientation."""
from __future__ import annotations

from PIL import Image

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "width": Option("integer", minimum=1, maximum=10000, description="Width of the box to match"),
    "height": Option("integer", minimum=1, maximum=10000, description="Height of the box to match"),
    "rotation_direction": Option("string", default="clockwise", values=("clockwise", "counterclockwise"),
                                 description="Direction of the quarter turn when width and height are given"),
}

_TURN = {"clockwise": Image.Transpose.ROTATE_270, "counterclockwise": Image.Transpose.ROTATE_90}


def apply(ctx, opts: dict) -> None:
    # The loader already applies the EXIF orientation, so only the box rule is left here.
    box_w, box_h = opts.get("width"), opts.get("height")
    if not (box_w and box_h):
        return
    w, h = ctx.image.size
    # A square box or a square image has no orientation to match.
    if box_w == box_h or w == h or (box_w > box_h) == (w > h):
        return
    ctx.image = ctx.image.transpose(_TURN[opts["rotation_direction"]])


SPEC = OperationSpec(
    name="autorotate",
    options=OPTIONS,
    apply=apply,
    description="Rotates according to EXIF; with width and height, turns the image to the box's orientation.",
)
