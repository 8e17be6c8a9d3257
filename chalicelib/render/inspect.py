"""Static metadata of a source image (read-only in responses): EXIF, GPS, ICC profile, and the
dominant colour. Everything but the dominant colour comes from the file's header, so uploads
decode no pixels; the dominant colour is taken from pixels a render has decoded anyway."""
from __future__ import annotations

import io

from PIL import ExifTags, Image

from chalicelib.limits import MAX_TEXT

_EXIF_FIELDS = {
    "Make": "make", "Model": "model", "LensModel": "lens_model", "DateTimeOriginal": "date_time_original",
    "DateTime": "date_time", "ExposureTime": "exposure_time", "FNumber": "f_number",
    "ISOSpeedRatings": "iso", "FocalLength": "focal_length", "Orientation": "orientation",
    "Software": "software", "Artist": "artist", "Copyright": "copyright",
}
_NAMES = {v: k for k, v in ExifTags.TAGS.items()}


def static_metadata(data: bytes, image: Image.Image | None = None) -> dict:
    """EXIF (camera, exposure, orientation, GPS) and ICC presence, from the header only.

    `image`: the file already opened from `data` (codecs.identify's ImageInfo.header), which
    spares a second open and EXIF parse."""
    out: dict = {}
    try:
        im = image if image is not None else Image.open(io.BytesIO(data))
        exif = im.getexif()
        fields = {}
        merged = dict(exif)
        try:
            merged.update(exif.get_ifd(ExifTags.IFD.Exif))
        except (KeyError, ValueError, OSError):
            pass
        for tag, name in _EXIF_FIELDS.items():
            value = merged.get(_NAMES.get(tag))
            if value is not None:
                fields[name] = _plain(value)
        gps = _gps(exif)
        if gps:
            fields["gps"] = gps
        if fields:
            out["exif"] = fields
        icc = im.info.get("icc_profile")
        out["icc"] = {"present": bool(icc), "size": len(icc) if icc else 0}
    except Exception:  # noqa: BLE001 - broken metadata never rejects an image that identify accepted
        pass
    return out


def _plain(value):
    """EXIF values as JSON: rationals → float, bytes → text, long strings cut."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip("\x00 ")[:MAX_TEXT]
    if isinstance(value, tuple):
        return [_plain(v) for v in value][:16]
    try:
        number = float(value)
        return int(number) if number.is_integer() else round(number, 6)
    except (TypeError, ValueError):
        return str(value)[:MAX_TEXT]


def _gps(exif) -> dict | None:
    try:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except (KeyError, ValueError, OSError):
        return None
    if not info:
        return None

    def degrees(values, ref):
        d, m, s = (float(v) for v in values)
        value = d + m / 60 + s / 3600
        return round(-value if ref in ("S", "W") else value, 7)

    try:
        out = {"latitude": degrees(info[2], info.get(1)), "longitude": degrees(info[4], info.get(3))}
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if 6 in info:
        try:
            out["altitude"] = round(float(info[6]) * (-1 if info.get(5) == 1 else 1), 2)
        except (TypeError, ValueError, ZeroDivisionError):
            pass
    return out


def dominant_color(image: Image.Image) -> str:
    """The most common colour of a small copy, after quantising to 8 colours, as RRGGBB."""
    # Shrink first: converting the full image would copy it (96 MB for 24 MP).
    scale = min(1.0, 64 / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = image.resize(size, Image.Resampling.BOX) if size != image.size else image
    small = small.convert("RGB")
    quantized = small.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette()
    count, index = max(quantized.getcolors())
    r, g, b = palette[index * 3:index * 3 + 3]
    return f"{r:02X}{g:02X}{b:02X}"


def entropy(data: bytes) -> float:
    """`image.entropy` of expressions: Shannon entropy (bits, 0-8) of the greyscale histogram
    (Pillow's Image.entropy), of a copy at most 256 px wide (JPEGs decode at reduced scale)."""
    from chalicelib.render import codecs

    im, _ = codecs.open_source(data, draft_size=(256, 256))
    im.thumbnail((256, 256), Image.Resampling.BOX)
    if im.mode in ("RGBA", "LA"):
        im = codecs.flatten(im, "FFFFFF")
    return round(im.convert("L").entropy(), 4)
