"""Reading headers, opening sources with shrink-on-load, and encoding outputs."""
from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from chalicelib.errors import BadRequest

# Pillow format → (rokka format name, MIME type) for accepted sources.
SOURCE_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),  # phone JPEGs with a second frame are still JPEGs
    "PNG": ("png", "image/png"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
    "AVIF": ("avif", "image/avif"),
    "TIFF": ("tiff", "image/tiff"),
}

# Output extension → (Pillow format, MIME type).
OUTPUT_FORMATS = {
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "gif": ("GIF", "image/gif"),
    "webp": ("WEBP", "image/webp"),
    "avif": ("AVIF", "image/avif"),
}

# MPO files open through the JPEG plugin, which hands them to the MPO class itself.
_ACCEPTED = [f for f in SOURCE_FORMATS if f != "MPO"]


@dataclass
class ImageInfo:
    format: str
    mimetype: str
    width: int
    height: int
    animated: bool
    has_alpha: bool
    orientation: int


def identify(data: bytes, max_pixels: int) -> ImageInfo:
    """Format and size from the header, plus cheap structural checks; never decodes pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=_ACCEPTED)
            fmt = im.format
            width, height = im.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise BadRequest(f"Image dimensions {width}x{height} exceed the limit of {max_pixels} pixels")
            animated = bool(getattr(im, "is_animated", False)) if fmt in ("GIF", "WEBP", "PNG", "AVIF") else False
            has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
            orientation = _orientation(im)
            _check_structure(fmt, data)
    except BadRequest:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadRequest("The file is not a supported image (JPEG, PNG, GIF, WebP, AVIF or TIFF).") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError):
        raise BadRequest("The image file is corrupt or truncated.") from None
    name, mimetype = SOURCE_FORMATS[fmt]
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(format=name, mimetype=mimetype, width=width, height=height,
                     animated=animated, has_alpha=has_alpha, orientation=orientation)


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - broken EXIF must not reject an otherwise fine image
        return 1


def _check_structure(fmt: str, data: bytes) -> None:
    """Catch truncated files from their container structure, without decoding pixels."""
    if fmt in ("JPEG", "MPO"):
        # End-of-image marker; cameras may append padding, so look near the end.
        if b"\xff\xd9" not in data[-4096:]:
            raise BadRequest("The JPEG file is truncated (no end-of-image marker).")
    elif fmt == "PNG":
        # Walks the chunks and their CRCs without inflating pixel data; needs a fresh open.
        Image.open(io.BytesIO(data), formats=["PNG"]).verify()
    elif fmt == "GIF":
        if not data.rstrip(b"\0").endswith(b";"):
            raise BadRequest("The GIF file is truncated (no trailer).")
    elif fmt == "WEBP":
        declared = struct.unpack("<I", data[4:8])[0] + 8
        if len(data) < declared:
            raise BadRequest("The WebP file is truncated.")


def open_source(data: bytes, draft_size: tuple[int, int] | None = None) -> tuple[Image.Image, tuple[int, int] | None]:
    """Open a source for rendering, oriented upright, in RGB/RGBA/L/LA.

    With `draft_size` (the size the first resize will produce), JPEG sources decode at
    the smallest DCT scale that still covers it (shrink-on-load). Returns the image and,
    when shrink-on-load happened, the upright size before it.
    """
    im = Image.open(io.BytesIO(data))
    before = None
    orientation = _orientation(im)
    if draft_size and im.format in ("JPEG", "MPO"):
        full = im.size
        request = draft_size[::-1] if orientation in (5, 6, 7, 8) else draft_size
        im.draft(im.mode if im.mode in ("RGB", "L") else "RGB", request)
        if im.size != full:
            before = full[::-1] if orientation in (5, 6, 7, 8) else full
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    return normalize_mode(im), before


def normalize_mode(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if im.mode == "P" and "transparency" in im.info or im.mode in ("PA", "RGBa", "La"):
        return im.convert("RGBA")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 256).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")


def flatten(im: Image.Image, color: str) -> Image.Image:
    """Composite an image with alpha onto a solid colour (hex RRGGBB)."""
    if im.mode not in ("RGBA", "LA"):
        return im
    rgb = tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))
    base = Image.new("RGB", im.size, rgb)
    base.paste(im.convert("RGBA"), mask=im.getchannel("A"))
    return base


def encode(im: Image.Image, fmt: str, options: dict) -> bytes:
    """Encode with the stack options (qualities, compression) for the output format."""
    pil_format, _ = OUTPUT_FORMATS[fmt]
    dpr = float(options.get("dpr") or 1)
    out = io.BytesIO()
    if pil_format == "JPEG":
        im = flatten(im, options.get("jpg.transparency.color") or "FFFFFF")
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        quality = options.get("jpg.quality") or (70 if dpr > 1.5 else 80)
        im.save(out, "JPEG", quality=quality, optimize=False)
    elif pil_format == "PNG":
        im.save(out, "PNG", compress_level=options.get("png.compression_level", 7))
    elif pil_format == "WEBP":
        quality = options.get("webp.quality") or (70 if dpr > 1.5 else 80)
        im.save(out, "WEBP", quality=quality, lossless=quality >= 100, method=4)
    elif pil_format == "AVIF":
        im.save(out, "AVIF", quality=options.get("avif.quality") or 45, speed=8)
    elif pil_format == "GIF":
        if im.mode in ("RGBA", "LA"):
            im = im.convert("RGBA")
            im.save(out, "GIF", optimize=False)
        else:
            im.convert("RGB").quantize(256).save(out, "GIF", optimize=False)
    return out.getvalue()
