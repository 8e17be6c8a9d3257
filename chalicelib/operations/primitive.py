"""primitive: rebuilds the image out of geometric shapes, like fogleman/primitive.

The algorithm is primitive's, on Pillow instead of Go:

1. The image is reduced to a working copy of at most WORK_SIZE pixels on its longer side; the model
   starts as a canvas filled with the copy's average colour.
2. For each of `count` shapes, candidates of the requested kind are scored on the working copy: a
   candidate's pixels get the colour that best matches the target there given the shape's fixed
   alpha (ALPHA, primitive's default 128), and its score is how much the squared error against the
   target changes. The best of a batch of random candidates is then improved by hill climbing
   (random mutations, kept when they lower the error). A shape that does not lower the error is
   not drawn.
3. The chosen shapes are drawn again, scaled, on a canvas of the input's size.

Modes follow primitive's `-m`: 0 combo (every candidate picks a kind at random), 1 triangle,
2 rectangle, 3 ellipse, 4 circle, 5 rotated rectangle, 6 beziers (quadratic curves, stroked),
7 rotated ellipse, 8 polygon (4 points). primitive treats any other mode number like combo; so does 9.

Deterministic: the random generator is seeded from the working copy's pixels and the options, and
the number of candidates per shape is fixed by `count` (SEARCH_BUDGET), never by the clock, so the
same URL renders the same bytes. TIME_BUDGET is a safety net on top: once the search has used that
much CPU time of the rendering thread (CPU time, so that other work on a busy machine does not make
it trip), the remaining shapes are skipped. SEARCH_BUDGET is sized to about half of it, so only a
machine twice as slow as planned ever renders differently.
"""
from __future__ import annotations

import hashlib
import math
import random as _random
import time
from operator import mul

from PIL import Image, ImageChops, ImageDraw, ImageStat

from chalicelib.operations.base import Option, OperationSpec

OPTIONS = {
    "count": Option("integer", default=20, minimum=1, maximum=200, description="Number of shapes"),
    "mode": Option("integer", default=0, minimum=0, maximum=9,
                   description="0 combo, 1 triangle, 2 rectangle, 3 ellipse, 4 circle, 5 rotated rectangle, "
                               "6 beziers, 7 rotated ellipse, 8 polygon, 9 combo"),
}

WORK_SIZE = 96  # longer side of the working copy the shapes are searched on
ALPHA = 128  # opacity of every shape, out of 255 (primitive's default)
SEARCH_BUDGET = 6000  # shape evaluations per render (about 1 s of one core), shared by the shapes...
MIN_TRIES, MAX_TRIES = 30, 1000  # ...but never fewer / more than this per shape
TIME_BUDGET = 2.0  # seconds of CPU time for the search; a safety net, see above

TRIANGLE, RECTANGLE, ELLIPSE, CIRCLE, ROTATED_RECTANGLE, BEZIER, ROTATED_ELLIPSE, POLYGON = range(1, 9)
KINDS = (TRIANGLE, RECTANGLE, ELLIPSE, CIRCLE, ROTATED_RECTANGLE, BEZIER, ROTATED_ELLIPSE, POLYGON)

_A = ALPHA / 255
_SQUARES = [v * v for v in range(256)]
_VALUES = list(range(256))


def apply(ctx, opts: dict) -> None:
    count = opts.get("count") or 20
    mode = opts.get("mode") or 0
    ctx.image = primitive(ctx.image, count, mode)


