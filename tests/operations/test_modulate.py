"""modulate: brightness and saturation in percent, hue in degrees."""
import pytest
from PIL import Image

from tests.image_helpers import assert_pixel_close, make_gradient, run, similarity


def test_defaults_change_nothing():
    src = make_gradient(20, 20)
    assert run("modulate", src).tobytes() == src.tobytes()


@pytest.mark.parametrize("brightness, expected", [
    (0, (0, 0, 0)), (50, (100, 50, 25)), (100, (200, 100, 50)), (200, (255, 200, 100)), (500, (255, 255, 250)),
])
def test_brightness_is_a_linear_multiplier(brightness, expected):
    out = run("modulate", Image.new("RGB", (4, 4), (200, 100, 50)), brightness=brightness)
    assert_pixel_close(out, (0, 0), expected, tol=1)


@pytest.mark.parametrize("hue, expected", [
    (0, (255, 0, 0)), (360, (255, 0, 0)), (120, (0, 255, 0)), (240, (0, 0, 255)), (180, (0, 255, 255)),
    (60, (255, 255, 0)),
])
def test_hue_turns_the_colour_wheel(hue, expected):
    out = run("modulate", Image.new("RGB", (4, 4), (255, 0, 0)), hue=hue)
    assert_pixel_close(out, (0, 0), expected, tol=8)


def test_saturation_zero_is_gray_and_keeps_lightness():
    out = run("modulate", Image.new("RGB", (4, 4), (255, 0, 0)), saturation=0)
    assert_pixel_close(out, (0, 0), (76, 76, 76), tol=1)


@pytest.mark.parametrize("saturation", [50, 150, 300])
def test_saturation_moves_away_from_gray(saturation):
    r, g, b = run("modulate", Image.new("RGB", (4, 4), (160, 100, 100)), saturation=saturation).getpixel((0, 0))
    gray = 118  # luminance of (160, 100, 100)
    assert (r - g) == pytest.approx(60 * saturation / 100, abs=2)
    assert abs((r * 299 + g * 587 + b * 114) / 1000 - gray) <= 2


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_gray_images_only_take_brightness(mode):
    src = Image.new(mode, (4, 4), 100 if mode == "L" else (100, 33))
    out = run("modulate", src, brightness=50, saturation=300, hue=90)
    assert out.mode == mode
    assert out.getpixel((0, 0)) == (50 if mode == "L" else (50, 33))


def test_alpha_is_kept_and_hue_change_is_visible():
    src = make_gradient(20, 20).convert("RGBA")
    src.putalpha(77)
    out = run("modulate", src, hue=180)
    assert out.mode == "RGBA" and out.getchannel("A").getextrema() == (77, 77)
    assert similarity(out, src) < 0.9
