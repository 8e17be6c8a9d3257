"""Renders through the render service: stacks, dynamic stacks, overrides, formats, cache, 404/400."""
import io
import json

import pytest
from PIL import Image

from chalicelib import bootstrap
from tests.conftest import image_bytes, json_of


def render(path, query="", headers=None):
    return bootstrap.services().renderer.handle(path, query, headers or {})


def decoded(result):
    assert result.status == 200, result.body[:300]
    return Image.open(io.BytesIO(result.body))


@pytest.fixture
def photo(api):
    """A 400x300 JPEG uploaded to acme: left half red, right half blue."""
    im = Image.new("RGB", (400, 300), (220, 20, 20))
    im.paste((20, 20, 220), (200, 0, 400, 300))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    r = api.upload("acme", [("filedata", "photo.jpg", buf.getvalue())])
    return json_of(r)["items"][0]


def make_stack(api, name, body):
    r = api.call("PUT", f"/stacks/acme/{name}?overwrite=true", body)
    assert r.status_code in (200, 201), r.body


def test_named_stack_render_with_headers(api, photo):
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 200}}])
    result = render(f"/acme/thumb/{photo['hash']}.jpg")
    im = decoded(result)
    assert im.format == "JPEG" and im.size == (200, 150)
    assert result.headers["Content-Type"] == "image/jpeg"
    assert result.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    r, g, b = im.getpixel((20, 75))
    assert r > 180 and b < 80


@pytest.mark.parametrize("fmt, pil_format, mimetype", [
    ("jpg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png"), ("gif", "GIF", "image/gif"),
    ("webp", "WEBP", "image/webp"), ("avif", "AVIF", "image/avif"),
])
def test_output_formats(api, photo, fmt, pil_format, mimetype):
    result = render(f"/acme/dynamic/resize-width-100/{photo['short_hash']}/seo-name.{fmt}")
    im = decoded(result)
    assert im.format == pil_format and im.size == (100, 75)
    assert result.headers["Content-Type"] == mimetype


def test_dynamic_stack_operations_apply_in_order(api, photo):
    im = decoded(render(f"/acme/dynamic/resize-width-200--rotate-angle-90/{photo['hash']}.png"))
    assert im.size == (150, 200)
    # After a clockwise turn the red left half is on top.
    r, _, b = im.convert("RGB").getpixel((75, 20))
    assert r > 180 and b < 80


def test_url_overrides_change_options_of_the_stacks_operation(api, photo):
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 200}}])
    assert decoded(render(f"/acme/thumb/resize-width-100/{photo['hash']}.jpg")).size == (100, 75)


def test_jpg_quality_override_shrinks_the_file(api, photo):
    make_stack(api, "big", [{"name": "resize", "options": {"width": 400}}, {"name": "blur", "options": {"sigma": 1}}])
    hi = render(f"/acme/big/o-jpg.quality-95/{photo['hash']}.jpg")
    lo = render(f"/acme/big/o-jpg.quality-50/{photo['hash']}.jpg")
    assert len(lo.body) < len(hi.body)


@pytest.mark.parametrize("dpr, upscale, upscale_dpr, width", [
    (1, "true", "true", 200), (2, "true", "true", 400), (2, "false", "true", 400),
    (2, "false", "false", 400), (3, "false", "true", 600), (3, "false", "false", 400),
])
def test_dpr_with_the_upscale_rules(api, photo, dpr, upscale, upscale_dpr, width):
    path = (f"/acme/dynamic/resize-width-200-upscale-{upscale}-upscale_dpr-{upscale_dpr}--o-dpr-{dpr}/"
            f"{photo['hash']}.jpg")
    assert decoded(render(path)).size[0] == width


def test_dpr_without_resize_is_400(api, photo):
    result = render(f"/acme/dynamic/grayscale--o-dpr-2/{photo['hash']}.jpg")
    assert result.status == 400
    assert json.loads(result.body)["error"]["code"] == 400


def test_content_disposition_attachment(api, photo):
    result = render(f"/acme/dynamic/noop--o-content_disposition-attachment/{photo['hash']}/pic.jpg")
    assert result.status == 200
    assert result.headers["Content-Disposition"] == 'attachment; filename="pic.jpg"'


