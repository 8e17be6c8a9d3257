"""sepia: the sepia matrix on the colour channels; alpha is kept."""
import pytest
from PIL import Image

from tests.image_helpers import assert_pixel_close, make_gradient, run


@pytest.mark.parametrize("mode, color, expected", [
    ("RGB", (255, 255, 255), (255, 255, 239)),
    ("RGB", (0, 0, 0), (0, 0, 0)),
    ("RGB", (128, 128, 128), (173, 154, 120)),
    ("RGB", (0, 0, 255), (48, 43, 33)),
    ("L", 128, (173, 154, 120)),
    ("RGBA", (128, 128, 128, 60), (173, 154, 120, 60)),
    ("LA", (128, 60), (173, 154, 120, 60)),
])
def test_sepia_colours(mode, color, expected):
    out = run("sepia", Image.new(mode, (4, 4), color))
    assert out.mode == ("RGBA" if mode in ("RGBA", "LA") else "RGB")
    assert_pixel_close(out, (1, 1), expected, tol=1)


def test_every_pixel_is_warm_toned():
    out = run("sepia", make_gradient(16, 16))
    for xy in [(0, 0), (8, 3), (15, 15), (3, 12)]:
        r, g, b = out.getpixel(xy)
        assert r >= g >= b
