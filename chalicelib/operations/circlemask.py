"""circlemask: everything outside the largest centred circle becomes transparent."""
from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw

from chalicelib.operations.base import OperationSpec

# The circle is drawn oversampled and scaled down for a smooth edge, within about 16 Mpx.
_MAX_OVERSAMPLED = 4096


def _circle(diameter: int) -> Image.Image:
    factor = max(1, min(4, _MAX_OVERSAMPLED // diameter))
    big = Image.new("L", (diameter * factor,) * 2, 0)
    ImageDraw.Draw(big).ellipse((0, 0, diameter * factor - 1, diameter * factor - 1), fill=255)
    return big.resize((diameter, diameter), Image.Resampling.BOX)


def apply(ctx, opts: dict) -> None:
    image = ctx.image
    w, h = image.size
    diameter = min(w, h)
    mask = Image.new("L", (w, h), 0)
    mask.paste(_circle(diameter), ((w - diameter) // 2, (h - diameter) // 2))
    out = image if image.mode in ("RGBA", "LA") else image.convert(image.mode + "A")
    out.putalpha(ImageChops.multiply(out.getchannel("A"), mask))
    ctx.image = out


SPEC = OperationSpec(
    name="circlemask",
    options={},
    apply=apply,
    description="Makes everything outside the largest inscribed circle transparent.",
)
