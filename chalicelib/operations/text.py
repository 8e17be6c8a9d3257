"""text: write text onto the image with a TrueType/OpenType font uploaded as a source image.

* `font` is the font's hash; its original bytes are read with `ctx.resources.load_bytes`.
* Without `width` the text is one line per line of `text` (newlines break lines). With
  `width`, words wrap at that many pixels (a word longer than the width is broken) and
  `align` places each line in the width (left, centre/center, right).
* `height` makes a box: a text block that fits is centred vertically in it, a taller one is
  cut off at the bottom.
* `resize_to_box` with `width` and `height`: the font size becomes the largest one whose
  wrapped text fits the box (it may grow above or shrink below `size`). rokka's docs say "the
  whole text will always fit in that box"; their templates demo relies on it growing.
* `spacing` is added between lines (pixels, may be negative).
* The text block (or box) is turned clockwise by `angle` and placed on the image by `anchor`
  (crop-style; pixel offsets are not clamped: text reaching past the edges is cut off).
  The image keeps its size.
"""
from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw

from chalicelib.errors import BadRequest
from chalicelib.operations import _layers
from chalicelib.operations.base import HEX_COLOR, Option, OperationSpec

OPTIONS = {
    "font": Option("string", pattern=_layers.HASH, description="Hash of a TTF/OTF font uploaded as a source image"),
    "text": Option("string", description="The text to write; newlines start new lines"),
    "size": Option("number", default=16, minimum=1, maximum=1000, description="Font size in pixels"),
    "color": Option("string", default="000000", pattern=HEX_COLOR, description="Hex colour of the text"),
    "opacity": Option("integer", default=100, minimum=0, maximum=100,
                      description="Opacity of the text: 0 transparent, 100 opaque"),
    "angle": Option("number", default=0, minimum=-360, maximum=360, description="Turns the text clockwise by degrees"),
    "anchor": Option("string", default="center_center", pattern=_layers.ANCHOR,
                     description="Where to place the text (crop-style anchor)"),
    "width": Option("integer", minimum=1, maximum=10000, description="Wrap lines at this width, in pixels"),
    "height": Option("integer", minimum=1, maximum=10000,
                     description="Height of the text box; taller text is cut off"),
    "spacing": Option("number", default=0, minimum=-1000, maximum=1000, description="Extra pixels between lines"),
    "align": Option("string", default="left", values=("left", "centre", "center", "right"),
                    description="Alignment of the lines within width"),
    "resize_to_box": Option("boolean", default=False,
                            description="Choose the font size so that the text fits width x height"),
}


def apply(ctx, opts: dict) -> None:
    text = opts["text"].replace("\r\n", "\n")
    if not text.strip():
        return
    if ctx.resources is None:
        raise BadRequest(f"text: the font {opts['font']} cannot be loaded in this render.")
    data = ctx.resources.load_bytes(opts["font"])
    width, height, spacing = opts.get("width"), opts.get("height"), opts["spacing"]

    if opts["resize_to_box"] and width and height:
        font, lines = _fitted(data, text, width, height, spacing)
    else:
        font = _font(data, opts["size"])
        lines = _wrapped(font, text, width)
    mask = _draw(font, lines, width, height, spacing, opts["align"])

    layer = Image.new("RGBA", mask.size, (*_layers.rgb(opts["color"]), 0))
    layer.putalpha(mask)
    layer = _layers.rotated(_layers.with_opacity(layer, opts["opacity"]), opts["angle"])
    image = ctx.image
    xy = _layers.anchor_xy(opts["anchor"], layer.size, image.size, clamp=False)
    ctx.image = _layers.finish(_layers.over(_layers.rgba(image), layer, xy), _layers.has_alpha(image))


def _font(data: bytes, size: float):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(io.BytesIO(data), size)
    except OSError:
        raise BadRequest("text: the font is not a TrueType or OpenType font.") from None


def _line_height(font) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def _wrapped(font, text: str, width: int | None) -> list[str]:
    """The lines of `text`, wrapped at `width` pixels when given."""
    if not width:
        return text.split("\n")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and font.getlength(word) > width:  # break a word wider than the box
                cut = _longest_prefix(font, word, width)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _longest_prefix(font, word: str, width: int) -> int:
    """How many characters of `word` fit in `width` pixels (at least one)."""
    low, high = 1, len(word) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if font.getlength(word[:mid]) <= width:
            low = mid
        else:
            high = mid - 1
    return low


def _block_height(font, lines: list[str], spacing: float) -> float:
    return len(lines) * _line_height(font) + (len(lines) - 1) * spacing


def _fitted(data: bytes, text: str, width: int, height: int, spacing: float):
    """The largest font (in whole pixels) whose wrapped text fits width x height, and its lines."""
    def fits(size):
        font = _font(data, size)
        lines = _wrapped(font, text, width)
        ok = _block_height(font, lines, spacing) <= height and all(font.getlength(line) <= width for line in lines)
        return ok, font, lines

    low, high = 1, max(1, 2 * height)
    best = fits(1)
    while low < high:  # largest size that fits; size 1 is used even if it does not
        mid = (low + high + 1) // 2
        result = fits(mid)
        if result[0]:
            low, best = mid, result
        else:
            high = mid - 1
    return best[1], best[2]


def _draw(font, lines: list[str], width: int | None, height: int | None, spacing: float,
          align: str) -> Image.Image:
    """The text as an "L" mask: the width x height box, or the text's own extent."""
    lengths = [font.getlength(line) for line in lines]
    block_w = width or max(1, math.ceil(max(lengths)))
    block_h = _block_height(font, lines, spacing)
    box_h = height or max(1, math.ceil(block_h))
    _layers.check_layer_size((block_w, box_h), "text")
    top = (box_h - block_h) / 2 if block_h <= box_h else 0  # centred if it fits, else cut at the bottom
    mask = Image.new("L", (block_w, box_h), 0)
    draw = ImageDraw.Draw(mask)
    step = _line_height(font) + spacing
    for i, (line, length) in enumerate(zip(lines, lengths)):
        free = block_w - length
        x = {"left": 0, "right": free}.get(align, free / 2)
        draw.text((x, top + i * step), line, font=font, fill=255)
    return mask


SPEC = OperationSpec(
    name="text",
    options=OPTIONS,
    apply=apply,
    required=("font", "text"),
    description="Writes text with an uploaded TrueType font, optionally wrapped, boxed, turned and faded.",
)
