"""Small image builders and assertions for operation tests; every image is made in code."""
from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageDraw, ImageStat

from chalicelib.operations import registry
from chalicelib.render.context import RenderContext

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


def make_gradient(w: int, h: int) -> Image.Image:
    """RGB: red grows left to right, green top to bottom, blue is constant 128."""
    im = Image.new("RGB", (w, h))
    im.putdata([(x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), 128) for y in range(h) for x in range(w)])
    return im


def make_quadrants(w: int, h: int, colors=(RED, GREEN, BLUE, YELLOW), mode: str = "RGB") -> Image.Image:
    """Four solid quadrants: top-left, top-right, bottom-left, bottom-right."""
    im = Image.new(mode, (w, h))
    draw = ImageDraw.Draw(im)
    cx, cy = w // 2, h // 2
    boxes = ((0, 0, cx - 1, cy - 1), (cx, 0, w - 1, cy - 1), (0, cy, cx - 1, h - 1), (cx, cy, w - 1, h - 1))
    for box, color in zip(boxes, colors):
        draw.rectangle(box, fill=color)
    return im


def make_framed(w: int, h: int, border: int, inner=RED, outer=WHITE, mode: str = "RGB") -> Image.Image:
    """A solid rectangle inside a solid frame `border` pixels wide."""
    im = Image.new(mode, (w, h), outer)
    ImageDraw.Draw(im).rectangle((border, border, w - border - 1, h - border - 1), fill=inner)
    return im


def run(name: str, image: Image.Image, source: dict | None = None, stack_options: dict | None = None,
        **options) -> Image.Image:
    """Validate `options` like a stack would, fill the defaults, apply the operation, return the image."""
    spec = registry.get(name)
    ctx = RenderContext(image=image, source=source or {}, stack_options=stack_options or {})
    spec.apply(ctx, spec.with_defaults(spec.validate(options)))
    return ctx.image


def assert_size(im: Image.Image, w: int, h: int) -> None:
    assert im.size == (w, h), f"size {im.size} != {(w, h)}"


def assert_pixel_close(im: Image.Image, xy, expected, tol: int = 2) -> None:
    """Compare one pixel as RGBA; `expected` may be gray, RGB (alpha not checked) or RGBA."""
    actual = im.convert("RGBA").getpixel(xy)
    if isinstance(expected, int):
        expected = (expected,) * 3
    for a, e in zip(actual, expected):
        assert abs(a - e) <= tol, f"pixel {xy}: {actual} is not within {tol} of {expected}"


def similarity(a: Image.Image, b: Image.Image) -> float:
    """1.0 for identical RGBA pixels, 0.0 for opposite ones (mean absolute difference)."""
    assert a.size == b.size, f"sizes differ: {a.size} != {b.size}"
    diff = ImageChops.difference(a.convert("RGBA"), b.convert("RGBA"))
    return 1 - sum(ImageStat.Stat(diff).mean) / (4 * 255)


def saved(im: Image.Image, fmt: str, **kw) -> bytes:
    """`im` encoded as Pillow format `fmt` (HEIF through pillow-heif)."""
    if fmt == "HEIF":
        from chalicelib.render import codecs
        codecs.register_heif()
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()
