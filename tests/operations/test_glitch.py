"""glitch: seeded row shifts, displaced blocks and split channels; same seed, same bytes."""
import pytest
from PIL import Image, ImageChops

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry
from tests.image_helpers import assert_size, make_gradient, make_quadrants, run, similarity

SRC = make_gradient(160, 120)


def changed_rows(a, b):
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).convert("L")
    return [y for y in range(a.size[1]) if diff.crop((0, y, a.size[0], y + 1)).getbbox()]


def test_amount_zero_is_the_identity():
    assert run("glitch", SRC, amount=0, random="abc").tobytes() == SRC.tobytes()


@pytest.mark.parametrize("seed", [None, "", "abc", "2024-01-01"])
def test_same_seed_renders_the_same_bytes(seed):
    options = {} if seed is None else {"random": seed}
    first = run("glitch", SRC, **options)
    assert first.tobytes() == run("glitch", SRC, **options).tobytes()
    assert first.tobytes() != SRC.tobytes()  # the default amount (4) does glitch


def test_no_random_is_the_same_as_an_empty_one():
    assert run("glitch", SRC).tobytes() == run("glitch", SRC, random="").tobytes()


@pytest.mark.parametrize("amount", [1, 4, 10])
def test_different_seeds_glitch_differently(amount):
    outs = {run("glitch", SRC, amount=amount, random=f"seed-{i}").tobytes() for i in range(6)}
    assert len(outs) == 6


def test_amount_changes_the_glitch_and_more_is_stronger():
    seeds = [f"s{i}" for i in range(8)]
    mean = {a: sum(similarity(SRC, run("glitch", SRC, amount=a, random=s)) for s in seeds) / len(seeds)
            for a in (1, 4, 10)}
    assert 1 > mean[1] > mean[4] > mean[10]
    assert mean[1] > 0.97  # a light touch...
    assert run("glitch", SRC, amount=3, random="x").tobytes() != run("glitch", SRC, amount=4, random="x").tobytes()


def test_pixels_are_moved_not_invented():
    # Every channel value of the result exists in that channel of the source.
    src = make_quadrants(90, 60)
    out = run("glitch", src, amount=10, random="moves")
    for band in range(3):
        assert set(out.getchannel(band).get_flattened_data()) <= set(src.getchannel(band).get_flattened_data())


def test_rows_are_shifted_sideways():
    # A single vertical line: in some rows it shows up elsewhere, the other rows keep it in place.
    src = Image.new("L", (200, 100), 0)
    src.paste(255, (100, 0, 101, 100))
    out = run("glitch", src, amount=5, random="rows")
    moved = changed_rows(src, out)
    assert 0 < len(moved) < 100
    rows = [[out.getpixel((x, y)) for x in range(200)] for y in moved]
    assert any(row[100] == 0 and 255 in row for row in rows)


def test_channels_drift_apart_on_colour_images():
    # A grey image stays grey unless channels are offset: red and blue differ somewhere.
    src = make_gradient(120, 80).convert("L").convert("RGB")
    out = run("glitch", src, amount=6, random="rgb")
    r, _, b = out.split()
    assert ImageChops.difference(r, b).getbbox() is not None


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
@pytest.mark.parametrize("size", [(1, 1), (3, 200), (640, 2), (97, 61)])
def test_size_and_mode_are_kept(mode, size):
    src = make_gradient(*size).convert(mode)
    out = run("glitch", src, amount=10, random="k")
    assert out.mode == mode
    assert_size(out, *size)


def test_alpha_moves_with_the_pixels():
    src = make_gradient(100, 60).convert("RGBA")
    src.putalpha(make_gradient(100, 60).getchannel("R"))  # alpha = red, so they move together
    out = run("glitch", src, amount=7, random="alpha")
    # Channel offsets only move red and blue; rows and blocks move alpha with red: where red is not
    # offset relative to alpha (green stays with alpha too), green and alpha match their source pairs.
    pairs = set(zip(src.getchannel("G").get_flattened_data(), src.getchannel("A").get_flattened_data()))
    assert set(zip(out.getchannel("G").get_flattened_data(), out.getchannel("A").get_flattened_data())) <= pairs


@pytest.mark.parametrize("options", [{"amount": 11}, {"amount": -1}, {"amount": "x"}])
def test_invalid_options_are_rejected(options):
    with pytest.raises(InvalidOperation):
        registry.get("glitch").validate(options)
