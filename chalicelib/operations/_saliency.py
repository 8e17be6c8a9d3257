"""Attention-based crop placement for crop's `smart` anchor (in the spirit of libvips' attention).

The image is reduced to a small score map (at most MAP_SIZE pixels on its longer side) where each pixel
scores how much it draws the eye:

* edges: absolute Laplacian of the luminance (ImageFilter.FIND_EDGES), i.e. texture and detail;
* saturation: HSV saturation weighted by brightness, i.e. strong colours (dark noise does not count);
* skin: a classic RGB skin-tone rule, so people win over an equally busy background.

Transparent pixels score nothing. The crop window (scaled to the map) is slid over every position and
the one with the highest total score wins, found with an integral image (summed-area table) so each
position costs O(1). Among windows within a hair of the best, the one whose centre is closest to the
centre of mass of the score inside it is taken, so a small salient region ends up centred rather than
pushed against an edge of the crop. Everything is plain arithmetic on the pixels: deterministic.
"""
from __future__ import annotations

from PIL import Image, ImageChops, ImageDraw, ImageFilter

MAP_SIZE = 96  # longer side of the score map, in pixels
EDGE_WEIGHT = 1.0
SATURATION_WEIGHT = 0.35
SKIN_WEIGHT = 60.0
TIE = 0.995  # windows scoring at least this share of the best one are considered equal


def best_crop(image: Image.Image, crop: tuple[int, int]) -> tuple[int, int] | None:
    """Top-left (x, y) of the most salient `crop` = (w, h) window inside `image`.

    None when nothing in the image is salient (a flat image): the caller uses its fallback.
    """
    width, height = image.size
    cw, ch = min(crop[0], width), min(crop[1], height)
    scores, mw, mh = score_map(image)
    if not any(scores):
        return None
    if (cw, ch) == (width, height):
        return 0, 0
    fx, fy = mw / width, mh / height
    ww, wh = max(1, min(mw, round(cw * fx))), max(1, min(mh, round(ch * fy)))
    sat, sat_x, sat_y = _integrals(scores, mw, mh)
    best_x, best_y = _best_window(sat, sat_x, sat_y, mw, mh, ww, wh)
    # Back to image pixels. The crop is centred on the score's centre of mass inside the chosen
    # window (finer than one map pixel), moved at most one map pixel away from that window.
    stride = mw + 1
    total = _window(sat, stride, best_x, best_y, ww, wh)
    cx, cy = best_x + ww / 2, best_y + wh / 2
    if total > 0:
        mx = _window(sat_x, stride, best_x, best_y, ww, wh) / total + 0.5
        my = _window(sat_y, stride, best_x, best_y, ww, wh) / total + 0.5
        cx, cy = min(max(cx - 1, mx), cx + 1), min(max(cy - 1, my), cy + 1)
    return (min(max(0, round(cx / fx - cw / 2)), width - cw),
            min(max(0, round(cy / fy - ch / 2)), height - ch))


def score_map(image: Image.Image) -> tuple[list[float], int, int]:
    """The saliency of each pixel of a reduced copy, row by row, with the copy's size."""
    width, height = image.size
    scale = min(1.0, MAP_SIZE / max(width, height))
    mw, mh = max(1, round(width * scale)), max(1, round(height * scale))
    small = image.resize((mw, mh), Image.Resampling.BOX) if (mw, mh) != image.size else image.copy()
    alpha = small.getchannel("A") if small.mode in ("RGBA", "LA") else None
    rgb = small.convert("RGB")
    luma = rgb.convert("L")

    edges = luma.filter(ImageFilter.FIND_EDGES)
    # Pillow leaves the outermost ring unfiltered; there is no edge information there.
    if mw > 2 and mh > 2:
        ImageDraw.Draw(edges).rectangle((0, 0, mw - 1, mh - 1), outline=0)
    else:
        edges = Image.new("L", (mw, mh), 0)
    if alpha is not None:  # an edge of the alpha outline is an edge too
        alpha_edges = alpha.filter(ImageFilter.FIND_EDGES)
        if mw > 2 and mh > 2:
            ImageDraw.Draw(alpha_edges).rectangle((0, 0, mw - 1, mh - 1), outline=0)
        edges = ImageChops.lighter(edges, alpha_edges)

    _, s, v = rgb.convert("HSV").split()
    saturation = ImageChops.multiply(s, v)  # s * v / 255

    edge_px = edges.tobytes()
    sat_px = saturation.tobytes()
    alpha_px = alpha.tobytes() if alpha is not None else None
    rgb_px = rgb.tobytes()
    scores = []
    for i in range(mw * mh):
        score = EDGE_WEIGHT * edge_px[i] + SATURATION_WEIGHT * sat_px[i]
        if _skin(rgb_px[3 * i], rgb_px[3 * i + 1], rgb_px[3 * i + 2]):
            score += SKIN_WEIGHT
        if alpha_px is not None:
            score *= alpha_px[i] / 255
        scores.append(score)
    return scores, mw, mh


def _skin(r: int, g: int, b: int) -> bool:
    """Kovac et al.'s RGB skin rule (daylight): reddish, not grey, not too dark."""
    return (r > 95 and g > 40 and b > 20 and r > g and r > b
            and r - min(g, b) > 15 and r - g > 15)


def _integrals(scores: list[float], mw: int, mh: int):
    """Summed-area tables of s, x*s and y*s, each (mw+1)*(mh+1) with a zero first row/column."""
    stride = mw + 1
    sat = [0.0] * (stride * (mh + 1))
    sat_x = sat[:]
    sat_y = sat[:]
    for y in range(mh):
        row = y * mw
        above = y * stride
        here = above + stride
        run = run_x = run_y = 0.0
        for x in range(mw):
            s = scores[row + x]
            run += s
            run_x += s * x
            run_y += s * y
            sat[here + x + 1] = sat[above + x + 1] + run
            sat_x[here + x + 1] = sat_x[above + x + 1] + run_x
            sat_y[here + x + 1] = sat_y[above + x + 1] + run_y
    return sat, sat_x, sat_y


def _window(table: list[float], stride: int, x: int, y: int, w: int, h: int) -> float:
    top, bottom = y * stride, (y + h) * stride
    return table[bottom + x + w] - table[bottom + x] - table[top + x + w] + table[top + x]


def _best_window(sat, sat_x, sat_y, mw: int, mh: int, ww: int, wh: int) -> tuple[int, int]:
    stride = mw + 1
    sums = {}
    for y in range(mh - wh + 1):
        for x in range(mw - ww + 1):
            sums[(x, y)] = _window(sat, stride, x, y, ww, wh)
    best = max(sums.values())
    if best <= 0:  # nothing salient in any window (only possible with a degenerate map): the centre
        return (mw - ww) // 2, (mh - wh) // 2
    limit = best * TIE
    chosen, chosen_key = None, None
    for (x, y), total in sums.items():
        if total < limit:
            continue
        # Distance from the window centre to the centre of mass of the score inside it.
        mx = _window(sat_x, stride, x, y, ww, wh) / total
        my = _window(sat_y, stride, x, y, ww, wh) / total
        dx, dy = x + (ww - 1) / 2 - mx, y + (wh - 1) / 2 - my
        key = (dx * dx + dy * dy, -total, y, x)  # fully ordered: deterministic
        if chosen_key is None or key < chosen_key:
            chosen, chosen_key = (x, y), key
    return chosen
