"""Every input format (upload + render), every output format, animation, vector sources,
BlurHash and the encode-time stack options. Every file is generated in code."""
import io
import json
import struct
import subprocess
import sys

import pytest
from PIL import Image, ImageDraw

from chalicelib.render import codecs, formats_vector, pipeline
from tests.conftest import json_of
from tests.image_helpers import saved
from tests.render.test_render import decoded, make_stack, render

RED, GREEN, BLUE = (230, 20, 20), (20, 200, 20), (20, 20, 230)


# --- generated sources -------------------------------------------------------------------------

def two_tone(size=(80, 60), mode="RGB") -> Image.Image:
    """Left half red, right half blue."""
    im = Image.new(mode, size, RED if mode == "RGB" else (*RED, 255))
    ImageDraw.Draw(im).rectangle((size[0] // 2, 0, size[0], size[1]), fill=BLUE)
    return im


def psd(im: Image.Image) -> bytes:
    """A minimal Photoshop file: header, empty sections, raw planar composite (RGB, 8 bit)."""
    w, h = im.size
    channels = im.split()
    out = b"8BPS" + struct.pack(">H6xHIIHH", 1, len(channels), h, w, 8, 3)
    out += struct.pack(">III", 0, 0, 0)  # colour mode data, image resources, layers and masks
    out += struct.pack(">H", 0) + b"".join(c.tobytes() for c in channels)
    return out


SVG = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
       b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
       b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 12 6">'
       b'<rect id="left" x="0" y="0" width="6" height="6" fill="#e61414"/>'
       b'<rect id="right" x="6" y="0" width="6" height="6" fill="#1414e6"/></svg>')


def pdf(pages=((RED, (300, 200)), (BLUE, (100, 400)))) -> bytes:
    """One page per (colour, size in points), via Pillow's PDF writer at 72 dpi."""
    images = [Image.new("RGB", size, color) for color, size in pages]
    return saved(images[0], "PDF", save_all=True, append_images=images[1:], resolution=72)


def animation(fmt, colors=(RED, GREEN, BLUE), size=(40, 30), durations=(100, 200, 300)) -> bytes:
    frames = [Image.new("RGB", size, c) for c in colors]
    return saved(frames[0], fmt, save_all=True, append_images=frames[1:], duration=list(durations), loop=0)


def upload(api, data, name="x.bin"):
    r = api.upload("acme", [("filedata", name, data)])
    assert r.status_code == 200, r.body
    return json_of(r)["items"][0]


def frames_of(im):
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append((im.convert("RGB").copy(), im.info.get("duration")))
    return out


def near(pixel, color, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(pixel[:3], color))


# --- inputs --------------------------------------------------------------------------------------

INPUTS = [
    ("jpg", lambda: saved(two_tone(), "JPEG", quality=95), "jpg", "image/jpeg", (80, 60)),
    ("png", lambda: saved(two_tone(), "PNG"), "png", "image/png", (80, 60)),
    ("gif", lambda: animation("GIF"), "gif", "image/gif", (40, 30)),
    ("webp", lambda: animation("WEBP"), "webp", "image/webp", (40, 30)),
    ("avif", lambda: saved(two_tone(), "AVIF", quality=90), "avif", "image/avif", (80, 60)),
    ("heic", lambda: saved(two_tone(), "HEIF", quality=90), "heic", "image/heic", (80, 60)),
    ("tiff", lambda: saved(two_tone(), "TIFF"), "tiff", "image/tiff", (80, 60)),
    ("psd", lambda: psd(two_tone()), "psd", "image/vnd.adobe.photoshop", (80, 60)),
    ("svg", lambda: SVG, "svg", "image/svg+xml", (120, 60)),
    # 300x200 pt at 200 dpi is 833 px wide, under 1000: drawn at 400 dpi.
    ("pdf", lambda: pdf(), "pdf", "application/pdf", (1667, 1112)),
]


@pytest.mark.parametrize("name, make, fmt, mimetype, size", INPUTS, ids=[i[0] for i in INPUTS])
def test_upload_and_render_every_input_format(api, name, make, fmt, mimetype, size):
    item = upload(api, make(), f"source.{name}")
    assert (item["format"], item["mimetype"], item["width"], item["height"]) == (fmt, mimetype, *size)
    # The recorded size is the size a plain render has.
    assert decoded(render(f"/acme/dynamic/noop/{item['hash']}.png")).size == size
    im = decoded(render(f"/acme/dynamic/resize-width-40/{item['hash']}.png")).convert("RGB")
    assert im.size == (40, round(40 * size[1] / size[0]))
    if name not in ("gif", "webp", "pdf"):  # the two-tone sources
        assert near(im.getpixel((3, im.size[1] // 2)), RED) and near(im.getpixel((36, im.size[1] // 2)), BLUE)


def test_psd_composite_with_alpha_and_upload_flags(api):
    item = upload(api, psd(two_tone(mode="RGBA")), "a.psd")
    assert item["opaque"] is False and item["animated"] is False
    assert decoded(render(f"/acme/dynamic/noop/{item['hash']}.png")).mode == "RGBA"


def test_svg_size_rules():
    def size(attrs):
        return formats_vector.svg_root_geometry(
            f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}/>'.encode()).size
    assert size('width="1in" height="2cm"') == (96, 76)
    assert size('viewBox="0 0 300 150"') == (300, 150)
    assert size('width="200" viewBox="0 0 300 150"') == (200, 100)
    assert size('width="50%" height="100%" viewBox="0,0,30,20"') == (30, 20)
    assert size('') == (300, 150)
    assert size('width="100.5" height="10em"') == (101, 160)


@pytest.mark.parametrize("attrs", ['width="100" height="50"', 'width="1in" height="20mm"', 'viewBox="0 0 64 32"',
                                   'width="80"', ''])
def test_svg_is_drawn_at_the_recorded_size(api, attrs):
    data = f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}><rect width="10" height="10" fill="red"/></svg>'
    item = upload(api, data.encode(), "s.svg")
    assert decoded(render(f"/acme/dynamic/noop/{item['hash']}.png")).size == (item["width"], item["height"])


@pytest.mark.parametrize("data, message", [
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
     b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&b;</text></svg>', "entity"),
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>', "entity"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="0" height="10"/>', "size"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>', "exceed"),
    (b'<html><body><svg width="10" height="10"></svg></body></html>', "not an SVG"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"', "well-formed"),
    (b"%PDF-1.4\nnot really a pdf", "PDF"),
    (psd(two_tone())[:-100], "truncated"),
    (saved(two_tone(), "TIFF")[:-100], "truncated"),
    (saved(two_tone(), "HEIF")[:-50], "truncated"),
    (saved(two_tone(), "AVIF")[:-50], "truncated"),
])
def test_bad_vector_and_container_files_are_400(api, data, message):
    r = api.upload("acme", [("filedata", "bad", data)])
    assert r.status_code == 400, r.body
    assert message.lower() in json_of(r)["error"]["message"].lower()


def test_svg_external_files_are_never_read(api, tmp_path):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (10, 10), GREEN).save(secret)
    data = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" '
            f'height="20"><image href="{secret}" width="20" height="20"/>'
            f'<image xlink:href="file://{secret}" width="20" height="20"/></svg>').encode()
    item = upload(api, data, "x.svg")
    im = decoded(render(f"/acme/dynamic/noop/{item['hash']}.png")).convert("RGBA")
    assert im.getpixel((10, 10))[3] == 0  # nothing was drawn


def test_svg_inline_raster_images_are_drawn(api):
    import base64
    png = base64.b64encode(saved(Image.new("RGB", (4, 4), GREEN), "PNG")).decode()
    data = (f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
            f'<image href="data:image/png;base64,{png}" width="20" height="20"/></svg>').encode()
    item = upload(api, data, "x.svg")
    assert near(decoded(render(f"/acme/dynamic/noop/{item['hash']}.png")).convert("RGB").getpixel((10, 10)), GREEN)


def test_svg_is_rasterised_at_the_resize_size_not_resampled(api):
    data = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="5"/></svg>'
    item = upload(api, data, "c.svg")
    assert (item["width"], item["height"]) == (10, 10)
    im = decoded(render(f"/acme/dynamic/resize-width-400/{item['hash']}.png"))
    assert im.size == (400, 400)
    # A crisp edge: drawn at 400 px, not a 10 px image blown up.
    alpha = im.getchannel("A")
    assert alpha.getpixel((200, 2)) == 255 and alpha.getpixel((2, 2)) == 0
    assert sum(1 for x in range(200) if 0 < alpha.getpixel((x, 200)) < 255) <= 2


# --- PDF -------------------------------------------------------------------------------------

def test_pdf_page_selects_the_page(api):
    item = upload(api, pdf(), "two.pdf")
    first = decoded(render(f"/acme/dynamic/resize-width-50/{item['hash']}.png")).convert("RGB")
    second = decoded(render(f"/acme/dynamic/resize-width-50--o-pdf.page-2/{item['hash']}.png")).convert("RGB")
    assert near(first.getpixel((25, 10)), RED) and near(second.getpixel((25, 10)), BLUE)
    assert second.size == (50, 200)
    r = render(f"/acme/dynamic/noop--o-pdf.page-3/{item['hash']}.png")
    assert r.status == 400 and "page" in json.loads(r.body)["error"]["message"]


def test_pdf_dpi_and_the_doubling_below_1000_px(api):
    item = upload(api, pdf(pages=((RED, (720, 360)),)), "big.pdf")  # 10 x 5 inches
    assert (item["width"], item["height"]) == (2000, 1000)  # 200 dpi, already >= 1000 px
    assert decoded(render(f"/acme/dynamic/noop--o-pdf.dpi-150/{item['hash']}.png")).size == (1500, 750)
    # 72 dpi would give 720 px, under 1000: doubled to 144 dpi.
    assert decoded(render(f"/acme/dynamic/noop--o-pdf.dpi-72/{item['hash']}.png")).size == (1440, 720)


# --- outputs -----------------------------------------------------------------------------------

OUTPUTS = [
    ("jpg", "JPEG", "image/jpeg"), ("jpeg", "JPEG", "image/jpeg"), ("png", "PNG", "image/png"),
    ("gif", "GIF", "image/gif"), ("webp", "WEBP", "image/webp"), ("avif", "AVIF", "image/avif"),
    ("heic", "HEIF", "image/heic"), ("heif", "HEIF", "image/heif"), ("jp2", "JPEG2000", "image/jp2"),
    ("tiff", "TIFF", "image/tiff"),
]


@pytest.fixture
def photo(api):
    return upload(api, saved(two_tone((400, 300)), "JPEG", quality=95), "photo.jpg")


@pytest.mark.parametrize("ext, pil_format, mimetype", OUTPUTS)
def test_every_output_format(api, photo, ext, pil_format, mimetype):
    codecs.register_heif()
    result = render(f"/acme/dynamic/resize-width-60/{photo['hash']}.{ext}")
    im = decoded(result)
    assert im.format == pil_format and im.size == (60, 45)
    assert result.headers["Content-Type"] == mimetype
    rgb = im.convert("RGB")
    assert near(rgb.getpixel((5, 22)), RED) and near(rgb.getpixel((55, 22)), BLUE)


def test_output_formats_are_the_declared_ones():
    assert set(codecs.OUTPUT_FORMATS) == {"jpg", "jpeg", "png", "gif", "webp", "avif", "heic", "heif", "jp2", "jxl",
                                          "tiff", "svg", "blur", "mp4", "webm"}


@pytest.mark.parametrize("ext, option", [("avif", "avif.quality"), ("heic", "heif.quality"),
                                         ("jp2", "jp2.quality"), ("webp", "webp.quality"),
                                         ("gif", "gif.quality")])
def test_quality_options_change_the_size(api, ext, option):
    im = Image.effect_mandelbrot((240, 180), (-2, -1.5, 1, 1.5), 60).convert("RGB")
    im = Image.merge("RGB", (im.getchannel(0), Image.linear_gradient("L").resize(im.size), im.getchannel(0)))
    item = upload(api, saved(im, "PNG"), "m.png")
    low = render(f"/acme/dynamic/noop--o-{option}-10/{item['hash']}.{ext}")
    high = render(f"/acme/dynamic/noop--o-{option}-95/{item['hash']}.{ext}")
    assert low.status == high.status == 200
    assert len(low.body) < len(high.body)


def test_webp_quality_100_is_lossless(api):
    src = two_tone((64, 48))
    ImageDraw.Draw(src).line((0, 0, 63, 47), fill=GREEN)
    item = upload(api, saved(src, "PNG"), "l.png")
    out = decoded(render(f"/acme/dynamic/noop--o-webp.quality-100/{item['hash']}.webp")).convert("RGB")
    assert out.tobytes() == src.tobytes()


def test_jpeg_is_progressive_unless_interlacing_is_none(api, photo):
    assert decoded(render(f"/acme/dynamic/noop/{photo['hash']}.jpg")).info.get("progressive")
    assert not decoded(render(f"/acme/dynamic/noop--o-interlacing.mode-none/{photo['hash']}.jpg")).info.get(
        "progressive")


@pytest.mark.parametrize("ext", ["png", "tiff", "jpg"])
def test_dpi_is_written(api, photo, ext):
    im = decoded(render(f"/acme/dynamic/noop--o-dpi-300/{photo['hash']}.{ext}"))
    assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)


def test_pngquant_quality_reduces_colours_and_size(api):
    noise = Image.effect_noise((256, 128), 40)  # photo-like: truecolor PNG compresses badly
    gradient = Image.linear_gradient("L").resize((256, 128))
    im = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    item = upload(api, saved(im, "PNG"), "g.png")
    lossless = render(f"/acme/dynamic/noop/{item['hash']}.png")
    lossy = render(f"/acme/dynamic/noop--o-pngquant.quality-30/{item['hash']}.png")
    full, quant = decoded(lossless), decoded(lossy)
    assert full.convert("RGB").tobytes() == im.tobytes()  # without pngquant.quality: lossless
    assert quant.mode == "P" and len(quant.convert("RGB").getcolors(1 << 16)) < len(im.getcolors(1 << 16))
    assert len(lossy.body) < len(lossless.body)


def test_pngquant_keeps_transparency(api):
    src = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    ImageDraw.Draw(src).rectangle((10, 10, 29, 29), fill=(*RED, 255))
    item = upload(api, saved(src, "PNG"), "t.png")
    out = decoded(render(f"/acme/dynamic/noop--o-pngquant.quality-50/{item['hash']}.png")).convert("RGBA")
    assert out.getpixel((2, 2))[3] == 0 and out.getpixel((20, 20)) == (*RED, 255)


def test_pngquant_falls_back_to_pillow_without_imagequant(monkeypatch):
    monkeypatch.setitem(sys.modules, "imagequant", None)  # import imagequant → ImportError
    from chalicelib.render import formats_output
    im = Image.linear_gradient("L").resize((64, 64)).convert("RGB")
    indices, palette = formats_output.quantize(im, 10)
    assert len(indices) == 64 * 64 and 2 <= len(palette) <= 26


def test_transparency_color_flattens(api):
    src = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    item = upload(api, saved(src, "PNG"), "clear.png")
    out = decoded(render(f"/acme/dynamic/noop--o-transparency.color-00FF00/{item['hash']}.png"))
    assert out.mode == "RGB" and out.getpixel((5, 5)) == (0, 255, 0)
    jpg = decoded(render(f"/acme/dynamic/noop--o-jpg.transparency.color-0000FF/{item['hash']}.jpg"))
    assert near(jpg.getpixel((5, 5)), (0, 0, 255), 8)


def test_gif_output_keeps_transparency(api):
    src = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    ImageDraw.Draw(src).rectangle((5, 5, 14, 14), fill=(*BLUE, 255))
    item = upload(api, saved(src, "PNG"), "t.png")
    out = decoded(render(f"/acme/dynamic/noop/{item['hash']}.gif")).convert("RGBA")
    assert out.getpixel((1, 1))[3] == 0 and near(out.getpixel((10, 10)), BLUE, 10)


# --- BlurHash ------------------------------------------------------------------------------------

_B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def test_blur_returns_a_valid_blurhash(api, photo):
    import blurhash
    result = render(f"/acme/dynamic/resize-width-200/{photo['hash']}.blur")
    assert result.status == 200 and result.headers["Content-Type"] == "text/plain"
    text = result.body.decode("ascii")
    assert all(c in _B83 for c in text)
    size_flag = _B83.index(text[0])
    nx, ny = size_flag % 9 + 1, size_flag // 9 + 1
    assert (nx, ny) == (4, 3) and len(text) == 4 + 2 * nx * ny
    pixels = blurhash.decode(text, 8, 4)  # rows of [r, g, b]
    assert near(pixels[2][0], RED, 80) and near(pixels[2][7], BLUE, 80)


# --- animation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("source_fmt", ["GIF", "WEBP"])
@pytest.mark.parametrize("ext", ["gif", "webp"])
def test_animations_stay_animated(api, source_fmt, ext):
    item = upload(api, animation(source_fmt), f"a.{source_fmt.lower()}")
    assert item["animated"] is True
    im = decoded(render(f"/acme/dynamic/resize-width-20/{item['hash']}.{ext}"))
    frames = frames_of(im)
    assert len(frames) == 3 and all(f.size == (20, 15) for f, _ in frames)
    assert [d for _, d in frames] == [100, 200, 300]
    for (frame, _), color in zip(frames, (RED, GREEN, BLUE)):
        assert near(frame.getpixel((10, 7)), color)
    assert im.info.get("loop") == 0


def test_operations_run_on_every_frame(api):
    item = upload(api, animation("GIF"), "a.gif")
    im = decoded(render(f"/acme/dynamic/resize-width-20--grayscale--rotate-angle-90/{item['hash']}.gif"))
    frames = frames_of(im)
    assert len(frames) == 3 and all(f.size == (15, 20) for f, _ in frames)
    assert all(len(set(f.getpixel((7, 10)))) == 1 for f, _ in frames)  # gray


def test_animated_source_to_a_still_format_uses_the_first_frame(api):
    item = upload(api, animation("GIF"), "a.gif")
    im = decoded(render(f"/acme/dynamic/resize-width-20/{item['hash']}.png"))
    assert getattr(im, "n_frames", 1) == 1 and near(im.convert("RGB").getpixel((10, 7)), RED)


def test_gif_without_loop_extension_plays_once(api):
    frames = [Image.new("RGB", (10, 10), c) for c in (RED, BLUE)]
    item = upload(api, saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50), "once.gif")
    gif = decoded(render(f"/acme/dynamic/noop/{item['hash']}.gif"))
    assert "loop" not in gif.info
    webp = decoded(render(f"/acme/dynamic/noop/{item['hash']}.webp"))
    assert webp.info.get("loop") == 1


