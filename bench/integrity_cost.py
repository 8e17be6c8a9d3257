"""Cost of the upload integrity check per format (docs/performance.md, "Upload integrity check").

    .venv/bin/python -m bench.integrity_cost [--rounds 9]

For a typical image per accepted format (photo-like, from bench/images.py), median CPU times of
codecs.identify (header and container checks, as before the integrity check existed), of
what `integrity.verify` adds to it (the upload integrity check), and of SHA-1 + writing the same
bytes to a new file (what storing any upload costs at least). Prints one Markdown table row each.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time

from bench import images
from chalicelib.render import codecs, integrity
from tests.reliability import hostile


def typical() -> dict[str, tuple[str, bytes]]:
    photo12 = images.photo(4000, 3000, 12)
    photo2 = images.photo(1632, 1224, 2)
    rgba = images.rgba_photo(2000, 2000, 2000)
    frames, durations = images.animation(400, 300, 20, 20)
    return {
        "jpg": ("12 MP photo, q90 4:2:0", hostile.saved(photo12, "JPEG", quality=90)),
        "png": ("2000x2000 RGBA photo cut-out", hostile.saved(rgba, "PNG")),
        "gif": ("20 frames 400x300", hostile.saved(frames[0].convert("RGB"), "GIF", save_all=True,
                                          append_images=[f.convert("RGB") for f in frames[1:]], duration=durations)),
        "webp": ("2 MP photo, q80", hostile.saved(photo2, "WEBP", quality=80)),
        "webp (animated)": ("20 frames 400x300", hostile.saved(frames[0], "WEBP", save_all=True, append_images=frames[1:],
                                                      duration=durations)),
        "avif": ("2 MP photo, q60", hostile.saved(photo2, "AVIF", quality=60)),
        "heic": ("2 MP photo, q60", hostile.saved(photo2, "HEIF", quality=60)),
        "tiff": ("2 MP photo, deflate", hostile.saved(photo2, "TIFF", compression="tiff_adobe_deflate")),
        "psd": ("2 MP photo, raw composite", hostile.psd(photo2)),
        "svg": ("hand-written, 3 elements", hostile.SVG),
        "pdf": ("one page, one rectangle", hostile.pdf()),
        "ttf": ("Pillow's bundled font", hostile.font()),
    }


def median_cpu_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="integrity-cost-")

    def sha1_write(data: bytes) -> None:
        with open(os.path.join(directory, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)

    def identify(data: bytes):
        return codecs.identify(data, 225_000_000)

    def checked(data: bytes) -> None:
        info = identify(data)
        integrity.verify(data, info.format)

    print("| format | image | bytes | identify ms | check ms | SHA-1 + write ms | check / (SHA-1 + write) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (what, data) in typical().items():
        checked(data)  # imports and codec set-up outside the timing
        before = median_cpu_ms(lambda: identify(data), args.rounds)
        check = max(0.0, median_cpu_ms(lambda: checked(data), args.rounds) - before)
        base = median_cpu_ms(lambda: sha1_write(data), args.rounds)
        print(f"| {name} | {what} | {len(data):,} | {before:.2f} | {check:.2f} | {base:.2f} | {check / base:.1f}x |")


if __name__ == "__main__":
    main()
