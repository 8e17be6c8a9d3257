"""Stack options (reference §5.2): declared once, used for validation and `GET /stackoptions`.

Output settings (qualities, compression) are applied at encode time, not as operations.
"""
from __future__ import annotations

from chalicelib.errors import InvalidOperation
from chalicelib.operations.base import HEX_COLOR, Option


def _quality(default: int, description: str) -> Option:
    return Option("integer", default=default, minimum=1, maximum=100, description=description)


STACK_OPTIONS: dict[str, Option] = {
    "basestack": Option("string", default=None, nullable=True, pattern=r"^[a-z0-9\-_]+$",
                        description="Stack executed before this one"),
    # Second-stage optimisation (render/optim.py, docs/formats.md).
    "optim.quality": Option("integer", default=5, minimum=0, maximum=10,
                            description="Quality target of the lossy PNG step: at least 30 + this PSNR (dB)"),
    "optim.disable_all": Option("boolean", default=False, description="Turn off the second-stage optimisation"),
    "optim.immediate": Option("boolean", default=False,
                              description="Full second stage on the first render (lossy PNG where smaller, oxipng)"),
    "jpg.quality": _quality(80, "JPEG quality (70 when dpr > 1.5)"),
    "webp.quality": _quality(80, "WebP quality (70 when dpr > 1.5); 100 is lossless"),
    "heif.quality": _quality(40, "HEIF/HEIC quality"),
    "avif.quality": _quality(45, "AVIF quality"),
    "jxl.quality": _quality(70, "JPEG XL quality"),
    "gif.quality": _quality(70, "GIF quality; 100 is lossless"),
    "jp2.quality": _quality(40, "JPEG 2000 quality"),
    "webm.quality": _quality(50, "WebM (VP9) quality: CRF 60 - 0.5 x quality"),
    "mp4.quality": _quality(50, "MP4 (H.264) quality: CRF 40 - 0.3 x quality"),
    "pngquant.quality": Option("integer", default=98, minimum=10, maximum=100,
                               description="Lossy PNG quantisation quality; 100 turns it off"),
    "png.compression_level": Option("integer", default=7, minimum=0, maximum=9,
                                    description="PNG compression level"),
    "source_file": Option("boolean", default=False, description="Deliver the original file unchanged"),
    "remote_fullurl_allow": Option("boolean", default=False, nullable=True,
                                   description="Allow full remote URLs as image"),
    "remote_fullurl_whitelist": Option("array", default=None, nullable=True,
                                       description="Regexes the remote URLs must match"),
    "remote_basepath": Option("string", default=None, nullable=True, pattern=r"^https?://",
                              description="Prefix for remote image paths"),
    "autoformat": Option("boolean", default=False, description="Choose the output format from Accept"),
    "autoformat.exclude": Option("string", default=None, nullable=True,
                                 description="Comma list of formats autoformat must not choose"),
    "autoformat.include": Option("string", default=None, nullable=True,
                                 description="Comma list of opt-in formats autoformat may choose (avif, jxl)"),
    "dpr": Option("number", default=1, minimum=1, maximum=10, description="Device pixel ratio; needs a resize"),
    "content_disposition": Option("string", default="inline", values=("inline", "attachment"),
                                  description="attachment makes browsers download the render"),
    "transparency.color": Option("string", default=None, nullable=True, pattern=HEX_COLOR,
                                 description="Always flatten transparency onto this colour"),
    "jpg.transparency.color": Option("string", default="FFFFFF", pattern=HEX_COLOR,
                                     description="Background for transparent images rendered as JPEG"),
    "jpg.transparency.autoformat": Option("string", default="false", values=("true", "false", "png", "webp"),
                                          description="Format for JPEG requests of images with transparency"),
    "jpg.transparency.convert": Option("boolean", default=False, description="Force flattening for JPEG"),
    "interlacing.mode": Option("string", default="plane", values=("none", "line", "plane", "partition"),
                               description="Interlacing of the output"),
    "timestamp": Option("string", default=None, nullable=True, pattern=r"^\d{1,2}:\d{2}:\d{2}(\.\d+)?$",
                        description="Video frame for image renders of video sources (hh:mm:ss)"),
    "fps": Option("integer", default=10, minimum=1, maximum=25,
                  description="Frames per second sampled from video sources for animated and video renders"),
    "dpi": Option("integer", default=None, nullable=True, minimum=10, maximum=5000,
                  description="DPI metadata written to PNG/TIFF"),
    "pdf.dpi": Option("integer", default=200, minimum=10, maximum=1000, description="PDF rasterisation DPI"),
    "pdf.page": Option("integer", default=1, minimum=1, maximum=1000, description="PDF page"),
    "protected": Option("boolean", default=False, description="Renders need signed URLs"),
}

# rokka options this server does not implement: refused with the reason (400), never listed.
REFUSED = {
    "av1.quality": "there is no AV1 video output (.mp4 is H.264, .webm is VP9)",
    "min_video_width": "HLS (.m3u) renditions are not supported",
    "min_video_height": "HLS (.m3u) renditions are not supported",
    "timing_origin": "timing information is not implemented",
    "optim.ttl_shared": "undocumented in rokka and not implemented",
}

# Short names the render URL accepts for stack options (rokka.js uses `af`).
ALIASES = {"af": "autoformat"}


def describe_all() -> dict:
    return {"properties": {name: opt.describe() for name, opt in STACK_OPTIONS.items()}}


def validate(options: dict, where: str = "Stack option") -> dict:
    if options == []:
        options = {}
    if not isinstance(options, dict):
        raise InvalidOperation("Stack options must be an object")
    clean = {}
    for key, value in options.items():
        name = ALIASES.get(key, key)
        spec = STACK_OPTIONS.get(name)
        if name in REFUSED:
            raise InvalidOperation(f"{where} '{key}' is not supported by this server: {REFUSED[name]}")
        if spec is None:
            raise InvalidOperation(f"{where} '{key}' does not exist")
        clean[name] = spec.coerce(value, f"{where} {name}")
    return clean


def option(options: dict, name: str):
    """A stack option's value, or its declared default."""
    value = options.get(name)
    return STACK_OPTIONS[name].default if value is None else value


# The second stage (render/optim.py) by the optim.* options: 'off', 'light' or 'full'.
def stage(options: dict) -> str:
    """'off', 'light' or 'full' (see the module docstring)."""
    if options.get("optim.disable_all"):
        return "off"
    return "full" if options.get("optim.immediate") else "light"


def jpeg_huffman(options: dict) -> bool:
    """Optimised Huffman tables for JPEG output (Pillow's `optimize`)."""
    return stage(options) != "off"
