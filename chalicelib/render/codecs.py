"""Reading headers and opening sources with shrink-on-load; the output formats table.

Inputs: JPEG, PNG, GIF, WebP, AVIF, TIFF and PSD through Pillow; HEIC/HEIF through pillow-heif;
SVG and PDF through formats_vector (resvg, pdfium). Outputs: see OUTPUT_FORMATS and
formats_output (the encoders, which import this module, never the reverse). Heavy libraries are imported only by the functions that need them.
"""
from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from chalicelib.errors import BadRequest
from chalicelib.render import formats_jxl, formats_vector, formats_video, jpeg_load
from chalicelib.render.pixels import flatten  # noqa: F401 - codecs.flatten is used widely
from chalicelib.limits import VECTOR_MAX_PIXELS

# Pillow format → (rokka format name, MIME type) for accepted raster sources.
SOURCE_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),  # phone JPEGs with a second frame are still JPEGs
    "PNG": ("png", "image/png"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
    "AVIF": ("avif", "image/avif"),
    "TIFF": ("tiff", "image/tiff"),
    "PSD": ("psd", "image/vnd.adobe.photoshop"),  # the flattened composite is used
    "HEIF": ("heic", "image/heic"),  # via pillow-heif; plain HEIF brands become heif, image/heif
    "JXL": ("jxl", "image/jxl"),  # via pillow-jxl-plugin (formats_jxl)
}
VECTOR_FORMATS = {"svg": ("svg", "image/svg+xml"), "pdf": ("pdf", "application/pdf")}

# Output extension → (format, MIME type). The renderer accepts exactly these extensions.
OUTPUT_FORMATS = {
    "jpg": ("JPEG", "image/jpeg"),
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "gif": ("GIF", "image/gif"),
    "webp": ("WEBP", "image/webp"),
    "avif": ("AVIF", "image/avif"),
    "heic": ("HEIF", "image/heic"),
    "heif": ("HEIF", "image/heif"),
    "jp2": ("JPEG2000", "image/jp2"),
    "jxl": ("JXL", "image/jxl"),         # formats_jxl
    "tiff": ("TIFF", "image/tiff"),
    "svg": ("SVG", "image/svg+xml"),     # SVG sources only (pipeline)
    "blur": ("BLURHASH", "text/plain"),  # a BlurHash string of the rendered image
    "mp4": ("MP4", "video/mp4"),          # animated and video sources only (formats_video)
    "webm": ("WEBM", "video/webm"),
}
ANIMATED_OUTPUTS = ("gif", "webp")

# MPO files open through the JPEG plugin; HEIF needs pillow-heif, registered only when needed.
_ACCEPTED = [f for f in SOURCE_FORMATS if f not in ("MPO", "HEIF", "JXL")]
_ANIMATABLE = ("GIF", "WEBP", "PNG", "AVIF")
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
# Largest raster a vector source (SVG/PDF) may be drawn at when the caller gives no limit.
_UNSUPPORTED = "The file is not a supported image (JPEG, PNG, GIF, WebP, AVIF, HEIC, JPEG XL, TIFF, PSD, SVG or PDF)."


@dataclass
class ImageInfo:
    format: str
    mimetype: str
    width: int
    height: int
    animated: bool
    has_alpha: bool
    orientation: int
    # The opened raster file (header parsed, no pixels decoded), so the upload can read its
    # static metadata (inspect.static_metadata) without opening and parsing it a second time.
    header: Image.Image | None = field(default=None, repr=False, compare=False)
    # Static metadata found while identifying (videos: static_metadata.video).
    static: dict = field(default_factory=dict, repr=False, compare=False)


# TrueType/OpenType fonts are stored as source images for the text operation (reference §2.2).
_FONT_MAGIC = ((b"\x00\x01\x00\x00", "ttf"), (b"true", "ttf"), (b"OTTO", "otf"), (b"ttcf", "ttf"))


def font_kind(data: bytes) -> str | None:
    """'ttf' or 'otf' when the bytes are a font Pillow's FreeType can open, else None."""
    for magic, kind in _FONT_MAGIC:
        if data.startswith(magic):
            try:
                from PIL import ImageFont
                ImageFont.truetype(io.BytesIO(data), 12)
            except (OSError, ValueError):
                return None
            return kind
    return None


