"""What the benchmark measures: fixtures, jobs (with their implementations) and targets.

Render jobs are rokka stacks. Ours renders them through the render service (in process, `ours`)
and over HTTP through the local server (`http`); `pillow` and `pyvips` do the same pixel work as
their users would write it (see bench/worker.py), with the same encoder settings as our stack
defaults (JPEG q80 progressive, WebP q80 method 4, AVIF q45 speed 8, PNG zlib 7 with adaptive
row filters), so the comparison is about the implementation, not about settings.
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.images import Fixture

# --- fixtures ------------------------------------------------------------------------------

FULL_FIXTURES = (
    Fixture("jpeg_2mp", "jpeg", 1632, 1224, 2),
    Fixture("jpeg_12mp", "jpeg", 4000, 3000, 12),
    Fixture("jpeg_24mp", "jpeg", 6000, 4000, 24),
    Fixture("jpeg_1080p", "jpeg", 1920, 1080, 1080),
    Fixture("png_rgba_2000", "png_rgba", 2000, 2000, 2000),
    Fixture("gif_20f", "gif", 400, 300, 20, frames=20),
    # Warm-up sources: each measurement first renders the same stack on one of these (untimed),
    # so lazy imports and codec initialisation are not counted as render time.
    Fixture("warm_jpeg", "jpeg", 640, 480, 99),
    Fixture("warm_png", "png_rgba", 160, 160, 98),
    Fixture("warm_gif", "gif", 80, 60, 97, frames=4),
)

# Smoke mode (tests/test_bench_smoke.py): same names, tiny sizes, distinct seeds (distinct hashes).
SMOKE_FIXTURES = (
    Fixture("jpeg_2mp", "jpeg", 240, 180, 2),
    Fixture("jpeg_12mp", "jpeg", 320, 240, 12),
    Fixture("jpeg_24mp", "jpeg", 400, 300, 24),
    Fixture("jpeg_1080p", "jpeg", 192, 108, 1080),
    Fixture("png_rgba_2000", "png_rgba", 120, 120, 2000),
    Fixture("gif_20f", "gif", 40, 30, 20, frames=3),
    Fixture("warm_jpeg", "jpeg", 64, 48, 99),
    Fixture("warm_png", "png_rgba", 32, 32, 98),
    Fixture("warm_gif", "gif", 20, 15, 97, frames=2),
)

# --- jobs ----------------------------------------------------------------------------------

RENDER_IMPLS = ("ours", "http", "pillow", "pyvips")
SMOKE_MAX_WIDTH = 120


@dataclass(frozen=True)
class Job:
    name: str
    kind: str  # "render" | "cache" | "upload" | "coldstart"
    impls: tuple
    label: str
    fixture: str | None = None
    warm: str | None = None
    operations: tuple = ()  # rokka stack operations: ({"name": ..., "options": {...}}, ...)
    fmt: str = "jpg"
    stack: str | None = None  # the stack to render (default: the job's own, named like the job)
    options: tuple = ()  # rokka stack options as (name, value) pairs

    @property
    def stack_name(self) -> str:
        return self.stack or self.name

    def ops(self, smoke: bool = False) -> list:
        """The stack's operations; smoke mode caps resize widths (tiny sources, quick encodes)."""
        out = []
        for op in self.operations:
            options = dict(op["options"])
            if smoke and op["name"] == "resize":
                options["width"] = min(options["width"], SMOKE_MAX_WIDTH)
            out.append({"name": op["name"], "options": options})
        return out


def _resize(width: int) -> tuple:
    return ({"name": "resize", "options": {"width": width}},)


def _render(name, label, fixture, operations, fmt, warm="warm_jpeg", impls=RENDER_IMPLS, options=()) -> Job:
    return Job(name=name, kind="render", impls=impls, label=label, fixture=fixture, warm=warm,
               operations=operations, fmt=fmt, options=options)


# Formats of docs/formats.md. pyvips-binary 8.18 has no JPEG XL (no jxlsave) and libvips no video,
# so those jobs compare with Pillow (pillow-jxl-plugin; Pillow frames + PyAV) only.
FORMAT_JOBS = (
    _render("r1200_12mp_jxl", "12 MP JPEG -> 1200 px JPEG XL q70", "jpeg_12mp", _resize(1200), "jxl",
            impls=("ours", "pillow")),
    _render("png_2000_optim_lossless", "2000x2000 RGBA PNG -> 400 px PNG, optim.immediate (oxipng)",
            "png_rgba_2000", _resize(400), "png", warm="warm_png",
            options=(("optim.immediate", True), ("pngquant.quality", 100))),
    _render("png_2000_optim_lossy", "2000x2000 RGBA PNG -> 400 px palette PNG q80, optim.immediate",
            "png_rgba_2000", _resize(400), "png", warm="warm_png",
            options=(("optim.immediate", True), ("pngquant.quality", 80))),
    _render("gif_anim_mp4", "GIF 20 frames 400x300 -> 100 px MP4 (H.264)", "gif_20f", _resize(100), "mp4",
            warm="warm_gif", impls=("ours", "pillow")),
)


