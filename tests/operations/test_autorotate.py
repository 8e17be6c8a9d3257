"""autorotate: a no-op without a box (EXIF is applied at load); otherwise match the box's orientation."""
import pytest

from tests.image_helpers import BLUE, GREEN, RED, YELLOW, assert_size, make_quadrants, run


@pytest.mark.parametrize("size, options, out_size, top_left", [
    ((40, 20), {}, (40, 20), RED),
    ((40, 20), {"width": 100}, (40, 20), RED),
    ((40, 20), {"width": 100, "height": 200}, (20, 40), BLUE),
    ((40, 20), {"width": 100, "height": 200, "rotation_direction": "clockwise"}, (20, 40), BLUE),
    ((40, 20), {"width": 100, "height": 200, "rotation_direction": "counterclockwise"}, (20, 40), GREEN),
    ((40, 20), {"width": 200, "height": 100}, (40, 20), RED),
    ((20, 40), {"width": 200, "height": 100}, (40, 20), BLUE),
    ((20, 40), {"width": 100, "height": 200}, (20, 40), RED),
    ((30, 30), {"width": 100, "height": 200}, (30, 30), RED),
    ((40, 20), {"width": 100, "height": 100}, (40, 20), RED),
])
def test_turns_only_when_orientations_differ(size, options, out_size, top_left):
    out = run("autorotate", make_quadrants(*size), **options)
    assert_size(out, *out_size)
    assert out.getpixel((1, 1)) == top_left


def test_quarter_turn_is_lossless():
    src = make_quadrants(40, 20, colors=(RED, GREEN, BLUE, YELLOW))
    out = run("autorotate", src, width=1, height=2)
    back = run("autorotate", out, width=2, height=1, rotation_direction="counterclockwise")
    assert back.tobytes() == src.tobytes()
