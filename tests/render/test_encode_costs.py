"""What encoding costs: PNG picks zlib's strategy by content (formats_output._png_strategy):
photo-like images are written with Z_RLE (much faster, about the same size), graphics with the
default; a source decoded on demand is not copied by the encoder (formats_output.encode)."""
import io
import sys

import pytest

import numpy as np
from PIL import Image, ImageDraw

from chalicelib.render import codecs, formats_output


def photo(mode: str) -> Image.Image:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:240, 0:320]
    base = np.stack([x * 0.6, y * 0.8, (x + y) * 0.4], axis=-1) + rng.normal(0, 6, (240, 320, 3))
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    if mode == "RGBA":
        im.putalpha(Image.fromarray(np.clip(x * 0.8, 0, 255).astype(np.uint8), "L"))
    return im


def graphic() -> Image.Image:
    im = Image.new("RGBA", (320, 240), (255, 255, 255, 0))
    draw = ImageDraw.Draw(im)
    for i in range(12):
        draw.rectangle((i * 23 % 260, i * 31 % 200, i * 23 % 260 + 50, i * 31 % 200 + 30), fill=(i * 20, 90, 200, 255))
        draw.text((5 + i * 11, 5 + i * 17), f"label {i}", fill=(0, 0, 0, 255))
    return im


def pillow_png(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=7, **kw)
    return buf.getvalue()


def test_photo_like_png_uses_run_length_strategy_and_stays_lossless():
    for mode in ("RGB", "RGBA"):
        im = photo(mode)
        out = formats_output.encode_still(im, "png", {})
        assert out == pillow_png(im, compress_type=formats_output.Z_RLE) != pillow_png(im)
        assert len(out) <= 1.03 * len(pillow_png(im))  # about the size of the default strategy
        assert Image.open(io.BytesIO(out)).tobytes() == im.tobytes()


def test_graphic_png_keeps_default_strategy():
    im = graphic()
    out = formats_output.encode_still(im, "png", {})
    assert out == pillow_png(im)
    assert len(out) < len(pillow_png(im, compress_type=formats_output.Z_RLE))
    assert Image.open(io.BytesIO(out)).tobytes() == im.tobytes()


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the RSS peak from /proc")
def test_encoding_a_source_decoded_on_demand_holds_one_copy_of_its_pixels():
    src = io.BytesIO()
    Image.new("RGB", (3000, 2000), (40, 90, 160)).save(src, "JPEG", quality=80)
    im, _ = codecs.open_source(src.getvalue())  # not decoded yet, as the pipeline gets it for a noop
    pixels_kb = 3000 * 2000 * 4 // 1024  # Pillow keeps RGB as 4 bytes per pixel
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    rss = _status_kb("VmRSS")
    formats_output.encode(im, "jpg", {"interlacing.mode": "none"})
    # Before the fix Image.save() copied the unloaded image: two full-size buffers (2.0x).
    assert _status_kb("VmHWM") - rss < 1.5 * pixels_kb
