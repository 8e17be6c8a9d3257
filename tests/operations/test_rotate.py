"""rotate: clockwise, exact quarter turns, expanded canvas, background colour and opacity."""
import math

import pytest
from PIL import Image, ImageDraw

from tests.image_helpers import BLUE, GREEN, RED, YELLOW, assert_pixel_close, assert_size, make_quadrants, run

# Which source quadrant ends up top-left, top-right, bottom-left, bottom-right (source: R G / B Y).
QUARTER_TURNS = [
    (90, (BLUE, RED, YELLOW, GREEN)),
    (-270, (BLUE, RED, YELLOW, GREEN)),
    (180, (YELLOW, BLUE, GREEN, RED)),
    (-180, (YELLOW, BLUE, GREEN, RED)),
    (270, (GREEN, YELLOW, RED, BLUE)),
    (-90, (GREEN, YELLOW, RED, BLUE)),
]


def corners(im):
    w, h = im.size
    return [im.getpixel(xy) for xy in ((2, 2), (w - 3, 2), (2, h - 3), (w - 3, h - 3))]


@pytest.mark.parametrize("angle, expected", QUARTER_TURNS)
def test_quarter_turns_are_exact_and_clockwise(angle, expected):
    out = run("rotate", make_quadrants(40, 20), angle=angle)
    assert out.mode == "RGB"  # no background, so no alpha channel either
    assert_size(out, *((40, 20) if abs(angle) == 180 else (20, 40)))
    assert corners(out) == list(expected)


@pytest.mark.parametrize("angle", [0, 360, -360, "0"])
def test_full_turns_change_nothing(angle):
    src = make_quadrants(40, 20)
    assert run("rotate", src, angle=angle).tobytes() == src.tobytes()


@pytest.mark.parametrize("angle", [45, 30, 12.5, -60])
def test_canvas_expands_to_hold_the_rotated_image(angle):
    out = run("rotate", Image.new("RGB", (40, 20)), angle=angle)
    a = math.radians(angle)
    expected = (40 * abs(math.cos(a)) + 20 * abs(math.sin(a)), 40 * abs(math.sin(a)) + 20 * abs(math.cos(a)))
    # Pillow rounds the bounding box outwards, so allow one extra pixel.
    assert math.floor(expected[0]) <= out.width <= math.ceil(expected[0]) + 1
    assert math.floor(expected[1]) <= out.height <= math.ceil(expected[1]) + 1


def test_direction_is_clockwise():
    # A red block in the top-right quadrant moves to the right middle after 45 degrees clockwise.
    src = Image.new("RGB", (60, 60), (0, 0, 0))
    ImageDraw.Draw(src).rectangle((35, 5, 55, 25), fill=RED)
    out = run("rotate", src, angle=45, background_opacity=100)
    cx, cy = out.width // 2, out.height // 2
    assert_pixel_close(out, (cx + 21, cy), RED, tol=10)
    assert_pixel_close(out, (cx, cy - 21), (0, 0, 0), tol=10)


@pytest.mark.parametrize("opacity, mode, corner", [
    (0, "RGBA", (0, 255, 0, 0)),
    (50, "RGBA", (0, 255, 0, 128)),
    (100, "RGB", (0, 255, 0, 255)),
])
def test_background_colour_and_opacity(opacity, mode, corner):
    out = run("rotate", Image.new("RGB", (40, 40), BLUE), angle=45, background_color="00FF00",
              background_opacity=opacity)
    assert out.mode == mode
    assert_pixel_close(out, (0, 0), corner, tol=1)
    assert_pixel_close(out, (out.width // 2, out.height // 2), (*BLUE, 255), tol=1)


@pytest.mark.parametrize("mode, opacity, out_mode, corner", [
    ("L", 0, "LA", (255, 255, 255, 0)),
    ("L", 100, "L", (150, 150, 150, 255)),
    ("LA", 100, "LA", (150, 150, 150, 255)),
    ("RGBA", 0, "RGBA", (0, 255, 0, 0)),
])
def test_gray_and_alpha_modes(mode, opacity, out_mode, corner):
    color = "00FF00" if out_mode.startswith("RGB") else "969696"  # 0x96 = 150
    out = run("rotate", Image.new(mode, (30, 30)), angle=30, background_color=color, background_opacity=opacity)
    assert out.mode == out_mode
    if opacity == 0:
        assert out.getchannel("A").getpixel((0, 0)) == 0
    else:
        assert_pixel_close(out, (0, 0), corner, tol=1)
