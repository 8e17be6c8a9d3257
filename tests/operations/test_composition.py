"""composition: solid boxes, secondary images and stacks, anchors, modes, opacity, angle, alpha."""
import pytest
from PIL import Image

from chalicelib.errors import BadRequest, InvalidOperation
from chalicelib.operations import registry
from chalicelib.render.context import RenderContext, RenderResources
from tests.image_helpers import (BLACK, BLUE, GREEN, RED, WHITE, YELLOW, assert_pixel_close, assert_size,
                                 make_quadrants)

SPEC = registry.get("composition")
LOGO = "abc123"  # a 20x10 logo: left half opaque green, right half transparent


def make_logo():
    logo = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    logo.paste((*GREEN, 255), (0, 0, 10, 10))
    return logo


def compose(image, stacks=None, **options):
    """Run composition with fake loaders: LOGO is the only image, `stacks` maps names to images."""
    calls = []

    def load_image(ref):
        assert ref == LOGO
        return make_logo()

    def render_stack(name, variables, image_ref=None):
        calls.append((name, variables) if image_ref is None else (name, variables, image_ref))
        return stacks[name]

    resources = RenderResources(load_image=load_image, load_bytes=lambda ref: b"", render_stack=render_stack)
    ctx = RenderContext(image=image, resources=resources)
    SPEC.apply(ctx, SPEC.with_defaults(SPEC.validate(options)))
    return (ctx.image, calls) if stacks else ctx.image


def test_foreground_box_extends_the_canvas_at_the_anchor():
    out = compose(make_quadrants(40, 20), mode="foreground", width=100, height=50, anchor="left_bottom",
                  secondary_opacity=0)
    assert_size(out, 100, 50)
    assert out.mode == "RGBA"
    # The image sits in the bottom-left corner, untouched.
    assert out.crop((0, 30, 40, 50)).convert("RGB").tobytes() == make_quadrants(40, 20).tobytes()
    assert_pixel_close(out, (50, 10), (0, 0, 0, 0))
    assert_pixel_close(out, (0, 29), (0, 0, 0, 0))


def test_foreground_box_adds_coloured_borders_centred():
    out = compose(make_quadrants(40, 30), mode="foreground", width=60, height=30, secondary_color="FFFFFF")
    assert_size(out, 60, 30)
    assert out.mode == "RGB"  # everything is opaque
    assert_pixel_close(out, (5, 15), WHITE)
    assert_pixel_close(out, (55, 15), WHITE)
    assert_pixel_close(out, (11, 1), RED)  # the image starts at x = 10
    assert_pixel_close(out, (9, 1), WHITE)
    assert_pixel_close(out, (48, 28), YELLOW)
    assert_pixel_close(out, (50, 28), WHITE)


def test_result_is_never_smaller_than_the_image():
    src = make_quadrants(40, 20)
    out = compose(src, mode="foreground", width=10, height=10, secondary_color="00FF00")
    assert out.tobytes() == src.tobytes()  # the small box lies hidden underneath


def test_background_box_covers_the_image_at_the_anchor():
    out = compose(make_quadrants(40, 20), mode="background", width=10, height=4, anchor="right_top")
    assert_size(out, 40, 20)
    assert_pixel_close(out, (35, 1), BLACK)
    assert_pixel_close(out, (29, 1), GREEN)
    assert_pixel_close(out, (35, 5), GREEN)
    assert_pixel_close(out, (1, 1), RED)


def test_missing_mode_means_foreground():
    src = make_quadrants(40, 20)
    assert compose(src, width=10, height=10).tobytes() == src.tobytes()


def test_box_defaults_to_the_image_size_on_missing_sides():
    out = compose(make_quadrants(40, 20), mode="foreground", width=60, secondary_color="0000FF")
    assert_size(out, 60, 20)
    assert_pixel_close(out, (5, 10), BLUE)


