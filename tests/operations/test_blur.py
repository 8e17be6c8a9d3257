"""blur: Gaussian with sigma; alpha edges blurred premultiplied; the reduced-scale path and its
shrink-on-load against an exact Gaussian."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from chalicelib.operations import blur, registry
from chalicelib.render import codecs, pipeline
from chalicelib.render.context import RenderContext
from tests.image_helpers import assert_pixel_close, assert_size, run, saved


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


# --- the reduced-scale path (images of REDUCED_MIN_PIXELS and more) ---------------------------

def textured(w: int, h: int) -> Image.Image:
    """Gradients, hard edges and one-pixel lines: what a blur's accuracy shows on."""
    im = Image.merge("RGB", (Image.linear_gradient("L").resize((w, h)), Image.radial_gradient("L").resize((w, h)),
                             Image.linear_gradient("L").rotate(90).resize((w, h))))
    draw = ImageDraw.Draw(im)
    for x in range(0, w, 13):
        draw.line((x, 0, w - x, h), fill=(255, 255, 255))
    draw.rectangle((w // 5, h // 5, w // 2, h // 2), fill=(200, 30, 40))
    draw.rectangle((0, h - 40, 60, h), fill=(10, 200, 10))  # at the border: edge handling shows
    return im


def exact_gaussian(im: Image.Image, sigma: float) -> np.ndarray:
    """Float, untruncated (to 5 sigma) separable Gaussian, edge pixels extended outwards."""
    r = int(5 * sigma) + 1
    taps = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma * sigma))
    taps /= taps.sum()
    a = np.pad(np.asarray(im, dtype=np.float64), ((r, r), (r, r), (0, 0)), mode="edge")
    a = sum(taps[i] * a[i:i + a.shape[0] - 2 * r] for i in range(2 * r + 1))
    return sum(taps[i] * a[:, i:i + a.shape[1] - 2 * r] for i in range(2 * r + 1))


def errors(im: Image.Image, exact: np.ndarray) -> tuple[float, float]:
    """Mean and 99.9th percentile of the absolute difference, in levels."""
    diff = np.abs(np.asarray(im, dtype=np.float64) - exact)
    return diff.mean(), np.percentile(diff, 99.9)


def drafted_jpeg(im: Image.Image, sigma: float) -> tuple[Image.Image, tuple[int, int], Image.Image]:
    """The JPEG of `im` decoded at the size blur.draft_size asks for, its size before the
    draft, and its full decode."""
    data = saved(im, "JPEG", quality=95)
    drafted, before = codecs.open_source(data, blur.draft_size(im.size, {"sigma": sigma}))
    return drafted, before, codecs.open_source(data)[0]


@pytest.mark.parametrize("sigma, factor", [(4, 4), (2.5, 2), (9, 8)])
def test_the_reduced_scale_blur_is_close_to_an_exact_gaussian(sigma, factor):
    src = textured(800, 450)
    assert blur.reduction(src.size, sigma) == factor  # the path under test
    mean, p999 = errors(run("blur", src, sigma=sigma), exact_gaussian(src, sigma))
    assert mean < 1.0 and p999 < 6, (mean, p999)


@pytest.mark.parametrize("sigma, factor", [(4, 4), (2.5, 2), (9, 8), (20, 16)])
def test_a_blur_that_starts_a_stack_works_from_the_reduced_jpeg_decode(sigma, factor):
    src = textured(1024, 576)
    drafted, before, full = drafted_jpeg(src, sigma)
    assert blur.reduction(full.size, sigma) == factor
    assert before == full.size and drafted.size == tuple(-(-n // min(factor, 8)) for n in full.size)
    ctx = RenderContext(image=drafted, size_before_draft=before)
    registry.get("blur").apply(ctx, {"sigma": sigma})
    assert ctx.image.size == full.size and ctx.size_before_draft is None
    # Against the blur of the image before it was a JPEG: at least as close as the blur of the
    # full decode (closer: a full 4:2:0 decode clips the chroma's overshoot pixel by pixel)
    exact = exact_gaussian(src, sigma)
    mean, p999 = errors(ctx.image, exact)
    assert mean < 1.0 and p999 < 8, (mean, p999)
    assert mean <= errors(run("blur", full, sigma=sigma), exact)[0] + 0.1


def test_a_decode_at_another_scale_is_blurred_at_full_size():
    full = textured(800, 450)
    ctx = RenderContext(image=full.resize((300, 169)), size_before_draft=full.size)  # 3/8: not asked for
    registry.get("blur").apply(ctx, {"sigma": 4})
    assert ctx.image.size == full.size


@pytest.mark.parametrize("operations, size, expected", [
    ([("blur", {"sigma": 4})], (1920, 1080), (480, 270)),
    ([("noop", {}), ("blur", {"sigma": 4})], (1921, 1081), (481, 271)),
    ([("blur", {"sigma": 1.5})], (1920, 1080), None),  # blurred at full size
    ([("blur", {"sigma": 4})], (400, 300), None),  # too small for the reduced path
    ([("rotate", {"angle": 90}), ("blur", {"sigma": 4})], (1920, 1080), None),
])
def test_shrink_on_load_for_a_stack_that_starts_with_a_blur(operations, size, expected):
    ops = [(registry.get(name), registry.get(name).with_defaults(opts)) for name, opts in operations]
    assert pipeline.draft_size(ops, size, 1.0) == expected