def identify(data: bytes, max_pixels: int) -> ImageInfo:
    """Format and size from the header, plus cheap structural checks; never decodes pixels.

    SVG: only the root element is parsed. PDF: page 1's size at the default pdf.dpi (200,
    doubled below 1000 px), i.e. the size a render with default options has.
    """
    video = formats_video.kind(data)
    if video is not None:
        return _identify_video(video, data, max_pixels)
    font = font_kind(data)
    if font is not None:
        return ImageInfo(format=font, mimetype=f"font/{font}", width=0, height=0, animated=False,
                         has_alpha=False, orientation=1)
    kind = vector_kind(data)
    if kind is not None:
        return _identify_vector(kind, data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            formats = _ACCEPTED + (["HEIF"] if _register_heif_for(data) else []) + _jxl_for(data)
            im = Image.open(io.BytesIO(data), formats=formats)
            fmt = im.format
            width, height = im.size
            _check_pixels(width, height, max_pixels)
            animated = bool(getattr(im, "is_animated", False)) if fmt in _ANIMATABLE else False
            has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
            orientation = _orientation(im)
            _check_structure(fmt, data, im)
    except BadRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)  # Pillow's bomb check fired
        raise BadRequest(f"Image dimensions exceed the limit of {limit} pixels") from None
    except UnidentifiedImageError:
        raise BadRequest(_UNSUPPORTED) from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, KeyError, RuntimeError):
        raise BadRequest("The image file is corrupt or truncated.") from None
    name, mimetype = SOURCE_FORMATS[fmt]
    if fmt == "HEIF" and data[8:12] not in _HEIC_BRANDS:
        name, mimetype = "heif", "image/heif"
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(format=name, mimetype=mimetype, width=width, height=height,
                     animated=animated, has_alpha=has_alpha, orientation=orientation, header=im)


def _identify_video(kind: str, data: bytes, max_pixels: int) -> ImageInfo:
    info = formats_video.probe(data)
    formats_video.check_limits(info, max_pixels)
    return ImageInfo(format=kind, mimetype=formats_video.VIDEO_FORMATS[kind], width=info["width"],
                     height=info["height"], animated=True, has_alpha=False, orientation=1,
                     static=formats_video.static_metadata(info))


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1 or width * height > max_pixels:
        raise BadRequest(f"Image dimensions {width}x{height} exceed the limit of {max_pixels} pixels")


def _identify_vector(kind: str, data: bytes, max_pixels: int) -> ImageInfo:
    if kind == "svg":
        width, height = formats_vector.svg_root_geometry(data).size
        has_alpha = True  # SVGs are drawn on a transparent canvas
    else:
        _count, page = formats_vector.pdf_page_size(data, 1)
        width, height = formats_vector.pdf_pixel_size(page, formats_vector.PDF_DEFAULT_DPI)
        has_alpha = False  # pages are drawn on white
    _check_pixels(width, height, max_pixels)
    name, mimetype = VECTOR_FORMATS[kind]
    return ImageInfo(format=name, mimetype=mimetype, width=width, height=height,
                     animated=False, has_alpha=has_alpha, orientation=1)


def _raster_magic(data: bytes) -> bool:
    return (data[:3] == b"\xff\xd8\xff" or data[:4] in (b"\x89PNG", b"GIF8", b"RIFF", b"8BPS", b"II*\0", b"MM\0*")
            or data[4:8] == b"ftyp" or formats_jxl.is_jxl(data))


def _jxl_for(data: bytes) -> list:
    if not formats_jxl.is_jxl(data):
        return []
    formats_jxl.register()
    return ["JXL"]


def _register_heif_for(data: bytes) -> bool:
    """Register pillow-heif (a ~30 ms import) only for ISO-BMFF files that are not AVIF."""
    if data[4:8] != b"ftyp" or data[8:12] in (b"avif", b"avis"):
        return False
    register_heif()
    return True


def register_heif() -> None:
    import pillow_heif

    if "HEIF" not in Image.OPEN:
        pillow_heif.register_heif_opener()


def _orientation(im: Image.Image) -> int:
    if im.format == "PNG" and "exif" not in im.info:
        # No eXIf chunk before the image data. Pillow's getexif would decode every pixel to look
        # for one after it (and a decode error there would pass for broken EXIF); the PNG spec
        # lets decoders ignore an eXIf after IDAT, and so do headers here.
        return 1
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - broken EXIF must not reject an otherwise fine image
        return 1