def test_stack_variables_and_expressions(api, photo):
    make_stack(api, "var", {"operations": [{"name": "resize", "options": {"width": "$w"},
                                             "expressions": {"height": "$w / 2"}}],
                            "variables": {"w": 100}, "options": {"jpg.quality": 80}})
    # A box of w x w/2 on a 4:3 image: the height decides.
    assert decoded(render(f"/acme/var/{photo['hash']}.jpg")).size == (67, 50)
    assert decoded(render(f"/acme/var/v-w-300/{photo['hash']}.jpg")).size == (200, 150)
    assert decoded(render(f"/acme/var/{photo['hash']}.jpg", 'v={"w":80}')).size == (53, 40)
    assert decoded(render(f"/acme/dynamic/resize-width-[image.width%20%2F%204]/{photo['hash']}.jpg")).size == (100, 75)


def test_stack_expression_overrides_options(api, photo):
    make_stack(api, "retina", {"operations": [{"name": "resize", "options": {"width": 100}}],
                               "expressions": [{"expression": "options.dpr >= 2",
                                                "overrides": {"options": {"jpg.quality": 10}}}]})
    normal = render(f"/acme/retina/o-dpr-2-jpg.quality-90/{photo['hash']}.jpg")
    # The stack expression runs after URL options and wins.
    assert len(normal.body) < len(render(f"/acme/dynamic/resize-width-100--o-dpr-2-jpg.quality-90/"
                                         f"{photo['hash']}.jpg").body)


@pytest.mark.parametrize("path_tail, status", [
    ("nostack/{hash}.jpg", 404),
    ("dynamic/resize-width-100/abcdef.jpg", 404),
    ("dynamic/resize-width-100/" + "0" * 40 + ".jpg", 404),
    ("dynamic/resize-width-0/{hash}.jpg", 400),
    ("dynamic/resize-mode-bad-width-10/{hash}.jpg", 400),
    ("dynamic/nosuchop/{hash}.jpg", 400),
    ("dynamic/resize-width-10/{hash}.bmp", 400),
    ("dynamic/resize-width-10/o-jpg.quality-500/{hash}.jpg", 400),
    ("dynamic/resize-width-10/o-nosuch-1/{hash}.jpg", 400),
    ("dynamic/resize-width-10/rotate-angle-10/{hash}.jpg", 400),  # override of an absent operation
])
def test_errors(api, photo, path_tail, status):
    result = render("/acme/" + path_tail.format(hash=photo["hash"]))
    assert result.status == status
    assert result.headers["Content-Type"] == "application/json"
    assert json.loads(result.body)["error"]["code"] == status
    assert "max-age=60" in result.headers["Cache-Control"]


def test_images_of_other_organizations_are_not_found(api, photo):
    from tests.conftest import Api, signup
    signup(Api(api.client), "other")
    assert render(f"/other/dynamic/noop/{photo['hash']}.jpg").status == 404


def test_renders_are_cached_and_invalidated_by_stack_changes(api, photo, data_dir):
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 200}}])
    path = f"/acme/thumb/{photo['hash']}.jpg"
    first = render(path)
    cached = data_dir / "renders" / "acme" / "thumb" / f"{photo['hash']}.jpg"
    assert cached.read_bytes() == first.body
    # A cache hit is served from the stored bytes (a marker proves no new render happened).
    cached.write_bytes(b"cached-marker")
    assert render(path).body == b"cached-marker"
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 100}}])  # overwrite
    assert not cached.exists()
    assert decoded(render(path)).size == (100, 75)
    assert api.call("DELETE", "/stacks/acme/thumb").status_code == 204
    assert not cached.exists()
    assert render(path).status == 404


def test_deleting_the_image_makes_renders_404(api, photo, data_dir):
    path = f"/acme/dynamic/resize-width-50/{photo['short_hash']}.png"
    assert render(path).status == 200
    assert api.call("DELETE", f"/sourceimages/acme/{photo['hash']}").status_code == 204
    assert render(path).status == 404
    assert not list((data_dir / "renders").rglob("*.png"))


def test_jpeg_shrink_on_load_is_used_for_downscaling(api, photo, monkeypatch):
    from chalicelib.render import codecs
    seen = {}
    real_open = codecs.open_source

    def spy(data, draft_size=None):
        image, before = real_open(data, draft_size)
        seen["decoded"], seen["before"] = image.size, before
        return image, before

    monkeypatch.setattr(codecs, "open_source", spy)
    im = decoded(render(f"/acme/dynamic/resize-width-90/{photo['hash']}.jpg"))
    assert im.size == (90, 68)
    assert seen["before"] == (400, 300) and seen["decoded"][0] < 400  # decoded at a reduced DCT scale
    seen.clear()
    assert decoded(render(f"/acme/dynamic/resize-width-800/{photo['hash']}.jpg")).size == (800, 600)
    assert seen["before"] is None and seen["decoded"] == (400, 300)


