"""addframes (experimental in rokka): append other images as frames to build an animation.

rokka's docs: "Adds frames to an image to build an animation"; `frames` is "the frames to be
added" (a string), `delay` the delay between frames in 1/100 s. Here `frames` is a
comma-separated list of image hashes or short hashes (`frames-a1b2c3,d4e5f6`), at most 100.

Contract with the encoder (the working image model is single-frame):

* `ctx.image` stays the first frame.
* `ctx.notes["frames"]` is a list of PIL images, the frames that follow `ctx.image`, in order.
  Each has the size `ctx.image` had when addframes ran: the other image is fitted into it
  (aspect ratio kept, centred, transparent around it). Each is "RGB", or "RGBA" when it or
  the first frame has alpha or was padded. A later addframes appends to the same list.
* `ctx.notes["frame_delay_ms"]` is the display time of every frame in milliseconds
  (`delay` x 10; the last addframes wins), set even when no frame is added.
* Operations after addframes change `ctx.image` only; an encoder that finds frames of
  another size than the final `ctx.image` should resize them to it.
* An encoder for a format without animation (jpg...) writes `ctx.image` alone.
"""
from __future__ import annotations

from PIL import Image

from chalicelib.operations import _layers, resize
from chalicelib.operations.base import Option, OperationSpec
from chalicelib.limits import MAX_FRAMES

_HEX = _layers.HASH.strip("^$")

OPTIONS = {
    "delay": Option("number", default=10, minimum=0, maximum=1000,
                    description="Delay between frames, in 1/100 s"),
    "frames": Option("string", pattern=rf"^{_HEX}(,{_HEX}){{0,{MAX_FRAMES - 1}}}$",
                     description="Comma-separated hashes of the images to add as frames"),
}


def apply(ctx, opts: dict) -> None:
    ctx.notes["frame_delay_ms"] = round(opts["delay"] * 10)
    refs = [ref for ref in (opts.get("frames") or "").split(",") if ref]
    if not refs:
        return
    size = ctx.image.size
    alpha = _layers.has_alpha(ctx.image)
    frames = ctx.notes.setdefault("frames", [])
    for ref in refs:
        frames.append(_fitted(_layers.load_image(ctx, ref, "addframes: frame"), size, alpha))


def _fitted(image: Image.Image, size: tuple[int, int], alpha: bool) -> Image.Image:
    """`image` fitted into `size`, centred on a transparent canvas when the ratios differ."""
    alpha = alpha or _layers.has_alpha(image)
    image = image.convert("RGBA" if alpha else "RGB")
    fit = resize.target_size(image.size, {"width": size[0], "height": size[1], "mode": "box"})
    if fit != image.size:
        image = image.resize(fit, Image.Resampling.LANCZOS)
    if fit == size:
        return image
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.paste(_layers.rgba(image), ((size[0] - fit[0]) // 2, (size[1] - fit[1]) // 2))
    return canvas


SPEC = OperationSpec(
    name="addframes",
    options=OPTIONS,
    apply=apply,
    description="Experimental: appends other images as animation frames.",
)
