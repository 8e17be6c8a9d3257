"""multiply: colour channels times a factor or a colour; alpha untouched."""
import pytest
from PIL import Image

from tests.image_helpers import run


@pytest.mark.parametrize("mode, color, options, out_mode, expected", [
    ("RGB", (200, 100, 50), {}, "RGB", (192, 96, 48)),  # default factor 0.96
    ("RGB", (200, 100, 50), {"factor": 0}, "RGB", (0, 0, 0)),
    ("RGB", (200, 100, 50), {"factor": 1}, "RGB", (200, 100, 50)),
    ("RGB", (200, 100, 50), {"factor": 0.5}, "RGB", (100, 50, 25)),
    ("RGB", (255, 255, 255), {"factor_color": "FF8000"}, "RGB", (255, 128, 0)),
    ("RGB", (200, 100, 50), {"factor_color": "808080", "factor": 0}, "RGB", (100, 50, 25)),  # colour wins
    ("RGBA", (200, 200, 200, 77), {"factor": 0.5}, "RGBA", (100, 100, 100, 77)),
    ("RGBA", (200, 200, 200, 77), {"factor_color": "00ff00"}, "RGBA", (0, 200, 0, 77)),
    ("L", 200, {"factor": 0.5}, "L", 100),
    ("L", 200, {"factor_color": "FF0000"}, "RGB", (200, 0, 0)),  # a colour tints a gray image
    ("LA", (200, 9), {"factor_color": "0000FF"}, "RGBA", (0, 0, 200, 9)),
    ("LA", (200, 9), {"factor": 0.25}, "LA", (50, 9)),
])
def test_multiply(mode, color, options, out_mode, expected):
    out = run("multiply", Image.new(mode, (4, 4), color), **options)
    assert out.mode == out_mode
    assert out.getpixel((2, 2)) == expected
