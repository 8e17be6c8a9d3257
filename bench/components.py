"""CPU time of each step of the render jobs that trail libvips (docs/performance.md, "Where a
target is not met"): the Pillow calls our pipeline makes, with its options, beside the libvips
calls the benchmark's pyvips reference makes.

    .venv/bin/python -m bench.components [--rounds 7] [--work bench/.work]

Median `time.process_time` of `rounds` calls in this one process (libvips with one thread, its
operation cache off). Set ZLIB_PRELOAD to a zlib-compatible `libz.so.1` (e.g. a zlib-ng compat
build) to see what a faster zlib changes for the PNG steps: it is loaded before Pillow.
"""
from __future__ import annotations

import argparse
import ctypes
import io
import os

if os.environ.get("ZLIB_PRELOAD"):  # must come before anything links the system libz.so.1
    ctypes.CDLL(os.environ["ZLIB_PRELOAD"], mode=ctypes.RTLD_GLOBAL)
os.environ.setdefault("VIPS_CONCURRENCY", "1")

from PIL import Image, features  # noqa: E402

from bench import images, jobs  # noqa: E402
from bench.integrity_cost import median_cpu_ms  # noqa: E402
from bench.references import TALL  # noqa: E402
from bench.run import REPO  # noqa: E402
from chalicelib.operations import blur, registry  # noqa: E402
from chalicelib.render import codecs, jpeg_load  # noqa: E402
from chalicelib.render.context import RenderContext  # noqa: E402


def _fixture(name: str, work: str) -> bytes:
    fx = next(f for f in jobs.FULL_FIXTURES if f.name == name)
    with open(images.ensure(fx, os.path.join(work, "fixtures")), "rb") as f:
        return f.read()


def _decoded(data: bytes, draft: tuple[int, int] | None = None) -> Image.Image:
    """`data` decoded (a JPEG at the DCT scale jpeg_load.draft picks for `draft`)."""
    im = Image.open(io.BytesIO(data))
    if draft:
        jpeg_load.draft(im, "RGB", draft)
    im.load()
    return im


def _jpeg(im: Image.Image, **options) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80, **options)
    return out.getvalue()


