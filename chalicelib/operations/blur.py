"""blur: Gaussian blur with a given sigma.

Large sigmas are blurred at a reduced scale (`_blur_reduced`): a Gaussian of sigma >= k leaves
almost nothing above 1/(2k) cycles per pixel, so the image is box-reduced by k (a power of two
with sigma/k >= 1), blurred there with the sigma that remains once the reduction's and the
scale-up's own spread are taken off, and scaled back with bilinear interpolation. The reduced
image gets a border made of the image's edge rows and columns (reduced along the edge), so the
borders behave like the full-size blur's (edge pixels extended) instead of being extrapolated
flat by the scale-up. Measured on the benchmark's 1920x1080 photo at sigma 4 against an exact
(float, untruncated) Gaussian: mean error 0.67 levels, 99.9th percentile 2.9, maximum 8.7, in
~20 ms of CPU; Pillow's full-size GaussianBlur: mean 0.33, 99.9 % 1.6, maximum 12.3 (at the
bottom row), ~77 ms; libvips' gaussblur (integer precision, the benchmark's reference): mean 0.86,
99.9 % 4.8, maximum 8.9. Small images and sigmas below 2 take Pillow's full-size blur.

Shrink-on-load: when a stack starts with a reduced-scale blur, a JPEG source is decoded at the DCT
scale of the reduction (`draft_size`, as for a first resize), which takes the place of the box
reduction: on the benchmark's photo the decode takes ~5 instead of ~10 ms and the reduce (~2 ms)
goes, at the same distance from Pillow's full-size blur (mean 0.71 levels; the box path 0.69).
Against the blur of the image before it was a JPEG it is closer than the full decode's (a 4:2:0
decode at full size clips the chroma's overshoot pixel by pixel: tests/operations/test_blur.py).
The border then repeats the drafted image's edge rows and columns.
"""
from __future__ import annotations

import math

from PIL import Image, ImageFilter

from chalicelib.operations.base import Option, OperationSpec
from chalicelib.render import jpeg_load

OPTIONS = {
    "sigma": Option("number", default=4, minimum=0, maximum=100,
                    description="Standard deviation of the Gaussian, in pixels"),
    "radius": Option("integer", default=0, minimum=0, maximum=500,
                     description="Deprecated; accepted and ignored (sigma controls the blur)"),
}

# Blurring premultiplied keeps the hidden colour of transparent pixels out of the edges.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
# The reduced-scale blur: sigma / k stays >= REDUCED_MIN_SIGMA (k a power of two), and only for
# images of at least REDUCED_MIN_PIXELS whose reduced copy keeps REDUCED_MIN_EDGE pixels a side.
REDUCED_MIN_SIGMA = 1.0
REDUCED_MIN_PIXELS = 250_000
REDUCED_MIN_EDGE = 32
_REDUCED_MODES = ("RGB", "RGBa", "L", "La")


def apply(ctx, opts: dict) -> None:
    sigma = opts["sigma"]
    image, size = ctx.image, ctx.logical_size()
    ctx.size_before_draft = None
    if sigma <= 0:  # never drafted: draft_size is None
        return
    work_mode = _PREMULTIPLIED.get(image.mode, image.mode)
    work = image if work_mode == image.mode else image.convert(work_mode)
    factor = reduction(size, sigma) if work.mode in _REDUCED_MODES else 1
    scale = _draft_scale(size, work.size)
    if scale is None or scale > factor:  # not the decode draft_size asked for: back to full size
        work, scale = work.resize(size, Image.Resampling.LANCZOS), 1
    if factor > 1:
        blurred = _blur_reduced(work, sigma, factor, size, scale)
    else:
        # Pillow's GaussianBlur radius is the standard deviation, i.e. sigma.
        blurred = work.filter(ImageFilter.GaussianBlur(sigma))
    ctx.image = blurred if blurred.mode == image.mode else blurred.convert(image.mode)


def draft_size(source_size: tuple[int, int], opts: dict) -> tuple[int, int] | None:
    """The size a JPEG source may be decoded at when the stack starts with this blur (the
    reduced scale it works at), or None."""
    factor = reduction(source_size, opts["sigma"]) if opts["sigma"] > 0 else 1
    if factor == 1:
        return None
    return jpeg_load.scaled(source_size, 1, factor)


def _draft_scale(size: tuple[int, int], decoded: tuple[int, int]) -> int | None:
    """How many times smaller than `size` a drafted decode is: 1, or the DCT scale's
    denominator 2, 4 or 8 (libjpeg rounds the scaled size up); None for anything else."""
    for scale in (1, 2, 4, 8):
        if decoded == jpeg_load.scaled(size, 1, scale):
            return scale
    return None


def reduction(size: tuple[int, int], sigma: float) -> int:
    """The scale factor the blur runs at (1: full size)."""
    width, height = size
    if width * height < REDUCED_MIN_PIXELS:
        return 1
    factor = 1
    while (sigma / (factor * 2) >= REDUCED_MIN_SIGMA
           and min(width, height) // (factor * 2) >= REDUCED_MIN_EDGE):
        factor *= 2
    return factor


def _blur_reduced(image: Image.Image, sigma: float, k: int, size: tuple[int, int], scale: int = 1) -> Image.Image:
    """`image` is `size` decoded at 1/scale (scale <= k, both powers of two)."""
    width, height = size
    pad = 2  # reduced pixels of border: the bilinear scale-up never reads past them
    rest = k // scale
    small = _padded(image, image.reduce(rest) if rest > 1 else image, rest, pad)
    # Spread (variance, in full-size pixels²) the k×k box and the bilinear scale-up add.
    box = (k * k - 1) / 12
    offsets = [((i + 0.5) / k - 0.5) % 1 for i in range(k)]
    bilinear = k * sum(p * (1 - p) for p in offsets)
    remaining = math.sqrt(max(sigma * sigma - box - bilinear, 0.25 * k * k)) / k
    small = small.filter(ImageFilter.GaussianBlur(remaining))
    return small.resize((width, height), Image.Resampling.BILINEAR,
                        box=(pad, pad, pad + width / k, pad + height / k))


def _padded(image: Image.Image, small: Image.Image, k: int, pad: int) -> Image.Image:
    """`small` (image reduced by k) inside a border of `pad` pixels: what reducing `image`
    with its edge pixels repeated outwards would give. Each border strip is the image's edge
    row (column) reduced by k along it, repeated: no full-size copy is made."""
    width, height = image.size
    sw, sh = small.size
    out = Image.new(small.mode, (sw + 2 * pad, sh + 2 * pad), None)  # every pixel is pasted over
    out.paste(small, (pad, pad))
    nearest = Image.Resampling.NEAREST
    for box, at in (((0, 0, width, 1), (pad, 0)), ((0, height - 1, width, height), (pad, pad + sh))):
        row = image.crop(box).reduce((k, 1))
        out.paste(row.resize((sw, pad), nearest), at)
    for edge_x, at_x in ((0, 0), (width - 1, pad + sw)):
        column = image.crop((edge_x, 0, edge_x + 1, height)).reduce((1, k))
        column = column.crop((0, -pad, 1, sh + pad))  # its ends: the corner pixels, repeated
        column.paste(image.getpixel((edge_x, 0)), (0, 0, 1, pad))
        column.paste(image.getpixel((edge_x, height - 1)), (0, pad + sh, 1, 2 * pad + sh))
        out.paste(column.resize((pad, sh + 2 * pad), nearest), (at_x, 0))
    return out


SPEC = OperationSpec(
    name="blur",
    options=OPTIONS,
    apply=apply,
    description="Blurs the entire image.",
)
