"""autoformat: Accept → format, Vary, cache keys per Accept token (reference §6.6)."""
import pytest

from tests.render.test_render import decoded, make_stack, photo, render  # noqa: F401 - fixtures

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
OLD_SAFARI = "image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
CURL = "*/*"


@pytest.mark.parametrize("options, accept, expected", [
    ({"autoformat": True}, CHROME, "WEBP"),                                   # AVIF is opt-in
    ({"autoformat": True, "autoformat.include": "avif"}, CHROME, "AVIF"),
    ({"autoformat": True, "autoformat.include": "avif"}, OLD_SAFARI, "WEBP"),
    ({"autoformat": True}, CURL, "JPEG"),
    ({"autoformat": True}, None, "JPEG"),
    ({"autoformat": True, "autoformat.exclude": "webp"}, CHROME, "JPEG"),
    ({"autoformat": True, "autoformat.include": "avif", "autoformat.exclude": "avif"}, CHROME, "WEBP"),
    ({}, CHROME, "JPEG"),
])
def test_negotiation(api, photo, options, accept, expected):  # noqa: F811
    make_stack(api, "af", {"operations": [{"name": "resize", "options": {"width": 80}}], "options": options})
    result = render(f"/acme/af/{photo['hash']}.jpg", headers={"Accept": accept} if accept else {})
    im = decoded(result)
    assert im.format == expected and im.size == (80, 60)
    assert result.headers["Content-Type"] == f"image/{expected.lower()}"
    assert result.headers["Vary"] == "Accept"


def test_each_accept_token_has_its_own_cache_entry(api, photo, data_dir):  # noqa: F811
    make_stack(api, "af", {"operations": [{"name": "resize", "options": {"width": 80}}],
                           "options": {"autoformat": True}})
    path = f"/acme/af/{photo['hash']}.jpg"
    assert decoded(render(path, headers={"Accept": CHROME})).format == "WEBP"
    assert decoded(render(path, headers={"Accept": CURL})).format == "JPEG"
    # Served again from the cache, each with its real content type.
    again = render(path, headers={"Accept": CHROME})
    assert again.headers["Content-Type"] == "image/webp" and decoded(again).format == "WEBP"
    assert render(path).headers["Content-Type"] == "image/jpeg"
    assert (data_dir / "renders" / "acme" / "~avif" / "af" / f"{photo['hash']}.jpg").is_file()
    assert (data_dir / "renders" / "acme" / "af" / f"{photo['hash']}.jpg").is_file()


def test_png_requests_get_lossless_webp_unless_a_quality_is_set(api, photo):  # noqa: F811
    make_stack(api, "af", {"operations": [{"name": "resize", "options": {"width": 80}}],
                           "options": {"autoformat": True}})
    lossless = render(f"/acme/af/{photo['hash']}.png", headers={"Accept": CHROME}).body
    assert b"VP8L" in lossless[:64]
    lossy = render(f"/acme/af/o-webp.quality-60/{photo['hash']}.png", headers={"Accept": CHROME}).body
    assert b"VP8 " in lossy[:64]


def test_url_can_switch_autoformat_off_and_on(api, photo):  # noqa: F811
    make_stack(api, "af", {"operations": [{"name": "resize", "options": {"width": 80}}],
                           "options": {"autoformat": True}})
    assert decoded(render(f"/acme/af/o-autoformat-false/{photo['hash']}.jpg",
                          headers={"Accept": CHROME})).format == "JPEG"
    assert decoded(render(f"/acme/dynamic/resize-width-50--o-af-1/{photo['hash']}.jpg",
                          headers={"Accept": CHROME})).format == "WEBP"


def test_explicit_webp_or_gif_requests_are_never_negotiated(api, photo):  # noqa: F811
    make_stack(api, "af", {"operations": [{"name": "resize", "options": {"width": 80}}],
                           "options": {"autoformat": True, "autoformat.include": "avif"}})
    result = render(f"/acme/af/{photo['hash']}.gif", headers={"Accept": CHROME})
    assert decoded(result).format == "GIF" and "Vary" not in result.headers


@pytest.fixture
def transparent(api):
    from PIL import Image
    import io
    from tests.conftest import json_of
    im = Image.new("RGBA", (60, 40), (255, 0, 0, 255))
    im.paste((0, 0, 255, 0), (30, 0, 60, 40))  # the right half is transparent
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return json_of(api.upload("acme", [("filedata", "t.png", buf.getvalue())]))["items"][0]


@pytest.mark.parametrize("mode, accept, expected", [
    ("png", CHROME, "PNG"), ("png", CURL, "PNG"),
    ("webp", CHROME, "WEBP"), ("webp", CURL, "PNG"),
    ("true", CHROME, "WEBP"), ("true", None, "PNG"),
    ("false", CHROME, "JPEG"),
])
def test_jpg_transparency_autoformat(api, transparent, mode, accept, expected):
    result = render(f"/acme/dynamic/noop--o-jpg.transparency.autoformat-{mode}/{transparent['hash']}.jpg",
                    headers={"Accept": accept} if accept else {})
    im = decoded(result)
    assert im.format == expected
    if expected != "JPEG":
        assert im.convert("RGBA").getpixel((45, 20))[3] == 0  # transparency kept


def test_jpg_transparency_convert_and_color_flatten(api, transparent, photo):  # noqa: F811
    result = render(f"/acme/dynamic/noop--o-jpg.transparency.autoformat-png-jpg.transparency.convert-true"
                    f"-jpg.transparency.color-00FF00/{transparent['hash']}.jpg")
    im = decoded(result).convert("RGB")
    r, g, b = im.getpixel((45, 20))
    assert g > 200 and r < 60 and b < 60  # flattened onto the given colour
    # An opaque image stays a JPEG whatever the option says.
    assert decoded(render(f"/acme/dynamic/noop--o-jpg.transparency.autoformat-png/{photo['hash']}.jpg")).format == "JPEG"
