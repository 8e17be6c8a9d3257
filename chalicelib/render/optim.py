"""Second-stage optimisation of an encoded render: rokka's `optim.*` stack options.

rokka optimises renders 10 to 30 s after the first delivery (stage 2, reference §6.6) unless
`optim.immediate` asks for it on the first render. This server has no background stage, so
the work is split by cost, measured on 2 cores (1000x750, see docs/formats.md):

* light (the default): the steps that cost a few ms.
  - JPEG: optimised Huffman tables for baseline output (interlacing.mode none): ~4 ms for
    files 16-21 % smaller. Progressive JPEGs (the default) already get optimal tables from
    libjpeg, so the same option changes nothing there.
  - SVG output: minified (comments, metadata, editor namespaces, DOCTYPE and whitespace
    between elements removed; whitespace inside text, style and script kept), when smaller.
* full (`optim.immediate: true`): what rokka's stage 2 does, on the first render.
  - PNG, lossy where it is smaller: quantised to a palette (pngquant.quality, default 98, as
    the quality target; 100 turns it off) and kept only when the file is smaller AND its PSNR
    against the lossless pixels is at least 30 + optim.quality dB (optim.quality 0..10,
    default 5, so 35 dB): optim.quality is the adaptive quality target.
  - PNG, lossless: re-compressed by oxipng (level 2, its default; within the render's time
    budget, at most OXIPNG_MAX_SECONDS): 8-15 % smaller than zlib level 7, but 1-5 s on a
    1000x750 photo, which is why it is not in the light stage.
* off (`optim.disable_all: true`): the first-stage encoding as it is.
"""
from __future__ import annotations

import io
import math

from PIL import Image, ImageChops, ImageStat

from chalicelib.limits import OXIPNG_MAX_SECONDS
from chalicelib.render import limits
from chalicelib.render.stack_options import jpeg_huffman, stage  # noqa: F401 - optim.stage is public

OXIPNG_LEVEL = 2
PSNR_BASE_DB = 30
_TEXT_ELEMENTS = {"text", "tspan", "textPath", "style", "script", "title", "desc", "pre"}
_EDITOR_NS = ("http://www.inkscape.org/namespaces/inkscape",
              "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
              "http://ns.adobe.com/AdobeIllustrator/10.0/", "http://www.bohemiancoding.com/sketch/ns")


def optimise(body: bytes, fmt: str, image: Image.Image | None, options: dict) -> bytes:
    """Stage 2 over the encoded `body` of one still `image` in format `fmt`."""
    level = stage(options)
    if level == "off":
        return body
    if fmt == "svg":
        return minify_svg(body)
    if fmt == "png" and level == "full" and image is not None:
        return _png(body, image, options)
    return body


# --- PNG -------------------------------------------------------------------------------------

def min_psnr(options: dict) -> float:
    quality = options.get("optim.quality")
    return PSNR_BASE_DB + (5 if quality is None else int(quality))


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio in dB of two images of the same size and mode."""
    stat = ImageStat.Stat(ImageChops.difference(a, b))
    mse = sum(v / stat.count[0] for v in stat.sum2) / len(stat.sum2)
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def _png(body: bytes, image: Image.Image, options: dict) -> bytes:
    from chalicelib.render import formats_output

    best = body
    quality = options.get("pngquant.quality")
    explicit = quality is not None  # already quantised in stage 1 when < 100
    quality = 98 if quality is None else int(quality)
    if not explicit and quality < 100 and image.mode in ("RGB", "RGBA"):
        indices, palette = formats_output.quantize(image, quality)
        alpha = image.mode == "RGBA"
        pal = formats_output._palette_image(image.size, indices, palette, alpha)
        if psnr(pal.convert(image.mode), image) >= min_psnr(options):
            out = io.BytesIO()
            dpi = options.get("dpi")
            pal.save(out, "PNG", compress_level=9, bits=formats_output._png_bits(len(palette)),
                     **({"dpi": (dpi, dpi)} if dpi else {}))
            if len(out.getvalue()) < len(best):
                best = out.getvalue()
    left = limits.remaining()
    seconds = OXIPNG_MAX_SECONDS if left is None else min(OXIPNG_MAX_SECONDS, left - 1)
    if seconds >= 0.5:
        import oxipng

        smaller = oxipng.optimize_from_memory(best, level=OXIPNG_LEVEL, timeout=seconds)
        if len(smaller) < len(best):
            best = smaller
    return best


# --- SVG -------------------------------------------------------------------------------------

def minify_svg(body: bytes) -> bytes:
    from chalicelib.render import formats_vector

    doc = formats_vector.parse_svg(body)
    if doc.doctype is not None:
        doc.removeChild(doc.doctype)
    _clean(doc.documentElement)
    out = doc.documentElement.toxml(encoding="utf-8")  # no XML declaration: UTF-8 is the default
    return out if len(out) < len(body) else body


def _clean(node, keep_space: bool = False) -> None:
    for name in [a.name for a in node.attributes.values() if a.namespaceURI in _EDITOR_NS
                 or (a.prefix == "xmlns" and a.value in _EDITOR_NS)]:
        node.removeAttribute(name)
    for child in list(node.childNodes):
        kind = child.nodeType
        if kind in (child.COMMENT_NODE, child.PROCESSING_INSTRUCTION_NODE):
            node.removeChild(child)
        elif kind == child.TEXT_NODE and not keep_space and not child.data.strip():
            node.removeChild(child)
        elif kind == child.ELEMENT_NODE:
            if child.localName == "metadata" or child.namespaceURI in _EDITOR_NS:
                node.removeChild(child)
                continue
            _clean(child, keep_space or child.localName in _TEXT_ELEMENTS)
