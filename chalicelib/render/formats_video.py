"""Video through PyAV (FFmpeg's libraries, manylinux wheels): sources, stills, frames, MP4/WebM.

Sources: MP4 and MOV (ISO-BMFF with a video brand) and WebM (Matroska with DocType webm).
`identify` reads the container header only: size, duration, frame rate, codec, bit rate; it
refuses videos over the limits of chalicelib/config.py (MAX_VIDEO_SECONDS,
MAX_VIDEO_PIXELS_PER_SECOND = width x height x frame rate) and over MAX_SOURCE_PIXELS per frame.

Renders of a video source:
* an image format: one frame, at the `timestamp` stack option (hh:mm:ss[.fff]; default the
  first frame); a timestamp after the end is a 400.
* gif/webp/mp4/webm: the frames sampled at `fps` (default 10, 1..25), each lasting 1/fps s,
  with frames x pixels limited like animations (pipeline.MAX_ANIMATION_PIXELS).

Video outputs (.mp4, .webm) of animated sources (GIF, WebP, APNG, videos) keep each frame's
duration (variable frame rate, millisecond time base):
* mp4: H.264 (libx264), yuv420p, preset veryfast, CRF = 40 - 0.3 x mp4.quality (default 50
  → CRF 25; 100 → 10), `+faststart` (moov first, so browsers start playing at once).
* webm: VP9 (libvpx-vp9), yuv420p, constant quality CRF = 60 - 0.5 x webm.quality (default
  50 → CRF 35), deadline realtime / cpu-used 8 (VP9's "good" deadline is ~10x slower).
* yuv420p needs even sizes: an odd width or height loses its last column or row; transparency
  is flattened onto jpg.transparency.color (default white).
"""
from __future__ import annotations

import io
import os
import tempfile
from fractions import Fraction

from PIL import Image

from chalicelib.errors import BadRequest, UnsupportedMediaType

VIDEO_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
OUTPUTS = ("mp4", "webm")
_VIDEO_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
                 b"dash", b"mmp4", b"MSNV", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"qt  "}
_EBML = b"\x1a\x45\xdf\xa3"
_MS = Fraction(1, 1000)


def kind(data: bytes) -> str | None:
    """'mp4', 'mov' or 'webm' from the first bytes, else None."""
    if data[4:8] == b"ftyp" and data[8:12] in _VIDEO_BRANDS:
        return "mov" if data[8:12] == b"qt  " else "mp4"
    if data[:4] == _EBML and b"webm" in data[:64]:
        return "webm"
    return None


def _av():
    """PyAV, or 415 when its libraries cannot load (e.g. libstdc++ missing, see docs/formats.md)."""
    try:
        import av
    except ImportError:
        raise UnsupportedMediaType("Video is not available on this server.") from None
    return av


def _open(data: bytes):
    av = _av()

    try:
        container = av.open(io.BytesIO(data), "r")
    except (av.FFmpegError, ValueError, OSError):
        raise BadRequest("The video file is corrupt or truncated.") from None
    if not container.streams.video:
        container.close()
        raise BadRequest("The file has no video stream.")
    return container


def probe(data: bytes) -> dict:
    """Header facts: width, height, duration (s), fps, frames, codec, bit rate."""
    with _open(data) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = (container.duration or 0) / 1_000_000
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        info = {"width": ctx.width, "height": ctx.height, "duration": round(duration, 3),
                "fps": round(fps, 3), "frames": stream.frames or round(duration * fps),
                "codec": ctx.name, "bitrate_per_sec": container.bit_rate or 0}
        audio = container.streams.audio
        if audio:
            info["audio_codec"] = audio[0].codec_context.name
    if not info["width"] or not info["height"]:
        raise BadRequest("The video file is corrupt (no frame size).")
    return info


def check_limits(info: dict, max_pixels: int) -> None:
    from chalicelib.config import settings

    s = settings()
    pixels = info["width"] * info["height"]
    if pixels > max_pixels:
        raise BadRequest(f"Video frames of {info['width']}x{info['height']} exceed the limit of {max_pixels} pixels")
    if info["duration"] > s.max_video_seconds:
        raise BadRequest(f"The video lasts {info['duration']} s, more than the limit of {s.max_video_seconds} s.")
    if pixels * info["fps"] > s.max_video_pixels_per_second:
        raise BadRequest(f"The video has {round(pixels * info['fps'])} pixels per second, more than the limit "
                         f"of {s.max_video_pixels_per_second}.")


def static_metadata(info: dict) -> dict:
    """static_metadata.video, shaped like rokka's (`video.data` with video_info and duration)."""
    video_info = {k: info[k] for k in ("codec", "width", "height", "fps", "frames")}
    data = {"video_info": video_info, "duration": info["duration"], "bitrate_per_sec": info["bitrate_per_sec"]}
    if "audio_codec" in info:
        data["audio_info"] = {"codec": info["audio_codec"]}
    return {"video": {"data": data}}


