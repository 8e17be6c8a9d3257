"""Pixel work of a render: prepare the source, open with shrink-on-load, run the operations, encode.

Everything here receives already validated operations; nothing is parsed here.

Source hooks
    An operation module may define `prepare_source(data: bytes, source: dict, options: dict)
    -> bytes`. Before anything is decoded, every such hook runs on the original bytes, in stack
    order (svgdynamic edits the SVG text this way); its `apply` then leaves the pixels alone.

SVG sources
    For raster outputs an SVG source is drawn by resvg when opened (at the first resize's
    size when the stack starts with one), so every operation sees pixels. `.svg` output is
    only possible for SVG sources (400 otherwise) and returns SVG text, not pixels: the
    source after svgdynamic, with resize operations turned into the root's width/height.
    Any other operation, and svg2bitmap (which exists for rokka compatibility and otherwise
    does nothing, since SVGs are rasterised anyway), forces the raster path: the result is
    then the rendered PNG inside a minimal SVG document.

Animations
    For gif/webp outputs of animated sources, every frame is decoded and the operations run
    once per frame (each frame has its own RenderContext); durations and loop count are kept.
    An operation may add frames by putting a list of images into `ctx.notes["frames"]`
    (addframes does, with `ctx.notes["frame_delay_ms"]`). They are taken from the first
    frame's context only (the operation runs on every frame and would add them once per
    frame), appended after the existing frames, and the following operations run on them
    too. Added frames, and a still first frame, last the latest frame_delay_ms (default 100).
    Frames that end at another size than the first (trim...) are resized to it. Frames ×
    pixels are limited by MAX_ANIMATION_PIXELS, at decode and after every operation. Other
    outputs use the first frame only (frames added by operations are dropped).

Video
    Video sources (formats_video) give one frame at the `timestamp` option for image outputs,
    and frames sampled at `fps` for animated and video outputs; .mp4/.webm outputs need an
    animated or video source and are encoded by formats_video.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

from PIL import Image

from chalicelib.errors import BadRequest
from chalicelib.limits import MAX_ANIMATION_PIXELS  # frames x pixels of one animation
from chalicelib.operations import blur, crop, resize
from chalicelib.render import codecs, formats_output, formats_vector, formats_video, limits, optim
from chalicelib.render.context import RenderContext

DEFAULT_FRAME_DELAY_MS = 100
# Operations that leave pixels alone: they do not stop shrink-on-load or SVG text output.
PIXEL_FREE_OPERATIONS = ("noop", "svgdynamic", "svg2bitmap")


@dataclass
class Rendered:
    frames: list
    durations: list
    loop: int | None


def _first_pixel_operation(operations: list):
    """(spec, options) of the first operation that touches pixels, or None."""
    return next(((spec, opts) for spec, opts in operations if spec.name not in PIXEL_FREE_OPERATIONS), None)


def _first_resize(operations: list):
    first = _first_pixel_operation(operations)
    return first[1] if first is not None and first[0].name == "resize" else None


def draft_size(operations: list, source_size: tuple[int, int], dpr: float) -> tuple[int, int] | None:
    """The size JPEG shrink-on-load may decode at: when the first pixel operation is a resize,
    the size it will produce; a blur that runs at a reduced scale, that scale (blur.draft_size)."""
    first = _first_pixel_operation(operations)
    if first is None or first[0].name not in ("resize", "blur"):
        return None
    spec, opts = first
    target = resize.target_size(source_size, opts, dpr) if spec.name == "resize" else blur.draft_size(source_size, opts)
    return target if target and target[0] < source_size[0] and target[1] < source_size[1] else None


def _first_crop(operations: list, source: dict):
    """(index, box) when the first pixel operation is a crop whose box does not depend on the
    pixels (crop.decode_box), for the source's upright size; else None."""
    for index, (spec, opts) in enumerate(operations):
        if spec.name == "crop":
            box = crop.decode_box((source["width"], source["height"]), source, opts)
            return (index, box) if box is not None else None
        if spec.name not in PIXEL_FREE_OPERATIONS:
            return None
    return None


def _decoded_source(data: bytes, draft: tuple[int, int] | None, resources) -> tuple:
    """codecs.open_source(data, draft), or the kept decode of it (resources.reduced_decode); a
    decode at a reduced scale is handed to resources.keep_reduced_decode (decode errors surface
    here first, as a 400, not inside it)."""
    kept = resources.reduced_decode() if resources is not None and resources.reduced_decode else None
    if kept is not None:
        return kept
    image, before = codecs.open_source(data, draft)
    if before is not None and resources is not None and resources.keep_reduced_decode:
        image.load()
        resources.keep_reduced_decode(image, before)
    return image, before


