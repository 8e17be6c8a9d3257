"""trim: borders in the colour of the top-left pixel are cut off, within fuzzy tolerance."""
import pytest
from PIL import Image, ImageDraw

from tests.image_helpers import RED, WHITE, assert_pixel_close, assert_size, make_framed, run


@pytest.mark.parametrize("mode, inner, outer", [
    ("RGB", RED, WHITE),
    ("RGBA", (255, 0, 0, 255), (0, 0, 0, 0)),  # a transparent border
    ("RGBA", (255, 0, 0, 255), (255, 0, 0, 0)),  # same colour, only alpha differs
    ("L", 30, 255),
    ("LA", (30, 255), (30, 0)),
])
def test_uniform_frame_is_removed(mode, inner, outer):
    out = run("trim", make_framed(60, 40, 10, inner, outer, mode=mode))
    assert out.mode == mode
    assert_size(out, 40, 20)
    assert out.getpixel((0, 0)) == inner and out.getpixel((39, 19)) == inner


@pytest.mark.parametrize("box, size", [
    ((5, 8, 30, 20), (26, 13)),
    ((0, 8, 49, 9), (50, 2)),
    ((49, 39, 49, 39), (1, 1)),
])
def test_content_bounding_box_is_kept(box, size):
    src = Image.new("RGB", (50, 40), WHITE)
    ImageDraw.Draw(src).rectangle(box, fill=RED)
    out = run("trim", src)
    assert_size(out, *size)
    assert out.tobytes() == src.crop((box[0], box[1], box[0] + size[0], box[1] + size[1])).tobytes()


@pytest.mark.parametrize("fuzzy, size", [(0, (40, 40)), (3, (40, 40)), (4, (30, 20)), (100, (50, 40))])
def test_fuzzy_tolerance(fuzzy, size):
    # White border, a near-white (245 = 4% off) stripe down the right edge, red content:
    # below 4% the stripe is content and only the left border goes.
    src = make_framed(50, 40, 10, RED, WHITE)
    ImageDraw.Draw(src).rectangle((48, 0, 49, 39), fill=(245, 245, 245))
    out = run("trim", src, fuzzy=fuzzy)
    assert_size(out, *size)  # at 100% everything is background, and then nothing is trimmed


def test_all_background_image_is_left_alone():
    src = Image.new("RGB", (20, 10), RED)
    assert run("trim", src).tobytes() == src.tobytes()


def test_background_is_the_top_left_pixel():
    src = make_framed(60, 40, 10, WHITE, RED)  # red frame around white content
    out = run("trim", src)
    assert_size(out, 40, 20)
    assert_pixel_close(out, (20, 10), WHITE, tol=0)
