"""chalicelib.render.allocator: a warm process reuses a freed image's pages for the next one.

Each case runs in a fresh interpreter (malloc settings are per process and cannot be undone)
and counts the minor page faults of consecutive renders of a centre crop of a 12 MP JPEG.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

_PROBE = """
import io, json, resource, sys
from PIL import Image
if sys.argv[1] == "tuned":
    from chalicelib.render import allocator
    assert allocator.keep_freed_memory()
source = io.BytesIO()
Image.new("RGB", (4000, 3000), (200, 100, 50)).save(source, "JPEG")
faults = []
for _ in range(4):  # a centre crop's render: decode (48 MB in 16 MB blocks), crop, encode, free
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    image = Image.open(io.BytesIO(source.getvalue()))
    image.load()
    image.crop((1500, 1000, 2500, 2000)).save(io.BytesIO(), "JPEG", quality=80, progressive=True)
    del image
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps(faults))
"""


def _faults(mode: str) -> list[int]:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True,
                         cwd=repo)
    return json.loads(out.stdout)


def test_freed_image_memory_is_reused_by_the_next_image():
    default, tuned = _faults("default"), _faults("tuned")
    pages = 4000 * 3000 * 4 // 4096  # the decoded image: ~11 700
    # glibc's defaults give the blocks back: every image faults all its pages in again.
    assert min(default[1:]) > pages // 2, default
    # Kept: the next renders reuse the pages (the first may find some already, from the source).
    assert max(tuned[1:]) < pages // 20, tuned


def test_settings_are_applied_once_and_report_success():
    from chalicelib.render import allocator

    assert allocator.keep_freed_memory() is True
    assert allocator.keep_freed_memory() is True
