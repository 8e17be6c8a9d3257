"""text: font loading, anchors, colour, opacity, wrapping, alignment, boxes, resize_to_box, angle.

The font is the TrueType font bundled inside Pillow (Aileron Regular, what
`ImageFont.load_default(size)` uses since Pillow 10.1), so the tests need no system font.
"""
import pytest
from PIL import Image, ImageChops, ImageFont

from chalicelib.errors import BadRequest, InvalidOperation
from chalicelib.operations import registry
from chalicelib.render.context import RenderContext, RenderResources
from tests.image_helpers import WHITE, assert_size

SPEC = registry.get("text")
FONT = "f0f0f0"
FONT_BYTES = getattr(ImageFont.load_default(16), "font_bytes", None)
pytestmark = pytest.mark.skipif(FONT_BYTES is None, reason="Pillow without FreeType has no bundled TTF")


def write(image=None, font_bytes=None, **options):
    image = image or Image.new("RGB", (200, 100), WHITE)
    resources = RenderResources(load_image=lambda ref: None, load_bytes=lambda ref: font_bytes or FONT_BYTES,
                                render_stack=lambda name, variables: None)
    ctx = RenderContext(image=image, resources=resources)
    SPEC.apply(ctx, SPEC.with_defaults(SPEC.validate({"font": FONT, **options})))
    return ctx.image


def ink(im, threshold=64):
    """Bounding box of the pixels that differ clearly from white."""
    diff = ImageChops.difference(im.convert("RGB"), Image.new("RGB", im.size, WHITE)).convert("L")
    return diff.point(lambda v: 255 if v > threshold else 0).getbbox()


def centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def test_schema():
    described = SPEC.describe()
    assert described["required"] == ["font", "text"]
    props = described["properties"]
    assert props["size"]["default"] == 16
    assert props["opacity"]["default"] == 100
    assert props["anchor"]["default"] == "center_center"
    assert props["spacing"]["default"] == 0
    assert set(props["align"]["values"]) == {"left", "centre", "center", "right"}


def test_text_is_written_in_the_centre_by_default():
    out = write(text="Hello", size=30)
    assert_size(out, 200, 100)
    assert out.mode == "RGB"
    box = ink(out)
    assert box is not None
    cx, cy = centre(box)
    assert abs(cx - 100) <= 3 and abs(cy - 50) <= 6
    assert min(out.convert("L").get_flattened_data()) < 40  # black ink


def test_font_is_loaded_by_hash():
    loaded = []
    image = Image.new("RGB", (50, 20), WHITE)
    resources = RenderResources(load_image=None, load_bytes=lambda ref: loaded.append(ref) or FONT_BYTES,
                                render_stack=None)
    ctx = RenderContext(image=image, resources=resources)
    SPEC.apply(ctx, SPEC.with_defaults(SPEC.validate({"font": "abcdef", "text": "x"})))
    assert loaded == ["abcdef"]


@pytest.mark.parametrize("anchor, check", [
    ("left_top", lambda b: b[0] <= 3 and b[1] <= 10),
    ("right_bottom", lambda b: b[2] >= 196 and b[3] >= 85),
    ("left_bottom", lambda b: b[0] <= 3 and b[3] >= 85),
    ("center_top", lambda b: abs(centre(b)[0] - 100) <= 3 and b[1] <= 10),
    ("30_40", lambda b: 30 <= b[0] <= 34 and 40 <= b[1] <= 50),
])
def test_anchors(anchor, check):
    box = ink(write(text="Hello", size=30, anchor=anchor))
    assert check(box), box


def test_pixel_anchor_past_the_edge_cuts_the_text():
    box = ink(write(text="Hello world", size=30, anchor="150_10"))
    assert box[0] >= 150 and box[2] == 200  # not moved back inside, just cut off


def test_colour_and_opacity():
    out = write(text="H", size=60, color="FF0000")
    darkest = min(out.get_flattened_data(), key=sum)
    assert darkest[0] > 240 and darkest[1] < 15 and darkest[2] < 15
    faded = write(text="H", size=60, color="FF0000", opacity=50)
    darkest = min(faded.get_flattened_data(), key=sum)
    assert darkest[0] > 240 and 120 <= darkest[1] <= 135


def test_size_scales_the_text():
    small, big = ink(write(text="Hello", size=20)), ink(write(text="Hello", size=40))
    ratio = (big[2] - big[0]) / (small[2] - small[0])
    assert 1.8 < ratio < 2.2


def test_width_wraps_lines():
    one_line = ink(write(text="one two three four", size=20))
    wrapped = ink(write(text="one two three four", size=20, width=80))
    assert wrapped[2] - wrapped[0] <= 80
    assert (wrapped[3] - wrapped[1]) > 2.5 * (one_line[3] - one_line[1])


def test_a_word_wider_than_the_box_is_broken():
    box = ink(write(text="abcdefghijklmnopqrstuvwxyz", size=20, width=60))
    assert box[2] - box[0] <= 60


