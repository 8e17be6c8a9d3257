"""crop: anchors, subject and crop areas, faces, smart (attention) crops, modes and scale."""
import random

import pytest
from PIL import Image, ImageDraw

from tests.image_helpers import assert_pixel_close, assert_size, make_gradient, run

SRC = make_gradient(200, 100)


def assert_cropped(out, box):
    """`out` is exactly the source's pixels inside `box` (left, top, right, bottom)."""
    assert_size(out, box[2] - box[0], box[3] - box[1])
    assert out.tobytes() == SRC.crop(box).tobytes(), f"not the source box {box}"


@pytest.mark.parametrize("anchor, left_top", [
    ("left_top", (0, 0)),
    ("center_center", (75, 30)),
    ("right_bottom", (150, 60)),
    ("left_bottom", (0, 60)),
    ("right-top", (150, 0)),
    ("center_top", (75, 0)),
    ("10_20", (10, 20)),
    ("left_7", (0, 7)),
    ("190_90", (150, 60)),  # pixel offsets are kept inside the image
    ("auto", (75, 30)),  # no metadata: the fallback, center_center
    ("subjectarea", (75, 30)),
    ("croparea", (75, 30)),
    ("face", (75, 30)),
])
def test_anchors(anchor, left_top):
    out = run("crop", SRC, width=50, height=40, anchor=anchor)
    assert_cropped(out, (*left_top, left_top[0] + 50, left_top[1] + 40))


@pytest.mark.parametrize("anchor, fallback, left_top", [
    ("face", "left_top", (0, 0)),
    ("auto", "10_10", (10, 10)),
    ("auto", "smart", (75, 30)),  # auto never falls back to smart: center_center
    ("subjectarea", "auto", (75, 30)),
    ("left_top", "right_bottom", (0, 0)),  # a positional anchor never needs the fallback
])
def test_fallback_is_used_when_there_is_no_area(anchor, fallback, left_top):
    out = run("crop", SRC, width=50, height=40, anchor=anchor, fallback=fallback)
    assert_cropped(out, (*left_top, left_top[0] + 50, left_top[1] + 40))


SUBJECT = {"x": 160, "y": 10, "width": 20, "height": 20}  # centre (170, 20)
CROP_AREA = {"x": 20, "y": 10, "width": 60, "height": 30}


@pytest.mark.parametrize("source, options, box", [
    # auto and subjectarea centre the crop on the subject area, kept inside the image.
    ({"dynamic_metadata": {"subject_area": SUBJECT}}, {}, (145, 0, 195, 40)),
    ({"dynamic_metadata": {"subject_area": SUBJECT}}, {"anchor": "subjectarea"}, (145, 0, 195, 40)),
    ({"dynamic_metadata": {"subject_area": {"x": 190, "y": 90, "width": 10}}}, {}, (150, 60, 200, 100)),
    # A positional anchor ignores the subject area.
    ({"dynamic_metadata": {"subject_area": SUBJECT}}, {"anchor": "left_top"}, (0, 0, 50, 40)),
    # Areas are in source pixels: a 400x200 source already resized to 200x100.
    ({"width": 400, "height": 200, "dynamic_metadata": {"subject_area": {"x": 320, "y": 20, "width": 40,
                                                                         "height": 40}}}, {}, (145, 0, 195, 40)),
    ({"dynamic_metadata": {"subject_area": {"x": 80, "y": 10, "width": 10, "height": 20, "percentage": True}}},
     {}, (145, 0, 195, 40)),
    # movearea shifts the subject area by a percentage of its own size.
    ({"dynamic_metadata": {"subject_area": {"x": 100, "y": 40, "width": 20, "height": 20}}},
     {"movearea_x": -100, "movearea_y": 50}, (65, 40, 115, 80)),
    # croparea (and auto without a subject area) crop exactly the crop area, ignoring width/height.
    ({"dynamic_metadata": {"crop_area": CROP_AREA}}, {"anchor": "croparea"}, (20, 10, 80, 40)),
    ({"dynamic_metadata": {"crop_area": CROP_AREA}}, {}, (20, 10, 80, 40)),
    ({"dynamic_metadata": {"crop_area": CROP_AREA, "subject_area": SUBJECT}}, {}, (145, 0, 195, 40)),
    ({"dynamic_metadata": {"crop_area": CROP_AREA, "subject_area": SUBJECT}}, {"anchor": "croparea"},
     (20, 10, 80, 40)),
    # multi_areas: a named area replaces the default ones; an unknown name keeps them.
    ({"dynamic_metadata": {"multi_areas": {"hero": {"subject_area": SUBJECT}}}}, {"area": "hero"},
     (145, 0, 195, 40)),
    ({"dynamic_metadata": {"subject_area": {"x": 0, "y": 0}, "multi_areas": {"hero": {"crop_area": CROP_AREA}}}},
     {"area": "hero"}, (20, 10, 80, 40)),
    ({"dynamic_metadata": {"subject_area": SUBJECT}}, {"area": "missing"}, (145, 0, 195, 40)),
])
def test_dynamic_metadata_areas(source, options, box):
    out = run("crop", SRC, source=source, **{"width": 50, "height": 40, **options})
    assert_cropped(out, box)


