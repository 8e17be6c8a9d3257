"""crop: cut a box out of the image, placed by an anchor or by the image's dynamic metadata."""
from __future__ import annotations

import re

from chalicelib.operations import _saliency
from chalicelib.operations.base import Option, OperationSpec

# rokka's 2019 anchor pattern: `X_Y` (pixel offsets or named positions) or an automatic anchor.
ANCHOR = (r"\b(subjectarea|smart|face|auto|croparea|((center|left|right|(0|[1-9][0-9]{0,3}|10000))"
          r"[_-](center|top|bottom|(0|[1-9][0-9]{0,3}|10000))))\b")

OPTIONS = {
    "width": Option("integer", minimum=1, maximum=99999, description="Width of the crop (or of the ratio)"),
    "height": Option("integer", minimum=1, maximum=99999, description="Height of the crop (or of the ratio)"),
    "anchor": Option("string", default="auto", pattern=ANCHOR,
                     description="X_Y (pixels, left/center/right, top/center/bottom), auto, subjectarea, "
                                 "croparea, face or smart"),
    "fallback": Option("string", default="center_center", pattern=ANCHOR,
                       description="Anchor used when the image has no matching area"),
    "mode": Option("string", default="absolute", values=("absolute", "ratio", "box", "area"),
                   description="absolute: pixels; ratio: largest crop of that aspect ratio; "
                               "box: the subject area itself; area: the subject area fitted into the ratio"),
    "scale": Option("number", default=100, minimum=0, maximum=100, description="Shrink the crop box to this percent"),
    "area": Option("string", pattern=r"^[a-zA-Z0-9_]+$", nullable=True,
                   description="Name of a multi_areas entry to use instead of the default areas"),
    "movearea_x": Option("integer", default=0, description="Move the subject area by this percent of its width"),
    "movearea_y": Option("integer", default=0, description="Move the subject area by this percent of its height"),
}

Box = tuple[float, float, float, float]  # x, y, width, height in pixels of the current image


def apply(ctx, opts: dict) -> None:
    size = ctx.image.size
    ctx.image = ctx.image.crop(_clamped(_box(size, ctx.source, opts, ctx.image), size))


def decode_box(size: tuple[int, int], source: dict, opts: dict) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) `apply` will cut from an image of `size`, when it
    follows from the geometry and the image's metadata alone; None when it needs the pixels
    (smart crops). The render pipeline uses it to decode only the rows the crop keeps."""
    box = _box(size, source, opts, None)
    return None if box is None else _clamped(box, size)


def _box(size, source: dict, opts: dict, image) -> Box | None:
    """The crop box; None when it needs the pixels and `image` is None."""
    subject, crop_area = _areas(source, opts.get("area"), size)
    subject = _moved(subject, opts["movearea_x"], opts["movearea_y"])
    anchor = re.search(ANCHOR, opts["anchor"]).group(0)
    mode = opts["mode"]
    if mode == "box" and (subject or crop_area):
        return _shrunk(subject or crop_area, opts["scale"])
    if crop_area and (anchor == "croparea" or (anchor == "auto" and not subject)):
        return _shrunk(crop_area, opts["scale"])  # the subject area wins over the crop area
    w, h = _crop_size(size, opts, subject if mode == "area" else None)
    face = _in_pixels(_face(source), source, size) if anchor in ("face", "auto") else None
    if subject and (mode == "area" or anchor in ("auto", "subjectarea")):
        x, y = _centred(subject, (w, h), size)
    elif face:  # face, or auto without a subject area
        x, y = _centred(face, (w, h), size)
    else:
        # smart is attention-based (also as the fallback of subjectarea, croparea and face, but
        # auto never falls back to it); a flat image has nothing salient and takes the fallback.
        smart = anchor == "smart" or (_is_smart(opts["fallback"]) and anchor != "auto"
                                      and "_" not in anchor and "-" not in anchor)
        if smart and image is None:
            return None
        found = _saliency.best_crop(image, (w, h)) if smart else None
        x, y = found or _placed(_position(anchor, opts["fallback"]), (w, h), size)
    return (x, y, w, h)


def _face(source: dict) -> dict | None:
    """The detected face box (source pixels) from the image's dynamic metadata, if any."""
    face = (source.get("dynamic_metadata") or {}).get("detection_face")
    if not isinstance(face, dict) or not face.get("width") or not face.get("height"):
        return None
    return {"x": face.get("x", 0), "y": face.get("y", 0), "width": face["width"], "height": face["height"]}


