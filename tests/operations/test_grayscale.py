"""grayscale: colour becomes luminance; alpha is kept."""
import pytest
from PIL import Image

from tests.image_helpers import assert_size, run


@pytest.mark.parametrize("mode, color, out_mode, expected", [
    ("RGB", (255, 0, 0), "L", 76),
    ("RGB", (0, 255, 0), "L", 150),
    ("RGB", (0, 0, 255), "L", 29),
    ("RGB", (255, 255, 255), "L", 255),
    ("RGBA", (255, 0, 0, 100), "LA", (76, 100)),
    ("L", 42, "L", 42),
    ("LA", (42, 7), "LA", (42, 7)),
])
def test_luminance_and_alpha(mode, color, out_mode, expected):
    out = run("grayscale", Image.new(mode, (6, 4), color))
    assert out.mode == out_mode
    assert_size(out, 6, 4)
    assert out.getpixel((3, 2)) == expected