@pytest.mark.parametrize("options, box", [
    ({"width": 1, "height": 1, "mode": "ratio"}, (50, 0, 150, 100)),
    ({"width": 16, "height": 9, "mode": "ratio"}, (11, 0, 189, 100)),
    ({"width": 1, "height": 2, "mode": "ratio", "anchor": "right_top"}, (150, 0, 200, 100)),
    ({"width": 1, "height": 1, "mode": "ratio", "scale": 50}, (75, 25, 125, 75)),
    ({"width": 50, "height": 40, "scale": 50}, (87, 40, 112, 60)),
    ({"width": 500, "height": 500}, (0, 0, 200, 100)),  # larger than the image: clamped
    ({"width": 500, "height": 20, "anchor": "left_bottom"}, (0, 80, 200, 100)),
    ({"width": 50, "height": 40, "mode": "box"}, (75, 30, 125, 70)),  # no area: like absolute
    ({"width": 4, "height": 1, "mode": "area"}, (0, 25, 200, 75)),  # no area: like ratio
])
def test_modes_and_scale(options, box):
    assert_cropped(run("crop", SRC, **options), box)


@pytest.mark.parametrize("options, box", [
    ({"mode": "box"}, (160, 10, 180, 30)),  # the subject area itself
    ({"mode": "box", "scale": 50}, (165, 15, 175, 25)),
    ({"mode": "area", "width": 2, "height": 1}, (150, 10, 190, 30)),  # smallest 2:1 box around it
    ({"mode": "area", "width": 1, "height": 4}, (160, 0, 180, 80)),  # 20x80 around it, kept inside
    ({"mode": "area", "width": 1, "height": 10}, (165, 0, 175, 100)),  # 20x200 does not fit: shrunk
])
def test_box_and_area_modes_use_the_subject_area(options, box):
    source = {"dynamic_metadata": {"subject_area": SUBJECT}}
    assert_cropped(run("crop", SRC, source=source, **{"width": 50, "height": 40, **options}), box)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_mode_is_kept(mode):
    out = run("crop", Image.new(mode, (30, 30)), width=10, height=20)
    assert out.mode == mode
    assert_size(out, 10, 20)


# --- face ---------------------------------------------------------------------------------------

FACE = {"x": 20, "y": 10, "width": 20, "height": 20}  # centre (30, 20)


