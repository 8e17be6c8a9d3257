"""blur: Gaussian blur with a given sigma."""
from __future__ import annotations

from PIL import ImageFilter

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "sigma": Option("number", default=4, minimum=0, maximum=100,
                    description="Standard deviation of the Gaussian, in pixels"),
    "radius": Option("integer", default=0, minimum=0, maximum=500,
                     description="Deprecated; accepted and ignored (sigma controls the blur)"),
}

# Blurring premultiplied keeps the hidden colour of transparent pixels out of the edges.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def apply(ctx, opts: dict) -> None:
    sigma = opts["sigma"]
    if sigma <= 0:
        return
    image = ctx.image
    work_mode = _PREMULTIPLIED.get(image.mode, image.mode)
    # Pillow's GaussianBlur radius is the standard deviation, i.e. sigma.
    blurred = image.convert(work_mode).filter(ImageFilter.GaussianBlur(sigma))
    ctx.image = blurred.convert(image.mode)


SPEC = OperationSpec(
    name="blur",
    options=OPTIONS,
    apply=apply,
    description="Blurs the entire image.",
)
