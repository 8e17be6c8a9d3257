"""JPEG decoding beyond Pillow's draft(): libjpeg's 3/8 DCT scale, and the top rows only.

Pillow's draft() decodes at a DCT scale of 1/1, 1/2, 1/4 or 1/8. libjpeg-turbo (in Pillow's
wheels) rounds a requested scale up to the next M/8, so the denominator 3 that Pillow passes
through unchanged decodes at 3/8. Between a 2x and a 4x downscale that is 44 % fewer pixels
than 1/2 for the LANCZOS pass that follows: 12 MP -> 1200 px resizes in 30 instead of 46 ms,
at 48.9 dB PSNR against a LANCZOS pass over the full decode (the 1/2 path: 50.2 dB).
"""
from __future__ import annotations

from PIL import Image

THREE_EIGHTHS = 3  # the scale denominator that libjpeg-turbo decodes at 3/8


def scaled(size: tuple[int, int], numerator: int, denominator: int) -> tuple[int, int]:
    """`size` at the DCT scale numerator/denominator, rounded up as libjpeg does (jdiv_round_up)."""
    return (-(-size[0] * numerator // denominator), -(-size[1] * numerator // denominator))


def decoded_size(size: tuple[int, int], request: tuple[int, int]) -> tuple[int, int]:
    """The size `draft` decodes a single-scan-tile JPEG of `size` at for `request` (Pillow's
    choice of 1/8, 1/4, 1/2 or 1/1, then 3/8 in place of 1/2). Symmetric in width and height, so
    upright sizes give the upright result."""
    ratio = min(size[0] // request[0], size[1] // request[1])
    scale = next(s for s in (8, 4, 2, 1) if ratio >= s)
    if scale == 2:
        three_eighths = scaled(size, 3, 8)
        if three_eighths[0] >= request[0] and three_eighths[1] >= request[1]:
            return three_eighths
    return scaled(size, 1, scale)


def draft(im: Image.Image, mode: str, request: tuple[int, int]) -> None:
    """Shrink-on-load of an opened JPEG (`im`, not loaded): the smallest DCT scale whose output
    still covers `request` (width, height); 3/8 where it covers and 1/2 is the next choice."""
    width, height = im.size
    im.draft(mode, request)
    if im.decoderconfig[:1] != (2,) or len(im.tile) != 1:
        return
    size = scaled((width, height), 3, 8)
    if size[0] < request[0] or size[1] < request[1]:
        return
    im._size = size
    im.tile = [im.tile[0]._replace(extents=(0, 0, *size))]
    im.decoderconfig = (THREE_EIGHTHS, 0)


def decode_top_rows(im: Image.Image, data: bytes, rows: int) -> Image.Image:
    """The first `rows` rows of a JPEG (`im`, opened from `data`, not loaded).

    The decoder writes rows into an image that is only `rows` high and stops there. libjpeg
    then reports the early stop from jpeg_finish_decompress ("too little data"), which Pillow
    passes on as a broken data stream; that is the expected end here. Data that runs out
    before the last needed row is a truncated file, as for a full decode. Progressive JPEGs
    decode correctly too, but gain nothing (libjpeg reads every scan before the first row).
    """
    codec, _extents, offset, args = im.tile[0]
    width = im.size[0]
    core = Image.core.new(im.mode, (width, rows))
    decoder = Image._getdecoder(im.mode, codec, args, im.decoderconfig)
    try:
        decoder.setimage(core, (0, 0, width, rows))
        consumed, _status = decoder.decode(memoryview(data)[offset:])
    finally:
        decoder.cleanup()
    if consumed >= 0:  # the decoder asks for more data than the file has
        raise OSError("image file is truncated")
    return im._new(core)
