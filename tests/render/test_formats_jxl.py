"""JPEG XL: upload, .jxl renders with jxl.quality, lossless for PNG sources, autoformat (§6.6)."""
import io

import pytest
from PIL import Image, ImageChops

from chalicelib.render import formats_jxl
from tests.render.test_formats import two_tone, upload
from tests.render.test_render import decoded, make_stack, photo, render  # noqa: F401 - fixtures

SAFARI_17 = "image/webp,image/avif,image/jxl,image/heic,*/*;q=0.5"
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def noisy(size=(160, 120)) -> Image.Image:
    """A photo-like image (gradients plus noise), so lossy and lossless sizes differ."""
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 40).convert("RGB")
    return ImageChops.add(base, noise, scale=1.5)


def jxl_bytes(im, **kw) -> bytes:
    formats_jxl.register()
    buf = io.BytesIO()
    im.save(buf, "JXL", **kw)
    return buf.getvalue()


def png_bytes(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_jxl_upload_has_format_size_and_renders_to_jpeg(api):
    item = upload(api, jxl_bytes(two_tone((80, 60)), quality=90), "a.jxl")
    assert (item["format"], item["width"], item["height"]) == ("jxl", 80, 60)
    im = decoded(render(f"/acme/dynamic/resize-width-40/{item['hash']}.jpg"))
    assert im.format == "JPEG" and im.size == (40, 30)
    im = im.convert("RGB")
    assert im.getpixel((5, 15))[0] > 180 and im.getpixel((35, 15))[2] > 180


def test_truncated_jxl_upload_is_a_400(api):
    data = jxl_bytes(noisy(), quality=90)
    r = api.upload("acme", [("filedata", "a.jxl", data[: len(data) // 3])])
    assert r.status_code == 400, r.body


def test_jxl_output_and_quality(api, photo):  # noqa: F811
    low = render(f"/acme/dynamic/resize-width-200--options-jxl.quality-30/{photo['hash']}.jxl")
    high = render(f"/acme/dynamic/resize-width-200--options-jxl.quality-95/{photo['hash']}.jxl")
    assert low.headers["Content-Type"] == "image/jxl"
    formats_jxl.register()
    im = decoded(high)
    assert im.format == "JXL" and im.size == (200, 150)
    assert len(low.body) < len(high.body)


def test_png_source_renders_lossless_jxl_unless_a_quality_is_set(api):
    source = noisy()
    item = upload(api, png_bytes(source), "n.png")
    lossless = render(f"/acme/dynamic/noop/{item['hash']}.jxl")
    formats_jxl.register()
    assert ImageChops.difference(decoded(lossless).convert("RGB"), source).getbbox() is None
    lossy = render(f"/acme/dynamic/noop--options-jxl.quality-60/{item['hash']}.jxl")
    assert len(lossy.body) < len(lossless.body)
    assert ImageChops.difference(decoded(lossy).convert("RGB"), source).getbbox() is not None


@pytest.mark.parametrize("options, accept, expected", [
    ({"autoformat": True, "autoformat.include": "jxl"}, SAFARI_17, "JXL"),
    ({"autoformat": True, "autoformat.include": "avif,jxl"}, SAFARI_17, "JXL"),   # JPEG XL first
    ({"autoformat": True, "autoformat.include": "avif,jxl"}, CHROME, "AVIF"),
    ({"autoformat": True}, SAFARI_17, "WEBP"),                                    # JPEG XL is opt-in
    ({"autoformat": True, "autoformat.include": "jxl", "autoformat.exclude": "jxl"}, SAFARI_17, "WEBP"),
    ({"autoformat": True, "autoformat.include": "jxl"}, "image/jxl,*/*", "JXL"),
])
def test_autoformat_chooses_jxl(api, photo, options, accept, expected):  # noqa: F811
    make_stack(api, "afj", {"operations": [{"name": "resize", "options": {"width": 80}}], "options": options})
    result = render(f"/acme/afj/{photo['hash']}.jpg", headers={"Accept": accept})
    formats_jxl.register()
    assert decoded(result).format == expected
    assert result.headers["Content-Type"] == f"image/{expected.lower()}" and result.headers["Vary"] == "Accept"
    again = render(f"/acme/afj/{photo['hash']}.jpg", headers={"Accept": accept})  # from the cache
    assert again.headers["Content-Type"] == result.headers["Content-Type"]


def test_png_request_autoformatted_to_jxl_is_lossless(api):
    source = noisy()
    item = upload(api, png_bytes(source), "n.png")
    make_stack(api, "afj", {"operations": [], "options": {"autoformat": True, "autoformat.include": "jxl"}})
    result = render(f"/acme/afj/{item['hash']}.png", headers={"Accept": SAFARI_17})
    formats_jxl.register()
    assert ImageChops.difference(decoded(result).convert("RGB"), source).getbbox() is None


def test_without_the_plugin_jxl_is_a_415(monkeypatch):
    """If libjxl cannot load (e.g. no libstdc++ on the host), JPEG XL is refused, not a 500."""
    import sys

    from chalicelib.errors import UnsupportedMediaType

    monkeypatch.delitem(Image.OPEN, "JXL", raising=False)
    monkeypatch.setitem(sys.modules, "pillow_jxl", None)  # import raises ImportError
    with pytest.raises(UnsupportedMediaType):
        formats_jxl.register()
