"""rotate: clockwise by any angle, the uncovered corners filled with the background colour."""
from __future__ import annotations

from PIL import Image

from chalicelib.operations.base import HEX_COLOR, Option, OperationSpec

OPTIONS = {
    "angle": Option("number", minimum=-360, maximum=360,
                    description="Degrees clockwise; negative values turn counter-clockwise"),
    "background_color": Option("string", default="FFFFFF", pattern=HEX_COLOR,
                               description="Hex colour of the uncovered corners"),
    "background_opacity": Option("number", default=0, minimum=0, maximum=100,
                                 description="Opacity of the corners: 0 transparent, 100 opaque"),
}

# Clockwise quarter turns; Pillow's ROTATE_* constants turn counter-clockwise.
_QUARTER_TURNS = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def _fill(mode: str, hex_color: str, alpha: int):
    r, g, b = bytes.fromhex(hex_color)
    gray = round(r * 0.299 + g * 0.587 + b * 0.114)  # same weights as Pillow's RGB -> L
    return {"RGB": (r, g, b), "RGBA": (r, g, b, alpha), "L": gray, "LA": (gray, alpha)}[mode]


def apply(ctx, opts: dict) -> None:
    angle = opts["angle"] % 360
    if angle == 0:
        return
    if angle in _QUARTER_TURNS:
        # Exact pixel shuffle: no resampling and no corners to fill.
        ctx.image = ctx.image.transpose(_QUARTER_TURNS[angle])
        return
    image = ctx.image
    opacity = opts["background_opacity"]
    if opacity < 100 and image.mode in ("RGB", "L"):
        image = image.convert(image.mode + "A")  # see-through corners need an alpha channel
    fill = _fill(image.mode, opts["background_color"], round(opacity * 255 / 100))
    # Pillow turns counter-clockwise, rokka clockwise.
    ctx.image = image.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)


SPEC = OperationSpec(
    name="rotate",
    options=OPTIONS,
    apply=apply,
    required=("angle",),
    description="Rotates the image clockwise; the canvas grows to hold the whole image.",
)
