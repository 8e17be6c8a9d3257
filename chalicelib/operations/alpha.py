"""alpha: work with the transparency channel."""
from __future__ import annotations

from PIL import Image

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "mode": Option("string", default="mask", values=("mask", "extract", "remove", "apply"),
                   description="mask: alpha as a grayscale image; extract: only the alpha (a black "
                               "silhouette); remove: drop the alpha; apply: multiply the alpha by opacity"),
    "opacity": Option("integer", default=50, minimum=0, maximum=100,
                      description="Opacity in percent, used by mode apply"),
}


def apply(ctx, opts: dict) -> None:
    image = ctx.image
    has_alpha = image.mode in ("RGBA", "LA")
    # An image without alpha is fully opaque.
    alpha = image.getchannel("A") if has_alpha else Image.new("L", image.size, 255)
    mode = opts["mode"]
    if mode == "mask":
        ctx.image = alpha
    elif mode == "extract":
        # Keep nothing but the transparency: black pixels carrying the original alpha.
        ctx.image = Image.merge("LA", (Image.new("L", image.size, 0), alpha))
    elif mode == "remove":
        ctx.image = image.convert(image.mode.rstrip("A"))
    else:  # apply
        factor = opts["opacity"] / 100
        out = image if has_alpha else image.convert(image.mode + "A")
        out.putalpha(alpha.point([round(v * factor) for v in range(256)]))
        ctx.image = out


SPEC = OperationSpec(
    name="alpha",
    options=OPTIONS,
    apply=apply,
    description="Operations on the alpha (transparency) channel.",
)