def _check_structure(fmt: str, data: bytes, im: Image.Image) -> None:
    """Catch truncated files from their container structure, without decoding pixels."""
    if fmt in ("JPEG", "MPO"):
        # End-of-image marker; cameras may append padding, so look near the end.
        if b"\xff\xd9" not in data[-4096:]:
            raise BadRequest("The JPEG file is truncated (no end-of-image marker).")
    elif fmt == "PNG":
        # Walks the chunks and their CRCs without inflating pixel data; needs a fresh open.
        Image.open(io.BytesIO(data), formats=["PNG"]).verify()
    elif fmt == "GIF":
        if not data.rstrip(b"\0").endswith(b";"):
            raise BadRequest("The GIF file is truncated (no trailer).")
    elif fmt == "WEBP":
        declared = struct.unpack("<I", data[4:8])[0] + 8
        if len(data) < declared:
            raise BadRequest("The WebP file is truncated.")
    elif fmt in ("AVIF", "HEIF"):
        _check_boxes(data)
    elif fmt == "TIFF":
        _check_tiff(data, im)
    elif fmt == "PSD":
        _check_psd(data)


def _check_boxes(data: bytes) -> None:
    """ISO-BMFF (AVIF/HEIF): every top-level box must fit in the file."""
    offset = 0
    while offset + 8 <= len(data):
        size = struct.unpack(">I", data[offset:offset + 4])[0]
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:  # the last box runs to the end of the file
            return
        if size < 8:
            raise BadRequest("The image file is corrupt (bad box size).")
        offset += size
    if offset != len(data):
        raise BadRequest("The image file is truncated.")


def _check_tiff(data: bytes, im: Image.Image) -> None:
    tags = getattr(im, "tag_v2", {})
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        if any(o + c > len(data) for o, c in zip(offsets, counts)):
            raise BadRequest("The TIFF file is truncated.")


