"""Encoders for every output format, with the stack options that apply at encode time.

Settings (and why):
* JPEG: jpg.quality (80, 70 when dpr > 1.5); progressive unless interlacing.mode is "none"
  (rokka's default "plane" means interlaced): measured on 2 cores, progressive costs ~1 ms on a
  400x300 render and ~45 ms on 2000x1500, for files ~10 % smaller, and renders are cached, so
  the bytes matter more. Huffman optimisation for baseline unless optim.disable_all (optim.py).
  dpi → JFIF density. jpg.transparency.color is the background for alpha.
* PNG: png.compression_level (zlib level, default 7). A pngquant.quality below 100 that the
  stack or URL sets quantises to a palette first: libimagequant (the engine of pngquant, via
  PyPI `imagequant`) with quality range 0..q, speed 4, full dithering - the colours it needs
  to reach q, at most 256 (measured: ~200 ms for 1000x750 at speed 4, ~100 ms at speed 8 for
  files ~8 % larger). Without `imagequant` installed, Pillow's fast octree quantiser with
  round(256 * q / 100) colours is the fallback. Palettes are written at 1/2/4/8 bits.
  The declared default (98) is not applied on its own: in rokka it drives the asynchronous
  background optimisation, and the first render is lossless; renders here stay lossless
  unless asked (and a noop PNG render keeps the pixels). dpi → pHYs.
  Pillow cannot write interlaced (Adam7) PNG, so interlacing.mode does not apply.
* GIF: always a palette: libimagequant with quality range 0..gif.quality (default 70; 100 =
  256 colours, best quality), speed 4 (8 per frame of an animation), alpha below 50 % becomes
  the transparent index. Animations keep
  durations and loop count, with disposal 2 (each frame is a full canvas). Interlaced unless
  interlacing.mode is "none" (Pillow's default too).
* WebP: webp.quality (80, 70 when dpr > 1.5); 100 is lossless (then an explicit
  pngquant.quality < 100 quantises first, as rokka does for lossless WebP). method 4.
* AVIF: avif.quality (45), speed 8 (measured: speed 6 is ~10x slower for ~2 % smaller files).
* HEIC/HEIF: heif.quality (40) through pillow-heif/x265 with preset "ultrafast": 3-5x faster
  than x265's default "medium" on 2000x1500 for ~2.5 % larger files.
* JPEG 2000 (.jp2): jp2.quality is the target PSNR in dB of a single quality layer (libvips
  does the same with its Q), irreversible 9/7 wavelet; 100 is lossless (5/3 wavelet).
* TIFF: Deflate (Adobe) compression, lossless; dpi → resolution tags.
* BlurHash (.blur): 4x3 components (3x4 for portrait images) from the first frame scaled to
  at most 32 px (the usual practice; the hash only holds a few cosine terms), alpha flattened
  on white. Pure-Python `blurhash` package.
"""
from __future__ import annotations

import io

from PIL import Image, ImageOps

from chalicelib.render import codecs
from chalicelib.limits import OPTIM_HUFFMAN_MAX_PIXELS
from chalicelib.render.stack_options import STACK_OPTIONS, jpeg_huffman, option  # noqa: F401 - option re-exported

LIQ_SPEED = 4            # libimagequant's and pngquant's default
LIQ_SPEED_ANIMATION = 8  # per frame of an animated GIF: ~2x faster, files ~8 % larger
BLURHASH_EDGE = 32


def _dpr_quality(options: dict, name: str) -> int:
    value = options.get(name)
    if value is not None:
        return int(value)
    return 70 if float(options.get("dpr") or 1) > 1.5 else 80


