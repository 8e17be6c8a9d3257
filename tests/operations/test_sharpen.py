"""sharpen: an unsharp mask that raises the contrast at edges only."""
import pytest
from PIL import Image, ImageDraw

from tests.image_helpers import assert_size, run


def step(mode="L", size=(40, 10)):
    """Gray 100 on the left half, 150 on the right half."""
    im = Image.new("L", size, 100)
    ImageDraw.Draw(im).rectangle((size[0] // 2, 0, size[0], size[1]), fill=150)
    return im.convert(mode)


def overshoot(out):
    px = out.convert("L")
    return 100 - px.getpixel((19, 5)), px.getpixel((20, 5)) - 150


def test_edges_get_more_contrast_and_flat_areas_stay():
    out = run("sharpen", step())
    dark, bright = overshoot(out)
    assert dark > 5 and bright > 5
    assert out.getpixel((3, 5)) == 100 and out.getpixel((36, 5)) == 150


@pytest.mark.parametrize("weak, strong", [({"m2": 0.4}, {"m2": 2}), ({"sigma": 0.5}, {"sigma": 2})])
def test_m2_and_sigma_make_it_stronger(weak, strong):
    assert sum(overshoot(run("sharpen", step(), **weak))) < sum(overshoot(run("sharpen", step(), **strong)))


@pytest.mark.parametrize("options", [{"m2": 0}, {"sigma": 0}])
def test_zero_strength_or_sigma_changes_nothing(options):
    assert run("sharpen", step(), **options).tobytes() == step().tobytes()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_mode_size_and_alpha_are_kept(mode):
    src = step(mode)
    if mode in ("RGBA", "LA"):
        src.putalpha(Image.new("L", src.size, 123))
    out = run("sharpen", src, m1=1, x1=3, y2=5, y3=5)
    assert out.mode == mode
    assert_size(out, 40, 10)
    assert sum(overshoot(out)) > 10
    if mode in ("RGBA", "LA"):
        assert out.getchannel("A").getextrema() == (123, 123)
