"""trim: cut off borders that have the colour of the top-left pixel."""
from __future__ import annotations

from PIL import Image, ImageChops

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "fuzzy": Option("number", default=0, minimum=0, maximum=100,
                    description="Tolerance, in percent of the channel range, for what counts as background"),
}


def apply(ctx, opts: dict) -> None:
    image = ctx.image
    background = Image.new(image.mode, image.size, image.getpixel((0, 0)))
    bands = ImageChops.difference(image, background).split()
    # The largest difference over all bands (alpha included): any channel can make a pixel content.
    strongest = bands[0]
    for band in bands[1:]:
        strongest = ImageChops.lighter(strongest, band)
    threshold = opts["fuzzy"] * 255 / 100
    content = strongest.point(lambda v: 255 if v > threshold else 0)
    box = content.getbbox()
    # An image that is all background is left as it is rather than cut to nothing.
    if box and box != (0, 0, *image.size):
        ctx.image = image.crop(box)


SPEC = OperationSpec(
    name="trim",
    options=OPTIONS,
    apply=apply,
    description="Trims borders that have the background colour (the colour of the top-left pixel).",
)
