"""Upload integrity: prove that an accepted source's pixel data decodes, before anything is stored.

codecs.identify reads headers and container structure only; `verify` is the second step of an
upload and looks at the pixel data, as cheaply as each format allows (figures per format in
docs/performance.md, "Upload integrity check"):

- JPEG: a streaming check of the whole marker structure (segment chain, SOF before SOS, every
  entropy-coded segment ends at a real marker, restart markers in sequence, EOI). A decode, even
  at 1/8 scale, costs ~5x SHA-1 + write of the file; libjpeg only warns about bad Huffman codes
  anyway, so a decode would not see more of the corruptions that keep the structure intact.
- PNG: every chunk CRC (verify) and the whole zlib stream of the image data inflated in slices
  (never held in memory) to exactly the size the header declares (Pillow's own decoder takes a
  stream that ends early for a complete image); animated PNGs: every frame.
- GIF, WebP, AVIF, HEIC, TIFF, PSD: decoded by Pillow (every frame of animations).
- SVG: the whole document parsed with the safe parser (identify reads the root only).
- PDF: page 1 drawn by pdfium at thumbnail scale. Fonts: the table directory fits the file and
  a glyph is drawn.

Corrupt files raise BadRequest (400); nothing has been stored at that point.
"""
from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image

from chalicelib.errors import BadRequest

CORRUPT = "The image file is corrupt: its pixel data cannot be decoded."
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError, KeyError,
                  RuntimeError, zlib.error, TypeError)
# The end of an entropy-coded segment: 0xFF followed by neither a stuffed 0x00 nor RST0-7.
_ECS_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_RST = re.compile(rb"\xff[\xd0-\xd7]")
# Markers without a length field; SOFn markers (not DHT C4, JPG C8, DAC CC).
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_SOF = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}


def verify(data: bytes, fmt: str) -> None:
    """Raise BadRequest unless the source (rokka format name `fmt`, from identify) decodes."""
    try:
        if fmt == "jpg":
            check_jpeg(data)
        elif fmt == "png":
            _check_png(data)
        elif fmt == "svg":
            from chalicelib.render import formats_vector
            formats_vector.parse_svg(data)
        elif fmt == "pdf":
            _check_pdf(data)
        elif fmt in ("ttf", "otf"):
            _check_font(data)
        elif fmt in ("mp4", "mov", "webm"):
            from chalicelib.render import formats_video
            formats_video.frame_at(data)  # the first frame decodes (the container was probed)
        else:
            decode_all_frames(data)
    except BadRequest:
        raise
    except _DECODE_ERRORS:
        raise BadRequest(CORRUPT) from None


# --- JPEG ------------------------------------------------------------------------------------

def check_jpeg(data: bytes) -> None:
    """Walk every marker of the first image (an MPO's further images and trailers after its EOI
    are not looked at: renders use the first image only)."""
    n = len(data)
    if data[:2] != b"\xff\xd8":
        raise BadRequest("The JPEG file does not start with a start-of-image marker.")
    pos, sof, scans, restart = 2, False, 0, 0
    while True:
        if pos >= n:
            raise BadRequest("The JPEG file is truncated.")
        if data[pos] != 0xFF:
            raise BadRequest(f"The JPEG file is corrupt (no marker at byte {pos}).")
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            raise BadRequest("The JPEG file is truncated.")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            if not (sof and scans):
                raise BadRequest("The JPEG file has no image data.")
            return
        if marker in _STANDALONE:
            continue
        if marker < 0xC0:
            raise BadRequest(f"The JPEG file is corrupt (invalid marker 0x{marker:02X}).")
        if pos + 2 > n:
            raise BadRequest("The JPEG file is truncated.")
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            raise BadRequest("The JPEG file is corrupt (bad segment length).")
        end = pos + length
        if end > n:
            raise BadRequest("The JPEG file is truncated.")
        if marker in _SOF:
            sof = True
        elif marker == 0xDD and length >= 4:
            restart = (data[pos + 2] << 8) | data[pos + 3]
        pos = end
        if marker == 0xDA:
            if not sof:
                raise BadRequest("The JPEG file is corrupt (scan before frame header).")
            scans += 1
            m = _ECS_END.search(data, pos)
            if m is None:
                raise BadRequest("The JPEG file is truncated (image data without an end).")
            if restart:
                _check_restarts(data, pos, m.start())
            pos = m.start()


def _check_restarts(data: bytes, start: int, end: int) -> None:
    for i, m in enumerate(_RST.finditer(data, start, end)):
        if data[m.start() + 1] != 0xD0 + i % 8:
            raise BadRequest("The JPEG file is corrupt (restart markers out of sequence).")


# --- PNG -------------------------------------------------------------------------------------

def _check_png(data: bytes) -> None:
    Image.open(io.BytesIO(data), formats=["PNG"]).verify()  # chunk CRCs
    with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
        if getattr(im, "is_animated", False):
            decode_all_frames(data)
            return
        width, height, depth, color, interlace = struct.unpack(">IIBBxxB", data[16:29])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
    if channels is None:
        raise BadRequest(CORRUPT)
    expected = _png_raw_size(width, height, channels * depth, interlace)
    inflater = zlib.decompressobj()
    produced, pos = 0, 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            chunk = memoryview(data)[pos + 8:pos + 8 + length]
            # Inflate in slices, so a deflate bomb never exceeds the size the header declares.
            while chunk and produced <= expected:
                produced += len(inflater.decompress(chunk, 1 << 20))
                chunk = inflater.unconsumed_tail
        elif kind == b"IEND":
            break
        pos += 12 + length
    if not inflater.eof or produced != expected:
        raise BadRequest(CORRUPT)


def _png_raw_size(width: int, height: int, bits: int, interlace: int) -> int:
    """Bytes of the filtered scanlines (one filter byte per row), Adam7 passes when interlaced."""
    if not interlace:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                           (1, 0, 2, 2), (0, 1, 1, 2)):
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w and h:
            total += h * (1 + (w * bits + 7) // 8)
    return total


# --- everything Pillow decodes ---------------------------------------------------------------

def decode_all_frames(data: bytes) -> None:
    from chalicelib.render import codecs

    if data[4:8] == b"ftyp":
        codecs.register_heif()
    with Image.open(io.BytesIO(data)) as im:
        if not getattr(im, "is_animated", False):  # PSD: the composite, not the layers
            im.load()
            return
        for index in range(im.n_frames):
            im.seek(index)
            im.load()


def _check_pdf(data: bytes) -> None:
    from chalicelib.render import formats_vector

    _count, (width, height) = formats_vector.pdf_page_size(data, 1)
    formats_vector.rasterize_pdf(data, 1, min(1.0, 64 / max(width, height)))


def _check_font(data: bytes) -> None:
    """Every table of the sfnt directory lies inside the file (FreeType opens truncated fonts
    and fails only on the glyphs it cannot find), and a glyph draws."""
    from PIL import ImageFont

    if not data.startswith(b"ttcf"):
        count = struct.unpack(">H", data[4:6])[0]
        for i in range(count):
            offset, length = struct.unpack(">II", data[12 + 16 * i + 8:12 + 16 * i + 16])
            if offset + length > len(data):
                raise BadRequest("The font file is truncated.")
    ImageFont.truetype(io.BytesIO(data), 12).getmask("Ag")