def _check_psd(data: bytes) -> None:
    """Section lengths, then the composite image's data (raw or RLE) must fit in the file."""
    channels, height, width, depth = struct.unpack(">HIIH", data[12:24])
    offset = 26
    for _section in range(3):  # colour mode data, image resources, layer and mask information
        if offset + 4 > len(data):
            raise BadRequest("The PSD file is truncated.")
        offset += 4 + struct.unpack(">I", data[offset:offset + 4])[0]
    if offset + 2 > len(data):
        raise BadRequest("The PSD file is truncated.")
    compression = struct.unpack(">H", data[offset:offset + 2])[0]
    offset += 2
    if compression == 0:
        needed = channels * height * ((width * depth + 7) // 8)
    elif compression == 1:
        rows = channels * height
        table = data[offset:offset + 2 * rows]
        if len(table) < 2 * rows:
            raise BadRequest("The PSD file is truncated.")
        needed = 2 * rows + sum(struct.unpack(f">{rows}H", table))
    else:
        return  # ZIP-compressed composites: Pillow cannot read them anyway
    if offset + needed > len(data):
        raise BadRequest("The PSD file is truncated.")


# --- opening -------------------------------------------------------------------------------

def vector_kind(data: bytes) -> str | None:
    """'svg' or 'pdf' for vector sources, None for raster ones (from the first bytes)."""
    return None if _raster_magic(data) else formats_vector.sniff(data)


def open_source(data: bytes, draft_size: tuple[int, int] | None = None,
                top_rows: tuple[int, int, int] | None = None) -> tuple[Image.Image, tuple[int, int] | None]:
    """Open a source for rendering (its first frame), oriented upright, in RGB/RGBA/L/LA.

    With `draft_size` (the size the first resize will produce), JPEG sources decode at
    the smallest DCT scale that still covers it (shrink-on-load, jpeg_load.draft). Returns the image and,
    when shrink-on-load happened, the upright size before it. SVG and PDF sources are drawn
    at their nominal size (default pdf options).

    With `top_rows` (width, height, rows), a JPEG of exactly width x height that needs no
    rotation is decoded down to row `rows` only (the image returned is then width x rows):
    for a crop that ends above the bottom, the rows below it are never decoded.
    """
    kind = vector_kind(data)
    if kind is not None:
        return open_vector(kind, data)
    if data[4:8] == b"ftyp":
        _register_heif_for(data)
    _jxl_for(data)
    im = Image.open(io.BytesIO(data))
    before = None
    orientation = _orientation(im)
    if (top_rows and not draft_size and im.format == "JPEG" and orientation == 1
            and im.size == top_rows[:2] and 0 < top_rows[2] < im.size[1] and len(im.tile) == 1):
        return normalize_mode(jpeg_load.decode_top_rows(im, data, top_rows[2])), None
    if draft_size and im.format in ("JPEG", "MPO"):
        full = im.size
        request = draft_size[::-1] if orientation in (5, 6, 7, 8) else draft_size
        jpeg_load.draft(im, im.mode if im.mode in ("RGB", "L") else "RGB", request)
        if im.size != full:
            before = full[::-1] if orientation in (5, 6, 7, 8) else full
    if orientation != 1:
        im = ImageOps.exif_transpose(im)
    return normalize_mode(im), before


def open_vector(kind: str, data: bytes, options: dict | None = None, max_pixels: int | None = None,
                vector_target=None) -> tuple[Image.Image, tuple[int, int] | None]:
    """Draw an SVG or PDF source: RGBA (SVG, transparent) or RGB (PDF, on white).

    At the nominal size (see formats_vector), or scaled (aspect ratio kept) to cover
    `vector_target(nominal)` when that gives a size: drawing a vector at the first resize's
    size is faster and sharper than resampling. `options` carries pdf.page and pdf.dpi. The
    drawn size may not exceed `max_pixels` (default VECTOR_MAX_PIXELS). Returns the image and
    the nominal size when the drawn size differs (the first resize computes from it).
    """
    options = options or {}
    max_pixels = max_pixels or VECTOR_MAX_PIXELS
    if kind == "svg":
        doc = formats_vector.parse_svg(data)
        nominal = formats_vector.document_geometry(doc).size
    else:
        page = int(options.get("pdf.page") or 1)
        dpi = float(options.get("pdf.dpi") or formats_vector.PDF_DEFAULT_DPI)
        _count, page_pt = formats_vector.pdf_page_size(data, page)
        nominal = formats_vector.pdf_pixel_size(page_pt, dpi)
    target = (vector_target(nominal) if vector_target else None) or nominal
    scale = max(target[0] / nominal[0], target[1] / nominal[1])
    size = (max(1, round(nominal[0] * scale)), max(1, round(nominal[1] * scale)))
    if size[0] * size[1] > max_pixels:
        raise BadRequest(f"The {kind.upper()} would be drawn at {size[0]}x{size[1]} pixels, "
                         f"more than the limit of {max_pixels}.")
    if kind == "svg":
        im = formats_vector.rasterize_svg(doc, size)
    elif size == nominal:
        im = formats_vector.rasterize_pdf(data, page, formats_vector.effective_dpi(page_pt, dpi) / 72)
    else:
        im = formats_vector.rasterize_pdf(data, page, max(size[0] / page_pt[0], size[1] / page_pt[1]))
    return im, (nominal if im.size != nominal else None)


@dataclass
class Frames:
    """An animated source, decoded: full-canvas frames, their durations (ms) and loop count."""
    frames: list
    durations: list
    loop: int | None  # 0 = forever; None = play once (a GIF without a loop extension)


def open_frames(data: bytes, max_total_pixels: int) -> Frames:
    """Every frame of an animated raster source, upright, in RGB/RGBA.

    Refuses animations whose frames × pixels exceed `max_total_pixels` before decoding.
    """
    if data[4:8] == b"ftyp":
        _register_heif_for(data)
    im = Image.open(io.BytesIO(data))
    count = getattr(im, "n_frames", 1)
    width, height = im.size
    if count * width * height > max_total_pixels:
        raise BadRequest(f"The animation has {count} frames of {width}x{height} pixels, more than the "
                         f"limit of {max_total_pixels} pixels in all frames.")
    loop = im.info.get("loop")
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}.get(_orientation(im))
    frames, durations = [], []
    for index in range(count):
        im.seek(index)
        frame = normalize_mode(im.copy())
        if frame.mode in ("L", "LA"):
            frame = frame.convert("RGBA" if frame.mode == "LA" else "RGB")
        frames.append(frame.transpose(method) if method is not None else frame)
        durations.append(int(im.info.get("duration") or 0))
    if any(f.mode == "RGBA" for f in frames):  # GIF frames after the first may come as RGB
        frames = [f if f.mode == "RGBA" else f.convert("RGBA") for f in frames]
    return Frames(frames, durations, loop)


def normalize_mode(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if im.mode == "P" and "transparency" in im.info or im.mode in ("PA", "RGBa", "La"):
        return im.convert("RGBA")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 256).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")
