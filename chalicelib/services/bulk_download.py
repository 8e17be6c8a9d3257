"""GET /sourceimages/{org}/download: the originals of one search page as a zip (rokka.js downloadList).

Same query parameters as the search (limit defaults to 100, at most 2000). Originals are read one
at a time and written into a spooled file (in memory up to 8 MiB, then on disk); the total of
original bytes is capped by DOWNLOAD_MAX_ZIP_BYTES (on AWS the Lambda response limit), beyond it
the call is a 413 asking for a smaller page. Images are already compressed: stored, not deflated.
"""
from __future__ import annotations

import re
import tempfile
import zipfile

from chalicelib import auth
from chalicelib.errors import PayloadTooLarge
from chalicelib.services.search import Search
from chalicelib.services.sourceimages import SourceImages

SPOOL_BYTES = 8 * 1024 * 1024
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def entry_name(image) -> str:
    """{hash}-{name}: unique per image, no directories, no path tricks."""
    name = _UNSAFE.sub("_", (image.name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip("._") or "image"
    return f"{image.hash}-{name}"[:200]


class BulkDownload:
    def __init__(self, images: SourceImages, search: Search, max_bytes: int):
        self.images, self.search, self.max_bytes = images, search, max_bytes

    def zip(self, p: auth.Principal, org: str, params: dict) -> bytes:
        m = auth.authorize(self.images.storage, p, org, "images:read")
        found = self.search.images_for(p, org, params)
        if sum(i.size or 0 for i in found) > self.max_bytes:
            raise PayloadTooLarge(f"The originals of these {len(found)} images exceed {self.max_bytes} bytes; "
                                  "download fewer at a time (limit and offset).")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            total = 0
            with zipfile.ZipFile(spool, "w", zipfile.ZIP_STORED) as archive:
                for image in found:
                    data = self.images.original(m, image)
                    total += len(data)
                    if total > self.max_bytes:
                        raise PayloadTooLarge(f"The originals exceed {self.max_bytes} bytes; download fewer "
                                              "at a time (limit and offset).")
                    archive.writestr(entry_name(image), data)
                    del data
            spool.seek(0)
            return spool.read()