JOBS = (
    _render("thumb_2mp_jpg", "2 MP JPEG -> 200 px JPEG", "jpeg_2mp", _resize(200), "jpg"),
    _render("thumb_2mp_webp", "2 MP JPEG -> 200 px WebP", "jpeg_2mp", _resize(200), "webp"),
    _render("thumb_12mp_jpg", "12 MP JPEG -> 200 px JPEG", "jpeg_12mp", _resize(200), "jpg"),
    _render("thumb_12mp_webp", "12 MP JPEG -> 200 px WebP", "jpeg_12mp", _resize(200), "webp"),
    _render("thumb_24mp_jpg", "24 MP JPEG -> 200 px JPEG", "jpeg_24mp", _resize(200), "jpg"),
    _render("thumb_24mp_webp", "24 MP JPEG -> 200 px WebP", "jpeg_24mp", _resize(200), "webp"),
    _render("r1200_12mp_jpg", "12 MP JPEG -> 1200 px JPEG", "jpeg_12mp", _resize(1200), "jpg"),
    _render("r1200_12mp_webp", "12 MP JPEG -> 1200 px WebP", "jpeg_12mp", _resize(1200), "webp"),
    _render("r1200_12mp_avif", "12 MP JPEG -> 1200 px AVIF", "jpeg_12mp", _resize(1200), "avif"),
    _render("crop_12mp", "12 MP JPEG centre crop 1000x1000 -> JPEG", "jpeg_12mp",
            ({"name": "crop", "options": {"width": 1000, "height": 1000, "anchor": "center_center"}},), "jpg"),
    _render("blur_1080p", "1920x1080 JPEG blur sigma 4 -> JPEG", "jpeg_1080p",
            ({"name": "blur", "options": {"sigma": 4}},), "jpg"),
    _render("rotate_12mp", "12 MP JPEG rotate 90 -> JPEG", "jpeg_12mp",
            ({"name": "rotate", "options": {"angle": 90}},), "jpg"),
    _render("png_2000_rgba", "2000x2000 RGBA PNG -> 400 px PNG", "png_rgba_2000", _resize(400), "png",
            warm="warm_png"),
    _render("gif_anim", "GIF 20 frames 400x300 -> 100 px GIF", "gif_20f", _resize(100), "gif", warm="warm_gif"),
    _render("full_24mp_jpg", "24 MP JPEG -> 24 MP JPEG (re-encode)", "jpeg_24mp",
            ({"name": "noop", "options": {}},), "jpg", impls=("ours", "pillow", "pyvips")),
    *FORMAT_JOBS,
    Job("cache_12mp", "cache", ("hit",), "cache hit of the 12 MP -> 200 px JPEG render", fixture="jpeg_12mp",
        warm="warm_jpeg", operations=_resize(200), fmt="jpg", stack="thumb_12mp_jpg"),
    Job("upload_12mp", "upload", ("ours", "sha1_write"), "upload of a 12 MP JPEG (service vs SHA-1 + write)",
        fixture="jpeg_12mp", warm="warm_jpeg"),
    Job("coldstart", "coldstart", ("baseline", "api", "api_localgateway", "render_lambda"),
        "process start to first response", warm="warm_jpeg", stack="thumb_2mp_jpg", fmt="jpg"),
)

JOBS_BY_NAME = {j.name: j for j in JOBS}

# --- targets -------------------------------------------------------------------------------

MB = 1_000_000


@dataclass(frozen=True)
class Target:
    name: str
    metric: str  # "ms", "steady_ms" (a later render in the same process) or "peak_mb"
    num: tuple  # (job, impl)
    den: tuple | None  # (job, impl); None: `limit` is absolute (or a factor of `decoded_of`)
    limit: float
    decoded_of: str | None = None  # fixture whose decoded size (w*h*3) times `limit` is the limit
    note: str = ""


TARGETS = (
    # Issue "ahead of libvips on every job": every render job at <= 1.0x pyvips (wall and CPU time).
    *[Target(f"{j.name} ours <= 1.0x pyvips", "ms", (j.name, "ours"), (j.name, "pyvips"), 1.0)
      for j in JOBS if j.kind == "render" and "pyvips" in j.impls],
    # The same in the steady state: a later render of the same job in the same process.
    *[Target(f"{j.name} ours <= 1.0x pyvips, steady", "steady_ms", (j.name, "ours"), (j.name, "pyvips"), 1.0)
      for j in JOBS if j.kind == "render" and "pyvips" in j.impls],
    Target("thumb_12mp_jpg http <= 1.15x in-process", "ms", ("thumb_12mp_jpg", "http"),
           ("thumb_12mp_jpg", "ours"), 1.15),
    Target("cache hit <= 5% of a miss", "ms", ("cache_12mp", "hit"), ("thumb_12mp_jpg", "ours"), 0.05,
           note="miss = thumb_12mp_jpg ours (same stack, image and format, cache cleared)"),
    Target("upload 12 MP <= 1.5x SHA-1 + write", "ms", ("upload_12mp", "ours"), ("upload_12mp", "sha1_write"), 1.5),
    Target("cold start API <= 1.0x import PIL.Image, boto3", "ms", ("coldstart", "api"), ("coldstart", "baseline"), 1.0,
           note="import app + GET /operations as an API Gateway event to app.app (what the Lambda runtime does)"),
    Target("cold start render Lambda <= 1.0x import PIL.Image, boto3", "ms", ("coldstart", "render_lambda"),
           ("coldstart", "baseline"), 1.0,
           note="import app + app.render(function URL event), a 640x480 JPEG -> 200 px"),
    Target("24 MP -> 200 px peak <= 20 MB above baseline", "peak_mb", ("thumb_24mp_jpg", "ours"), None, 20.0),
    Target("24 MP full-size peak <= 1.3x decoded size", "peak_mb", ("full_24mp_jpg", "ours"), None, 1.3,
           decoded_of="jpeg_24mp"),
)

# Ratios shown without a target (context for the render table).
INFO_RATIOS = (
    ("cold start API via chalice.local.LocalGateway / baseline", ("coldstart", "api_localgateway"),
     ("coldstart", "baseline")),
    ("cold start render Lambda / API", ("coldstart", "render_lambda"), ("coldstart", "api")),
)

