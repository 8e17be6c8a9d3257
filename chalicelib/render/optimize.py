"""`optimize_source` at upload (reference §2.2): the stored original is an optimised copy.

- `true`: TIFF and PSD sources are recompressed losslessly to PNG; other formats stay as they are.
- `"png"`: every still raster source is stored as PNG (lossless).
- `"jpg"`: every still raster source is stored as a high-quality JPEG, or as WebP when it has
  transparency (JPEG has none).

Animated, vector (SVG, PDF) and font sources are always kept as uploaded. The copy is upright
(EXIF orientation applied) and keeps the ICC profile. The image's binary_hash stays the SHA-1 of
the uploaded bytes; format, mimetype, size, width and height describe the stored copy.
"""
from __future__ import annotations

import io

from chalicelib.errors import BadRequest

MODES = (True, "png", "jpg")
JPEG_QUALITY = 95
WEBP_QUALITY = 95
_STILL_RASTER = ("jpg", "png", "gif", "webp", "avif", "heic", "heif", "tiff", "psd")


def parse_mode(value) -> bool | str | None:
    """The optimize_source value of a form field or options object: True, "png", "jpg" or None."""
    if value is None or value is False:
        return None
    text = str(value).strip().strip('"').lower()  # rokka.js may JSON-encode the field
    if text in ("", "false", "0", "no"):
        return None
    if text in ("true", "1", "yes"):
        return True
    if text in ("png", "jpg", "jpeg"):
        return "jpg" if text == "jpeg" else text
    raise BadRequest("optimize_source must be true, false, \"jpg\" or \"png\".")


def target_format(mode, fmt: str, animated: bool) -> str | None:
    """The format the source is stored in ("png" / "jpg"), or None to keep it as uploaded."""
    if mode is None or animated or fmt not in _STILL_RASTER:
        return None
    if mode is True:
        return "png" if fmt in ("tiff", "psd") else None
    return None if mode == fmt else mode


def optimized(data: bytes, target: str) -> tuple[bytes, str, str, tuple[int, int], bool]:
    """(bytes, format, mimetype, size, has_alpha) of the optimised copy of `data`."""
    from chalicelib.render import codecs

    im, _ = codecs.open_source(data)
    icc = im.info.get("icc_profile")
    extra = {"icc_profile": icc} if icc else {}
    has_alpha = im.mode in ("RGBA", "LA")
    out = io.BytesIO()
    if target == "png":
        im.save(out, "PNG", compress_level=6, **extra)
        fmt = ("png", "image/png")
    elif has_alpha:
        im.save(out, "WEBP", quality=WEBP_QUALITY, method=4, **extra)
        fmt = ("webp", "image/webp")
    else:
        im.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0, **extra)
        fmt = ("jpg", "image/jpeg")
    return out.getvalue(), fmt[0], fmt[1], im.size, has_alpha