def check_output_size(size: tuple[int, int], max_pixels: int) -> None:
    if size[0] * size[1] > max_pixels:
        raise BadRequest(f"The result would be {size[0]}x{size[1]} pixels, more than the limit of {max_pixels}.")


def _check_animation(contexts: list) -> None:
    if len(contexts) > 1:
        total = sum(c.image.size[0] * c.image.size[1] for c in contexts)
        if total > MAX_ANIMATION_PIXELS:
            raise BadRequest(f"The animation would have {total} pixels in {len(contexts)} frames, "
                             f"more than the limit of {MAX_ANIMATION_PIXELS}.")


def _source_hook(spec):
    return getattr(sys.modules.get(getattr(spec.apply, "__module__", "")), "prepare_source", None)


def has_source_hooks(operations: list) -> bool:
    """Whether an operation edits the original bytes before decoding (see the module doc)."""
    return any(_source_hook(spec) is not None for spec, _ in operations)


def prepare_source(data: bytes, source: dict, operations: list) -> bytes:
    """Run the operations' source hooks (e.g. svgdynamic) over the original bytes."""
    for spec, opts in operations:
        hook = _source_hook(spec)
        if hook is not None:
            data = hook(data, source, opts)
    return data


def process(data: bytes, source: dict, operations: list, options: dict, max_output_pixels: int,
            resources=None) -> Image.Image:
    """Decode the source and apply the operations in order; returns the working image."""
    return _render(data, source, operations, options, max_output_pixels, resources, animate=False).frames[0]


def _render(data: bytes, source: dict, operations: list, options: dict, max_output_pixels: int,
            resources=None, animate: bool = False, prepared: bool = False) -> Rendered:
    dpr = float(options.get("dpr") or 1)
    for spec, opts in operations:  # refuse oversized results before touching pixels
        if spec.name == "resize":
            check_output_size(resize.target_size((source["width"], source["height"]), opts, dpr),
                              max_output_pixels)
    if not prepared:
        data = prepare_source(data, source, operations)
    vector = codecs.vector_kind(data)
    cut_at_decode = False  # the first operation, a crop, was applied while decoding
    if formats_video.kind(data) is not None:  # video sources: a still at `timestamp`, or frames at `fps`
        if animate:
            frames, durations = formats_video.frames_at_fps(data, int(options.get("fps") or 10),
                                                            MAX_ANIMATION_PIXELS)
        else:
            frames, durations = [formats_video.frame_at(data, options.get("timestamp"))], [None]
        loop, before = 0, None
    elif vector is not None:
        first_resize = _first_resize(operations)

        def vector_target(nominal):
            return resize.target_size(nominal, first_resize, dpr) if first_resize is not None else None

        image, before = codecs.open_vector(vector, data, options, max_output_pixels, vector_target)
        frames, durations, loop = [image], [None], 0
    elif animate and source.get("animated"):
        decoded = codecs.open_frames(data, MAX_ANIMATION_PIXELS)
        frames, durations, loop, before = decoded.frames, decoded.durations, decoded.loop, None
    else:
        size = (source["width"], source["height"])
        first_crop = _first_crop(operations, source)
        if first_crop:
            image, before = codecs.open_source(data, None, top_rows=(*size, first_crop[1][3]))
        else:
            image, before = _decoded_source(data, draft_size(operations, size, dpr), resources)
        if first_crop and image.size in (size, (size[0], first_crop[1][3])):
            # The stack starts with a crop whose box is known before decoding: it is cut here,
            # and a JPEG was decoded down to the crop's last row only (codecs.open_source).
            if image.size == size and resources is not None and resources.on_source is not None:
                image.load()  # decode errors surface here (a 400), not inside the hook's own handler
                resources.on_source(image)  # the whole source, before the cut
            cut_at_decode = True  # (a JPEG decoded in part: on_source waits for another render)
            image = image.crop(first_crop[1])
            check_output_size(image.size, max_output_pixels)
            operations = operations[:first_crop[0]] + operations[first_crop[0] + 1:]
        frames, durations, loop = [image], [None], 0
    if not cut_at_decode and resources is not None and resources.on_source is not None:
        frames[0].load()  # decode errors surface here (a 400), not inside the hook's own handler
        resources.on_source(frames[0])  # e.g. the dominant colour, from pixels decoded anyway
    contexts = [RenderContext(image=f, stack_options=options, source=source, size_before_draft=before,
                              resources=resources) for f in frames]
    delay = None  # the last frame_delay_ms an operation set (addframes: "the last one wins")
    for spec, opts in operations:
        added = []
        for i, ctx in enumerate(contexts):
            limits.check()  # RENDER_TIMEOUT_SECONDS, between operations and frames
            spec.apply(ctx, opts)
            check_output_size(ctx.image.size, max_output_pixels)
            extra = ctx.notes.pop("frames", None)
            if i == 0 and extra:  # run per frame, the op would add the same frames once per frame
                added = [dataclasses.replace(ctx, image=im, notes=dict(ctx.notes)) for im in extra]
            if "frame_delay_ms" in ctx.notes:
                value = ctx.notes.pop("frame_delay_ms")
                if i == 0:
                    delay = value
        if added and animate:
            contexts += added
            durations += [None] * len(added)
        _check_animation(contexts)
    if len(contexts) > 1:  # frames added to an image, and a still first frame, get the delay
        durations = [d if d is not None else (DEFAULT_FRAME_DELAY_MS if delay is None else int(delay))
                     for d in durations]
        size = contexts[0].image.size
        for ctx in contexts[1:]:
            if ctx.image.size != size:  # content-dependent operations (trim...) may differ per frame
                ctx.image = ctx.image.resize(size, Image.Resampling.LANCZOS)
    return Rendered([c.image for c in contexts], durations, loop)


