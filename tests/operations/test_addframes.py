"""addframes: frames recorded in ctx.notes for the encoder, fitted to the image, and the delay."""
import pytest
from PIL import Image

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry
from chalicelib.render.context import RenderContext, RenderResources
from tests.image_helpers import BLUE, GREEN, RED, assert_pixel_close, assert_size

SPEC = registry.get("addframes")
IMAGES = {
    "aaaaaa": Image.new("RGB", (40, 20), GREEN),
    "bbbbbbbbbbbb": Image.new("RGB", (80, 40), BLUE),  # same ratio, twice as big
    "cccccc": Image.new("RGB", (20, 20), RED),  # square
    "dddddd": Image.new("RGBA", (40, 20), (255, 0, 0, 128)),
}


def add(image=None, ctx=None, **options):
    loaded = []

    def load_image(ref):
        loaded.append(ref)
        return IMAGES[ref].copy()

    resources = RenderResources(load_image=load_image, load_bytes=lambda ref: b"",
                                render_stack=lambda name, variables: None)
    ctx = ctx or RenderContext(image=image or Image.new("RGB", (40, 20), (255, 255, 255)), resources=resources)
    SPEC.apply(ctx, SPEC.with_defaults(SPEC.validate(options)))
    ctx.loaded = loaded
    return ctx


def test_schema_matches_rokka():
    described = SPEC.describe()
    assert described["required"] == []
    assert described["properties"]["delay"] == {
        "type": "number", "minimum": 0, "maximum": 1000, "default": 10,
        "description": described["properties"]["delay"]["description"]}
    assert described["properties"]["frames"]["type"] == "string"


def test_frames_are_appended_in_order_and_the_image_stays_the_first_frame():
    src = Image.new("RGB", (40, 20), (255, 255, 255))
    ctx = add(image=src, frames="aaaaaa,bbbbbbbbbbbb")
    assert ctx.image is src
    assert ctx.loaded == ["aaaaaa", "bbbbbbbbbbbb"]
    frames = ctx.notes["frames"]
    assert len(frames) == 2
    for frame in frames:
        assert_size(frame, 40, 20)
        assert frame.mode == "RGB"
    assert_pixel_close(frames[0], (20, 10), GREEN)
    assert_pixel_close(frames[1], (0, 0), BLUE)  # scaled down to fit exactly
    assert_pixel_close(frames[1], (39, 19), BLUE)


def test_delay_is_recorded_in_milliseconds():
    assert add(frames="aaaaaa").notes["frame_delay_ms"] == 100  # default 10/100 s
    assert add(frames="aaaaaa", delay=25).notes["frame_delay_ms"] == 250
    assert add(frames="aaaaaa", delay=0).notes["frame_delay_ms"] == 0
    assert add(frames="aaaaaa", delay=2.5).notes["frame_delay_ms"] == 25


def test_without_frames_only_the_delay_is_set():
    ctx = add(delay=50)
    assert ctx.notes == {"frame_delay_ms": 500}


def test_another_ratio_is_fitted_and_centred_on_transparency():
    frame = add(frames="cccccc").notes["frames"][0]
    assert_size(frame, 40, 20)
    assert frame.mode == "RGBA"
    assert_pixel_close(frame, (20, 10), (*RED, 255))  # the 20x20 square keeps its size, at x 10..29
    assert_pixel_close(frame, (11, 1), (*RED, 255))
    assert_pixel_close(frame, (5, 10), (0, 0, 0, 0))
    assert_pixel_close(frame, (35, 10), (0, 0, 0, 0))


def test_alpha_is_kept():
    frame = add(frames="dddddd").notes["frames"][0]
    assert frame.mode == "RGBA"
    assert_pixel_close(frame, (20, 10), (255, 0, 0, 128))
    first_has_alpha = add(image=Image.new("RGBA", (40, 20)), frames="aaaaaa").notes["frames"][0]
    assert first_has_alpha.mode == "RGBA"


def test_a_second_addframes_appends_to_the_same_list():
    ctx = add(frames="aaaaaa")
    add(ctx=ctx, frames="cccccc,aaaaaa", delay=5)
    assert len(ctx.notes["frames"]) == 3
    assert ctx.notes["frame_delay_ms"] == 50


@pytest.mark.parametrize("frames", [
    "aaaaaa,", ",aaaaaa", "aaaaaa,,bbbbbb", "AAAAAA", "aaaaa", "aaaaaa bbbbbb", "aaaaaa;bbbbbb",
    ",".join(["aaaaaa"] * 101),
])
def test_bad_frame_lists_are_rejected(frames):
    with pytest.raises(InvalidOperation) as err:
        SPEC.validate({"frames": frames})
    assert "Operation addframes, option frames" in err.value.message


def test_up_to_100_frames():
    assert SPEC.validate({"frames": ",".join(["aaaaaa"] * 100)})


@pytest.mark.parametrize("delay", [-1, 1001])
def test_delay_range(delay):
    with pytest.raises(InvalidOperation):
        SPEC.validate({"delay": delay})