def test_animation_pixel_limit(api, monkeypatch):
    item = upload(api, animation("GIF"), "a.gif")
    monkeypatch.setattr(pipeline, "MAX_ANIMATION_PIXELS", 2 * 40 * 30)
    r = render(f"/acme/dynamic/noop/{item['hash']}.gif")
    assert r.status == 400 and "frames" in json.loads(r.body)["error"]["message"]
    # Still outputs decode one frame only.
    assert render(f"/acme/dynamic/noop/{item['hash']}.png").status == 200


class _AddFrames:
    """An operation that adds two frames through ctx.notes, as addframes does."""
    name = "fake_addframes"

    @staticmethod
    def apply(ctx, opts):
        ctx.notes.setdefault("frames", []).extend([Image.new(ctx.image.mode, ctx.image.size, c)
                                                   for c in (GREEN, BLUE)])
        ctx.notes["frame_delay_ms"] = 70


def test_frames_added_by_an_operation_make_an_animation():
    from chalicelib.operations import registry
    source = {"width": 40, "height": 30, "format": "png", "animated": False}
    data = saved(Image.new("RGB", (40, 30), RED), "PNG")
    ops = [(_AddFrames, {}), (registry.get("resize"), {"width": 20})]
    out = Image.open(io.BytesIO(pipeline.render_pixels(data, source, ops, {}, "gif", 10 ** 8)[0]))
    frames = frames_of(out)
    assert [d for _, d in frames] == [70, 70, 70]
    assert all(f.size == (20, 15) for f, _ in frames)  # operations after it apply to the new frames
    assert [near(f.getpixel((5, 5)), c) for (f, _), c in zip(frames, (RED, GREEN, BLUE))] == [True] * 3
    still = Image.open(io.BytesIO(pipeline.render_pixels(data, source, ops, {}, "png", 10 ** 8)[0]))
    assert getattr(still, "n_frames", 1) == 1 and still.size == (20, 15)