def parse_timestamp(value) -> float:
    """Seconds from hh:mm:ss[.fff] (the timestamp option, url@hh:mm:ss)."""
    try:
        hours, minutes, seconds = str(value).split(":")
        total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        raise BadRequest(f"Invalid timestamp {value!r} (hh:mm:ss)") from None
    if total < 0 or int(minutes) > 59 or float(seconds) >= 60:
        raise BadRequest(f"Invalid timestamp {value!r} (hh:mm:ss)")
    return total


def frame_at(data: bytes, timestamp=None) -> Image.Image:
    """The frame shown at `timestamp` (hh:mm:ss[.fff] or None for the first), as RGB."""
    at = parse_timestamp(timestamp) if timestamp else 0.0
    with _open(data) as container:
        stream = container.streams.video[0]
        if at > 0 and stream.time_base:
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
        shown = None
        for frame in _decode(container, stream):
            if frame.time is not None and frame.time > at + 1e-6 and shown is not None:
                break
            shown = frame
            if frame.time is not None and abs(frame.time - at) < 1e-6:
                break
        if shown is None or (at > 0 and shown.time is not None and at - shown.time > 1.0):
            raise BadRequest(f"The timestamp {timestamp} is after the end of the video.")
        return shown.to_image()


def _decode(container, stream):
    av = _av()

    try:
        yield from container.decode(stream)
    except av.FFmpegError:
        raise BadRequest("The video cannot be decoded: it is corrupt or truncated.") from None


def frames_at_fps(data: bytes, fps: int, max_total_pixels: int):
    """Frames sampled every 1/fps s (RGB) and their durations in ms."""
    info = probe(data)
    count = max(1, int(info["duration"] * fps + 0.5))
    if count * info["width"] * info["height"] > max_total_pixels:
        raise BadRequest(f"{count} frames of {info['width']}x{info['height']} pixels at {fps} fps are more "
                         f"than the limit of {max_total_pixels} pixels in all frames.")
    from chalicelib.render import limits

    frames, step, due = [], 1.0 / fps, 0.0
    with _open(data) as container:
        stream = container.streams.video[0]
        previous = None
        for frame in _decode(container, stream):
            t = frame.time if frame.time is not None else due
            while previous is not None and t > due + 1e-6 and len(frames) < count:
                frames.append(previous.to_image())  # the frame on screen at time `due`
                due += step
                limits.check()
            previous = frame
        while previous is not None and len(frames) < count:
            frames.append(previous.to_image())
            due += step
    if not frames:
        raise BadRequest("The video has no frames.")
    return frames, [round(1000 / fps)] * len(frames)


# --- encoding --------------------------------------------------------------------------------------

def crf(fmt: str, quality: int) -> int:
    return round(40 - 0.3 * quality) if fmt == "mp4" else round(60 - 0.5 * quality)


def encode(frames: list, durations: list, fmt: str, options: dict) -> bytes:
    """An MP4 (H.264) or WebM (VP9) of the frames, each shown for its duration (ms)."""
    av = _av()

    from chalicelib.render.pixels import flatten
    from chalicelib.render.stack_options import option

    width, height = frames[0].size
    width, height = width - width % 2, height - height % 2
    if width < 2 or height < 2:
        raise BadRequest("Video output needs frames of at least 2x2 pixels.")
    background = option(options, "jpg.transparency.color")
    quality = option(options, f"{fmt}.quality")
    if fmt == "mp4":
        codec, settings = "libx264", {"crf": str(crf(fmt, quality)), "preset": "veryfast"}
    else:
        codec, settings = "libvpx-vp9", {"crf": str(crf(fmt, quality)), "b": "0", "deadline": "realtime",
                                         "cpu-used": "8", "row-mt": "1"}
    fd, path = tempfile.mkstemp(suffix="." + fmt)  # +faststart rewrites the file: not possible in memory
    os.close(fd)
    try:
        container = av.open(path, "w", format=fmt, options={"movflags": "+faststart"} if fmt == "mp4" else {})
        try:
            stream = container.add_stream(codec, rate=max(1, round(1000 / max(1, min(durations or [100])))))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = _MS
            stream.options = settings
            pts = 0
            for image, duration in zip(frames, durations):
                image = flatten(image, background).convert("RGB")
                if image.size != (width, height):
                    image = image.crop((0, 0, width, height))
                frame = av.VideoFrame.from_image(image)
                frame.pts, frame.time_base = pts, _MS
                pts += max(1, int(duration or 100))
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


# --- url=...mp4@hh:mm:ss -------------------------------------------------------------------------

_FRAME_URL_SUFFIX = "@"


def split_frame_url(url: str) -> tuple[str, str | None]:
    """('https://x/v.mp4', '00:00:05') for 'https://x/v.mp4@00:00:05'; (url, None) otherwise."""
    import re

    match = re.search(r"@(\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)$", url)
    if match is None:
        return url, None
    return url[:match.start()], match.group(1)


def still_jpeg(data: bytes, timestamp: str, max_pixels: int) -> bytes:
    """The frame at `timestamp` of a video, as a JPEG (quality 95) to store as the source image."""
    if kind(data) is None:
        raise BadRequest("A URL with @hh:mm:ss must point to a video (MP4, MOV or WebM).")
    check_limits(probe(data), max_pixels)
    out = io.BytesIO()
    frame_at(data, timestamp).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()
