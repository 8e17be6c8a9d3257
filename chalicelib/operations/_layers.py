"""Shared helpers for the operations that draw a layer onto the image.

composition, dropshadow, face and text all build an RGBA layer, place it by a crop-style
anchor and blend it with Porter-Duff "over". Not an operation (the leading underscore keeps
the registry away).
"""
from __future__ import annotations

import re

from PIL import Image

from chalicelib.errors import BadRequest
from chalicelib.operations import crop
from chalicelib.limits import MAX_LAYER_PIXELS

# Options that name another image (secondary_image, font, frames) take its hash or short hash.
HASH = r"^[0-9a-f]{6,40}$"
ANCHOR = crop.ANCHOR

# A layer bigger than this is refused before it is allocated (a 1000 px font on a long text...).


def rgb(hex_color: str) -> tuple[int, int, int]:
    r, g, b = bytes.fromhex(hex_color)
    return r, g, b


def rgba(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGBA" else image.convert("RGBA")


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def check_layer_size(size: tuple[int, int], what: str) -> None:
    if size[0] * size[1] > MAX_LAYER_PIXELS:
        raise BadRequest(f"The {what} would be {size[0]}x{size[1]} pixels, more than the limit of "
                         f"{MAX_LAYER_PIXELS}.")


def with_opacity(layer: Image.Image, opacity: float) -> Image.Image:
    """`layer` (RGBA) with its alpha multiplied by `opacity` percent."""
    if opacity >= 100:
        return layer
    factor = max(0.0, opacity) / 100
    out = layer.copy()
    out.putalpha(layer.getchannel("A").point([round(v * factor) for v in range(256)]))
    return out


def rotated(layer: Image.Image, angle: float) -> Image.Image:
    """`layer` (RGBA) turned clockwise by `angle` degrees on a grown, transparent canvas."""
    angle = angle % 360
    if angle == 0:
        return layer
    quarter = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
               270: Image.Transpose.ROTATE_90}
    if angle in quarter:
        return layer.transpose(quarter[angle])
    # Pillow turns counter-clockwise (and premultiplies RGBA itself while resampling).
    return layer.rotate(-angle, resample=Image.Resampling.BICUBIC, expand=True)


def position(anchor: str) -> str:
    """A crop-style anchor as `X_Y`; the automatic anchors (auto, smart, face, subjectarea,
    croparea) have no area to look at here and mean center_center."""
    return crop._position(re.search(ANCHOR, anchor).group(0), "center_center")


def anchor_xy(anchor: str, layer: tuple[int, int], canvas: tuple[int, int],
              clamp: bool = True) -> tuple[int, int]:
    """Top-left corner of a `layer` placed on a `canvas` by a crop-style anchor.

    Named positions (left/center/right, top/center/bottom) align the layer with the canvas;
    pixel offsets are the layer's top-left corner, kept inside the canvas like crop does when
    `clamp` is set (otherwise the layer may reach past the edges and be clipped).
    """
    named = position(anchor)
    if clamp:
        return crop._placed(named, layer, canvas)
    x_token, y_token = re.split(r"[_-]", named)
    return (_free_offset(x_token, canvas[0] - layer[0], "left", "right"),
            _free_offset(y_token, canvas[1] - layer[1], "top", "bottom"))


def _free_offset(token: str, free: int, start: str, end: str) -> int:
    if token.isdigit():
        return int(token)
    return {start: 0, "center": free // 2, end: free}[token]


def over(base: Image.Image, layer: Image.Image, xy: tuple[int, int]) -> Image.Image:
    """`layer` blended over `base` (both RGBA) with its corner at `xy`, clipped to `base`.

    Returns a new image; `xy` may be negative or reach past the edges.
    """
    x, y = xy
    left, top = max(0, x), max(0, y)
    right, bottom = min(base.width, x + layer.width), min(base.height, y + layer.height)
    out = base.copy()
    if right <= left or bottom <= top:
        return out
    part = layer.crop((left - x, top - y, right - x, bottom - y))
    out.alpha_composite(part, (left, top))
    return out


def finish(image: Image.Image, keep_alpha: bool) -> Image.Image:
    """An RGBA result as RGB when it needs no alpha channel (opaque and `keep_alpha` unset)."""
    if keep_alpha or image.getchannel("A").getextrema()[0] < 255:
        return image
    return image.convert("RGB")


def load_image(ctx, ref: str, what: str) -> Image.Image:
    if ctx.resources is None:
        raise BadRequest(f"{what} {ref} cannot be loaded in this render.")
    return ctx.resources.load_image(ref)
