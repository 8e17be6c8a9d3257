"""crop: anchors, subject and crop areas, modes and scale."""
import pytest
from PIL import Image

from tests.image_helpers import assert_size, make_gradient, run

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