@pytest.mark.parametrize("source, options, box", [
    # face centres the crop on the detected face, kept inside the image.
    ({"dynamic_metadata": {"detection_face": FACE}}, {"anchor": "face"}, (5, 0, 55, 40)),
    ({"dynamic_metadata": {"detection_face": {"x": 100, "y": 50, "width": 30, "height": 40}}},
     {"anchor": "face"}, (90, 50, 140, 90)),
    ({"dynamic_metadata": {"detection_face": {"x": 190, "y": 90, "width": 10, "height": 10}}},
     {"anchor": "face"}, (150, 60, 200, 100)),
    # The face box is in source pixels: a 400x200 source already resized to 200x100.
    ({"width": 400, "height": 200, "dynamic_metadata": {"detection_face": {"x": 40, "y": 20, "width": 40,
                                                                           "height": 40}}},
     {"anchor": "face"}, (5, 0, 55, 40)),
    # face ignores the subject area; auto prefers it.
    ({"dynamic_metadata": {"detection_face": FACE, "subject_area": SUBJECT}}, {"anchor": "face"}, (5, 0, 55, 40)),
    ({"dynamic_metadata": {"detection_face": FACE, "subject_area": SUBJECT}}, {}, (145, 0, 195, 40)),
    # auto without a subject area uses the face, before its fallback.
    ({"dynamic_metadata": {"detection_face": FACE}}, {}, (5, 0, 55, 40)),
    ({"dynamic_metadata": {"detection_face": FACE}}, {"fallback": "right_bottom"}, (5, 0, 55, 40)),
    # An incomplete face record counts as no face: the fallback.
    ({"dynamic_metadata": {"detection_face": {"x": 20, "y": 10}}}, {"anchor": "face", "fallback": "left_top"},
     (0, 0, 50, 40)),
    # ratio mode: the largest square, centred on the face.
    ({"dynamic_metadata": {"detection_face": {"x": 160, "y": 10, "width": 20, "height": 20}}},
     {"anchor": "face", "mode": "ratio", "width": 1, "height": 1}, (100, 0, 200, 100)),
])
def test_face_anchor(source, options, box):
    out = run("crop", SRC, source=source, **{"width": 50, "height": 40, **options})
    assert_cropped(out, box)


# --- smart ---------------------------------------------------------------------------------------

GREY = (200, 200, 200)


def textured(size, patch, background=GREY, mode="RGB"):
    """A flat background with one patch of seeded random black/white 4 px blocks."""
    rnd = random.Random(7)
    im = Image.new(mode, size, background)
    draw = ImageDraw.Draw(im)
    for y in range(patch[1], patch[3], 4):
        for x in range(patch[0], patch[2], 4):
            v = rnd.choice((0, 255))
            draw.rectangle((x, y, min(x + 3, patch[2] - 1), min(y + 3, patch[3] - 1)),
                           fill=(v, v, v) if mode == "RGB" else (v, v, v, 255))
    return im


def foreground_pixels(im, background=GREY):
    """How many pixels differ from the flat background."""
    return sum(1 for p in im.convert("RGB").get_flattened_data() if p != background)


@pytest.mark.parametrize("size, patch", [
    ((400, 300), (290, 30, 350, 90)),  # top right
    ((400, 300), (20, 200, 80, 280)),  # bottom left
    ((300, 400), (120, 320, 180, 380)),  # bottom centre of a portrait image
])
@pytest.mark.parametrize("crop", [(200, 100), (100, 220), (120, 120), (70, 90)])
def test_smart_crop_contains_the_textured_region(size, patch, crop):
    src = textured(size, patch)
    out = run("crop", src, width=crop[0], height=crop[1], anchor="smart")
    assert_size(out, *crop)
    assert foreground_pixels(out) == foreground_pixels(src) == (patch[2] - patch[0]) * (patch[3] - patch[1])


@pytest.mark.parametrize("crop", [(240, 100), (120, 200), (90, 90)])
def test_smart_crop_contains_the_strongly_coloured_region(crop):
    src = Image.new("RGB", (300, 400), (230, 230, 225))
    ImageDraw.Draw(src).ellipse((200, 20, 270, 90), fill=(220, 20, 60))  # flat crimson disc, top right
    out = run("crop", src, width=crop[0], height=crop[1], anchor="smart")
    assert foreground_pixels(out, (230, 230, 225)) == foreground_pixels(src, (230, 230, 225))


