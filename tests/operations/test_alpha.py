"""alpha: mask, extract, remove and apply."""
import pytest
from PIL import Image, ImageDraw

from tests.image_helpers import assert_size, run

LEFT, RIGHT = (5, 5), (35, 5)


def half_transparent(mode="RGBA"):
    """Red; the left half opaque, the right half fully transparent."""
    im = Image.new("RGBA", (40, 10), (255, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((0, 0, 19, 9), fill=(255, 0, 0, 255))
    return im if mode == "RGBA" else im.convert(mode)


@pytest.mark.parametrize("mode, src_mode, out_mode, left, right", [
    ("mask", "RGBA", "L", 255, 0),
    ("mask", "LA", "L", 255, 0),
    ("mask", "RGB", "L", 255, 255),  # no alpha: fully opaque
    ("extract", "RGBA", "LA", (0, 255), (0, 0)),
    ("extract", "RGB", "LA", (0, 255), (0, 255)),
    ("remove", "RGBA", "RGB", (255, 0, 0), (255, 0, 0)),  # the hidden colour shows
    ("remove", "LA", "L", 76, 76),
    ("remove", "RGB", "RGB", (255, 0, 0), (255, 0, 0)),
    ("apply", "RGBA", "RGBA", (255, 0, 0, 128), (255, 0, 0, 0)),
    ("apply", "RGB", "RGBA", (255, 0, 0, 128), (255, 0, 0, 128)),
    ("apply", "L", "LA", (76, 128), (76, 128)),
])
def test_modes(mode, src_mode, out_mode, left, right):
    out = run("alpha", half_transparent(src_mode), mode=mode)
    assert out.mode == out_mode
    assert_size(out, 40, 10)
    assert out.getpixel(LEFT) == left and out.getpixel(RIGHT) == right


def test_mask_is_the_default_mode():
    assert run("alpha", half_transparent()).tobytes() == run("alpha", half_transparent(), mode="mask").tobytes()


@pytest.mark.parametrize("opacity, expected", [(0, 0), (25, 64), (50, 128), (100, 255)])
def test_apply_multiplies_alpha_by_opacity(opacity, expected):
    out = run("alpha", half_transparent(), mode="apply", opacity=opacity)
    assert out.getpixel(LEFT)[3] == expected and out.getpixel(RIGHT)[3] == 0
