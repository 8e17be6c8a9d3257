"""Every limit of the service, in one place: sizes, counts, depths and periods that bound what a
request may ask for, what a render may cost, and how far an untrusted input may go.

Each module that enforces a limit imports its name from here (`from chalicelib.limits import
MAX_X`), so `module.MAX_X` still names it (tests monkeypatch it there). Limits that a deployment
may change are read by chalicelib/config.py (Settings) from environment variables, with the
defaults below; the rest are fixed. The mechanisms that enforce render time and Pillow's decoding
checks are in chalicelib/render/limits.py; operation options declare their own ranges next to
the operation (chalicelib/operations/*.py), as rokka documents them.

No imports: every layer may read this module.
"""
from __future__ import annotations

import os

# --- deployment settings (defaults; environment variables in chalicelib/config.py) ------------

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024   # MAX_UPLOAD_BYTES
DEFAULT_MAX_SOURCE_PIXELS = 225_000_000        # MAX_SOURCE_PIXELS; rokka: 225 MP (15000x15000)
DEFAULT_MAX_OUTPUT_PIXELS = 100_000_000        # MAX_OUTPUT_PIXELS
DEFAULT_MAX_OPERATIONS = 30                    # MAX_OPERATIONS per render
DEFAULT_MAX_DIMENSION = 20000                  # MAX_DIMENSION, the longest side of a render
# RENDER_TIMEOUT_SECONDS: below CloudFront's 30 s origin response timeout, so the client gets
# our 503, not a 504.
DEFAULT_RENDER_TIMEOUT_SECONDS = 25.0
# RENDER_MAX_INLINE_BYTES: the largest render returned inline by the render Lambda (6 MB
# payload limit, base64 is 4/3); larger ones redirect to the stored copy.
DEFAULT_MAX_INLINE_BYTES = 4_400_000
DEFAULT_FETCH_TIMEOUT_SECONDS = 10             # FETCH_TIMEOUT_SECONDS, upload by URL
DEFAULT_MAX_VIDEO_SECONDS = 600.0              # MAX_VIDEO_SECONDS, a video source's duration
DEFAULT_MAX_VIDEO_PIXELS_PER_SECOND = 1920 * 1080 * 60  # MAX_VIDEO_PIXELS_PER_SECOND, width x height x fps
# DOWNLOAD_MAX_ZIP_BYTES: original bytes per zip of GET /sourceimages/{org}/download (on AWS the
# Lambda response payload limit).
DEFAULT_MAX_ZIP_BYTES_AWS = 4_400_000
DEFAULT_MAX_ZIP_BYTES_LOCAL = 200 * 1024 * 1024

# --- render ----------------------------------------------------------------------------------

# All frames of an animation together: 400 MB as RGBA, decoded at once (environment variable
# MAX_ANIMATION_PIXELS overrides it).
MAX_ANIMATION_PIXELS = int(os.environ.get("MAX_ANIMATION_PIXELS", 100_000_000))
VECTOR_MAX_PIXELS = 100_000_000      # the drawn size of an SVG or PDF page
MAX_SVG_BYTES = 10 * 1024 * 1024
MAX_SVG_ELEMENTS = 50_000
MAX_LAYER_PIXELS = 50_000_000        # a composition / text / shadow layer
MAX_FRAMES = 100                     # addframes
MAX_CHANGES = 100                    # svgdynamic
MAX_STACK_NESTING = 5                # rokka allows compositions nested five deep
MAX_PATH = 4096                      # a render URL's path
MAX_DETECTION_SIDE = 1600            # faces are detected on a copy at most this large
REKOGNITION_MAX_BYTES = 5 * 1024 * 1024  # Rekognition's limit for image bytes in a request
# optim (optimised Huffman tables) only up to this output size: libjpeg then keeps every DCT
# coefficient of the image for its second pass (a 24 MP render would hold ~70 MB more).
OPTIM_HUFFMAN_MAX_PIXELS = 4_000_000
OXIPNG_MAX_SECONDS = 5               # optim.immediate: oxipng's time budget per PNG
MAX_TEXT = 256                       # a text field read from a source's metadata (EXIF, XMP)

# --- expressions (they arrive in unauthenticated render URLs: every one must be cheap) --------

# Bounds tokenizer and parser time and memory, and the parse cache's footprint.
MAX_SOURCE_LENGTH = 2000
# Bounds evaluation time: every node is evaluated at most once (no loops).
MAX_NODES = 500
# Bounds Python recursion in the parser and the evaluator (no RecursionError).
MAX_DEPTH = 50
# `**` results above this are refused: no legitimate image dimension needs them, and huge
# integer powers would cost CPU and memory.
MAX_POW_RESULT = 1e15
# Exponents beyond this are refused before computing anything.
MAX_EXPONENT = 1000
# Bounds memory of string results (`~`, string(), lower(), upper()).
MAX_STRING_LENGTH = 10000
# Bounds memory and time of `a..b` ranges.
MAX_RANGE = 1000
# Bounds the regex program size and the cost of `matches`.
MAX_REGEX_LENGTH = 200
MAX_REGEX_SUBJECT = 10000
# Size of the compiled regex program (counted repetitions are expanded).
MAX_REGEX_PROGRAM = 2000
# Hard cap on NFA simulation steps: the engine is linear in subject length times program size,
# and this caps the product (about 0.3 s at worst).
MAX_REGEX_STEPS = 2_000_000

# --- API requests ----------------------------------------------------------------------------

MAX_NAME_LENGTH = 255                # an image's name, an uploaded file's name
MAX_KEYS_PER_USER = 5                # API keys
MAX_EXPIRES_IN = 30 * 86400          # a JWT's lifetime, seconds
MAX_IPS = 10                         # IP restrictions of a JWT
MAX_ADDRESSES = 10_000               # ...covering at most this many addresses in total
MAX_DAYS = 731                       # days of one stats request
MAX_LIMIT = 2000                     # search page size
MAX_MATCHES = 10_000                 # records a search reads
MAX_FACET_VALUES = 1000
MAX_OFFSET = 2**31 - 1               # beyond it SQLite's integers overflow
MAX_PAGE_NUMBER = 2**31 - 1          # stack listing
MAX_BULK_COPY = 100                  # hashes per copy request
MAX_WHITELIST = 100                  # regular expressions of an organization option
MAX_AREA_VALUE = 10**9               # a coordinate of subject_area / detection_face
MAX_URLS_PER_IMAGE = 20              # remote URLs remembered on one source image
MAX_REDIRECTS = 5                    # upload by URL
RESTORE_DAYS = 30                    # a deleted image can be restored this long, then it is purged

# --- storage ---------------------------------------------------------------------------------

MAX_VALUE_LENGTH = 256               # a metadata value's search key
MAX_EXACT_PATHS = 100                # CDN paths invalidated one by one; more become org/*
