"""dropshadow: a blurred, coloured copy of the image's silhouette underneath it.

The shadow is the image's alpha (a rectangle for opaque images) in `color`, scaled by
`opacity`, moved by `horizontal`/`vertical` pixels and blurred with a Gaussian of `sigma`.
It spreads `blur_radius` pixels beyond the silhouette, or 2 x sigma when blur_radius is 0
(ImageMagick's -shadow margin); the blur is cut off there. The canvas grows to hold the image
and the whole shadow, and the result always has an alpha channel (RGBA).

The docs give opacity a default of 0 (an invisible shadow); rokka's 2019 schema said 100.
"""
from __future__ import annotations

import math

from PIL import Image, ImageFilter

from chalicelib.operations import _layers
from chalicelib.operations.base import HEX_COLOR, Option, OperationSpec

OPTIONS = {
    "horizontal": Option("integer", default=0, minimum=-100, maximum=100,
                         description="Horizontal offset of the shadow, in pixels (negative: to the left)"),
    "vertical": Option("integer", default=0, minimum=-100, maximum=100,
                       description="Vertical offset of the shadow, in pixels (negative: upwards)"),
    "opacity": Option("integer", default=0, minimum=0, maximum=100,
                      description="Opacity of the shadow: 0 transparent, 100 opaque"),
    "sigma": Option("number", default=0.5, minimum=0, maximum=10000,
                    description="Fuzziness (Gaussian sigma) of the shadow, in pixels"),
    "blur_radius": Option("number", default=0, minimum=0, maximum=10000,
                          description="How far the shadow spreads beyond the image, in pixels; "
                                      "0 means 2 x sigma"),
    "color": Option("string", default="000000", pattern=HEX_COLOR, description="Hex colour of the shadow"),
}


def margin(sigma: float, blur_radius: float) -> int:
    """How many pixels the shadow reaches beyond the silhouette on every side."""
    return math.ceil(blur_radius) if blur_radius > 0 else math.ceil(2 * sigma)


def apply(ctx, opts: dict) -> None:
    image = _layers.rgba(ctx.image)
    w, h = image.size
    dx, dy = opts["horizontal"], opts["vertical"]
    m = margin(opts["sigma"], opts["blur_radius"])
    # Shadow box relative to the image's top-left corner, and the canvas holding both.
    sx, sy = dx - m, dy - m
    left, top = min(0, sx), min(0, sy)
    right, bottom = max(w, sx + w + 2 * m), max(h, sy + h + 2 * m)
    _layers.check_layer_size((right - left, bottom - top), "dropshadow")

    silhouette = Image.new("L", (w + 2 * m, h + 2 * m), 0)
    silhouette.paste(image.getchannel("A"), (m, m))
    if opts["sigma"] > 0:
        silhouette = silhouette.filter(ImageFilter.GaussianBlur(opts["sigma"]))
    factor = opts["opacity"] / 100
    shadow = Image.new("RGBA", silhouette.size, (*_layers.rgb(opts["color"]), 0))
    shadow.putalpha(silhouette.point([round(v * factor) for v in range(256)]))

    canvas = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    canvas.alpha_composite(shadow, (sx - left, sy - top))
    canvas.alpha_composite(image, (-left, -top))
    ctx.image = canvas


SPEC = OperationSpec(
    name="dropshadow",
    options=OPTIONS,
    apply=apply,
    description="Adds a drop shadow; the canvas grows to hold it and the result has an alpha channel.",
)
