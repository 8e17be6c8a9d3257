"""JPEG XL in and out through pillow-jxl-plugin (libjxl via Rust bindings, manylinux wheels).

Reading: `.jxl` sources (bare codestream or ISO container) open through Pillow once the plugin
is registered; `register()` does that only for files that start like JPEG XL (the plugin's
import costs ~10 ms, so other sources never pay it).

Writing (`.jxl` renders):
* jxl.quality (rokka default 70) is libjxl's quality scale (like JPEG's: 90 is visually
  lossless, distance = f(quality)); 100 is mathematically lossless (modular mode).
* Lossless for PNG sources: a `.jxl` render of a PNG source without an explicit jxl.quality
  is lossless, and so is a `.png` request that autoformat answers with JPEG XL (the same rule
  as lossless WebP for PNG requests, reference §6.6).
* effort 5 for both (libjxl's default is 7). Measured on 2 cores, 1000x750 synthetic photo
  (gradients + noise, bench-like): lossy q70 effort 5 484 ms / 13.6 KB, effort 7 563 ms /
  15.4 KB (effort buys fidelity, not bytes); lossless effort 3 225 ms / 819 KB, effort 5
  667 ms / 389 KB, effort 7 947 ms / 374 KB. Effort 5 halves lossless files for 3x the time
  of effort 3; renders are cached, so that is worth it; effort 7 adds ~40 % time for ~4 %.
"""
from __future__ import annotations

import io

from PIL import Image

from chalicelib.errors import UnsupportedMediaType

MIMETYPE = "image/jxl"
LOSSY_EFFORT = 5
LOSSLESS_EFFORT = 5
_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


def is_jxl(data: bytes) -> bool:
    """A JPEG XL codestream (FF 0A) or ISO-BMFF container ('JXL ' signature box)."""
    return data[:2] == b"\xff\x0a" or data[:12] == _CONTAINER


def register() -> None:
    """Register the plugin's opener and saver with Pillow (idempotent)."""
    if "JXL" not in Image.OPEN:
        try:
            import pillow_jxl  # noqa: F401 - registers JpegXLImagePlugin on import
        except ImportError:  # e.g. libstdc++ missing on the host (tests/infra/test_package.py)
            raise UnsupportedMediaType("JPEG XL is not available on this server.") from None


def lossless_by_default(source_format: str, options: dict) -> None:
    """A `.jxl` render of a PNG source is lossless unless the stack or URL sets jxl.quality."""
    if source_format == "png" and options.get("jxl.quality") is None:
        options["jxl.quality"] = 100


def encode(im: Image.Image, quality: int) -> bytes:
    register()
    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode in ("PA", "La", "RGBa") else "RGB")
    out = io.BytesIO()
    if quality >= 100:
        im.save(out, "JXL", lossless=True, effort=LOSSLESS_EFFORT, lossless_jpeg=False)
    else:
        im.save(out, "JXL", quality=int(quality), effort=LOSSY_EFFORT, lossless_jpeg=False)
    return out.getvalue()
