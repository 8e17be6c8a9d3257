"""circlemask: transparent outside the largest centred circle."""
import pytest
from PIL import Image, ImageOps

from tests.image_helpers import BLUE, assert_size, run, similarity


@pytest.mark.parametrize("size, inside, outside", [
    ((40, 40), [(20, 20), (2, 20), (20, 37), (33, 33)], [(0, 0), (39, 39), (35, 35), (0, 39)]),
    ((60, 40), [(30, 20), (12, 20), (48, 20), (30, 2)], [(5, 20), (55, 20), (0, 0), (59, 39)]),
    ((30, 80), [(15, 40), (2, 40), (15, 27)], [(15, 20), (15, 60), (0, 0)]),
])
def test_inside_opaque_outside_transparent(size, inside, outside):
    out = run("circlemask", Image.new("RGB", size, BLUE))
    assert out.mode == "RGBA"
    assert_size(out, *size)
    for xy in inside:
        assert out.getpixel(xy) == (*BLUE, 255), xy
    for xy in outside:
        assert out.getpixel(xy)[3] == 0, xy


def test_edge_is_smooth_and_symmetric():
    alpha = run("circlemask", Image.new("RGB", (50, 50))).getchannel("A")
    assert any(0 < alpha.getpixel((x, 25 - 18)) < 255 for x in range(50))  # antialiased
    assert similarity(alpha, ImageOps.mirror(alpha)) > 0.99
    assert similarity(alpha, ImageOps.flip(alpha)) > 0.99


@pytest.mark.parametrize("mode, color, out_mode, centre", [
    ("L", 90, "LA", (90, 255)),
    ("LA", (90, 100), "LA", (90, 100)),
    ("RGBA", (1, 2, 3, 100), "RGBA", (1, 2, 3, 100)),  # existing alpha is multiplied, not replaced
])
def test_modes_and_existing_alpha(mode, color, out_mode, centre):
    out = run("circlemask", Image.new(mode, (20, 20), color))
    assert out.mode == out_mode
    assert out.getpixel((10, 10)) == centre
    assert out.getchannel("A").getpixel((0, 0)) == 0