# --- SVG output, svgdynamic, svg2bitmap ------------------------------------------------------------

SVGDYN = [{"name": "svgdynamic", "options": {"changes": [{"id": "left", "attr": "fill", "value": "#14c814"}]}}]


def test_svg_output_returns_the_svg_text(api):
    item = upload(api, SVG, "s.svg")
    result = render(f"/acme/dynamic/noop--options-optim.disable_all-true/{item['hash']}.svg")
    assert result.status == 200 and result.headers["Content-Type"] == "image/svg+xml"
    assert result.body == SVG  # as uploaded; without optim.disable_all minified (test_optim.py)


def test_svgdynamic_changes_svg_output_and_raster_output(api):
    item = upload(api, SVG, "s.svg")
    make_stack(api, "dyn", SVGDYN)
    svg = render(f"/acme/dyn/{item['hash']}.svg")
    assert svg.status == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    root = formats_vector.parse_svg(svg.body)
    fills = {el.getAttribute("id"): el.getAttribute("fill") for el in root.getElementsByTagName("rect")}
    assert fills == {"left": "#14c814", "right": "#1414e6"}
    png = decoded(render(f"/acme/dyn/{item['hash']}.png")).convert("RGB")
    assert near(png.getpixel((10, 30)), GREEN) and near(png.getpixel((110, 30)), BLUE)


