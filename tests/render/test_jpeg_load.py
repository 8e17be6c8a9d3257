"""JPEG shrink-on-load (the DCT scale, including libjpeg's 3/8; for a first resize or blur) and
crop-on-load (top rows only)."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from chalicelib.render import codecs, jpeg_load, pipeline
from chalicelib.operations import registry
from tests.image_helpers import run, saved


def photo_like(w: int, h: int, mode: str = "RGB") -> Image.Image:
    """Smooth gradients with hard edges and fine lines: what a DCT scale must keep apart."""
    red = Image.linear_gradient("L").resize((w, h))
    green = Image.radial_gradient("L").resize((w, h))
    blue = red.transpose(Image.Transpose.ROTATE_90).resize((w, h))
    im = Image.merge("RGB", (red, green, blue))
    draw = ImageDraw.Draw(im)
    for i in range(0, w, max(4, w // 40)):
        draw.line((i, 0, w - i, h), fill=(255, 255, 255), width=1)
    draw.rectangle((w // 5, h // 5, w // 2, h // 2), fill=(200, 30, 40))
    return im.convert(mode)


def psnr(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, f"sizes differ: {a.size} != {b.size}"
    diff = np.asarray(a.convert("RGB"), dtype=float) - np.asarray(b.convert("RGB"), dtype=float)
    return 10 * math.log10(255 ** 2 / max((diff ** 2).mean(), 1e-9))


def reference(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The full decode, LANCZOS-resized to `size`: what a reduced decode must look like."""
    return Image.open(io.BytesIO(data)).convert("RGB").resize(size, Image.Resampling.LANCZOS)


@pytest.mark.parametrize("source, request_size, decoded", [
    ((800, 600), (240, 180), (300, 225)),  # 3/8: 1/4 (200 px) would not cover 240
    ((800, 600), (300, 225), (300, 225)),  # 3/8 covers exactly
    ((800, 600), (301, 226), (400, 300)),  # just above 3/8: 1/2
    ((800, 600), (200, 150), (200, 150)),  # 1/4 is smaller than 3/8 and covers
    ((800, 600), (90, 68), (100, 75)),     # 1/8
    ((800, 600), (500, 375), (800, 600)),  # less than a 2x downscale: no DCT scaling
    ((1001, 751), (300, 200), (376, 282)),  # odd sizes: libjpeg rounds 3/8 up
])
def test_decodes_at_the_smallest_dct_scale_that_covers_the_request(source, request_size, decoded):
    data = saved(photo_like(*source), "JPEG", quality=92)
    im = Image.open(io.BytesIO(data))
    jpeg_load.draft(im, "RGB", request_size)
    im.load()
    assert im.size == decoded == jpeg_load.decoded_size(source, request_size)
    assert jpeg_load.decoded_size(source[::-1], request_size[::-1]) == decoded[::-1]
    # > 28 dB: with odd sizes the last decoded pixel covers part of a block, so the grid drifts
    # by up to half a pixel against the reference (1/2 does the same: 28.4 dB for 1001x751)
    assert psnr(im, reference(data, decoded)) > 28


@pytest.mark.parametrize("mode, kw", [("RGB", {"progressive": True}), ("L", {}), ("CMYK", {}),
                                      ("RGB", {"subsampling": 0})])
def test_three_eighths_scale_for_progressive_grey_cmyk_and_444(mode, kw):
    data = saved(photo_like(640, 480, mode), "JPEG", quality=92, **kw)
    image, before = codecs.open_source(data, (200, 150))
    assert image.size == (240, 180) and before == (640, 480)
    assert psnr(image, reference(data, (240, 180))) > 30
    right_edge = (image.width - 1, 0, image.width, image.height)  # libjpeg's rounding, not garbage
    assert psnr(image.crop(right_edge), reference(data, (240, 180)).crop(right_edge)) > 25


def test_three_eighths_scale_of_a_rotated_jpeg_is_upright():
    upright = photo_like(800, 600)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: the upright image is the stored one turned 90 degrees clockwise
    data = saved(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif)
    image, before = codecs.open_source(data, (240, 180))
    assert image.size == (300, 225) and before == (800, 600)
    assert psnr(image, upright.resize((300, 225), Image.Resampling.LANCZOS)) > 28


def test_a_truncated_jpeg_fails_at_three_eighths_too():
    data = saved(photo_like(800, 600), "JPEG", quality=92)
    image, _ = codecs.open_source(data[:len(data) // 2], (240, 180))
    with pytest.raises(OSError):
        image.load()


def test_a_render_resizes_from_the_three_eighths_decode():
    data = saved(photo_like(800, 600), "JPEG", quality=92)
    source = {"width": 800, "height": 600, "format": "jpg"}
    operations = [(registry.get("resize"), {"width": 250})]
    assert pipeline.draft_size(operations, (800, 600), 1.0) == (250, 188)
    body, fmt = pipeline.render_pixels(data, source, operations, {}, "png", 10 ** 8)
    out = Image.open(io.BytesIO(body))
    assert fmt == "png" and out.size == (250, 188)
    assert psnr(out, reference(data, (250, 188))) > 35


def test_a_render_that_starts_with_a_blur_decodes_a_rotated_jpeg_at_the_blur_scale(monkeypatch):
    upright = photo_like(1024, 768)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = saved(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif)
    requests = []
    monkeypatch.setattr(jpeg_load, "draft", lambda im, mode, request, real=jpeg_load.draft: (
        requests.append(request), real(im, mode, request)))
    source = {"width": 1024, "height": 768, "format": "jpg"}
    operations = [(registry.get("blur"), {"sigma": 4, "radius": 0})]
    body, _ = pipeline.render_pixels(data, source, operations, {}, "png", 10 ** 8)
    out = Image.open(io.BytesIO(body))
    assert requests == [(192, 256)]  # 1/4 of the stored (sideways) size
    assert out.size == (1024, 768)
    assert psnr(out, run("blur", codecs.open_source(data)[0], sigma=4)) > 35


@pytest.mark.parametrize("kw", [{}, {"progressive": True}])
def test_top_rows_are_the_rows_of_the_full_decode(kw):
    data = saved(photo_like(320, 240), "JPEG", quality=90, **kw)
    image, before = codecs.open_source(data, None, top_rows=(320, 240, 100))
    assert image.size == (320, 100) and before is None
    full = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.tobytes() == full.crop((0, 0, 320, 100)).tobytes()


def test_top_rows_of_a_jpeg_truncated_above_them_fail():
    data = saved(photo_like(320, 240), "JPEG", quality=90)
    with pytest.raises(OSError):
        codecs.open_source(data[:len(data) // 4], None, top_rows=(320, 240, 200))