def test_exif_orientation_is_honoured(api):
    im = Image.new("RGB", (200, 100), (200, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    item = json_of(api.upload("acme", [("filedata", "o.jpg", buf.getvalue())]))["items"][0]
    assert (item["width"], item["height"]) == (100, 200)
    assert decoded(render(f"/acme/dynamic/resize-width-50/{item['hash']}.jpg")).size == (50, 100)


def test_transparent_png_to_jpg_is_flattened_on_white(api):
    im = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    item = json_of(api.upload("acme", [("filedata", "t.png", buf.getvalue())]))["items"][0]
    out = decoded(render(f"/acme/dynamic/noop/{item['hash']}.jpg"))
    assert all(c > 245 for c in out.getpixel((20, 20)))


def test_animated_gif_source_renders(api):
    from tests.api.test_sourceimages import animated_gif
    item = json_of(api.upload("acme", [("filedata", "a.gif", animated_gif())]))["items"][0]
    assert decoded(render(f"/acme/dynamic/resize-width-20/{item['hash']}.gif")).size == (20, 15)


def test_source_file_option_returns_the_original(api, photo):
    make_stack(api, "orig", {"operations": [], "options": {"source_file": True}})
    result = render(f"/acme/orig/{photo['hash']}.jpg")
    original = bootstrap.services().storage.originals.get(f"acme/{photo['binary_hash'][:2]}/{photo['binary_hash']}")
    assert result.status == 200 and result.body == original


def test_composition_with_secondary_image_and_stack(api, photo):
    logo = Image.new("RGBA", (40, 40), (0, 200, 0, 255))
    buf = io.BytesIO()
    logo.save(buf, "PNG")
    logo_item = json_of(api.upload("acme", [("filedata", "logo.png", buf.getvalue())]))["items"][0]
    make_stack(api, "small", [{"name": "resize", "options": {"width": 20, "height": 20}}])
    base = f"/acme/dynamic/composition-mode-background-anchor-left_top-secondary_image-{logo_item['short_hash']}"
    im = decoded(render(f"{base}/{photo['hash']}.png")).convert("RGB")
    assert im.size == (400, 300) and im.getpixel((10, 10)) == (0, 200, 0)
    assert im.getpixel((100, 100))[0] > 180  # the photo's red half elsewhere
    # secondary_stack together with secondary_image renders that stack on that image.
    im = decoded(render(f"{base}-secondary_stack-small/{photo['hash']}.png")).convert("RGB")
    assert im.getpixel((10, 10)) == (0, 200, 0) and im.getpixel((30, 30))[0] > 180
    assert render(f"/acme/dynamic/composition-secondary_image-{'0' * 40}/{photo['hash']}.png").status == 404


def test_fonts_upload_as_source_images_and_draw_text(api, photo):
    from PIL import ImageFont
    font = ImageFont.load_default(16).font_bytes  # Pillow ships a TrueType font
    item = json_of(api.upload("acme", [("filedata", "Aileron.ttf", font)]))["items"][0]
    assert (item["format"], item["mimetype"]) == ("ttf", "font/ttf")
    assert render(f"/acme/dynamic/noop/{item['hash']}.png").status == 400
    plain = decoded(render(f"/acme/dynamic/resize-width-200/{photo['hash']}.png")).convert("RGB")
    path = (f"/acme/dynamic/resize-width-200--text-font-{item['short_hash']}-text-Hello-size-40"
            f"-color-00FF00/{photo['hash']}.png")
    with_text = decoded(render(path)).convert("RGB")
    assert with_text.size == plain.size
    diff = [p for p in zip(plain.get_flattened_data(), with_text.get_flattened_data()) if p[0] != p[1]]
    assert len(diff) > 200 and any(g > 200 and r < 100 for _, (r, g, b) in diff)
    download = api.call("GET", f"/sourceimages/acme/{item['hash']}/download")
    assert download.body == font and download.headers["Content-Type"] == "font/ttf"