def test_svg_output_with_resize_sets_the_size(api):
    item = upload(api, SVG, "s.svg")
    svg = render(f"/acme/dynamic/resize-width-60/{item['hash']}.svg")
    root = formats_vector.parse_svg(svg.body).documentElement
    assert (root.getAttribute("width"), root.getAttribute("height"), root.getAttribute("viewBox")) == \
        ("60", "30", "0 0 12 6")


def test_svg2bitmap_or_pixel_operations_give_a_raster_inside_svg(api):
    item = upload(api, SVG, "s.svg")
    for ops in ("svg2bitmap", "grayscale"):
        body = render(f"/acme/dynamic/{ops}--resize-width-60/{item['hash']}.svg").body
        root = formats_vector.parse_svg(body).documentElement
        assert (root.getAttribute("width"), root.getAttribute("height")) == ("60", "30")
        assert b"data:image/png;base64," in body and b"<rect" not in body
    # For raster outputs svg2bitmap changes nothing.
    a = decoded(render(f"/acme/dynamic/svg2bitmap/{item['hash']}.png"))
    b = decoded(render(f"/acme/dynamic/noop/{item['hash']}.png"))
    assert a.tobytes() == b.tobytes()


def test_svg_output_of_a_raster_source_is_400(api, photo):
    r = render(f"/acme/dynamic/noop/{photo['hash']}.svg")
    assert r.status == 400 and "SVG" in json.loads(r.body)["error"]["message"]


