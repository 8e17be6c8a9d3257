"""sharpen: libvips' sharpen parameters, approximated with Pillow's unsharp mask."""
from __future__ import annotations

from PIL import ImageFilter

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "m1": Option("number", default=0.4, minimum=0, description="Slope for flat areas (libvips)"),
    "m2": Option("number", default=0.8, minimum=0, description="Slope for jaggy areas (libvips)"),
    "sigma": Option("number", default=0.7, minimum=0, description="Sigma of the Gaussian"),
    "x1": Option("number", default=2.0, minimum=0, description="Flat/jaggy threshold"),
    "y2": Option("number", default=10.0, minimum=0, description="Maximum amount of brightening"),
    "y3": Option("number", default=20.0, minimum=0, description="Maximum amount of darkening"),
}


def apply(ctx, opts: dict) -> None:
    # libvips sharpens edges ("jaggy" areas) with slope m2 of a Gaussian of this sigma;
    # an unsharp mask with that radius and strength is the nearest Pillow has.
    # m1, x1, y2 and y3 have no Pillow counterpart and are accepted only.
    sigma, strength = opts["sigma"], opts["m2"]
    if sigma <= 0 or strength <= 0:
        return
    image = ctx.image
    has_alpha = image.mode in ("RGBA", "LA")
    colour = image.convert(image.mode[:-1]) if has_alpha else image
    sharp = colour.filter(ImageFilter.UnsharpMask(radius=sigma, percent=round(strength * 100), threshold=0))
    if has_alpha:
        sharp.putalpha(image.getchannel("A"))  # sharpening the alpha would fringe the edges
    ctx.image = sharp


SPEC = OperationSpec(
    name="sharpen",
    options=OPTIONS,
    apply=apply,
    description="Sharpens the image (libvips sharpen parameters).",
)
