"""Hostile inputs, all made in code: decompression bombs (huge declared dimensions, tiny files),
truncated and corrupt files of every accepted format, and files with absurd metadata.

Every builder returns bytes; the CASES lists are (name, bytes) pairs used by
test_untrusted_files.py.
"""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

from tests.image_helpers import saved

RED, BLUE = (230, 20, 20), (20, 20, 230)


# --- valid samples of every accepted format -----------------------------------------------------

def _picture(size=(64, 48), mode="RGB") -> Image.Image:
    im = Image.new(mode, size, RED if mode == "RGB" else (*RED, 255))
    ImageDraw.Draw(im).rectangle((size[0] // 2, 0, size[0], size[1]), fill=BLUE)
    return im


def animation(fmt: str) -> bytes:
    frames = [Image.new("RGB", (40, 30), c) for c in (RED, (20, 200, 20), BLUE)]
    return saved(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def psd(im: Image.Image) -> bytes:
    """A minimal Photoshop file: header, empty sections, raw planar composite (8 bit)."""
    w, h = im.size
    channels = im.split()
    out = b"8BPS" + struct.pack(">H6xHIIHH", 1, len(channels), h, w, 8, 3)
    out += struct.pack(">III", 0, 0, 0)
    return out + struct.pack(">H", 0) + b"".join(c.tobytes() for c in channels)


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 12 6">'
       b'<rect x="0" y="0" width="6" height="6" fill="#e61414"/>'
       b'<rect x="6" y="0" width="6" height="6" fill="#1414e6"/></svg>')


def pdf(media_box=(0, 0, 200, 100), content=b"1 0 0 rg 0 0 100 100 re f") -> bytes:
    """A one-page PDF written by hand, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Contents 4 0 R >>" % " ".join(map(str, media_box)).encode(),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def samples() -> dict[str, bytes]:
    """One valid, small file per accepted source format (see codecs.SOURCE_FORMATS)."""
    im = _picture()
    return {
        "jpeg": saved(im, "JPEG", quality=90),
        "png": saved(im, "PNG"),
        "gif": saved(im, "GIF"),
        "gif-animated": animation("GIF"),
        "webp": saved(im, "WEBP", quality=80),
        "webp-animated": animation("WEBP"),
        "avif": saved(im, "AVIF", quality=60),
        "tiff": saved(im, "TIFF"),
        "tiff-deflate": saved(im, "TIFF", compression="tiff_adobe_deflate"),
        "heic": saved(im, "HEIF", quality=60),
        "psd": psd(im),
        "svg": SVG,
        "pdf": pdf(),
    }


# --- decompression bombs: huge declared dimensions, tiny files ----------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, idat: bytes, bit_depth: int = 8, color_type: int = 0,
        extra: list[tuple[bytes, bytes]] = (), after_idat: list[tuple[bytes, bytes]] = ()) -> bytes:
    out = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth,
                                                                   color_type, 0, 0, 0))
    out += b"".join(_png_chunk(k, d) for k, d in extra)
    out += _png_chunk(b"IDAT", idat)
    out += b"".join(_png_chunk(k, d) for k, d in after_idat)
    return out + _png_chunk(b"IEND", b"")


def png_zero_rows(width: int, height: int, bit_depth: int = 1) -> bytes:
    """A complete, valid PNG of black pixels: every row present, deflated (ratio ~1000:1)."""
    row = b"\0" * (1 + (width * bit_depth + 7) // 8)
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row * min(1000, height - i)) for i in range(0, height, 1000)) + z.flush()
    return png(width, height, data, bit_depth=bit_depth)


def gif_screen(width: int, height: int, frame: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF whose logical screen (or frame) is huge; one tiny LZW-coded frame."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x44\x01\x00"
    return head + image + b";"


def webp_vp8x(width: int, height: int) -> bytes:
    """An extended WebP whose canvas is width x height, holding a real 1x1 lossless image."""
    inner = saved(Image.new("RGB", (1, 1), RED), "WEBP", lossless=True)
    vp8l = inner[12:]  # the VP8L chunk of a simple-format file
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8l(width: int, height: int) -> bytes:
    """A lossless WebP whose bitstream header declares width x height (14 bits each)."""
    inner = bytearray(saved(Image.new("RGB", (1, 1), RED), "WEBP", lossless=True))
    bits = int.from_bytes(inner[21:25], "little")
    bits = (bits & ~0xFFFFFFF) | (width - 1) | ((height - 1) << 14)
    inner[21:25] = bits.to_bytes(4, "little")
    return bytes(inner)


def tiff(width: int, height: int, strip: bytes = b"\0" * 16, extra_tags: list = (), byte_count=None) -> bytes:
    """A little-endian, uncompressed grayscale TIFF; the strip is what is really there."""
    tags = sorted([
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
        (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, height),
        (279, 4, 1, len(strip) if byte_count is None else byte_count), *extra_tags])
    ifd_size = 2 + 12 * len(tags) + 4
    data_at = 8 + ifd_size
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(tags)))
    blobs = bytearray()
    for tag, typ, count, value in tags:
        if tag == 273:
            value = data_at
        if isinstance(value, bytes):  # out-of-line data after the strip
            offset = data_at + len(strip) + len(blobs)
            blobs += value
            out += struct.pack("<HHII", tag, typ, count, offset)
        else:
            fmt = "<HHIHH" if typ == 3 else "<HHII"
            out += struct.pack(fmt, tag, typ, count, value, 0) if typ == 3 else struct.pack(fmt, tag, typ, count, value)
    out += struct.pack("<I", 0)
    return bytes(out + strip + blobs)


def jpeg_dimensions(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 header is patched to width x height."""
    data = bytearray(saved(_picture((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def psd_dimensions(width: int, height: int) -> bytes:
    data = bytearray(psd(_picture((8, 8))))
    data[14:22] = struct.pack(">II", height, width)
    return bytes(data)


def isobmff_ispe(data: bytes, width: int, height: int) -> bytes:
    """AVIF/HEIC with every `ispe` (image spatial extents) box patched to width x height."""
    out = bytearray(data)
    start = 0
    while (i := out.find(b"ispe", start)) != -1:
        out[i + 8:i + 16] = struct.pack(">II", width, height)
        start = i + 4
    return bytes(out)


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
                  + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10)
                             for i in range(8))
                  + b']><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&i;</text></svg>')


def bombs() -> dict[str, bytes]:
    """Decompression bombs: tiny files declaring far more pixels than MAX_SOURCE_PIXELS."""
    s = samples()
    return {
        "png-100000x100000": png(100_000, 100_000, zlib.compress(b"\0" * 100_001 * 4, 9)),
        "png-1bit-30000x30000-complete": png_zero_rows(30_000, 30_000),
        "gif-screen-65535x65535": gif_screen(65_535, 65_535),
        "gif-frame-65535x65535": gif_screen(10, 10, frame=(65_535, 65_535)),
        "webp-vp8x-16777216x16777216": webp_vp8x(1 << 24, 1 << 24),
        "webp-vp8l-16384x16384": webp_vp8l(16_384, 16_384),
        "tiff-1000000x1000000": tiff(1_000_000, 1_000_000),
        "jpeg-65500x65500": jpeg_dimensions(65_500, 65_500),
        "psd-300000x300000": psd_dimensions(300_000, 300_000),
        "avif-ispe-60000x60000": isobmff_ispe(s["avif"], 60_000, 60_000),
        "heic-ispe-60000x60000-clap-64x48": isobmff_ispe(s["heic"], 60_000, 60_000),
        "svg-100000x100000": b'<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>',
        "svg-viewbox-1e9": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1e9 1e9"/>',
        "svg-billion-laughs": BILLION_LAUGHS,
        "pdf-14400pt-page": pdf(media_box=(0, 0, 14_400, 14_400)),
    }


# --- truncated and corrupt files ----------------------------------------------------------------

def damaged() -> dict[str, bytes]:
    """Every sample truncated (header only, half, last 10% missing) and corrupted in the middle."""
    out = {}
    for name, data in samples().items():
        n = len(data)
        mid = n // 2
        out[f"{name}-header-only"] = data[:min(40, n // 4)]
        out[f"{name}-half"] = data[:mid]
        out[f"{name}-tail-cut"] = data[:n - max(2, n // 10)]
        flipped = bytearray(data)
        for i in range(mid, min(n, mid + 32)):
            flipped[i] ^= 0x55
        out[f"{name}-bits-flipped"] = bytes(flipped)
        zeroed = bytearray(data)
        zeroed[n // 3:2 * n // 3] = b"\0" * (2 * n // 3 - n // 3)
        out[f"{name}-middle-zeroed"] = bytes(zeroed)
    return out


# --- absurd metadata ----------------------------------------------------------------------------

def _jpeg_with_segments(segments: list[bytes], base: bytes | None = None) -> bytes:
    base = base or saved(_picture(), "JPEG")
    return base[:2] + b"".join(segments) + base[2:]


def _app(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _exif_loop() -> bytes:
    """EXIF whose IFD0 points at itself as its Exif IFD, GPS IFD and next IFD."""
    entries = [(0x8769, 4, 1, 8), (0x8825, 4, 1, 8)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 8)


def _exif_huge_count() -> bytes:
    """EXIF with tags claiming 2^30 values stored far beyond the end of the segment."""
    entries = [(0x010E, 2, 1 << 30, 0x7FFFFFF0), (0x0110, 7, 1 << 30, 12), (0x8769, 4, 1, 0xFFFFFF00)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    return b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


def _icc_segments(profile: bytes) -> list[bytes]:
    chunks = [profile[i:i + 65_000] for i in range(0, len(profile), 65_000)]
    return [_app(0xE2, b"ICC_PROFILE\0" + bytes([i + 1, len(chunks)]) + c) for i, c in enumerate(chunks)]


def absurd_metadata() -> dict[str, bytes]:
    im = _picture()
    exif = Image.Exif()
    exif[0x010E] = "D" * 60_000  # ImageDescription: almost a whole APP1 segment
    big_exif_jpeg = saved(im, "JPEG", exif=exif.tobytes())
    garbage = bytes(range(256)) * 256  # 64 KB that is no ICC profile
    idat = zlib.compress(b"".join(b"\0" + bytes(64) for _ in range(48)))
    return {
        "jpeg-exif-60kb": big_exif_jpeg,
        "jpeg-100-app1-segments": _jpeg_with_segments([_app(0xE1, b"Exif\0\0" + b"\0" * 65_000)] * 100),
        "jpeg-exif-ifd-loop": _jpeg_with_segments([_app(0xE1, _exif_loop())]),
        "jpeg-exif-huge-counts": _jpeg_with_segments([_app(0xE1, _exif_huge_count())]),
        "jpeg-icc-garbage-6mb": _jpeg_with_segments(_icc_segments(garbage * 100)),
        "jpeg-1000-comments": _jpeg_with_segments([_app(0xFE, b"x" * 1000)] * 1000),
        "png-5000-text-chunks": png(64, 48, idat, extra=[(b"tEXt", b"k%d\0%s" % (i, b"v" * 100)) for i in range(5000)]),
        "png-ztxt-bomb": png(64, 48, idat, extra=[(b"zTXt", b"k\0\0" + zlib.compress(b"a" * 50_000_000, 9))]),
        "png-ztxt-bomb-after-idat": png(64, 48, idat, after_idat=[(b"zTXt", b"k\0\0" + zlib.compress(b"a" * 50_000_000, 9))]),
        "png-iccp-garbage": png(64, 48, idat, extra=[(b"iCCP", b"icc\0\0" + zlib.compress(garbage))]),
        "png-iccp-bomb": png(64, 48, idat, extra=[(b"iCCP", b"icc\0\0" + zlib.compress(b"\0" * 50_000_000, 9))]),
        "png-exif-garbage-4mb": png(64, 48, idat, extra=[(b"eXIf", b"MM\0*" + garbage * 64)]),
        "gif-10000-comments": _gif_with_comments(saved(im, "GIF"), 10_000),
        "webp-icc-exif-garbage": _webp_with_chunks(saved(im, "WEBP"), [(b"ICCP", garbage * 16), (b"EXIF", garbage * 16)]),
        "tiff-huge-tag-counts": tiff(64, 48, b"\x80" * 64 * 48, extra_tags=[(270, 2, 1 << 30, 0x7FFFFFF0),
                                                                               (34675, 7, 1 << 30, 16)]),
        "tiff-icc-garbage": tiff(64, 48, b"\x80" * 64 * 48, extra_tags=[(34675, 7, len(garbage), garbage)]),
        "svg-10000-elements": b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                               + b'<rect x="1" y="1" width="1" height="1"/>' * 10_000 + b"</svg>",
        "svg-deep-nesting": b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                            + b"<g>" * 5000 + b"</g>" * 5000 + b"</svg>",
    }


def _gif_with_comments(gif: bytes, count: int) -> bytes:
    """Comment extensions inserted before the first image descriptor."""
    flags = gif[10]
    header_end = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    comment = b"\x21\xfe" + bytes([200]) + b"c" * 200 + b"\0"
    return gif[:header_end] + comment * count + gif[header_end:]


def _webp_with_chunks(webp: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A simple (VP8) WebP turned into an extended one carrying the given metadata chunks."""
    with Image.open(io.BytesIO(webp)) as im:
        w, h = im.size
    flags = 0x20 if any(k == b"ICCP" for k, _ in chunks) else 0
    flags |= 0x08 if any(k == b"EXIF" for k, _ in chunks) else 0
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + \
        (h - 1).to_bytes(3, "little")

    def chunk(kind, data):
        return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")

    icc = b"".join(chunk(k, d) for k, d in chunks if k == b"ICCP")
    rest = b"".join(chunk(k, d) for k, d in chunks if k != b"ICCP")
    body = b"WEBP" + vp8x + icc + webp[12:] + rest
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- corrupt files that must be refused at upload (garbage pixel data, bad CRCs, wrong magic) ----

def _garbage(n: int, seed: int) -> bytes:
    import random
    return random.Random(seed).randbytes(n)


def _randomize(data: bytes, start: int, end: int, seed: int = 7) -> bytes:
    """The bytes [start, end) replaced by seeded random bytes; the container around them intact."""
    return data[:start] + _garbage(end - start, seed) + data[end:]


def _payload(name: str, data: bytes) -> tuple[int, int]:
    """Where the compressed pixel data of a sample lies (start, end), per container."""
    if name.startswith("jpeg"):
        sos = data.index(b"\xff\xda")
        start = sos + 2 + struct.unpack(">H", data[sos + 2:sos + 4])[0]
        return start + 4, len(data) - 4
    if name.startswith("gif"):
        start = data.index(b"\x2c", 13) + 11  # image descriptor + LZW code size
        return start, len(data) - 2
    if name.startswith("webp"):
        for kind in (b"VP8 ", b"VP8L"):
            if (i := data.find(kind)) != -1:
                return i + 8 + 10, len(data)
    if name.startswith(("avif", "heic")):
        i = data.index(b"mdat")
        return i + 4, len(data)
    if name.startswith("tiff"):
        with Image.open(io.BytesIO(data)) as im:
            offset, count = im.tag_v2[273][0], im.tag_v2[279][0]
        return offset, offset + count
    raise ValueError(name)



def font() -> bytes:
    """The TrueType font bundled inside Pillow (what ImageFont.load_default uses)."""
    from PIL import ImageFont
    return ImageFont.load_default(16).font_bytes


def corrupt() -> dict[str, bytes]:
    """Files of every accepted input format that are corrupt in ways identify's header checks
    miss or that a decoder must catch: truncated, garbage pixel data (with valid containers,
    CRCs recomputed where there are any), bad CRCs, wrong magic. Every one must be a 400."""
    s = samples()
    animated = {"gif-animated": animation("GIF"), "webp-animated": animation("WEBP")}
    out: dict[str, bytes] = {}
    rows = b"".join(b"\0" + bytes(64 * 3) for _ in range(48))
    out["png-garbage-idat"] = png(64, 48, _garbage(600, 1), color_type=2)  # valid IHDR, garbage IDAT, good CRC
    out["png-idat-short"] = png(64, 48, zlib.compress(rows[:len(rows) // 3]), color_type=2)
    out["png-idat-long"] = png(64, 48, zlib.compress(rows + rows), color_type=2)
    out["png-idat-no-zlib-end"] = png(64, 48, zlib.compress(rows)[:-6], color_type=2)
    bad_crc = bytearray(s["png"])
    bad_crc[bad_crc.index(b"IDAT") + 4 + struct.unpack(">I", bad_crc[bad_crc.index(b"IDAT") - 4:
                                                                      bad_crc.index(b"IDAT")])[0]] ^= 0xFF
    out["png-bad-idat-crc"] = bytes(bad_crc)
    ihdr_crc = bytearray(s["png"])
    ihdr_crc[29] ^= 0xFF
    out["png-bad-ihdr-crc"] = bytes(ihdr_crc)
    # A noisy JPEG: random bytes over its larger entropy-coded data hold stray markers, as real
    # garbage does (a garbage run without any 0xFF byte is structurally valid JPEG data, and
    # libjpeg decodes it without an error, so no upload check can see it).
    noise = Image.frombytes("L", (96, 96), _garbage(96 * 96, 5)).convert("RGB")
    s = {**s, "jpeg": saved(noise, "JPEG", quality=90)}
    for name in ("jpeg", "gif", "webp", "avif", "heic", "tiff-deflate", *animated):
        data = animated.get(name) or s[name]
        start, end = _payload(name, data)
        out[f"{name}-garbage-pixels"] = _randomize(data, start, end)
    out["jpeg-garbage-after-sos"] = _randomize(s["jpeg"], _payload("jpeg", s["jpeg"])[0], len(s["jpeg"]) - 2)
    out["jpeg-no-scan"] = s["jpeg"][:s["jpeg"].index(b"\xff\xda")] + b"\xff\xd9"
    out["psd-bad-depth"] = s["psd"][:22] + struct.pack(">H", 3) + s["psd"][24:]
    out["svg-unclosed"] = SVG[:-6]
    out["svg-garbage-body"] = SVG[:90] + _garbage(60, 3).replace(b"<", b"").replace(b"&", b"") + SVG[150:]
    out["pdf-no-xref-garbage"] = pdf()[:9] + _garbage(300, 4)
    out["ttf-garbage-tables"] = _randomize(font(), 12, len(font()))
    for name, data in {**s, **animated, "ttf": font()}.items():
        if name in ("tiff-deflate", "gif-animated", "webp-animated"):
            continue
        out[f"{name}-truncated"] = data[:len(data) * 2 // 3]
        out[f"{name}-wrong-magic"] = b"\0\0\0\0" + data[4:]
    return out
