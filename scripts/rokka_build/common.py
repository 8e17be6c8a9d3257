"""Constants and helpers shared by the packaging steps (scripts/package.py) and scripts/deploy.py."""
from __future__ import annotations

import os
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
ROOT = SCRIPTS.parent

LAMBDA_RUNTIME = "python3.13"
LAMBDA_PYTHON = "3.13"
# Lambda python3.13 runs on Amazon Linux 2023 (glibc 2.34); Pillow 13 ships manylinux_2_28 wheels.
PIP_PLATFORM_ARGS = ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
                     "--platform", "manylinux2014_x86_64", "--python-version", LAMBDA_PYTHON,
                     "--implementation", "cp"]
VENDOR_LAYOUT_VERSION = "1"  # bump when the vendor step changes, to invalidate caches
TEMPLATE_NAME = "sam.json"
ZIP_NAME = "deployment.zip"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# What the sentinel on_s3_event bucket is called while packaging (see _RUNNER).
SOURCES_BUCKET_SENTINEL = "package-sentinel-sources-bucket"
SOURCES_BUCKET_RESOURCE = "SourceBucket"


class PackageError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[package] {msg}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rokka-clone-package"

