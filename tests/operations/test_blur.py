"""blur: Gaussian with sigma; alpha edges blurred premultiplied."""
import pytest
from PIL import Image, ImageDraw

from tests.image_helpers import assert_pixel_close, assert_size, run


def half_white(mode="L", size=(80, 20)):
    im = Image.new(mode, size, 0 if mode == "L" else (0, 0, 0))
    ImageDraw.Draw(im).rectangle((size[0] // 2, 0, size[0], size[1]), fill=255 if mode == "L" else (255, 255, 255))
    return im


def test_sigma_zero_changes_nothing():
    src = half_white()
    assert run("blur", src, sigma=0).tobytes() == src.tobytes()


def test_default_sigma_softens_the_edge_only():
    out = run("blur", half_white())
    assert 70 < out.getpixel((39, 10)) < 128 < out.getpixel((40, 10)) < 185
    assert out.getpixel((2, 10)) <= 2 and out.getpixel((77, 10)) >= 253


@pytest.mark.parametrize("small, large", [(1, 4), (4, 10), (10, 30)])
def test_larger_sigma_blurs_further(small, large):
    near = [run("blur", half_white(), sigma=s).getpixel((32, 10)) for s in (small, large)]
    assert near[0] < near[1]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_size_and_mode_are_kept(mode):
    out = run("blur", Image.new(mode, (31, 17)), sigma=2.5)
    assert out.mode == mode
    assert_size(out, 31, 17)


def test_hidden_colour_of_transparent_pixels_does_not_bleed():
    src = Image.new("RGBA", (80, 20), (0, 255, 0, 0))  # invisible green
    ImageDraw.Draw(src).rectangle((40, 0, 80, 20), fill=(255, 0, 0, 255))
    out = run("blur", src, sigma=4)
    r, g, b, a = out.getpixel((39, 10))
    assert 60 < a < 200
    assert g < 10 and r > 240


def test_deprecated_radius_is_accepted_and_ignored():
    src = half_white("RGB")
    assert run("blur", src, sigma=3, radius=20).tobytes() == run("blur", src, sigma=3).tobytes()
    assert_pixel_close(run("blur", src, radius=20), (2, 10), (0, 0, 0))
