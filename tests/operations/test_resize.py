"""resize: rokka's box / fill / absolute modes and its upscale / upscale_dpr table."""
import pytest
from PIL import Image

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry
from chalicelib.render.context import RenderContext
from tests.image_helpers import BLUE, GREEN, RED, YELLOW, assert_pixel_close, assert_size, make_quadrants, run

# Reference §4.2: a 300 px wide source; output width per upscale / upscale_dpr, dpr and requested width.
UPSCALE_TABLE = [
    (True, True, 1, 200, 200), (True, True, 2, 200, 400), (True, True, 1, 400, 400), (True, True, 2, 400, 800),
    (False, True, 1, 200, 200), (False, True, 2, 200, 400), (False, True, 1, 400, 300), (False, True, 2, 400, 600),
    (False, False, 1, 200, 200), (False, False, 2, 200, 300), (False, False, 1, 400, 300), (False, False, 2, 400, 300),
]


@pytest.mark.parametrize("upscale, upscale_dpr, dpr, width, expected", UPSCALE_TABLE)
def test_upscale_and_dpr_table(upscale, upscale_dpr, dpr, width, expected):
    out = run("resize", Image.new("RGB", (300, 200)), stack_options={"dpr": dpr},
              width=width, upscale=upscale, upscale_dpr=upscale_dpr)
    assert_size(out, expected, round(expected * 2 / 3))


@pytest.mark.parametrize("options, size", [
    ({"width": 150}, (150, 100)),
    ({"height": 50}, (75, 50)),
    ({"width": 600}, (600, 400)),
    ({"width": 100, "height": 100}, (100, 67)),
    ({"width": 150, "height": 150, "mode": "box"}, (150, 100)),
    ({"width": 100, "height": 100, "mode": "fill"}, (150, 100)),
    ({"width": 400, "height": 100, "mode": "fill"}, (400, 267)),
    ({"width": 100, "height": 100, "mode": "absolute"}, (100, 100)),
    ({"width": 30, "height": 90, "mode": "absolute"}, (30, 90)),
    ({"width": 600, "height": 600, "upscale": False}, (300, 200)),
    ({"width": 600, "height": 100, "mode": "fill", "upscale": False}, (300, 200)),
    ({"width": 600, "height": 50, "mode": "absolute", "upscale": False}, (300, 50)),
])
def test_modes_and_single_dimension(options, size):
    assert_size(run("resize", Image.new("RGB", (300, 200)), **options), *size)


@pytest.mark.parametrize("options", [{"width": 60}, {"width": 600}, {"width": 90, "height": 30, "mode": "absolute"}])
def test_pixels_follow_the_image(options):
    out = run("resize", make_quadrants(300, 200), **options)
    w, h = out.size
    for xy, color in [((w // 4, h // 4), RED), ((3 * w // 4, h // 4), GREEN),
                      ((w // 4, 3 * h // 4), BLUE), ((3 * w // 4, 3 * h // 4), YELLOW)]:
        assert_pixel_close(out, xy, color, tol=4)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_mode_is_kept(mode):
    assert run("resize", Image.new(mode, (300, 200)), width=30).mode == mode


@pytest.mark.parametrize("options, size", [
    ({"width": 200}, (200, 133)),
    ({"width": 400, "upscale": False}, (300, 200)),
])
def test_size_before_shrink_on_load_decides_the_target(options, size):
    # The loader drafted a 300x200 JPEG to 150x100; the output must not depend on that.
    spec = registry.get("resize")
    ctx = RenderContext(image=Image.new("RGB", (150, 100)), size_before_draft=(300, 200))
    spec.apply(ctx, spec.with_defaults(spec.validate(options)))
    assert_size(ctx.image, *size)
    assert ctx.size_before_draft is None


def test_width_or_height_is_required():
    with pytest.raises(InvalidOperation) as err:
        registry.get("resize").validate({"mode": "fill"})
    assert "resize" in err.value.message and "width" in err.value.message
