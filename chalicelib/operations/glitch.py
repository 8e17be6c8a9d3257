"""glitch: a seeded digital-glitch effect (row shifts, channel offsets, displaced blocks).

Everything random comes from a generator seeded with `amount` and `random` (a hash, not Python's
salted `hash()`), so the same URL always renders the same bytes and another `random` value renders
another glitch. The effect only moves existing pixels around; amount 0 returns the image untouched.
"""
from __future__ import annotations

import hashlib
import random as _random

from PIL import Image, ImageChops

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "amount": Option("integer", default=4, minimum=0, maximum=10, description="Strength of the glitch, 0 is none"),
    "random": Option("string", nullable=True, default=None,
                     description="Seed: the same value always gives the same glitch, another value another one"),
}


def apply(ctx, opts: dict) -> None:
    amount = opts.get("amount")
    amount = 4 if amount is None else amount
    if amount <= 0:
        return
    ctx.image = glitch(ctx.image, amount, opts.get("random") or "")


def glitch(image: Image.Image, amount: int, seed: str) -> Image.Image:
    digest = hashlib.sha256(f"glitch\0{amount}\0{seed}".encode()).digest()
    rnd = _random.Random(int.from_bytes(digest[:16], "big"))
    strength = amount / 10
    im = image.copy()
    width, height = im.size

    # 1. Bands of rows slide sideways (wrapping around), like a torn video line.
    for _ in range(2 + 2 * amount):
        band = rnd.randint(1, max(1, round(height * (0.01 + 0.07 * strength))))
        top = rnd.randrange(height)
        bottom = min(height, top + band)
        shift = rnd.choice((-1, 1)) * rnd.randint(1, max(1, round(width * 0.15 * strength)))
        strip = im.crop((0, top, width, bottom))
        im.paste(ImageChops.offset(strip, shift, 0), (0, top))

    # 2. Displaced blocks: a rectangle is copied a little way off its place.
    for _ in range(amount):
        bw = rnd.randint(1, max(1, round(width * 0.25 * strength)))
        bh = rnd.randint(1, max(1, round(height * 0.12 * strength)))
        x, y = rnd.randrange(max(1, width - bw + 1)), rnd.randrange(max(1, height - bh + 1))
        dx = rnd.randint(-round(width * 0.1 * strength), round(width * 0.1 * strength))
        dy = rnd.randint(-round(height * 0.03 * strength), round(height * 0.03 * strength))
        block = im.crop((x, y, x + bw, y + bh))
        im.paste(block, (min(max(0, x + dx), width - bw), min(max(0, y + dy), height - bh)))

    # 3. Colour channels drift apart: red one way, blue the other (colour images only).
    if im.mode in ("RGB", "RGBA"):
        reach = max(1, round(width * 0.006 * amount))
        dx = rnd.choice((-1, 1)) * rnd.randint(max(1, reach // 2), reach)
        dy = rnd.randint(-max(0, reach // 4), max(0, reach // 4))
        channels = list(im.split())
        channels[0] = ImageChops.offset(channels[0], dx, dy)
        channels[2] = ImageChops.offset(channels[2], -dx, -dy)
        im = Image.merge(im.mode, channels)
    return im


SPEC = OperationSpec(
    name="glitch",
    options=OPTIONS,
    apply=apply,
    description="Glitches the image (shifted rows, displaced blocks, split colour channels), seeded by random.",
)
