"""glibc malloc settings for a rendering process: freed image memory is kept for the next render.

Pillow allocates an image in blocks of up to 16 MB with malloc. glibc's defaults hand such
blocks back to the kernel when they are freed (mmap'd chunks are unmapped; the heap's top is
trimmed once 2x the dynamic mmap threshold is free), so every render of a large image gets
fresh pages and pays a page fault per 4 kB: a 12 MP centre crop decodes into 32 MB, ~13 000
faults, a third of its time (74 ms per render in a warm process, 55-61 ms with these settings;
docs/performance.md). With the mmap threshold fixed at glibc's maximum (32 MB on 64-bit) and
the trim threshold raised, the blocks come from the heap and stay there for the next render.

The cost is memory a process keeps after a large render: up to TRIM_THRESHOLD of free heap per
malloc arena (chunks above 32 MB, such as a progressive JPEG encoder's coefficient buffer, are
still mmap'd and returned). glibc makes up to 8 arenas per core for threads, so the arenas are
limited to ARENA_MAX (as libvips-based servers do with MALLOC_ARENA_MAX=2): measured with 8
threads x 4 large renders in one process, the idle RSS afterwards was 173-264 MB with these
settings, 278-310 MB with glibc's defaults and 486-560 MB with the thresholds alone. A Lambda
renders one request at a time (one arena); the local server is threaded.
"""
from __future__ import annotations

import ctypes
import platform

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit for it on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 128 * 1024 * 1024  # above a 24 MP image (96 MB in Pillow's 4 bytes per pixel)
ARENA_MAX = 2

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
            # mallopt returns 1 on success; setting a threshold disables glibc's dynamic adjustment.
            _applied = all(mallopt(param, value) == 1 for param, value in (
                (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)))
    return _applied
