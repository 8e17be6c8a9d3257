"""Reduced decodes of JPEG originals: what a render decoded for shrink-on-load, kept in the
originals store beside the original (never in the render store the CDN serves), so a render of
another size of the same image reads pixels instead of decoding the JPEG again.

A render whose first pixel operation decodes at 1/4 or 1/8 DCT scale (a resize to a quarter of
the source or less, a reduced-scale blur) asks for the decode at that size
(jpeg_load.decoded_size): the same pixels for every width that maps to that scale, so one decode
serves them all, and the render is byte-identical to one from the JPEG (render/decoded.py keeps
pixels and info exactly).
The decodes go when the original goes (`delete_all`). On by default with the local storage;
`REDUCED_DECODES=on` enables it on AWS too: the first render of a scale pays an S3 read that
finds nothing and a write; later ones read the decode instead of the original (the render service
then reads no original). Not measured on AWS yet.
"""
from __future__ import annotations

import logging

from chalicelib.render import decoded, jpeg_load
from chalicelib.storage.ports import BlobStore, original_key

SUFFIX = ".decoded-"
# Only the thumbnail scales (renders at most 1/4 of the source's size), where the decode is most
# of a render: both together are ~0.23 bytes per source pixel, about the size of the JPEG again.
KEPT_SCALES = (4, 8)


def key(org: str, binary_hash: str, size: tuple[int, int]) -> str:
    return f"{original_key(org, binary_hash)}{SUFFIX}{size[0]}x{size[1]}"


class ReducedDecodes:
    def __init__(self, originals: BlobStore):
        self.originals = originals

    def key_for(self, image, operations: list, options: dict) -> str | None:
        """Where the decode a render of `image` (a SourceImage) with these operations needs is
        kept, when it may be kept: a JPEG whose first pixel operation decodes it at a DCT scale."""
        from chalicelib.render import pipeline  # not at import: the API Lambda imports this module

        if image.format != "jpg" or image.animated:
            return None
        size = (image.width, image.height)
        request = pipeline.draft_size(operations, size, float(options.get("dpr") or 1))
        if request is None:
            return None
        reduced = jpeg_load.decoded_size(size, request)
        thumbnail_scales = [jpeg_load.scaled(size, 1, s) for s in KEPT_SCALES]
        if reduced not in thumbnail_scales or reduced[0] * reduced[1] * 3 > decoded.MAX_BYTES:
            return None
        return key(image.organization, image.binary_hash, reduced)

    def load(self, key: str, source_size: tuple[int, int]):
        """(image, size before the draft) kept under `key`, or None (also for a blob that does not
        read back as a decode of this source)."""
        try:
            blob = self.originals.get(key)
        except Exception:  # noqa: BLE001 - an unreadable store only costs this render a decode
            logging.getLogger("rokka").warning("reading a reduced decode failed: %s", key, exc_info=True)
            return None
        kept = decoded.loads(blob) if blob else None
        return kept if kept is not None and kept[1] == tuple(source_size) else None

    def save(self, key: str, image, before: tuple[int, int]) -> None:
        """Keep a decode; a failure only costs the next render a decode."""
        try:
            blob = decoded.dumps(image, before)
            if blob is not None:
                self.originals.put(key, blob, content_type="application/octet-stream")
        except Exception:  # noqa: BLE001 - must never fail the render that made the decode
            logging.getLogger("rokka").warning("keeping a reduced decode failed: %s", key, exc_info=True)

    def delete_all(self, org: str, binary_hash: str) -> None:
        for name in self.originals.list(original_key(org, binary_hash) + SUFFIX):
            self.originals.delete(name)