def _rgb_or_rgba(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA"):
        return im
    return im.convert("RGBA" if im.mode in ("LA", "PA", "La", "RGBa") or "transparency" in im.info else "RGB")


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA")


def _dpi(options: dict) -> dict:
    dpi = options.get("dpi")
    return {"dpi": (dpi, dpi)} if dpi else {}


# --- palettes ------------------------------------------------------------------------------

def quantize(im: Image.Image, quality: int, colors_fallback: int | None = None,
             speed: int = LIQ_SPEED) -> tuple[bytes, list]:
    """Palette indices (one byte per pixel) and RGBA palette entries for `im` (RGB or RGBA)."""
    rgba = im.convert("RGBA")
    try:
        return _liq_quantize(rgba, quality, speed)
    except ImportError:
        colors = colors_fallback or max(2, min(256, round(256 * quality / 100)))
        p = rgba.quantize(colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG)
        flat = p.getpalette("RGBA") or []
        used = p.getextrema()[1] + 1
        palette = [tuple(flat[i:i + 4]) for i in range(0, min(len(flat), 4 * used), 4)]
        return p.tobytes(), palette


def _liq_quantize(rgba: Image.Image, quality: int, speed: int) -> tuple[bytes, list]:
    from imagequant import ffi, lib  # libimagequant through cffi; ImportError when not installed

    width, height = rgba.size
    raw = rgba.tobytes()
    attr = lib.liq_attr_create()
    image = result = None
    try:
        lib.liq_set_speed(attr, speed)
        lib.liq_set_quality(attr, 0, max(0, min(100, int(quality))))
        image = lib.liq_image_create_rgba(attr, raw, width, height, 0)
        result_p = ffi.new("liq_result**")
        if lib.liq_image_quantize(image, attr, result_p) != lib.LIQ_OK:
            raise ValueError("libimagequant could not quantise the image")
        result = result_p[0]
        lib.liq_set_dithering_level(result, 1.0)
        out = ffi.new("unsigned char[]", width * height)
        lib.liq_write_remapped_image(result, image, out, width * height)
        pal = lib.liq_get_palette(result)
        palette = [(e.r, e.g, e.b, e.a) for e in pal.entries[0:pal.count]]
        return ffi.buffer(out, width * height)[:], palette
    finally:
        if result is not None:
            lib.liq_result_destroy(result)
        if image is not None:
            lib.liq_image_destroy(image)
        lib.liq_attr_destroy(attr)


def _palette_image(size, indices: bytes, palette: list, with_alpha: bool) -> Image.Image:
    p = Image.frombytes("P", size, indices)
    if with_alpha:
        p.putpalette([c for entry in palette for c in entry], "RGBA")
    else:
        p.putpalette([c for entry in palette for c in entry[:3]], "RGB")
    return p


def _png_bits(count: int) -> int:
    return 1 if count <= 2 else 2 if count <= 4 else 4 if count <= 16 else 8


def _gif_frame(im: Image.Image, quality: int, speed: int = LIQ_SPEED) -> Image.Image:
    """A palette frame; pixels under 50 % alpha share one transparent index."""
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        mask = rgba.getchannel("A").point(lambda a: 255 if a >= 128 else 0)
        rgba = Image.composite(rgba, Image.new("RGBA", rgba.size, (0, 0, 0, 0)), mask)
        rgba.putalpha(mask)
        indices, palette = quantize(rgba, quality, speed=speed)
        clear = [i for i, entry in enumerate(palette) if entry[3] < 128]
        p = _palette_image(rgba.size, indices, palette, with_alpha=False)
        if clear:
            if len(clear) > 1:
                table = bytes(clear[0] if i in clear else i for i in range(256))
                p = Image.frombytes("P", p.size, indices.translate(table))
                p.putpalette([c for entry in palette for c in entry[:3]], "RGB")
            p.info["transparency"] = clear[0]
        return p
    rgb = im.convert("RGB")
    indices, palette = quantize(rgb, quality, speed=speed)
    return _palette_image(rgb.size, indices, palette, with_alpha=False)


# --- stills --------------------------------------------------------------------------------

def encode(im: Image.Image, fmt: str, options: dict) -> bytes:
    """Encode one image with the stack options (qualities, compression, dpi, interlacing)."""
    im.info.pop("comment", None)  # a source's comments (Pillow copies them) fail JPEG over 64 KB
    icc = im.info.get("icc_profile")
    if icc and (len(icc) < 128 or icc[36:40] != b"acsp" or int.from_bytes(icc[:4], "big") != len(icc)):
        im.info.pop("icc_profile")  # not an ICC profile: never copied into renders

    # Decoded before the encoder sees it: Image.save() to a BytesIO of an image opened from a
    # BytesIO compares two empty file names, takes them for the same file and copies a not yet
    # loaded (read-only) image before writing it, a second full-size buffer (a 24 MP re-encode
    # peaked at 193 MB instead of 101 MB; docs/performance.md, "Full-size memory").
    im.load()
    return encode_still(im, fmt, options)


Z_RLE = 3  # zlib strategy: run lengths and Huffman codes only, no string matching
PHOTO_COLOURS = 1024  # more distinct colours than this in a 1/4 subsample: photo-like


def _png_strategy(im: Image.Image) -> int:
    """zlib strategy for a truecolour PNG, chosen by measurement (docs/performance.md, "PNG"):
    after the adaptive row filters a photo's residuals are small numbers with few long repeats,
    so Z_RLE compresses them within ~1 % of zlib's default strategy in a third to a quarter of the
    time; flat graphics and text need string matching (Z_RLE made them ~30 % larger), so images
    with few colours keep the default (-1). The count runs on a nearest-neighbour 1/4 subsample."""
    if im.mode not in ("RGB", "RGBA", "LA"):
        return -1
    sub = im.resize((max(1, im.width // 4), max(1, im.height // 4)), Image.Resampling.NEAREST)
    return Z_RLE if sub.getcolors(maxcolors=PHOTO_COLOURS) is None else -1


def encode_still(im: Image.Image, fmt: str, options: dict) -> bytes:
    pil_format, _ = codecs.OUTPUT_FORMATS[fmt]
    out = io.BytesIO()
    interlaced = option(options, "interlacing.mode") != "none"
    if pil_format == "JPEG":
        im = codecs.flatten(im, option(options, "jpg.transparency.color"))
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.save(out, "JPEG", quality=_dpr_quality(options, "jpg.quality"), optimize=jpeg_huffman(options) and im.width * im.height <= OPTIM_HUFFMAN_MAX_PIXELS,
                progressive=interlaced, **_dpi(options))
    elif pil_format == "PNG":
        quality = options.get("pngquant.quality")  # explicit only: see the module docstring
        level = option(options, "png.compression_level")
        if quality is not None and quality < 100 and im.mode != "L":
            alpha = _has_alpha(im)
            indices, palette = quantize(im, quality)
            im = _palette_image(im.size, indices, palette, with_alpha=alpha)
            im.save(out, "PNG", compress_level=level, bits=_png_bits(len(palette)), **_dpi(options))
        else:
            im.save(out, "PNG", compress_level=level, compress_type=_png_strategy(im), **_dpi(options))
    elif pil_format == "GIF":
        _gif_frame(im, option(options, "gif.quality")).save(out, "GIF", optimize=False, interlace=interlaced)
    elif pil_format == "WEBP":
        frames, settings = _webp_settings(options, [im])
        frames[0].save(out, "WEBP", **settings)
    elif pil_format == "AVIF":
        _rgb_or_rgba(im).save(out, "AVIF", quality=option(options, "avif.quality"), speed=8)
    elif pil_format == "HEIF":
        codecs.register_heif()
        _rgb_or_rgba(im).save(out, "HEIF", quality=option(options, "heif.quality"),
                              enc_params={"preset": "ultrafast"})
    elif pil_format == "JPEG2000":
        quality = option(options, "jp2.quality")
        settings = ({"irreversible": True, "quality_mode": "dB", "quality_layers": [quality]}
                    if quality < 100 else {"irreversible": False})
        im.save(out, "JPEG2000", no_jp2=False, **settings)
    elif pil_format == "JXL":
        from chalicelib.render import formats_jxl
        return formats_jxl.encode(im, option(options, "jxl.quality"))
    elif pil_format == "TIFF":
        im.save(out, "TIFF", compression="tiff_adobe_deflate", **_dpi(options))
    elif pil_format == "BLURHASH":
        return blurhash_text(im).encode("ascii")
    else:
        raise ValueError(f"no encoder for {fmt}")
    return out.getvalue()


def _webp_settings(options: dict, frames: list) -> tuple[list, dict]:
    """Frames to encode (quantised for lossless WebP when pngquant.quality < 100) and settings."""
    quality = _dpr_quality(options, "webp.quality")
    if quality < 100:
        return frames, {"lossless": False, "quality": quality, "method": 4}
    pq = options.get("pngquant.quality")
    if pq is not None and pq < 100:
        quantised = []
        for frame in frames:
            alpha = _has_alpha(frame)
            indices, palette = quantize(frame, pq)
            quantised.append(_palette_image(frame.size, indices, palette, alpha).convert("RGBA" if alpha else "RGB"))
        frames = quantised
    # For lossless WebP, quality is the effort: 70 is a middle ground between speed and size.
    return frames, {"lossless": True, "quality": 70, "method": 4}


# --- animations ----------------------------------------------------------------------------

def encode_animation(frames: list, durations: list, loop: int | None, fmt: str, options: dict) -> bytes:
    """Encode an animation (gif or webp) keeping the frame durations and the loop count."""
    if fmt not in codecs.ANIMATED_OUTPUTS or len(frames) < 2:
        return encode_still(frames[0], fmt, options)
    alpha = any(_has_alpha(f) for f in frames)
    size = frames[0].size
    frames = [_fit(f.convert("RGBA" if alpha else "RGB"), size) for f in frames]
    durations = [max(0, int(d or 0)) for d in durations]
    out = io.BytesIO()
    if fmt == "gif":
        quality = option(options, "gif.quality")
        palettes = [_gif_frame(f, quality, LIQ_SPEED_ANIMATION) for f in frames]
        extra = {} if loop is None else {"loop": int(loop)}
        palettes[0].save(out, "GIF", save_all=True, append_images=palettes[1:], duration=durations,
                         disposal=2, optimize=False,
                         interlace=option(options, "interlacing.mode") != "none", **extra)
    else:
        frames, settings = _webp_settings(options, frames)
        frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=durations,
                       loop=1 if loop is None else int(loop), **settings)
    return out.getvalue()


def _fit(frame: Image.Image, size) -> Image.Image:
    """Frames an operation left at another size are fitted into the first frame's canvas."""
    if frame.size == size:
        return frame
    fill = (0, 0, 0, 0) if frame.mode == "RGBA" else (0, 0, 0)
    return ImageOps.pad(frame, size, Image.Resampling.LANCZOS, color=fill)


# --- BlurHash ------------------------------------------------------------------------------

def blurhash_text(im: Image.Image) -> str:
    import blurhash

    small = codecs.flatten(im, "FFFFFF").convert("RGB")
    small.thumbnail((BLURHASH_EDGE, BLURHASH_EDGE), Image.Resampling.BOX)
    width, height = small.size
    raw = small.tobytes()
    rows = [[raw[(y * width + x) * 3:(y * width + x) * 3 + 3] for x in range(width)] for y in range(height)]
    x_comp, y_comp = (4, 3) if width >= height else (3, 4)
    return blurhash.encode(rows, components_x=x_comp, components_y=y_comp)
