"""The reference implementations the benchmark compares ours with: plain Pillow (open, full
decode, LANCZOS resize, encode) and libvips through pyvips with one thread."""
from __future__ import annotations

import io

TALL = 10_000_000  # "no height limit" for libvips' thumbnail (it boxes into width x height)


# --- Pillow: open, full decode, LANCZOS resize, encode ---------------------------------------

def _pillow_ops(im, operations):
    from PIL import Image, ImageFilter

    for op in operations:
        name, opts = op["name"], op["options"]
        if name == "resize":
            width = opts["width"]
            im = im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.LANCZOS)
        elif name == "crop":
            w, h = min(opts["width"], im.width), min(opts["height"], im.height)
            left, top = (im.width - w) // 2, (im.height - h) // 2
            im = im.crop((left, top, left + w, top + h))
        elif name == "blur":
            im = im.filter(ImageFilter.GaussianBlur(opts["sigma"]))
        elif name == "rotate":
            assert opts["angle"] == 90
            im = im.transpose(Image.Transpose.ROTATE_270)  # Pillow turns counter-clockwise
        elif name != "noop":
            raise ValueError(name)
    return im


def pillow_render(data: bytes, operations: list, fmt: str, options: tuple = ()) -> bytes:
    from PIL import Image, ImageSequence

    im = Image.open(io.BytesIO(data))
    out = io.BytesIO()
    if fmt == "mp4":
        from bench.video import pyav_mp4

        return pyav_mp4([_pillow_ops(f.convert("RGB"), operations) for f in ImageSequence.Iterator(im)],
                         [f.info.get("duration", 100) for f in ImageSequence.Iterator(im)])
    if fmt == "gif" and getattr(im, "is_animated", False):
        frames, durations = [], []
        for frame in ImageSequence.Iterator(im):
            frames.append(_pillow_ops(frame.convert("RGBA"), operations))
            durations.append(frame.info.get("duration", 0))
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                       loop=im.info.get("loop", 0), disposal=2)
        return out.getvalue()
    im.load()
    im = _pillow_ops(im, operations)
    if fmt == "jpg":
        (im if im.mode == "RGB" else im.convert("RGB")).save(out, "JPEG", quality=80, progressive=True)
    elif fmt == "webp":
        im.save(out, "WEBP", quality=80, method=4)
    elif fmt == "avif":
        im.save(out, "AVIF", quality=45, speed=8)
    elif fmt == "png" and dict(options).get("pngquant.quality", 100) < 100:
        # Pillow's own palette (what ours falls back to without imagequant), zlib at its best
        im.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
    elif fmt == "png" and dict(options).get("optim.immediate"):
        im.save(out, "PNG", optimize=True)  # Pillow's "optimise": zlib level 9
    elif fmt == "png":
        im.save(out, "PNG", compress_level=7)
    elif fmt == "jxl":
        import pillow_jxl  # noqa: F401 - registers JXL

        im.save(out, "JXL", quality=70, effort=5)
    else:
        raise ValueError(fmt)
    return out.getvalue()


# --- libvips (pyvips), one thread ------------------------------------------------------------

def pyvips_render(data: bytes, operations: list, fmt: str, options: tuple = ()) -> bytes:
    import pyvips

    first = operations[0]
    if first["name"] == "resize":
        # What libvips users write for a resize: thumbnail, which shrinks on load.
        im = pyvips.Image.thumbnail_buffer(data, first["options"]["width"], height=TALL,
                                           option_string="n=-1" if fmt == "gif" else "")
        rest = operations[1:]
    else:
        access = "random" if first["name"] == "rotate" else "sequential"
        im = pyvips.Image.new_from_buffer(data, "", access=access)
        rest = operations
    for op in rest:
        name, opts = op["name"], op["options"]
        if name == "crop":
            w, h = min(opts["width"], im.width), min(opts["height"], im.height)
            im = im.crop((im.width - w) // 2, (im.height - h) // 2, w, h)
        elif name == "blur":
            im = im.gaussblur(opts["sigma"])
        elif name == "rotate":
            assert opts["angle"] == 90
            im = im.rot90()
        elif name != "noop":
            raise ValueError(name)
    if fmt == "jpg":
        return im.jpegsave_buffer(Q=80, interlace=True, keep=0)
    if fmt == "webp":
        return im.webpsave_buffer(Q=80, effort=4, keep=0)
    if fmt == "avif":
        # aom speed 8 (ours) is libvips effort 1 (speed = 9 - effort).
        return im.heifsave_buffer(Q=45, compression="av1", effort=1, keep=0)
    if fmt == "png" and dict(options).get("pngquant.quality", 100) < 100:
        # libvips' palette PNG (libimagequant or quantizr inside pyvips-binary) at the same quality
        return im.pngsave_buffer(compression=9, palette=True, Q=dict(options)["pngquant.quality"], keep=0)
    if fmt == "png" and dict(options).get("optim.immediate"):
        return im.pngsave_buffer(compression=9, filter="all", keep=0)  # libvips' best lossless zlib
    if fmt == "png":
        # Lossless RGBA at zlib level 7, as ours by default (pngquant.quality only when asked),
        # with adaptive row filters (libpng's heuristic) as Pillow's encoder always uses them:
        # libvips' default is no filtering (filter="none"), which made its file 27 % larger than
        # ours (270 vs 213 kB) for less work, i.e. different settings. filter="all" lets it pick
        # per row like Pillow (207 kB). Changed with docs/performance-optimisations.md.
        return im.pngsave_buffer(compression=7, filter="all", keep=0)
    if fmt == "gif":
        return im.gifsave_buffer(interlace=True, keep=0)
    raise ValueError(fmt)