@pytest.mark.parametrize("anchor, logo_left_top", [
    ("right_bottom", (20, 10)),
    ("left_top", (0, 0)),
    ("center_center", (10, 5)),
    ("5_3", (5, 3)),
    ("35_18", (20, 10)),  # pixel offsets keep the layer inside
    ("auto", (10, 5)),  # automatic anchors mean center_center
])
def test_watermark_image_in_background_mode(anchor, logo_left_top):
    src = Image.new("RGB", (40, 20), WHITE)
    out = compose(src, mode="background", secondary_image=LOGO, anchor=anchor)
    assert_size(out, 40, 20)
    x, y = logo_left_top
    assert_pixel_close(out, (x, y), GREEN)  # the opaque half of the logo
    assert_pixel_close(out, (x + 9, y + 9), GREEN)
    assert_pixel_close(out, (x + 15, y + 5), WHITE)  # its transparent half shows the image
    assert_pixel_close(out, ((x + 25) % 40, (y + 12) % 20), WHITE)


def test_secondary_opacity_fades_the_layer():
    out = compose(Image.new("RGB", (40, 20), WHITE), mode="background", secondary_image=LOGO,
                  anchor="left_top", secondary_opacity=50)
    assert_pixel_close(out, (5, 5), (128, 255, 128), tol=2)


