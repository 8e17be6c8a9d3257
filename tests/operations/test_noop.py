"""noop: the image comes out unchanged."""
import pytest
from PIL import Image

from chalicelib.errors import InvalidOperation
from chalicelib.operations import registry
from tests.image_helpers import make_gradient, run


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_image_is_unchanged(mode):
    src = make_gradient(20, 10).convert(mode)
    out = run("noop", src)
    assert out.mode == mode and out.tobytes() == src.tobytes()


def test_has_no_options_but_enabled():
    assert list(registry.get("noop").describe()["properties"]) == ["enabled"]
    with pytest.raises(InvalidOperation):
        registry.get("noop").validate({"width": 10})
    assert run("noop", Image.new("RGB", (3, 3)), enabled="false").size == (3, 3)
