"""face: a secondary image placed on the detection_face box, scaled, anchored and tilted."""
import pytest
from PIL import Image

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry
from chalicelib.render.context import RenderContext, RenderResources
from tests.image_helpers import BLUE, RED, WHITE, assert_pixel_close, assert_size

SPEC = registry.get("face")
GLASSES = "feed42"
FACE = {"x": 100, "y": 100, "width": 200, "height": 200}  # source pixels of a 400x400 source


def make_glasses(size=(20, 10)):
    """Left half red, right half blue."""
    im = Image.new("RGBA", size, (*BLUE, 255))
    im.paste((*RED, 255), (0, 0, size[0] // 2, size[1]))
    return im


def on_face(face=FACE, image=None, glasses=None, **options):
    """The operation on a 200x200 white image, i.e. the 400x400 source resized by half."""
    image = image or Image.new("RGB", (200, 200), WHITE)
    source = {"width": 400, "height": 400, "dynamic_metadata": {"detection_face": face} if face else {}}
    resources = RenderResources(load_image=lambda ref: (glasses or make_glasses()) if ref == GLASSES else None,
                                load_bytes=lambda ref: b"", render_stack=lambda name, variables: None)
    ctx = RenderContext(image=image, source=source, resources=resources)
    options = {"secondary_image": GLASSES, "leftFeature": "eyeLeft", "rightFeature": "eyeRight", **options}
    SPEC.apply(ctx, SPEC.with_defaults(SPEC.validate(options)))
    return ctx.image


def test_schema():
    described = SPEC.describe()
    assert described["required"] == ["secondary_image", "leftFeature", "rightFeature"]
    assert described["properties"]["anchor"]["default"] == "center_center"
    assert described["properties"]["scale"]["default"] == 1.0


def test_without_face_metadata_the_image_is_unchanged():
    src = Image.new("RGB", (200, 200), WHITE)
    out = on_face(face=None, image=src)
    assert out is src


def test_glasses_are_face_wide_and_centred_between_the_eyes():
    out = on_face()
    assert_size(out, 200, 200)
    assert out.mode == "RGB"
    # Face box now (50, 50, 100x100); eyes at (80, 90) and (120, 90); glasses 100x50 around (100, 90).
    assert_pixel_close(out, (52, 67), RED)
    assert_pixel_close(out, (147, 112), BLUE)
    assert_pixel_close(out, (48, 90), WHITE)
    assert_pixel_close(out, (100, 118), WHITE)
    assert_pixel_close(out, (100, 63), WHITE)


def test_scale_shrinks_the_secondary_image():
    out = on_face(scale=0.5)  # 50x25 around (100, 90): x 75..124, y 78..102
    assert_pixel_close(out, (77, 80), RED)
    assert_pixel_close(out, (122, 100), BLUE)
    assert_pixel_close(out, (72, 90), WHITE)
    assert_pixel_close(out, (100, 105), WHITE)


def test_anchor_names_the_point_put_between_the_eyes():
    out = on_face(anchor="left_top", scale=0.5)  # the glasses' top-left corner at (100, 90)
    assert_pixel_close(out, (102, 92), RED)
    assert_pixel_close(out, (147, 113), BLUE)
    assert_pixel_close(out, (98, 92), WHITE)


def test_pixel_anchor_uses_secondary_image_pixels():
    # Pixel (10, 5) of the 20x10 glasses is its centre: the same as center_center.
    assert on_face(anchor="10_5").tobytes() == on_face().tobytes()


@pytest.mark.parametrize("landmarks", [
    {"eyeLeft": {"x": 100, "y": 100}, "eyeRight": {"x": 300, "y": 300}},
    [{"type": "eyeLeft", "x": 100, "y": 100}, {"type": "eyeRight", "x": 300, "y": 300}, {"type": "nose"}],
])
def test_stored_landmarks_tilt_the_glasses(landmarks):
    out = on_face(face={**FACE, "landmarks": landmarks}, glasses=make_glasses((40, 10)))
    # Eyes at (50, 50) and (150, 150): a 45 degree tilt around (100, 100); glasses 100x25.
    assert_pixel_close(out, (79, 79), RED)
    assert_pixel_close(out, (121, 121), BLUE)
    assert_pixel_close(out, (121, 79), WHITE)
    assert_pixel_close(out, (79, 121), WHITE)


def test_other_features_move_the_glasses():
    out = on_face(leftFeature="mouthLeft", rightFeature="mouthRight", scale=0.5)
    # Without stored landmarks, the mouth corners are at (86, 128) and (114, 128) of the 100 px face
    # box at (50, 50); the 50x25 glasses go around (100, 128).
    assert_pixel_close(out, (90, 128), RED)
    assert_pixel_close(out, (110, 128), BLUE)
    assert_pixel_close(out, (100, 113), WHITE)
    assert_pixel_close(out, (100, 90), WHITE)


def test_transparent_parts_of_the_secondary_image_show_the_face():
    glasses = make_glasses()
    glasses.paste((0, 0, 0, 0), (6, 0, 14, 10))  # a see-through bridge
    out = on_face(glasses=glasses)
    assert_pixel_close(out, (100, 90), WHITE)
    assert_pixel_close(out, (60, 90), RED)


def test_alpha_image_keeps_alpha():
    out = on_face(image=Image.new("RGBA", (200, 200), (0, 0, 0, 0)))
    assert out.mode == "RGBA"
    assert_pixel_close(out, (60, 90), (*RED, 255))
    assert_pixel_close(out, (10, 10), (0, 0, 0, 0))


@pytest.mark.parametrize("options, option", [
    ({"leftFeature": "eyeLeft", "rightFeature": "eyeRight"}, "secondary_image"),
    ({"secondary_image": GLASSES, "rightFeature": "eyeRight"}, "leftFeature"),
    ({"secondary_image": GLASSES, "leftFeature": "eyeLeft"}, "rightFeature"),
])
def test_required_options(options, option):
    with pytest.raises(InvalidOperation) as err:
        SPEC.validate(options)
    assert option in err.value.message


@pytest.mark.parametrize("options, option", [
    ({"secondary_image": "zzz"}, "secondary_image"),
    ({"leftFeature": "leftEar"}, "leftFeature"),
    ({"scale": 0}, "scale"),
    ({"anchor": "middle"}, "anchor"),
])
def test_bad_options_are_rejected(options, option):
    base = {"secondary_image": GLASSES, "leftFeature": "eyeLeft", "rightFeature": "eyeRight"}
    with pytest.raises(InvalidOperation) as err:
        SPEC.validate({**base, **options})
    assert f"Operation face, option {option}" in err.value.message
