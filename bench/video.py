"""The `pillow` implementation of the bench's video job: Pillow frames encoded by plain PyAV with
the same settings as ours (chalicelib/render/formats_video.py), i.e. what a user would write."""
from __future__ import annotations


def pyav_mp4(frames: list, durations: list) -> bytes:
    """H.264 as ours (CRF 25, veryfast, yuv420p), frame times from the GIF's durations."""
    import tempfile
    from fractions import Fraction

    import av

    width, height = (frames[0].width // 2) * 2, (frames[0].height // 2) * 2
    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
        with av.open(tmp.name, "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = Fraction(1, 1000)
            stream.options = {"crf": "25", "preset": "veryfast"}
            pts = 0
            for im, duration in zip(frames, durations):
                frame = av.VideoFrame.from_image(im.crop((0, 0, width, height)))
                frame.pts, frame.time_base = pts, Fraction(1, 1000)
                pts += max(1, int(duration or 100))
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        with open(tmp.name, "rb") as fh:
            return fh.read()
