"""sepia: the classic sepia colour matrix, alpha left untouched."""
from __future__ import annotations

from chalicelib.operations.base import OperationSpec

# Rows give the new R, G, B from the old R, G, B (plus an offset), as in libvips' recomb demos.
_SEPIA = (
    0.393, 0.769, 0.189, 0,
    0.349, 0.686, 0.168, 0,
    0.272, 0.534, 0.131, 0,
)


def apply(ctx, opts: dict) -> None:
    image = ctx.image
    toned = image.convert("RGB").convert("RGB", _SEPIA)
    if image.mode in ("RGBA", "LA"):
        toned.putalpha(image.getchannel("A"))
    ctx.image = toned


SPEC = OperationSpec(
    name="sepia",
    options={},
    apply=apply,
    description="Applies sepia toning to the image.",
)
