"""dropshadow: canvas growth, offsets, colour, opacity, blur and the image's own alpha."""
import pytest
from PIL import Image

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry
from tests.image_helpers import RED, assert_pixel_close, assert_size, make_quadrants, run

SRC = make_quadrants(40, 20)


def test_defaults_follow_the_docs():
    props = registry.get("dropshadow").describe()["properties"]
    assert {k: props[k]["default"] for k in ("horizontal", "vertical", "opacity", "sigma", "blur_radius", "color")} \
        == {"horizontal": 0, "vertical": 0, "opacity": 0, "sigma": 0.5, "blur_radius": 0, "color": "000000"}


def test_defaults_grow_the_canvas_by_the_blur_margin_and_add_alpha():
    out = run("dropshadow", SRC)  # sigma 0.5: 1 px on every side; opacity 0: an invisible shadow
    assert_size(out, 42, 22)
    assert out.mode == "RGBA"
    assert_pixel_close(out, (0, 0), (0, 0, 0, 0))
    assert out.crop((1, 1, 41, 21)).convert("RGB").tobytes() == SRC.tobytes()


@pytest.mark.parametrize("horizontal, vertical, size, image_at", [
    (10, 5, (50, 25), (0, 0)),
    (-10, 5, (50, 25), (10, 0)),
    (10, -5, (50, 25), (0, 5)),
    (-10, -5, (50, 25), (10, 5)),
    (0, 0, (40, 20), (0, 0)),
])
def test_hard_shadow_is_offset_and_the_canvas_holds_it(horizontal, vertical, size, image_at):
    out = run("dropshadow", SRC, horizontal=horizontal, vertical=vertical, sigma=0, opacity=100,
              color="0000FF")
    assert_size(out, *size)
    ix, iy = image_at
    assert out.crop((ix, iy, ix + 40, iy + 20)).convert("RGB").tobytes() == SRC.tobytes()
    if (horizontal, vertical) == (0, 0):
        return
    sx, sy = ix + horizontal, iy + vertical  # the shadow's top-left corner
    # The shadow's corner that the image does not cover.
    corner = (sx + 39 if horizontal > 0 else sx, sy + 19 if vertical > 0 else sy)
    assert_pixel_close(out, corner, (0, 0, 255, 255))
    # The canvas corner covered by neither the image nor the shadow.
    free = (0 if horizontal > 0 else size[0] - 1, size[1] - 1 if vertical > 0 else 0)
    assert_pixel_close(out, free, (0, 0, 0, 0))


def test_opacity_and_colour_of_the_shadow():
    out = run("dropshadow", SRC, horizontal=10, vertical=10, sigma=0, opacity=40, color="FF0000")
    assert_pixel_close(out, (45, 25), (*RED, 102))  # 40 % of 255


def test_sigma_blurs_the_shadow_edge():
    out = run("dropshadow", Image.new("RGB", (40, 40), (255, 255, 255)), horizontal=20, vertical=0,
              sigma=4, opacity=100)
    assert_size(out, 40 + 20 + 8, 40 + 16)  # 2 x sigma on every side of the shadow
    row = 28  # through the middle
    inside, edge, outside = (out.getpixel((x, row))[3] for x in (45, 60, 66))
    assert inside == 255  # deep inside the shadow
    assert 90 < edge < 165  # about half at the shadow's edge (x = 20 + 40)
    assert outside < 20


def test_blur_radius_sets_the_spread():
    out = run("dropshadow", SRC, sigma=4, blur_radius=3, opacity=100)
    assert_size(out, 46, 26)


def test_shadow_follows_the_images_alpha():
    src = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    src.paste((255, 0, 0, 255), (0, 0, 10, 10))  # only the top-left quarter is visible
    out = run("dropshadow", src, horizontal=10, vertical=10, sigma=0, opacity=100, color="00FF00")
    assert_size(out, 30, 30)
    assert_pixel_close(out, (5, 5), (255, 0, 0, 255))  # the image
    assert_pixel_close(out, (15, 15), (0, 255, 0, 255))  # the shadow of the visible quarter
    assert_pixel_close(out, (25, 25), (0, 0, 0, 0))  # the shadow of a transparent part: nothing


def test_transparent_pixels_of_the_image_show_the_shadow_behind():
    src = Image.new("RGBA", (20, 20), (255, 0, 0, 128))
    out = run("dropshadow", src, horizontal=0, vertical=0, sigma=0, opacity=100)
    # Half-transparent red over a half-transparent black shadow: alpha 0.75, colour 0.5 / 0.75 red.
    assert_pixel_close(out, (10, 10), (170, 0, 0, 191), tol=2)


@pytest.mark.parametrize("options, option", [
    ({"horizontal": 101}, "horizontal"),
    ({"vertical": -101}, "vertical"),
    ({"opacity": 101}, "opacity"),
    ({"sigma": -1}, "sigma"),
    ({"color": "black"}, "color"),
])
def test_bad_options_are_rejected(options, option):
    with pytest.raises(InvalidOperation) as err:
        registry.get("dropshadow").validate(options)
    assert f"Operation dropshadow, option {option}" in err.value.message
