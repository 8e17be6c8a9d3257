"""glibc malloc settings for a rendering process: freed image memory is kept for the next render.

Pillow allocates an image in blocks of up to 16 MB with malloc. glibc's defaults hand such
blocks back to the kernel when they are freed (mmap'd chunks are unmapped; the heap's top is
trimmed once 2x the dynamic mmap threshold is free), so every render of a large image gets
fresh pages and pays a page fault per 4 kB: a 12 MP centre crop decodes into 32 MB, ~8 000
faults, a third of its time (74 ms per render in a warm process, 55-61 ms with these settings;
docs/performance.md). With the mmap threshold fixed at glibc's maximum (32 MB on 64-bit) and
the trim threshold raised, the blocks come from the heap and stay there for the next render.

The cost is memory the process keeps after a large render, at most TRIM_THRESHOLD bytes of
free heap (chunks above 32 MB, such as a progressive JPEG encoder's coefficient buffer, are
still mmap'd and returned). The render Lambda has 3 GB; the local server keeps up to 256 MB.
"""
from __future__ import annotations

import ctypes
import platform

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit for it on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 256 * 1024 * 1024

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the settings once per process; False where the C library is not glibc."""
    global _applied
    if _applied is None:
        _applied = False
        if platform.libc_ver()[0] == "glibc":
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                return False
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            # mallopt returns 1 on success; setting either disables glibc's dynamic adjustment.
            _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