def test_smart_crop_centres_a_small_region():
    src = textured((400, 300), (290, 130, 350, 190))  # centre (320, 160)
    out = run("crop", src, width=160, height=160, anchor="smart")
    # The patch sits in the middle of the crop, give or take one score-map pixel (~4 px).
    columns = [x for x in range(160) if any(out.getpixel((x, y)) != GREY for y in range(160))]
    rows = [y for y in range(160) if any(out.getpixel((x, y)) != GREY for x in range(160))]
    assert abs((columns[0] + columns[-1]) / 2 - 80) <= 5 and abs((rows[0] + rows[-1]) / 2 - 80) <= 5


def test_smart_crop_prefers_skin_to_an_equally_busy_grey_region():
    src = Image.new("RGB", (400, 200), (255, 255, 255))
    draw = ImageDraw.Draw(src)
    draw.rectangle((30, 60, 109, 139), fill=(110, 110, 110))  # grey square, left
    draw.rectangle((290, 60, 369, 139), fill=(225, 172, 140))  # skin-toned square, right
    out = run("crop", src, width=120, height=120, anchor="smart")
    assert foreground_pixels(out, (255, 255, 255)) == 80 * 80
    assert_pixel_close(out, (60, 60), (225, 172, 140), tol=0)


def test_smart_crop_ignores_what_is_transparent():
    # A cut-out: transparent everywhere (with busy hidden colours on the left) but one opaque disc.
    src = textured((400, 200), (20, 50, 120, 150)).convert("RGBA")
    src.putalpha(0)
    src.paste((0, 90, 255, 255), (300, 70, 351, 121), Image.new("L", (51, 51), 0).point(lambda _: 255))
    out = run("crop", src, width=120, height=120, anchor="smart")
    assert out.mode == "RGBA"
    opaque = [p for p in out.get_flattened_data() if p[3]]
    assert len(opaque) == 51 * 51 and all(p == (0, 90, 255, 255) for p in opaque)


def test_smart_crop_in_ratio_mode():
    src = textured((400, 200), (330, 60, 380, 110))
    out = run("crop", src, width=1, height=1, mode="ratio", anchor="smart")
    assert_size(out, 200, 200)
    assert foreground_pixels(out) == foreground_pixels(src)


@pytest.mark.parametrize("anchor, fallback, left_top", [
    ("smart", "right_bottom", (150, 60)), ("smart", "left_top", (0, 0)), ("smart", "auto", (75, 30)),
    ("face", "smart", (75, 30)), ("subjectarea", "smart", (75, 30)),
])
def test_smart_with_nothing_salient_uses_the_positional_fallback(anchor, fallback, left_top):
    # Fully transparent: nothing is salient, whatever the hidden colours.
    invisible = SRC.convert("RGBA")
    invisible.putalpha(0)
    out = run("crop", invisible, width=50, height=40, anchor=anchor, fallback=fallback)
    box = (*left_top, left_top[0] + 50, left_top[1] + 40)
    assert out.tobytes() == invisible.crop(box).tobytes()


@pytest.mark.parametrize("anchor", ["face", "subjectarea", "croparea"])
def test_smart_as_fallback(anchor):
    src = textured((400, 300), (290, 30, 350, 90))
    out = run("crop", src, width=100, height=100, anchor=anchor, fallback="smart")
    assert foreground_pixels(out) == foreground_pixels(src)


def test_auto_never_falls_back_to_smart():
    src = textured((400, 300), (290, 30, 350, 90))
    out = run("crop", src, width=100, height=100, anchor="auto", fallback="smart")
    assert out.tobytes() == src.crop((150, 100, 250, 200)).tobytes()  # center_center


def test_smart_crop_is_deterministic():
    src = textured((400, 300), (100, 100, 300, 200))
    outs = [run("crop", src, width=90, height=150, anchor="smart").tobytes() for _ in range(2)]
    assert outs[0] == outs[1]