def test_svgdynamic_on_a_raster_source_changes_nothing(api, photo):
    make_stack(api, "dyn", SVGDYN)
    a = render(f"/acme/dyn/{photo['hash']}.png").body
    b = render(f"/acme/dynamic/noop/{photo['hash']}.png").body
    assert a == b


def test_svg_text_of_the_blur_and_other_outputs_for_vector_sources(api):
    item = upload(api, SVG, "s.svg")
    assert len(render(f"/acme/dynamic/noop/{item['hash']}.blur").body) == 28
    jpg = decoded(render(f"/acme/dynamic/noop/{item['hash']}.jpg"))
    assert jpg.size == (120, 60)


# --- cold start -----------------------------------------------------------------------------------

def test_heavy_libraries_are_not_imported_at_startup():
    code = ("import sys, app; import chalicelib.render.pipeline, chalicelib.render.formats_output; "
            "import chalicelib.operations.registry; "
            "heavy = {'pillow_heif', 'resvg_py', 'pypdfium2', 'blurhash', 'imagequant', 'defusedxml'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert out.stdout.strip() == "[]"


def test_tiff_output_is_deflate_compressed():
    from chalicelib.render import formats_output
    out = Image.open(io.BytesIO(formats_output.encode_still(Image.new("RGB", (64, 64), RED), "tiff", {})))
    assert out.info.get("compression") == "tiff_adobe_deflate"


def test_svg_size_and_element_limits(api, monkeypatch):
    from chalicelib import bootstrap
    from chalicelib.render import formats_vector
    body = "".join('<rect x="1" y="1" width="2" height="2"/>' for _ in range(300))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">{body}</svg>'.encode()
    item = json_of(api.upload("acme", [("filedata", "many.svg", svg)]))["items"][0]
    monkeypatch.setattr(formats_vector, "MAX_SVG_ELEMENTS", 100)
    result = bootstrap.services().renderer.handle(f"/acme/dynamic/noop/{item['hash']}.png")
    assert result.status == 400 and b"elements" in result.body
    monkeypatch.setattr(formats_vector, "MAX_SVG_BYTES", 1000)
    assert api.upload("acme", [("filedata", "big.svg", svg)]).status_code == 400
