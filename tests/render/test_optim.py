"""Second-stage optimisation: optim.disable_all, optim.immediate, optim.quality (render/optim.py)."""
import io

from PIL import Image, ImageChops, ImageDraw

from chalicelib.render import optim
from tests.render.test_formats import SVG, upload
from tests.render.test_render import decoded, photo, render  # noqa: F401 - fixtures


def graphic(size=(240, 160)) -> Image.Image:
    """Flat colours with smooth edges: a few hundred colours, quantises well."""
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    for i in range(12):
        draw.ellipse((i * 18, i * 10, i * 18 + 60, i * 10 + 50), fill=(i * 20, 255 - i * 20, 120))
        draw.text((i * 15, 140 - i * 5), "rokka", fill="black")
    return im


def noise(size=(160, 120)) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise(size, 90).convert("L") for _ in range(3)])


def png_bytes(im) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_immediate_quantises_png_where_smaller_and_good_enough(api):
    source = graphic()
    item = upload(api, png_bytes(source), "g.png")
    plain = render(f"/acme/dynamic/noop/{item['hash']}.png")
    full = render(f"/acme/dynamic/noop--options-optim.immediate-true/{item['hash']}.png")
    assert ImageChops.difference(decoded(plain).convert("RGB"), source).getbbox() is None  # lossless
    im = decoded(full)
    assert im.mode == "P" and len(full.body) < 0.7 * len(plain.body)
    assert optim.psnr(im.convert("RGB"), source) >= 35


def test_optim_quality_is_the_psnr_gate(api):
    # Random noise cannot reach 40 dB with 256 colours: at optim.quality 10 only the lossless
    # re-compression (oxipng) applies; at 0 (30 dB) the palette may not win either, but the
    # result always decodes and is never larger than stage 1.
    source = noise()
    item = upload(api, png_bytes(source), "n.png")
    plain = render(f"/acme/dynamic/noop/{item['hash']}.png")
    strict = render(f"/acme/dynamic/noop--options-optim.immediate-true-optim.quality-10/{item['hash']}.png")
    im = decoded(strict)
    assert im.mode == "RGB" and ImageChops.difference(im, source).getbbox() is None
    assert len(strict.body) <= len(plain.body)
    assert optim.min_psnr({"optim.quality": 0}) == 30 and optim.min_psnr({}) == 35


def test_pngquant_100_keeps_immediate_lossless(api):
    source = graphic()
    item = upload(api, png_bytes(source), "g.png")
    result = render(f"/acme/dynamic/noop--options-optim.immediate-true-pngquant.quality-100/{item['hash']}.png")
    assert ImageChops.difference(decoded(result).convert("RGB"), source).getbbox() is None


def test_baseline_jpeg_gets_optimised_huffman_tables_unless_disabled(api, photo):  # noqa: F811
    base = f"/acme/dynamic/resize-width-300--options-interlacing.mode-none"
    optimised = render(f"{base}/{photo['hash']}.jpg")
    raw = render(f"{base}-optim.disable_all-true/{photo['hash']}.jpg")
    assert decoded(optimised).size == decoded(raw).size == (300, 225)
    assert len(optimised.body) < len(raw.body)


def test_svg_output_is_minified_unless_disabled(api):
    padded = SVG.replace(b"<rect", b"\n  <!-- a comment -->\n  <metadata>x</metadata>\n  <rect")
    item = upload(api, padded, "a.svg")
    light = render(f"/acme/dynamic/noop/{item['hash']}.svg").body
    off = render(f"/acme/dynamic/noop--options-optim.disable_all-true/{item['hash']}.svg").body
    assert off == padded
    assert b"comment" not in light and b"metadata" not in light and b"DOCTYPE" not in light
    assert len(light) < len(padded) and light.count(b"<rect") == 2
    assert b'fill="#1414e6"' in light


def test_svg_minify_keeps_text_whitespace_and_drops_editor_attributes():
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"'
           b' width="10" height="10" inkscape:version="1.0">\n  <text x="1" y="5">a  <tspan> b</tspan></text>\n</svg>')
    out = optim.minify_svg(svg)
    assert b"inkscape" not in out and b"a  <tspan> b</tspan>" in out