def steps(work: str) -> dict[str, list[tuple[str, object]]]:
    import pyvips

    pyvips.cache_set_max(0)
    jpeg12, png = _fixture("jpeg_12mp", work), _fixture("png_rgba_2000", work)
    jpeg1080 = _fixture("jpeg_1080p", work)

    drafted, rgba, photo = _decoded(jpeg12, draft=(1200, 900)), _decoded(png), _decoded(jpeg1080)
    k = blur.reduction(photo.size, 4)
    photo_draft = _decoded(jpeg1080, draft=blur.draft_size(photo.size, {"sigma": 4}))  # 1/k DCT scale
    reduced = blur._padded(photo_draft, photo_draft, 1, 2)

    def blur_op(image):
        ctx = RenderContext(image=image, source={}, stack_options={}, size_before_draft=photo.size)
        registry.get("blur").apply(ctx, {"sigma": 4})
        return ctx.image

    blurred = blur_op(photo_draft)
    vips_photo = pyvips.Image.new_from_buffer(jpeg1080, "").copy_memory()
    vips_blurred = vips_photo.gaussblur(4).copy_memory()
    top = codecs.open_source(jpeg12, top_rows=(4000, 3000, 2000))[0]
    box = top.crop((1500, 1000, 2500, 2000))
    vips_box = pyvips.Image.new_from_buffer(jpeg12, "", access="sequential").crop(1500, 1000, 1000, 1000).copy_memory()
    small = drafted.resize((1200, 900), Image.Resampling.LANCZOS, reducing_gap=2.5)
    premultiplied = rgba.convert("RGBa")
    thumb = premultiplied.resize((400, 400), Image.Resampling.LANCZOS, reducing_gap=2.5).convert("RGBA")
    vips_small = pyvips.Image.thumbnail_buffer(jpeg12, 1200, height=TALL).copy_memory()

    def png_encode():
        out = io.BytesIO()
        thumb.save(out, "PNG", compress_level=7)
        return out.getvalue()

    return {
        "12 MP -> 1200 px JPEG": [
            ("ours: decode at 3/8 scale (jpeg_load.draft)", lambda: _decoded(jpeg12, draft=(1200, 900))),
            ("ours: LANCZOS 1500 -> 1200", lambda: drafted.resize((1200, 900), Image.Resampling.LANCZOS,
                                                                    reducing_gap=2.5)),
            ("ours: progressive encode q80", lambda: _jpeg(small, progressive=True)),
            ("vips: thumbnail (shrink on load + reduce)",
             lambda: pyvips.Image.thumbnail_buffer(jpeg12, 1200, height=TALL).copy_memory()),
            ("vips: progressive encode q80", lambda: vips_small.jpegsave_buffer(Q=80, interlace=True, keep=0)),
        ],
        "centre crop 1000x1000 of 12 MP": [
            ("ours: full decode", lambda: _decoded(jpeg12)),
            ("ours: decode down to row 2000 (codecs.open_source)",
             lambda: codecs.open_source(jpeg12, top_rows=(4000, 3000, 2000))),
            ("ours: crop 1000x1000", lambda: top.crop((1500, 1000, 2500, 2000))),
            ("ours: progressive encode q80 of the crop", lambda: _jpeg(box, progressive=True)),
            ("vips: sequential decode to row 2000 + crop", lambda: pyvips.Image.new_from_buffer(
                jpeg12, "", access="sequential").crop(1500, 1000, 1000, 1000).copy_memory()),
            ("vips: progressive encode q80 of the crop", lambda: vips_box.jpegsave_buffer(Q=80, interlace=True, keep=0)),
        ],
        "blur sigma 4 of 1920x1080": [
            (f"ours: decode at 1/{k} DCT scale (blur.draft_size)",
             lambda: _decoded(jpeg1080, draft=blur.draft_size(photo.size, {"sigma": 4}))),
            ("ours: blur of that decode (all of its steps)", lambda: blur_op(photo_draft)),
            ("ours:   of which the border", lambda: blur._padded(photo_draft, photo_draft, 1, 2)),
            ("ours:   of which Gaussian at the reduced scale", lambda: reduced.filter(
                blur.ImageFilter.GaussianBlur(0.87))),  # _blur_reduced: sigma 4, k 4
            ("ours:   of which bilinear scale-up to 1920x1080", lambda: reduced.resize(
                photo.size, Image.Resampling.BILINEAR, box=(2, 2, 2 + photo.width / k, 2 + photo.height / k))),
            ("ours: progressive encode q80", lambda: _jpeg(blurred, progressive=True)),
            ("vips: decode", lambda: pyvips.Image.new_from_buffer(jpeg1080, "", access="sequential").copy_memory()),
            ("vips: gaussblur 4", lambda: vips_photo.gaussblur(4).copy_memory()),
            ("vips: progressive encode q80", lambda: vips_blurred.jpegsave_buffer(Q=80, interlace=True, keep=0)),
        ],
        "2000x2000 RGBA PNG -> 400 px": [
            ("ours: PNG decode", lambda: _decoded(png)),
            ("ours: premultiply", lambda: rgba.convert("RGBa")),
            ("ours: reduce + LANCZOS", lambda: premultiplied.resize((400, 400), Image.Resampling.LANCZOS,
                                                                    reducing_gap=2.5)),
            ("ours: PNG encode, zlib level 7", png_encode),
            ("vips: PNG decode", lambda: pyvips.Image.new_from_buffer(png, "", access="sequential").copy_memory()),
        ],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--work", default=os.environ.get("BENCH_WORK") or os.path.join(REPO, "bench", ".work"))
    args = parser.parse_args(argv)
    print(f"zlib loaded by Pillow: {features.version('zlib')}")
    for job, measured in steps(args.work).items():
        print(f"\n{job}")
        for label, fn in measured:
            print(f"  {label:<52} {median_cpu_ms(fn, args.rounds):7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