def render_pixels(data: bytes, source: dict, operations: list, options: dict, fmt: str,
                  max_output_pixels: int, resources=None, choose_format=None) -> tuple[bytes, str]:
    """Decode, apply the operations, flatten if asked, encode with the stack options.

    `choose_format(image, fmt)` may switch the output format once the pixels are known
    (jpg.transparency.autoformat); returns the bytes and the format actually written.
    """
    data = prepare_source(data, source, operations)
    if fmt == "svg":
        body = _render_svg(data, source, operations, options, max_output_pixels, resources)
        return optim.optimise(body, fmt, None, options), fmt
    result = _render(data, source, operations, options, max_output_pixels, resources,
                     animate=fmt in codecs.ANIMATED_OUTPUTS or fmt in formats_video.OUTPUTS, prepared=True)
    frames = result.frames
    if options.get("transparency.color"):
        frames = [codecs.flatten(f, options["transparency.color"]) for f in frames]
    if fmt in formats_video.OUTPUTS:
        if len(frames) < 2:
            raise BadRequest(f"Video output (.{fmt}) needs an animated or video source image.")
        return formats_video.encode(frames, result.durations, fmt, options), fmt
    if len(frames) > 1:
        return formats_output.encode_animation(frames, result.durations, result.loop, fmt, options), fmt
    if choose_format is not None:
        fmt = choose_format(frames[0], fmt)
    return optim.optimise(formats_output.encode(frames[0], fmt, options), fmt, frames[0], options), fmt


def has_visible_alpha(image: Image.Image) -> bool:
    """True when some pixel is not fully opaque."""
    if image.mode not in ("RGBA", "LA", "PA"):
        return False
    return image.getchannel("A").getextrema()[0] < 255


def _render_svg(data: bytes, source: dict, operations: list, options: dict, max_output_pixels: int,
                resources) -> bytes:
    """SVG output: SVG text when only svgdynamic/resize/noop ran, else the raster wrapped in SVG."""
    if codecs.vector_kind(data) != "svg":
        raise BadRequest("SVG output is only possible for SVG source images.")
    names = [spec.name for spec, _ in operations]
    if all(n in ("noop", "svgdynamic", "resize") for n in names):
        resizes = [opts for spec, opts in operations if spec.name == "resize"]
        if not resizes:
            return data  # as uploaded, or as svgdynamic left it
        doc = formats_vector.parse_svg(data)
        dpr = float(options.get("dpr") or 1)
        for opts in resizes:
            geo = formats_vector.document_geometry(doc)
            target = resize.target_size(geo.size, opts, dpr)
            check_output_size(target, max_output_pixels)
            nominal = geo.size
            stretch = abs(target[0] / nominal[0] - target[1] / nominal[1]) > 0.01
            formats_vector.set_size(doc, target, stretch=stretch)
        return formats_vector.serialize(doc)
    result = _render(data, source, operations, options, max_output_pixels, resources, prepared=True)
    image = result.frames[0]
    if options.get("transparency.color"):
        image = codecs.flatten(image, options["transparency.color"])
    return formats_vector.wrap_raster(image)
