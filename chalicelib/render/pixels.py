"""Small pixel helpers shared by the codecs and the output formats (no format imports here)."""
from __future__ import annotations

from PIL import Image


def flatten(im: Image.Image, color: str) -> Image.Image:
    """Composite an image with alpha onto a solid colour (hex RRGGBB)."""
    if im.mode not in ("RGBA", "LA"):
        return im
    rgb = tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))
    base = Image.new("RGB", im.size, rgb)
    base.paste(im.convert("RGBA"), mask=im.getchannel("A"))
    return base
