"""face: put a secondary image (sunglasses, a hat...) onto the detected face.

The face is the `detection_face` dynamic metadata of the source, `{x, y, width, height}` in
source pixels, scaled to the current image size. Without it the image is left unchanged.

Placement (rokka's docs only name the options, so this is our reading of them):

* `leftFeature` and `rightFeature` name two facial landmarks (AWS Rekognition's names, e.g.
  eyeLeft and eyeRight; "left" is the image's left). Their positions come from
  `detection_face.landmarks` when present (`{name: {x, y}}` or `[{type, x, y}]`, source
  pixels), otherwise from the usual proportions of a face inside the detection box.
* The secondary image is scaled to `scale` x the face's width (keeping its aspect ratio),
  turned so that its horizontal axis follows the line from the left to the right feature
  (a tilted head tilts the glasses), and placed so that its `anchor` point (crop-style:
  left/center/right_top/center/bottom or pixels of the secondary image) lies on the
  midpoint between the two features.
"""
from __future__ import annotations

import math
import re

from PIL import Image

from chalicelib.operations import _layers
from chalicelib.operations.base import Option, OperationSpec

# Landmark positions as fractions of the face box, for faces without stored landmarks.
LANDMARKS = {
    "eyeLeft": (0.30, 0.40), "eyeRight": (0.70, 0.40),
    "leftPupil": (0.30, 0.40), "rightPupil": (0.70, 0.40),
    "leftEyeLeft": (0.22, 0.40), "leftEyeRight": (0.38, 0.40),
    "leftEyeUp": (0.30, 0.37), "leftEyeDown": (0.30, 0.43),
    "rightEyeLeft": (0.62, 0.40), "rightEyeRight": (0.78, 0.40),
    "rightEyeUp": (0.70, 0.37), "rightEyeDown": (0.70, 0.43),
    "leftEyeBrowLeft": (0.18, 0.32), "leftEyeBrowRight": (0.42, 0.32), "leftEyeBrowUp": (0.30, 0.29),
    "rightEyeBrowLeft": (0.58, 0.32), "rightEyeBrowRight": (0.82, 0.32), "rightEyeBrowUp": (0.70, 0.29),
    "nose": (0.50, 0.60), "noseLeft": (0.42, 0.62), "noseRight": (0.58, 0.62),
    "mouthLeft": (0.36, 0.78), "mouthRight": (0.64, 0.78), "mouthUp": (0.50, 0.74), "mouthDown": (0.50, 0.82),
    "upperJawlineLeft": (0.05, 0.40), "midJawlineLeft": (0.12, 0.75), "chinBottom": (0.50, 1.00),
    "midJawlineRight": (0.88, 0.75), "upperJawlineRight": (0.95, 0.40),
}
_FEATURES = tuple(LANDMARKS)

OPTIONS = {
    "secondary_image": Option("string", pattern=_layers.HASH, description="Hash of the image to put on the face"),
    "leftFeature": Option("string", values=_FEATURES, description="Left landmark to align with, e.g. eyeLeft"),
    "rightFeature": Option("string", values=_FEATURES, description="Right landmark to align with, e.g. eyeRight"),
    "anchor": Option("string", default="center_center", pattern=_layers.ANCHOR,
                     description="Point of the secondary image put between the two features"),
    "scale": Option("number", default=1.0, minimum=0.01, maximum=100,
                    description="Width of the secondary image as a multiple of the face's width"),
}


def apply(ctx, opts: dict) -> None:
    face = (ctx.source.get("dynamic_metadata") or {}).get("detection_face") or {}
    if not face.get("width") or not face.get("height"):
        return
    image = ctx.image
    fx = image.width / (ctx.source.get("width") or image.width)
    fy = image.height / (ctx.source.get("height") or image.height)
    left = _feature(face, opts["leftFeature"], fx, fy)
    right = _feature(face, opts["rightFeature"], fx, fy)

    secondary = _layers.rgba(_layers.load_image(ctx, opts["secondary_image"], "face: secondary image"))
    width = face["width"] * fx * opts["scale"]
    size = (max(1, round(width)), max(1, round(width * secondary.height / secondary.width)))
    _layers.check_layer_size(size, "face layer")
    anchor = _anchor_point(opts["anchor"], secondary.size)
    anchor = (anchor[0] * size[0] / secondary.width, anchor[1] * size[1] / secondary.height)
    layer = secondary.resize(size, Image.Resampling.LANCZOS) if size != secondary.size else secondary

    angle = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))  # clockwise, y points down
    turned = _layers.rotated(layer, angle)
    # Where the anchor point went: turn its offset from the centre around the centre.
    ox, oy = anchor[0] - layer.width / 2, anchor[1] - layer.height / 2
    a = math.radians(angle)
    ax = turned.width / 2 + ox * math.cos(a) - oy * math.sin(a)
    ay = turned.height / 2 + ox * math.sin(a) + oy * math.cos(a)
    mid = ((left[0] + right[0]) / 2, (left[1] + right[1]) / 2)
    xy = (round(mid[0] - ax), round(mid[1] - ay))
    ctx.image = _layers.finish(_layers.over(_layers.rgba(image), turned, xy), _layers.has_alpha(image))


def _feature(face: dict, name: str, fx: float, fy: float) -> tuple[float, float]:
    """A landmark's position in the current image's pixels."""
    stored = face.get("landmarks")
    point = None
    if isinstance(stored, dict):
        point = stored.get(name)
    elif isinstance(stored, list):
        point = next((p for p in stored if isinstance(p, dict) and p.get("type") == name), None)
    if isinstance(point, dict) and "x" in point and "y" in point:
        return point["x"] * fx, point["y"] * fy
    px, py = LANDMARKS[name]
    return ((face.get("x", 0) + face["width"] * px) * fx, (face.get("y", 0) + face["height"] * py) * fy)


def _anchor_point(anchor: str, size: tuple[int, int]) -> tuple[float, float]:
    """The point of an image of `size` that a crop-style anchor names."""
    x_token, y_token = re.split(r"[_-]", _layers.position(anchor))
    return (_coordinate(x_token, size[0], "left", "right"), _coordinate(y_token, size[1], "top", "bottom"))


def _coordinate(token: str, length: int, start: str, end: str) -> float:
    if token.isdigit():
        return min(int(token), length)
    return {start: 0, "center": length / 2, end: length}[token]


SPEC = OperationSpec(
    name="face",
    options=OPTIONS,
    apply=apply,
    required=("secondary_image", "leftFeature", "rightFeature"),
    description="Places a secondary image onto the detected face, aligned to two facial landmarks.",
)
