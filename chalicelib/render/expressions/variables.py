"""The rokka variables: what an expression can name, and how missing ones read.

Names are plain data that the caller passes in (`evaluate(source, names, variables)`); nothing
here computes them. rokka's are:

* `image.*`: the source image (width, height, format, hash, isAnimated, hasSubjectArea,
  subject_area.*, hasDetectionFace, detection_face.*, meta_user.*, entropy...), built by
  `chalicelib.services.render.image_properties` from the stored record;
* `options.*`: the stack options in force (with their defaults), e.g. `options.dpr`;
* `request.headers.*`: the request headers rokka exposes (`save_data`);
* `$name`: the stack variables and the URL's `v` variables, in the order they are defined.

`names(...)` puts the first three together as `stackdef` passes them.
"""
from __future__ import annotations

# Parent objects whose missing keys read as null instead of raising: user
# metadata is free-form and request headers are optional.
NULL_ON_MISSING_PARENTS = frozenset({"image.meta_user", "request.headers"})


def names(image: dict, options: dict, request: dict) -> dict:
    """The names an expression of a render sees (`image`, `options`, `request`)."""
    return {"image": image, "options": options, "request": request}
