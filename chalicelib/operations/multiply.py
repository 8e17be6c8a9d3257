"""multiply: darken by multiplying the colour channels with a factor or a colour."""
from __future__ import annotations

from chalicelib.operations.base import HEX_COLOR, Option, OperationSpec

OPTIONS = {
    "factor": Option("number", default=0.96, minimum=0, maximum=1,
                     description="Factor every colour channel is multiplied with"),
    "factor_color": Option("string", pattern=HEX_COLOR, nullable=True,
                           description="Hex colour to multiply with (channel / 255); takes precedence over factor"),
}


def _table(factor: float) -> list[int]:
    return [round(v * factor) for v in range(256)]


def apply(ctx, opts: dict) -> None:
    image = ctx.image
    if opts.get("factor_color"):
        factors = [c / 255 for c in bytes.fromhex(opts["factor_color"])]
        if image.mode in ("L", "LA"):
            image = image.convert("RGB" + image.mode[1:])  # a coloured multiply tints a gray image
    else:
        factors = [opts["factor"]] * 3
    colour_bands = len(image.getbands()) - (1 if image.mode in ("RGBA", "LA") else 0)
    lut: list[int] = []
    for factor in factors[:colour_bands]:
        lut += _table(factor)
    if colour_bands < len(image.getbands()):
        lut += list(range(256))  # alpha stays as it is
    ctx.image = image.point(lut)


SPEC = OperationSpec(
    name="multiply",
    options=OPTIONS,
    apply=apply,
    description="Multiplies the image with a factor or a colour, e.g. to darken it.",
)