def test_newlines_start_new_lines():
    one, two = ink(write(text="Hello", size=20)), ink(write(text="Hello\nHello", size=20))
    assert (two[3] - two[1]) > 1.8 * (one[3] - one[1])


@pytest.mark.parametrize("align, check", [
    ("left", lambda b: b[0] <= 12),  # the 180 px box spans x 10..190
    ("right", lambda b: b[2] >= 186),
    ("centre", lambda b: abs(centre(b)[0] - 100) <= 3),
    ("center", lambda b: abs(centre(b)[0] - 100) <= 3),
])
def test_align_within_width(align, check):
    box = ink(write(text="Hi", size=20, width=180, align=align))
    assert check(box), box


def test_height_centres_text_that_fits():
    box = ink(write(text="Hello", size=20, width=200, height=80, anchor="left_top"))
    assert abs(centre(box)[1] - 40) <= 6


def test_height_cuts_off_text_that_does_not_fit():
    text = " ".join(["word"] * 40)
    box = ink(write(text=text, size=20, width=200, height=30, anchor="left_top"))
    assert box[1] <= 6 and box[3] <= 30  # starts at the top, cut at the box


def test_spacing_spreads_lines():
    tight = ink(write(text="A\nA", size=20))
    loose = ink(write(text="A\nA", size=20, spacing=20))
    assert (loose[3] - loose[1]) - (tight[3] - tight[1]) == pytest.approx(20, abs=2)


def test_resize_to_box_grows_short_text_to_fill_the_box():
    box = ink(write(text="Fantastic", size=16, width=180, height=60, resize_to_box=True))
    assert 150 <= box[2] - box[0] <= 180
    assert box[3] - box[1] <= 60


def test_resize_to_box_shrinks_long_text_into_the_box():
    text = "The quick brown fox jumps over the lazy dog " * 4
    box = ink(write(text=text, size=40, width=180, height=60, resize_to_box=True, anchor="left_top"),
              threshold=16)
    assert box[2] - box[0] <= 180 and box[3] - box[1] <= 60
    assert box[3] - box[1] >= 30  # several lines, filling most of the box


def test_angle_turns_the_text_clockwise():
    flat = ink(write(text="Hello", size=30))
    turned = ink(write(text="Hello", size=30, angle=90))
    assert turned[3] - turned[1] == pytest.approx(flat[2] - flat[0], abs=3)
    assert turned[2] - turned[0] == pytest.approx(flat[3] - flat[1], abs=3)
    # Clockwise: the start of the line goes to the top. "H" is as tall as the line, the dots are
    # low, so after the turn the ink is wide at the top and narrow at the bottom (near the left).
    out = write(text="H.....", size=30, angle=90)
    box = ink(out)
    top = ink(out.crop((0, box[1], 200, box[1] + 8)))
    bottom = ink(out.crop((0, box[3] - 8, 200, box[3])))
    assert top[2] - top[0] > 2 * (bottom[2] - bottom[0])
    assert bottom[2] < top[2]  # the baseline is now on the left


def test_transparent_image_gets_opaque_ink():
    out = write(image=Image.new("RGBA", (100, 50), (0, 0, 0, 0)), text="Hi", size=30, color="0000FF")
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0)) == (0, 0, 0, 0)
    assert max(out.getchannel("A").get_flattened_data()) == 255


def test_gray_image_with_coloured_text_becomes_rgb():
    out = write(image=Image.new("L", (100, 50), 255), text="Hi", size=30, color="FF0000")
    assert out.mode == "RGB"


def test_empty_text_changes_nothing():
    src = Image.new("RGB", (50, 20), WHITE)
    assert write(image=src, text="  ").tobytes() == src.tobytes()


def test_not_a_font_is_a_bad_request():
    with pytest.raises(BadRequest):
        write(text="Hello", font_bytes=b"\x89PNG not a font")


@pytest.mark.parametrize("options, option", [
    ({"font": "XYZ", "text": "a"}, "font"),
    ({"font": FONT, "text": "a", "align": "justify"}, "align"),
    ({"font": FONT, "text": "a", "opacity": 101}, "opacity"),
    ({"font": FONT, "text": "a", "color": "red"}, "color"),
    ({"font": FONT, "text": "a", "anchor": "middle"}, "anchor"),
    ({"font": FONT, "text": "a", "size": 0}, "size"),
])
def test_bad_options_are_rejected(options, option):
    with pytest.raises(InvalidOperation) as err:
        SPEC.validate(options)
    assert f"Operation text, option {option}" in err.value.message


@pytest.mark.parametrize("options, missing", [({"font": FONT}, "text"), ({"text": "a"}, "font")])
def test_font_and_text_are_required(options, missing):
    with pytest.raises(InvalidOperation) as err:
        SPEC.validate(options)
    assert missing in err.value.message
