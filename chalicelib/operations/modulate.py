"""modulate: brightness and saturation in percent, hue rotation in degrees."""
from __future__ import annotations

from PIL import Image

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "brightness": Option("integer", default=100, minimum=0, maximum=500,
                         description="Percent; a linear multiplier (0 black, 100 unchanged)"),
    "saturation": Option("integer", default=100, minimum=0, maximum=500,
                         description="Percent (0 no colour, 100 unchanged)"),
    "hue": Option("integer", default=0, minimum=0, maximum=360,
                  description="Degrees to turn the hue on the colour wheel"),
}


def _scale(factor: float) -> list[int]:
    return [min(255, round(v * factor)) for v in range(256)]


def apply(ctx, opts: dict) -> None:
    image = ctx.image
    brightness, saturation = opts["brightness"] / 100, opts["saturation"] / 100
    hue = opts["hue"] % 360
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    colour = image.convert("L" if image.mode in ("L", "LA") else "RGB")
    if colour.mode == "RGB" and hue:
        # Turn the hue in HSV (8-bit hue: 256 steps per full turn), keeping saturation and value.
        h, s, v = colour.convert("HSV").split()
        shift = round(hue * 256 / 360)
        colour = Image.merge("HSV", (h.point([(x + shift) % 256 for x in range(256)]), s, v)).convert("RGB")
    if colour.mode == "RGB" and saturation != 1:
        # Move away from (or towards) the pixel's own gray, which keeps its lightness; 0 is gray.
        colour = Image.blend(colour.convert("L").convert("RGB"), colour, saturation)
    if brightness != 1:
        colour = colour.point(_scale(brightness) * len(colour.getbands()))
    if alpha is not None:
        colour.putalpha(alpha)
    ctx.image = colour


SPEC = OperationSpec(
    name="modulate",
    options=OPTIONS,
    apply=apply,
    description="Changes brightness, saturation and hue.",
)
