"""A source decoded at a reduced DCT scale, as bytes, and back: raw pixels, the image's `info`
(ICC profile, EXIF, dpi... which the encoders read) and its size before the draft.

Kept beside the original (services/reduced_decodes.py), it lets a render of another size of the
same image skip the JPEG decode: reading 374 kB of pixels takes ~0.5 ms, decoding the 2 MP JPEG
at 1/4 ~6 ms. The round trip is exact, so a render from it is byte-identical to one from the
JPEG; what cannot be kept exactly (another mode, an info value of another type, more than
MAX_BYTES of pixels) is not kept at all.
"""
from __future__ import annotations

import base64
import json
import struct

from PIL import Image

MAGIC = b"RKDECODED1\n"
MAX_BYTES = 6_000_000  # of pixels: a 2 MP source at 1/4 is 0.37 MB, a 24 MP at 1/4 4.5 MB
MODES = {"RGB": 3, "L": 1}  # what a JPEG opens as (codecs.normalize_mode)


def _value(v):
    """An info value as JSON, or None when it has no exact JSON form here."""
    if isinstance(v, bytes):
        return {"b": base64.b64encode(v).decode()}
    if isinstance(v, str):
        return {"s": v}
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"n": v}
    if isinstance(v, tuple) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return {"t": list(v)}
    return None


def _restored(v: dict):
    if "b" in v:
        return base64.b64decode(v["b"])
    if "t" in v:
        return tuple(v["t"])
    return v["s"] if "s" in v else v["n"]


def dumps(image: Image.Image, before: tuple[int, int]) -> bytes | None:
    """The bytes of `image` (decoded from a source of upright size `before`), or None."""
    bands = MODES.get(image.mode)
    if bands is None or image.width * image.height * bands > MAX_BYTES:
        return None
    info = {}
    for name, value in image.info.items():
        encoded = _value(value)
        if not isinstance(name, str) or encoded is None:
            return None
        info[name] = encoded
    header = json.dumps({"mode": image.mode, "size": list(image.size), "before": list(before),
                         "info": info}).encode()
    return MAGIC + struct.pack(">I", len(header)) + header + image.tobytes()


def loads(blob: bytes) -> tuple[Image.Image, tuple[int, int]] | None:
    """(image, size before the draft) from `dumps`' bytes; None for anything else."""
    try:
        if not blob.startswith(MAGIC):
            return None
        start = len(MAGIC) + 4
        (length,) = struct.unpack(">I", blob[len(MAGIC):start])
        header = json.loads(blob[start:start + length])
        mode, (width, height), before = header["mode"], header["size"], tuple(header["before"])
        pixels = memoryview(blob)[start + length:]
        if mode not in MODES or len(pixels) != width * height * MODES[mode] or len(before) != 2:
            return None
        image = Image.frombytes(mode, (width, height), pixels)
        image.info = {name: _restored(v) for name, v in header["info"].items()}
        return image, before
    except (ValueError, KeyError, TypeError, struct.error):
        return None