def primitive(image: Image.Image, count: int, mode: int) -> Image.Image:
    width, height = image.size
    alpha = image.getchannel("A") if image.mode in ("RGBA", "LA") else None
    rgb = _opaque_rgb(image)
    scale = min(1.0, WORK_SIZE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    target = rgb.resize(size, Image.Resampling.BOX) if size != rgb.size else rgb.copy()

    seed = hashlib.sha256(b"primitive\0%d\0%d\0%d\0%d\0" % (count, mode, width, height) + target.tobytes())
    model = _Model(target, _random.Random(int.from_bytes(seed.digest()[:16], "big")))
    tries = min(MAX_TRIES, max(MIN_TRIES, SEARCH_BUDGET // count))
    deadline = time.thread_time() + TIME_BUDGET
    for _ in range(count):
        model.step(mode, tries)
        if time.thread_time() > deadline:
            break

    out = Image.new("RGB", (width, height), model.background)
    draw = ImageDraw.Draw(out, "RGBA")  # draws with the fill's alpha blended over the pixels
    fx, fy = width / size[0], height / size[1]
    for shape, color in model.shapes:
        geometry = _geometry(shape, fx, fy, fine=True)
        if geometry[0] == "polygon":
            draw.polygon(geometry[1], fill=(*color, ALPHA))
        elif geometry[0] == "ellipse":
            draw.ellipse(geometry[1], fill=(*color, ALPHA))
        else:  # a stroke through a mask, so that its overlapping segments are not blended twice
            _paint(out, geometry, color)
    return _restore_mode(out, image.mode, alpha)


class _Model:
    """The working target, the current approximation of it, and the shapes chosen so far."""

    def __init__(self, target: Image.Image, rnd: _random.Random):
        self.target, self.rnd = target, rnd
        self.w, self.h = target.size
        self.background = tuple(round(v) for v in ImageStat.Stat(target).mean[:3])
        self.current = Image.new("RGB", target.size, self.background)
        self.shapes: list[tuple[tuple, tuple]] = []

    def step(self, mode: int, tries: int) -> None:
        """Search one shape with `tries` evaluations; draw it if it improves the model."""
        rnd = self.rnd
        n_random = max(1, tries // 4)
        best, best_score = None, None
        for _ in range(n_random):
            kind = mode if mode in KINDS else rnd.choice(KINDS)
            shape = _random_shape(kind, rnd, self.w, self.h)
            score = self.energy(shape)
            if score is not None and (best_score is None or score[0] < best_score[0]):
                best, best_score = shape, score
        if best is None:
            return
        for _ in range(tries - n_random):  # hill climbing
            shape = _mutate(best, rnd, self.w, self.h)
            score = self.energy(shape)
            if score is not None and score[0] < best_score[0]:
                best, best_score = shape, score
        delta, color, box, mask = best_score
        if delta < 0:
            self.current.paste(color, box, mask)
            self.shapes.append((best, color))

    def energy(self, shape: tuple):
        """(change of the squared error, best colour, box, mask) for drawing `shape`, or None if empty."""
        box, mask = _mask(_geometry(shape, 1, 1), self.w, self.h)
        if box is None:
            return None
        n = mask.histogram()[ALPHA]
        if n == 0:
            return None
        target, current = self.target.crop(box), self.current.crop(box)
        hist_t, hist_c = target.histogram(mask), current.histogram(mask)
        # The colour c minimising the error of (1 - a) * current + a * c against the target, per channel.
        color = tuple(min(255, max(0, round((sum(map(mul, hist_t[i:i + 256], _VALUES))
                                             - (1 - _A) * sum(map(mul, hist_c[i:i + 256], _VALUES))) / (n * _A))))
                      for i in (0, 256, 512))
        before = _squared_error(target, current, mask)
        current.paste(color, None, mask)
        return _squared_error(target, current, mask) - before, color, box, mask


def _squared_error(a: Image.Image, b: Image.Image, mask: Image.Image) -> int:
    """Sum over the mask's pixels and the three channels of (a - b) squared."""
    diff = ImageChops.difference(a, b)
    hist = diff.histogram(mask)
    total = 0
    for start, (_, top) in zip((0, 256, 512), diff.getextrema()):  # bins above the maximum are empty
        total += sum(map(mul, hist[start:start + top + 1], _SQUARES))
    return total


# --- shapes -------------------------------------------------------------------------------------
# A shape is (kind, *parameters) in working-copy pixels; `_geometry` turns it into something to draw.


def _random_shape(kind: int, rnd: _random.Random, w: int, h: int) -> tuple:
    x, y = rnd.uniform(0, w), rnd.uniform(0, h)
    reach = max(w, h) * 0.25
    if kind in (TRIANGLE, POLYGON, BEZIER):
        n = 4 if kind == POLYGON else 3
        points = [x, y]
        for _ in range(n - 1):
            points += [x + rnd.uniform(-reach, reach), y + rnd.uniform(-reach, reach)]
        return (kind, *points)
    if kind == RECTANGLE:
        return (kind, x, y, x + rnd.uniform(-reach, reach), y + rnd.uniform(-reach, reach))
    if kind == CIRCLE:
        return (kind, x, y, rnd.uniform(1, reach / 1.5))
    rx, ry = rnd.uniform(1, reach / 1.5), rnd.uniform(1, reach / 1.5)
    if kind == ELLIPSE:
        return (kind, x, y, rx, ry)
    return (kind, x, y, rx, ry, rnd.uniform(0, 180))  # rotated rectangle / ellipse: half sizes, angle


def _mutate(shape: tuple, rnd: _random.Random, w: int, h: int) -> tuple:
    kind, params = shape[0], list(shape[1:])
    step = max(w, h) * 0.06
    if kind in (TRIANGLE, POLYGON, BEZIER, RECTANGLE):
        i = 2 * rnd.randrange(len(params) // 2)  # move one point
        params[i] = _within(params[i] + rnd.gauss(0, step), w)
        params[i + 1] = _within(params[i + 1] + rnd.gauss(0, step), h)
    else:
        choice = rnd.randrange(len(params) - 1)  # centre, a size, or the angle
        if choice == 0:
            params[0] = _within(params[0] + rnd.gauss(0, step), w)
            params[1] = _within(params[1] + rnd.gauss(0, step), h)
        elif choice == 3:  # only rotated shapes have a fifth parameter, the angle
            params[4] = (params[4] + rnd.gauss(0, 20)) % 180
        else:
            params[choice + 1] = min(max(w, h), max(0.5, params[choice + 1] + rnd.gauss(0, step)))
    return (kind, *params)


def _within(v: float, limit: int) -> float:
    return min(limit + 1.0, max(-1.0, v))


def _geometry(shape: tuple, fx: float, fy: float, fine: bool = False) -> tuple:
    """("polygon", points) / ("ellipse", box) / ("line", points, width), scaled by fx, fy."""
    kind, p = shape[0], shape[1:]
    if kind in (TRIANGLE, POLYGON):
        return "polygon", [(p[i] * fx, p[i + 1] * fy) for i in range(0, len(p), 2)]
    if kind == RECTANGLE:
        x0, x1 = sorted((p[0], p[2]))
        y0, y1 = sorted((p[1], p[3]))
        return "polygon", [(x0 * fx, y0 * fy), (x1 * fx, y0 * fy), (x1 * fx, y1 * fy), (x0 * fx, y1 * fy)]
    if kind in (ELLIPSE, CIRCLE):
        rx, ry = (p[2], p[2]) if kind == CIRCLE else (p[2], p[3])
        return "ellipse", ((p[0] - rx) * fx, (p[1] - ry) * fy, (p[0] + rx) * fx, (p[1] + ry) * fy)
    if kind == BEZIER:
        steps = 32 if fine else 12
        points = []
        for i in range(steps + 1):
            t = i / steps
            a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
            points.append(((a * p[0] + b * p[2] + c * p[4]) * fx, (a * p[1] + b * p[3] + c * p[5]) * fy))
        return "line", points, max(1, round((fx + fy) / 2))
    cx, cy, rx, ry, angle = p
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    if kind == ROTATED_RECTANGLE:
        corners = ((-rx, -ry), (rx, -ry), (rx, ry), (-rx, ry))
    else:  # rotated ellipse
        n = 64 if fine else 20
        corners = [(rx * math.cos(2 * math.pi * i / n), ry * math.sin(2 * math.pi * i / n)) for i in range(n)]
    return "polygon", [((cx + u * cos - v * sin) * fx, (cy + u * sin + v * cos) * fy) for u, v in corners]


def _bounds(geometry: tuple) -> tuple[float, float, float, float]:
    if geometry[0] == "ellipse":
        return geometry[1]
    xs, ys = [q[0] for q in geometry[1]], [q[1] for q in geometry[1]]
    pad = geometry[2] / 2 + 1 if geometry[0] == "line" else 0
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def _mask(geometry: tuple, w: int, h: int):
    """The shape's box in the image (clipped) and an L mask of that box with the shape at ALPHA."""
    x0, y0, x1, y1 = _bounds(geometry)
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    right, bottom = min(w, math.ceil(x1) + 1), min(h, math.ceil(y1) + 1)
    if right <= left or bottom <= top:
        return None, None
    mask = Image.new("L", (right - left, bottom - top), 0)
    draw = ImageDraw.Draw(mask)
    kind = geometry[0]
    if kind == "polygon":
        draw.polygon([(x - left, y - top) for x, y in geometry[1]], fill=ALPHA)
    elif kind == "ellipse":
        ex0, ey0, ex1, ey1 = geometry[1]
        if ex1 - ex0 < 1 or ey1 - ey0 < 1:
            return None, None
        draw.ellipse((ex0 - left, ey0 - top, ex1 - left, ey1 - top), fill=ALPHA)
    else:
        draw.line([(x - left, y - top) for x, y in geometry[1]], fill=ALPHA, width=geometry[2], joint="curve")
    return (left, top, right, bottom), mask


def _paint(image: Image.Image, geometry: tuple, color: tuple) -> None:
    box, mask = _mask(geometry, *image.size)
    if box is not None:
        image.paste(color, box, mask)


# --- modes ----------------------------------------------------------------------------------------


def _opaque_rgb(image: Image.Image) -> Image.Image:
    """RGB to approximate; transparent pixels become the average visible colour (nothing to fit)."""
    if image.mode not in ("RGBA", "LA"):
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[1] == 0:
        return Image.new("RGB", image.size, (0, 0, 0))
    mean = tuple(round(v) for v in ImageStat.Stat(rgba.convert("RGB"), alpha.point(lambda a: 255 if a else 0)).mean)
    backdrop = Image.new("RGB", image.size, mean)
    backdrop.paste(rgba.convert("RGB"), (0, 0), alpha)
    return backdrop


def _restore_mode(out: Image.Image, mode: str, alpha: Image.Image | None) -> Image.Image:
    if mode in ("L", "LA"):
        out = out.convert("L")
    if alpha is not None:
        out = out.convert("LA" if mode == "LA" else "RGBA")
        out.putalpha(alpha)
    elif out.mode != mode and mode in ("RGB", "L"):
        out = out.convert(mode)
    return out


SPEC = OperationSpec(
    name="primitive",
    options=OPTIONS,
    apply=apply,
    description="Rebuilds the image out of count geometric shapes of the given mode (like fogleman/primitive).",
)
