"""Video (PyAV): MP4/WebM/MOV uploads, stills at `timestamp`, frames at `fps`, GIF/WebP → MP4/WebM
with mp4.quality/webm.quality, url=...mp4@hh:mm:ss, the limits, and refused video options."""
import io
import json
from fractions import Fraction

import av
import pytest
from PIL import Image

from chalicelib import bootstrap
from chalicelib.render import formats_video
from tests.conftest import json_of
from tests.render.test_formats import BLUE, GREEN, RED, animation, near, upload
from tests.render.test_render import decoded, render

COLORS = (RED, GREEN, BLUE)


def video(fmt="mp4", seconds=3, rate=10, size=(64, 48)) -> bytes:
    """One second per colour (red, green, blue), `rate` frames per second."""
    codec = {"mp4": "libx264", "mov": "libx264", "webm": "libvpx-vp9"}[fmt]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        for i in range(seconds * rate):
            frame = av.VideoFrame.from_image(Image.new("RGB", size, COLORS[(i // rate) % 3]))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def decode_video(body: bytes):
    """(container format, codec, size, frame times in s, first-frame colours) of a rendered video."""
    with av.open(io.BytesIO(body)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return (container.format.name, stream.codec_context.name, (stream.width, stream.height),
                [round(f.time, 3) for f in frames], [f.to_image().getpixel((4, 4)) for f in frames])


@pytest.fixture(scope="module")
def mp4():
    return video("mp4")


@pytest.mark.parametrize("fmt, mimetype", [("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/quicktime")])
def test_video_uploads_have_size_duration_and_static_metadata(api, fmt, mimetype):
    item = upload(api, video(fmt), f"v.{fmt}")
    assert (item["format"], item["mimetype"], item["width"], item["height"]) == (fmt, mimetype, 64, 48)
    data = item["static_metadata"]["video"]["data"]
    assert data["duration"] == pytest.approx(3.0, abs=0.15)
    assert data["video_info"]["width"] == 64 and data["video_info"]["fps"] == pytest.approx(10)


def test_truncated_video_is_a_400(api, mp4):
    r = api.upload("acme", [("filedata", "v.mp4", mp4[:200])])
    assert r.status_code == 400, r.body


def test_video_limits_come_from_config(api, mp4, monkeypatch):
    monkeypatch.setenv("MAX_VIDEO_SECONDS", "2")
    bootstrap.reset()
    r = api.upload("acme", [("filedata", "v.mp4", mp4)])
    assert r.status_code == 400 and "limit of 2.0 s" in json_of(r)["error"]["message"]
    monkeypatch.setenv("MAX_VIDEO_SECONDS", "60")
    monkeypatch.setenv("MAX_VIDEO_PIXELS_PER_SECOND", str(64 * 48 * 5))  # 10 fps is twice that
    bootstrap.reset()
    r = api.upload("acme", [("filedata", "v.mp4", mp4)])
    assert r.status_code == 400 and "pixels per second" in json_of(r)["error"]["message"]


@pytest.mark.parametrize("timestamp, color", [(None, RED), ("00:00:01.5", GREEN), ("00:00:02", BLUE)])
def test_image_render_of_a_video_is_the_frame_at_timestamp(api, mp4, timestamp, color):
    item = upload(api, mp4, "v.mp4")
    opts = f"--options-timestamp-{timestamp}" if timestamp else ""
    im = decoded(render(f"/acme/dynamic/resize-width-32{opts}/{item['hash']}.png"))
    assert im.size == (32, 24) and near(im.convert("RGB").getpixel((16, 12)), color)


def test_timestamp_after_the_end_is_a_400(api, mp4):
    item = upload(api, mp4, "v.mp4")
    result = render(f"/acme/dynamic/noop--options-timestamp-00:01:00/{item['hash']}.jpg")
    assert result.status == 400 and "after the end" in json.loads(result.body)["error"]["message"]


@pytest.mark.parametrize("fps", [5, 2])
def test_video_to_animation_samples_frames_at_fps(api, mp4, fps):
    item = upload(api, mp4, "v.mp4")
    got = decode_video(render(f"/acme/dynamic/noop--options-fps-{fps}/{item['hash']}.mp4").body)
    assert got[3] == [round(i / fps, 3) for i in range(3 * fps)]
    assert [near(c, COLORS[i // fps]) for i, c in enumerate(got[4])] == [True] * (3 * fps)
    # GIF: Pillow merges identical neighbours, so 3 frames of 1 s each (3 x fps samples).
    im = decoded(render(f"/acme/dynamic/noop--options-fps-{fps}/{item['hash']}.gif"))
    frames = []
    for i in range(im.n_frames):
        im.seek(i)
        frames.append((im.convert("RGB").getpixel((4, 4)), im.info["duration"]))
    assert [d for _, d in frames] == [1000, 1000, 1000]
    assert [near(c, e) for (c, _), e in zip(frames, COLORS)] == [True] * 3


def test_animated_gif_to_mp4_and_webm_keeps_frames_and_durations(api):
    item = upload(api, animation("GIF", size=(41, 31)), "a.gif")
    for fmt, container, codec in (("mp4", "mov,mp4,m4a,3gp,3g2,mj2", "h264"), ("webm", "matroska,webm", "vp9")):
        result = render(f"/acme/dynamic/noop/{item['hash']}.{fmt}")
        assert result.status == 200 and result.headers["Content-Type"] == f"video/{fmt}"
        got = decode_video(result.body)
        assert got[:3] == (container, codec, (40, 30))  # yuv420p: even sizes
        assert got[3] == [0.0, 0.1, 0.3]               # durations 100, 200, 300 ms
        assert [near(c, e, 40) for c, e in zip(got[4], COLORS)] == [True] * 3


def test_animated_webp_to_mp4(api):
    item = upload(api, animation("WEBP"), "a.webp")
    assert decode_video(render(f"/acme/dynamic/resize-width-20/{item['hash']}.mp4").body)[2] == (20, 14)


def test_mp4_and_webm_quality(api, mp4):
    item = upload(api, mp4, "v.mp4")
    for fmt in ("mp4", "webm"):
        low = render(f"/acme/dynamic/noop--options-{fmt}.quality-5/{item['hash']}.{fmt}").body
        high = render(f"/acme/dynamic/noop--options-{fmt}.quality-95/{item['hash']}.{fmt}").body
        assert len(low) < len(high), fmt
    assert formats_video.crf("mp4", 50) == 25 and formats_video.crf("webm", 50) == 35


def test_refused_video_options_are_not_listed(api, mp4):
    listed = json_of(api.call("GET", "/stackoptions"))["properties"]
    assert {"timestamp", "fps", "mp4.quality", "webm.quality", "jxl.quality", "optim.immediate"} <= set(listed)
    assert not {"av1.quality", "min_video_width", "min_video_height", "timing_origin"} & set(listed)
    item = upload(api, mp4, "v.mp4")
    result = render(f"/acme/dynamic/noop--options-av1.quality-50/{item['hash']}.mp4")
    assert result.status == 400 and "not supported" in json.loads(result.body)["error"]["message"]


def test_timestamp_parsing():
    assert formats_video.parse_timestamp("01:02:03.5") == 3723.5
    assert formats_video.split_frame_url("https://x/v.mp4@00:00:05") == ("https://x/v.mp4", "00:00:05")
    assert formats_video.split_frame_url("https://x/v.mp4") == ("https://x/v.mp4", None)


def test_url_import_with_a_timestamp_stores_that_frame(api, mp4, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = mp4 if self.path == "/clip.mp4" else b"not a video"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.1/32")
    bootstrap.reset()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        r = api.upload("acme", [], {"url[0]": f"{base}/clip.mp4@00:00:01.5"})
        assert r.status_code == 200, r.body
        item = json_of(r)["items"][0]
        assert (item["format"], item["width"], item["height"], item["name"]) == ("jpg", 64, 48, "clip.jpg")
        im = decoded(render(f"/acme/dynamic/noop/{item['hash']}.png")).convert("RGB")
        assert near(im.getpixel((32, 24)), GREEN)
        whole = json_of(api.upload("acme", [], {"url[0]": f"{base}/clip.mp4"}))["items"][0]
        assert whole["format"] == "mp4"
        assert api.upload("acme", [], {"url[0]": f"{base}/page.html@00:00:01"}).status_code == 400
    finally:
        server.shutdown()


def test_without_pyav_video_is_a_415(api, mp4, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "av", None)
    r = api.upload("acme", [("filedata", "v.mp4", mp4)])
    assert r.status_code == 415, r.body


def test_video_metadata_round_trips_on_both_adapters(api_any, mp4):
    item = upload(api_any, mp4, "v.mp4")
    got = json_of(api_any.call("GET", f"/sourceimages/acme/{item['hash']}"))
    assert got["format"] == "mp4" and got["static_metadata"]["video"]["data"]["duration"] == pytest.approx(3.0, abs=0.15)
    assert got["static_metadata"]["video"]["data"]["video_info"]["fps"] == pytest.approx(10.0)