@pytest.mark.parametrize("resize_mode, width, height, size", [
    ("box", 30, 30, (30, 15)),
    ("absolute", 30, 30, (30, 30)),
    ("fill", 30, 30, (30, 30)),  # covers the box, then is cut to it
    ("box", 10, None, (10, 5)),
])
def test_secondary_image_is_resized_to_width_and_height(resize_mode, width, height, size):
    options = {"width": width} if height is None else {"width": width, "height": height}
    out = compose(Image.new("RGBA", (60, 40), (0, 0, 0, 0)), mode="background", secondary_image=LOGO,
                  anchor="left_top", resize_mode=resize_mode, **options)
    assert_size(out, 60, 40)
    bbox = out.getchannel("A").point(lambda v: 255 if v > 128 else 0).getbbox()  # ignore resampling ringing
    if resize_mode == "fill":
        # 40x20 before the cut; the centred 30x30 keeps 15 px of green (x 0..14) and 15 of clear.
        assert bbox == (0, 0, 15, 30)
    else:
        assert bbox == (0, 0, size[0] // 2, size[1])  # the opaque half of the logo
    assert_pixel_close(out, (1, 1), (*GREEN, 255))


def test_resize_to_primary():
    out = compose(Image.new("RGB", (40, 40), WHITE), mode="background", secondary_image=LOGO,
                  resize_to_primary=True, resize_mode="absolute")
    assert_size(out, 40, 40)
    assert_pixel_close(out, (2, 38), GREEN)  # the logo's left half now covers x 0..19, all rows
    assert_pixel_close(out, (30, 38), WHITE)


def test_larger_secondary_image_grows_the_canvas():
    out = compose(Image.new("RGB", (10, 6), RED), mode="background", secondary_image=LOGO)
    assert_size(out, 20, 10)
    assert_pixel_close(out, (2, 2), GREEN)  # the layer is on top
    assert_pixel_close(out, (14, 5), RED)  # the logo's transparent half shows the centred image
    assert_pixel_close(out, (18, 1), (0, 0, 0, 0))  # outside the image and the logo: transparent


def test_layer_larger_on_one_axis_only():
    out = compose(Image.new("RGB", (40, 20), RED), mode="foreground", width=20, height=40,
                  secondary_color="0000FF")
    assert_size(out, 40, 40)
    assert_pixel_close(out, (15, 2), BLUE)  # box: x 10..29, y 0..39
    assert_pixel_close(out, (2, 15), RED)  # image: x 0..39, y 10..29, on top
    assert_pixel_close(out, (20, 20), RED)
    assert_pixel_close(out, (2, 2), (0, 0, 0, 0))


def test_angle_turns_the_layer_clockwise():
    out = compose(Image.new("RGB", (20, 20), WHITE), mode="background", secondary_image=LOGO,
                  anchor="left_top", angle=90)
    assert_size(out, 20, 20)
    # 20x10 turned clockwise is 10x20; its green left half is now the top half.
    assert_pixel_close(out, (5, 5), GREEN)
    assert_pixel_close(out, (5, 15), WHITE)
    assert_pixel_close(out, (15, 5), WHITE)


def test_angle_can_grow_the_canvas():
    out = compose(Image.new("RGB", (40, 10), WHITE), mode="background", width=40, height=4, angle=45)
    assert out.size[0] == 40 and out.size[1] > 10


def test_transparent_image_over_a_box_in_foreground():
    src = Image.new("RGBA", (20, 20), (255, 0, 0, 255))
    src.paste((0, 0, 0, 0), (0, 0, 10, 20))  # left half transparent
    out = compose(src, mode="foreground", secondary_color="0000FF", secondary_opacity=100)
    assert out.mode == "RGBA"
    assert_pixel_close(out, (5, 5), (*BLUE, 255))
    assert_pixel_close(out, (15, 5), (*RED, 255))


def test_half_transparent_pixels_blend_with_alpha():
    src = Image.new("RGBA", (10, 10), (255, 0, 0, 128))
    out = compose(src, mode="foreground", secondary_color="0000FF", secondary_opacity=50)
    # over: alpha = 0.5 + 0.5 * 0.5 = 0.75; colour = (0.5 red + 0.25 blue) / 0.75
    assert_pixel_close(out, (5, 5), (170, 0, 85, 191), tol=2)


def test_empty_primary_keeps_only_the_layer():
    out = compose(make_quadrants(300, 200), mode="background", width=60, height=12, empty_primary=True,
                  secondary_color="7DAD41", cache=True)
    assert_size(out, 60, 12)
    assert_pixel_close(out, (30, 6), (0x7D, 0xAD, 0x41, 255))


def test_secondary_stack_is_rendered_with_its_variables():
    stack_image = Image.new("RGB", (10, 10), BLUE)
    out, calls = compose(Image.new("RGB", (40, 20), WHITE), stacks={"logo-stack": stack_image},
                         mode="background", secondary_stack="logo-stack", anchor="left_top",
                         secondary_stack_variables={"w": 10})
    assert calls == [("logo-stack", {"w": 10})]
    assert_pixel_close(out, (5, 5), BLUE)
    assert_pixel_close(out, (15, 5), WHITE)


def test_secondary_stack_variables_as_query_string():
    assert SPEC.validate({"secondary_stack_variables": "w=10&t=hello"}) == {
        "secondary_stack_variables": {"w": "10", "t": "hello"}}


@pytest.mark.parametrize("options, option", [
    ({"secondary_image": "not-a-hash"}, "secondary_image"),
    ({"secondary_image": "ABC123"}, "secondary_image"),
    ({"secondary_image": "abc"}, "secondary_image"),
    ({"mode": "middle"}, "mode"),
    ({"resize_mode": "stretch"}, "resize_mode"),
    ({"anchor": "middle"}, "anchor"),
    ({"secondary_color": "#000000"}, "secondary_color"),
    ({"secondary_opacity": 101}, "secondary_opacity"),
    ({"secondary_stack": "bad/name"}, "secondary_stack"),
    ({"secondary_stack_variables": "novalue"}, "secondary_stack_variables"),
    ({"width": 0}, "width"),
])
def test_bad_options_are_rejected(options, option):
    with pytest.raises(InvalidOperation) as err:
        SPEC.validate(options)
    assert f"Operation composition, option {option}" in err.value.message


def test_schema_matches_rokka():
    described = SPEC.describe()
    assert described["required"] == []
    props = described["properties"]
    assert "default" not in props["mode"]
    assert props["anchor"]["default"] == "center_center"
    assert props["secondary_opacity"]["default"] == 100
    assert props["resize_mode"]["default"] == "box"


def test_secondary_image_without_resources_is_a_bad_request():
    ctx = RenderContext(image=Image.new("RGB", (10, 10)))
    with pytest.raises(BadRequest):
        SPEC.apply(ctx, SPEC.with_defaults(SPEC.validate({"secondary_image": LOGO})))