def _is_smart(fallback: str) -> bool:
    return re.search(ANCHOR, fallback).group(0) == "smart"


def _areas(source: dict, name: str | None, size) -> tuple[Box | None, Box | None]:
    meta = source.get("dynamic_metadata") or {}
    named = (meta.get("multi_areas") or {}).get(name) if name else None
    meta = named or meta  # an unknown area name means the normal behaviour
    return (_in_pixels(meta.get("subject_area"), source, size),
            _in_pixels(meta.get("crop_area"), source, size))


def _in_pixels(area: dict | None, source: dict, size) -> Box | None:
    if not area:
        return None
    if area.get("percentage"):
        fx, fy = size[0] / 100, size[1] / 100
    else:
        # Areas are stored in source pixels; an earlier resize changes the scale.
        fx, fy = size[0] / (source.get("width") or size[0]), size[1] / (source.get("height") or size[1])
    return (area.get("x", 0) * fx, area.get("y", 0) * fy, area.get("width", 1) * fx, area.get("height", 1) * fy)


def _moved(subject: Box | None, move_x: int, move_y: int) -> Box | None:
    if not subject:
        return None
    x, y, w, h = subject
    return x + w * move_x / 100, y + h * move_y / 100, w, h


def _shrunk(box: Box, scale: float) -> Box:
    x, y, w, h = box
    f = scale / 100
    return x + w * (1 - f) / 2, y + h * (1 - f) / 2, w * f, h * f


def _crop_size(size, opts: dict, subject: Box | None) -> tuple[int, int]:
    img_w, img_h = size
    w, h = opts["width"], opts["height"]
    if opts["mode"] in ("ratio", "area"):
        ratio = w / h
        # Start from the subject area's smallest enclosing box of that ratio, or from the full width...
        w = max(subject[2], subject[3] * ratio) if subject else img_w
        h = w / ratio
        # ...then shrink to the largest box of that ratio that fits.
        fit = min(1, img_w / w, img_h / h)
        w, h = w * fit, h * fit
    w, h = w * opts["scale"] / 100, h * opts["scale"] / 100
    return max(1, min(img_w, round(w))), max(1, min(img_h, round(h)))


def _centred(subject: Box, crop: tuple[int, int], size) -> tuple[int, int]:
    x, y, w, h = subject
    return (min(max(0, round(x + w / 2 - crop[0] / 2)), size[0] - crop[0]),
            min(max(0, round(y + h / 2 - crop[1] / 2)), size[1] - crop[1]))


def _position(anchor: str, fallback: str) -> str:
    for candidate in (anchor, re.search(ANCHOR, fallback).group(0)):
        if "_" in candidate or "-" in candidate:  # the automatic anchors contain neither
            return candidate
    return "center_center"


def _placed(position: str, crop: tuple[int, int], size) -> tuple[int, int]:
    x_token, y_token = re.split(r"[_-]", position)
    return (_offset(x_token, size[0] - crop[0], "left", "right"),
            _offset(y_token, size[1] - crop[1], "top", "bottom"))


def _offset(token: str, free: int, start: str, end: str) -> int:
    if token.isdigit():
        return min(int(token), free)  # pixel offset of the top-left corner, kept inside the image
    return {start: 0, "center": free // 2, end: free}[token]


def _clamped(box: Box, size) -> tuple[int, int, int, int]:
    x, y, w, h = box
    left, top = min(max(0, round(x)), size[0] - 1), min(max(0, round(y)), size[1] - 1)
    right, bottom = min(size[0], round(x + w)), min(size[1], round(y + h))
    return left, top, max(left + 1, right), max(top + 1, bottom)


SPEC = OperationSpec(
    name="crop",
    options=OPTIONS,
    apply=apply,
    required=("width", "height"),
    description="Crops the image to a box placed by an anchor, a subject area or a crop area.",
)
