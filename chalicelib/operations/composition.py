"""composition: merge a secondary layer (an image, a stack's render or a solid box) with the image.

* The layer is `secondary_stack` rendered on this render's source (with
  `secondary_stack_variables`), else the image `secondary_image`, else a solid box of
  `secondary_color`. A box is `width` x `height`, each defaulting to the primary image's.
* Images and stacks are resized to the primary's size (`resize_to_primary`) or to
  `width`/`height`, with `resize_mode` as in the resize operation; `fill` is then cut to the
  box (centred), so the layer is exactly the box.
* `secondary_opacity` scales the layer's alpha, `angle` turns it clockwise (growing it).
* The canvas is the larger of the primary and the layer on each axis, so the result is never
  smaller than the primary. Whichever is smaller on an axis is placed by `anchor`.
* `mode` background: the primary lies underneath the layer (watermarks). foreground: the
  primary lies on top (canvas extension, borders). rokka declares no default; a missing mode
  means foreground.
* `empty_primary` (seen in rokka's templates demo): the primary's pixels are dropped and the
  result is the layer alone, at the layer's size. `cache` is accepted and ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from PIL import Image

from chalicelib.errors import BadRequest, InvalidOperation
from chalicelib.operations import _layers, resize
from chalicelib.operations.base import HEX_COLOR, Option, OperationSpec


@dataclass(frozen=True)
class _Variables(Option):
    """An object of stack variables; a string is read as URL query parameters (`a=1&b=x`)."""

    def coerce(self, value, where: str):
        if isinstance(value, str):
            try:
                value = dict(parse_qsl(value.lstrip("?"), keep_blank_values=True, strict_parsing=bool(value)))
            except ValueError:
                raise InvalidOperation(f"{where}: expected an object or query parameters, got {value!r}") from None
        return super().coerce(value, where)


OPTIONS = {
    "mode": Option("string", values=("foreground", "background"),
                   description="background: the image lies under the secondary layer (watermarks); "
                               "foreground: the image lies on top of it"),
    "width": Option("integer", minimum=1, maximum=10000, description="Width of the secondary layer"),
    "height": Option("integer", minimum=1, maximum=10000, description="Height of the secondary layer"),
    "resize_mode": Option("string", default="box", values=("box", "absolute", "fill"),
                          description="How a secondary image or stack is resized to width and height"),
    "resize_to_primary": Option("boolean", default=False,
                                description="Resize a secondary image or stack to the image's size"),
    "anchor": Option("string", default="center_center", pattern=_layers.ANCHOR,
                     description="Where the smaller of image and layer is placed (crop-style anchor)"),
    "secondary_color": Option("string", default="000000", pattern=HEX_COLOR,
                              description="Hex colour of the box when there is no secondary image or stack"),
    "secondary_opacity": Option("integer", default=100, minimum=0, maximum=100,
                                description="Opacity of the secondary layer: 0 transparent, 100 opaque"),
    "secondary_image": Option("string", pattern=_layers.HASH, description="Hash of the image to use as layer"),
    "secondary_stack": Option("string", pattern=r"^[A-Za-z0-9_\-]{1,100}$",
                              description="Name of a stack whose render of the source image is the layer"),
    "secondary_stack_variables": _Variables("object", default={},
                                            description="Stack variables for secondary_stack"),
    "angle": Option("number", default=0, minimum=-360, maximum=360,
                    description="Turns the secondary layer clockwise by degrees"),
    "empty_primary": Option("boolean", default=False,
                            description="Drop the image's pixels: the result is the secondary layer alone"),
    "cache": Option("boolean", default=False, description="Accepted for compatibility; no effect"),
}


def apply(ctx, opts: dict) -> None:
    primary = ctx.image
    primary_size = primary.size
    layer = _layer(ctx, opts, primary_size)
    layer = _layers.rotated(_layers.with_opacity(layer, opts["secondary_opacity"]), opts["angle"] or 0)

    if opts.get("empty_primary"):
        primary_size = (0, 0)
    canvas_size = (max(primary_size[0], layer.width), max(primary_size[1], layer.height))
    _layers.check_layer_size(canvas_size, "composition")
    anchor = opts["anchor"]
    layer_xy = _layers.anchor_xy(anchor, layer.size, canvas_size)
    blank = Image.new("RGBA", canvas_size, (0, 0, 0, 0))
    placed_layer = _layers.over(blank, layer, layer_xy)
    if opts.get("empty_primary"):
        ctx.image = placed_layer
        return
    primary_xy = _layers.anchor_xy(anchor, primary_size, canvas_size)
    placed_primary = _layers.over(blank, _layers.rgba(primary), primary_xy)
    if opts.get("mode") == "background":
        out = Image.alpha_composite(placed_primary, placed_layer)
    else:
        out = Image.alpha_composite(placed_layer, placed_primary)
    ctx.image = _layers.finish(out, keep_alpha=_layers.has_alpha(primary))


def _layer(ctx, opts: dict, primary_size: tuple[int, int]) -> Image.Image:
    """The secondary layer as RGBA, before opacity and rotation."""
    if opts.get("secondary_stack") or opts.get("secondary_image"):
        if ctx.resources is None:
            raise BadRequest("composition: secondary images cannot be loaded in this render.")
        if opts.get("secondary_stack"):
            variables = dict(opts.get("secondary_stack_variables") or {})
            # With secondary_image too, the stack renders that image (rokka's templates demo).
            image = ctx.resources.render_stack(opts["secondary_stack"], variables, opts.get("secondary_image"))
        else:
            image = ctx.resources.load_image(opts["secondary_image"])
        return _resized(_layers.rgba(image), opts, primary_size)
    size = (opts.get("width") or primary_size[0], opts.get("height") or primary_size[1])
    _layers.check_layer_size(size, "composition")
    return Image.new("RGBA", size, (*_layers.rgb(opts["secondary_color"]), 255))


def _resized(image: Image.Image, opts: dict, primary_size: tuple[int, int]) -> Image.Image:
    if opts.get("resize_to_primary"):
        box = primary_size
    elif opts.get("width") or opts.get("height"):
        box = (opts.get("width"), opts.get("height"))
    else:
        return image
    mode = opts["resize_mode"]
    size = resize.target_size(image.size, {"width": box[0], "height": box[1], "mode": mode})
    _layers.check_layer_size(size, "composition")
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    if mode == "fill" and box[0] and box[1]:  # cut the overflow: the layer is exactly the box
        w, h = min(box[0], size[0]), min(box[1], size[1])
        left, top = (size[0] - w) // 2, (size[1] - h) // 2
        image = image.crop((left, top, left + w, top + h))
    return image


SPEC = OperationSpec(
    name="composition",
    options=OPTIONS,
    apply=apply,
    description="Merges a secondary image, stack render or solid box with the image; "
                "the result is never smaller than the image.",
)
