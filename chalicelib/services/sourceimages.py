"""Source images: upload, read, list, delete/restore, download, user metadata (reference §2)."""
from __future__ import annotations

import hashlib
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Forbidden, NotFound
from chalicelib.models import SourceImage, now_iso
from chalicelib.render import codecs, faces, formats_video, inspect, integrity, limits, optimize
from chalicelib.services import fetch, metadata, stats
from chalicelib.services.cache import RenderCache
from chalicelib.services.reduced_decodes import ReducedDecodes
from chalicelib.services.retention import expired
from chalicelib.storage.ports import Storage, original_key  # noqa: F401 - original_key re-exported

HASH_RE = re.compile(r"^[0-9a-f]{6,40}$")
MIN_SHORT_HASH = 6


@dataclass
class Upload:
    """One file of an upload request, with the metadata given for it."""

    filename: str
    data: bytes | None
    user_metadata: dict = field(default_factory=dict)
    dynamic_metadata: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    # Upload by URL (`url[i]`): fetched by the service before anything else happens.
    url: str | None = None
    # SHA-1 of data, set by identify (computed beside the integrity check).
    binary_hash: str | None = None


class _Sha1:
    """hashlib.sha1(data).hexdigest() on a worker thread (only for data large enough to gain);
    hashlib releases the GIL, so it runs beside the caller's integrity check."""

    _workers: ThreadPoolExecutor | None = None
    _workers_lock = threading.Lock()

    def __init__(self, data: bytes):
        self.data, self.future = data, None
        if len(data) >= 256 * 1024:
            with _Sha1._workers_lock:  # made on first use: no thread at cold start
                if _Sha1._workers is None:
                    _Sha1._workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha1")
            started = threading.Event()
            self.future = _Sha1._workers.submit(self._run, started)
            # Until the worker is inside hashlib it needs the GIL, which the check would hold.
            started.wait()

    def _run(self, started: threading.Event) -> str:
        started.set()
        return hashlib.sha1(self.data).hexdigest()

    def hexdigest(self) -> str:
        return self.future.result() if self.future else hashlib.sha1(self.data).hexdigest()


def uploads_from_form(fields: dict[str, list[str]], files: list) -> list[Upload]:
    """Match item i (files first, then url[i] imports) with meta_user[i], meta_dynamic[i] /
    meta_dynamic[i][name] and options[i]."""
    urls = [v for k, vs in sorted(fields.items()) if re.match(r"^url\[\d*\]$", k) for v in vs if v.strip()]
    if not files and not urls:
        raise BadRequest("No file was uploaded (send the image as a multipart file part, or url[0]).")
    per_index: dict[int, dict] = {}
    sequential: dict[str, int] = {}
    for name, values in fields.items():
        m = re.match(r"^(meta_user|meta_dynamic|meta_static|options)\[(\d*)\](?:\[([a-z_]+)\])?$", name)
        if not m:
            continue
        kind, index, sub = m.group(1), m.group(2), m.group(3)
        for value in values:
            if index == "":  # "meta_user[]": the n-th occurrence belongs to the n-th file
                i = sequential.get(kind, 0)
                sequential[kind] = i + 1
            else:
                i = int(index)
            decoded = metadata.decode_json_field(value, name)
            slot = per_index.setdefault(i, {})
            if sub:
                slot.setdefault(kind, {})[sub] = decoded
            else:
                if decoded == []:
                    decoded = {}
                if not isinstance(decoded, dict):
                    raise BadRequest(f"{name} must be a JSON object")
                slot.setdefault(kind, {}).update(decoded)
    # optimize_source: a form field for every file (rokka), or options[i].optimize_source.
    optimize_field = next((v for v in fields.get("optimize_source", []) if v.strip()), None)
    uploads = []
    sources = [(f.filename or "image", f.data, None) for f in files] + [(None, None, u.strip()) for u in urls]
    for i, (filename, data, url) in enumerate(sources):
        slot = per_index.get(i, {})
        options = slot.get("options", {})
        if not isinstance(options.get("protected", False), bool):
            raise BadRequest("options.protected must be a boolean")
        if optimize_field is not None and "optimize_source" not in options:
            options = {**options, "optimize_source": optimize_field}
        optimize.parse_mode(options.get("optimize_source"))  # a bad value fails before any work
        uploads.append(Upload(
            filename=filename, data=data, url=url,
            user_metadata=metadata.validate_user_metadata(slot.get("meta_user", {})),
            dynamic_metadata=metadata.validate_dynamic_metadata(slot.get("meta_dynamic", {})),
            options=options))
    return uploads


class SourceImages:
    def __init__(self, storage: Storage, cache: RenderCache, max_upload_bytes: int, max_source_pixels: int,
                 fetch_timeout: float = 10.0, fetch_allowed_networks: tuple = (), face_detection: str = "off"):
        self.face_detection = face_detection
        self.storage = storage
        self.cache = cache
        self.max_upload_bytes = max_upload_bytes
        self.max_source_pixels = max_source_pixels
        limits.configure_pillow(max_source_pixels)  # identify() relies on Pillow's bomb check too
        self.fetch_timeout = fetch_timeout
        self.fetch_allowed_networks = list(fetch_allowed_networks)

    # --- upload ------------------------------------------------------------------------

    def upload(self, p: Principal, org: str, uploads: list[Upload]) -> dict:
        auth.authorize(self.storage, p, org, "images:upload")
        for u in uploads:
            if u.url is not None:
                url, frame = formats_video.split_frame_url(u.url)  # url=...mp4@hh:mm:ss: one frame
                u.data, name = fetch.fetch(url, self.max_upload_bytes, self.fetch_timeout,
                                           self.fetch_allowed_networks)
                if frame is not None:
                    u.data = formats_video.still_jpeg(u.data, frame, self.max_source_pixels)
                    name = name.rsplit(".", 1)[0] + ".jpg"
                u.filename = u.filename or name
        # Check every file before storing any, so a bad file leaves nothing behind.
        checked = [(u, self.identify(u)) for u in uploads]
        items = [self.register(org, u, info).to_api() for u, info in checked]
        return {"total": len(items), "items": items}

    def identify(self, u: Upload) -> codecs.ImageInfo:
        if len(u.data) > self.max_upload_bytes:
            raise BadRequest(f"{u.filename}: larger than {self.max_upload_bytes} bytes")
        if not u.data:
            raise BadRequest(f"{u.filename}: the file is empty")
        info = codecs.identify(u.data, self.max_source_pixels)
        # The pixel data must decode (corrupt → 400, nothing stored). SHA-1 releases the GIL, so
        # it runs on another core meanwhile: the check adds little to an upload's latency.
        hasher = _Sha1(u.data)
        integrity.verify(u.data, info.format)
        u.binary_hash = hasher.hexdigest()
        return self._optimize(u, info)

    def _optimize(self, u: Upload, info: codecs.ImageInfo) -> codecs.ImageInfo:
        """optimize_source: from here on u.data is the optimised copy (binary_hash stays the
        original's; the static metadata is still read from the original's header)."""
        target = optimize.target_format(optimize.parse_mode(u.options.get("optimize_source")),
                                        info.format, info.animated)
        if target is None:
            return info
        with limits.guard(None):
            u.data, fmt, mimetype, (width, height), has_alpha = optimize.optimized(u.data, target)
        return codecs.ImageInfo(format=fmt, mimetype=mimetype, width=width, height=height, animated=False,
                                has_alpha=has_alpha, orientation=1, header=info.header)

    def register(self, org: str, u: Upload, info: codecs.ImageInfo) -> SourceImage:
        """Store the original (once per binary) and the record; idempotent for the same input."""
        binary_hash = u.binary_hash or hashlib.sha1(u.data).hexdigest()
        protected = bool(u.options.get("protected", False))
        if metadata.needs_face_detection(u.dynamic_metadata):
            u.dynamic_metadata = {**u.dynamic_metadata, "detection_face": faces.detect(u.data, self.face_detection)}
        h = metadata.image_hash(binary_hash, u.dynamic_metadata, protected)
        existing = self.storage.images.get(org, h)
        if existing is not None:
            return self._merge_existing(existing, u)
        image = SourceImage(
            organization=org, hash=h, short_hash=self.short_hash(org, h), binary_hash=binary_hash,
            name=u.filename, format=info.format, mimetype=info.mimetype, size=len(u.data),
            width=info.width, height=info.height, created=now_iso(),
            user_metadata=u.user_metadata, dynamic_metadata=u.dynamic_metadata,
            static_metadata={**(inspect.static_metadata(u.data, info.header) if not info.static else {}),
                             **info.static}, protected=protected, opaque=not info.has_alpha,
            animated=info.animated)
        # The original goes in first: a record never points at a missing original. If the record
        # cannot be written, the original stored for it goes again (compensation).
        key = original_key(org, binary_hash)
        stored = not self.storage.originals.exists(key)
        if stored:
            self.storage.originals.put(key, u.data, content_type=info.mimetype)
        try:
            created = self.storage.images.create(image)
        except Exception:
            if stored:
                self._drop_unused_original(org, binary_hash, key)
            raise
        if not created:  # a concurrent upload of the same image won
            return self._merge_existing(self.storage.images.get(org, h), u)
        if not stored and not self.storage.originals.exists(key):
            # Another upload of these bytes failed and took the original away meanwhile.
            self.storage.originals.put(key, u.data, content_type=info.mimetype)
        stats.image_added(self.storage, image)
        return image

    def _drop_unused_original(self, org: str, binary_hash: str, key: str) -> None:
        """Compensation for a record that could not be written: remove the original stored for
        it, unless a record uses that binary. When even that cannot be checked, the original
        stays (an unused original wastes space; a record without its original is broken)."""
        try:
            if not self.storage.images.by_binary_hash(org, binary_hash):
                self.storage.originals.delete(key)
                ReducedDecodes(self.storage.originals).delete_all(org, binary_hash)
        except Exception:  # noqa: BLE001 - the caller re-raises the original failure
            logging.getLogger("rokka").warning("could not remove the unused original %s", key, exc_info=True)

    def _merge_existing(self, image: SourceImage, u: Upload) -> SourceImage:
        changed = False
        if u.user_metadata and not image.locked:
            image.user_metadata = {**image.user_metadata, **u.user_metadata}
            changed = True
        revived = image.deleted
        if image.deleted:  # uploading a deleted image again brings it back
            image.deleted, image.deleted_date, changed = False, None, True
        if changed:
            self.storage.images.save(image)
        if revived:
            stats.image_added(self.storage, image)
        return image

    def short_hash(self, org: str, h: str) -> str:
        for length in range(MIN_SHORT_HASH, len(h)):
            if not [i for i in self.storage.images.by_prefix(org, h[:length], limit=2) if i.hash != h]:
                return h[:length]
        return h

    # --- read --------------------------------------------------------------------------

    def resolve(self, org: str, ref: str, include_deleted: bool = False) -> SourceImage:
        """Find an image by full hash or short hash; 404 when missing (or deleted)."""
        if not HASH_RE.match(ref or ""):
            raise NotFound(f"Source image {ref} not found.")
        if len(ref) == 40:
            image = self.storage.images.get(org, ref)
        else:
            matches = self.storage.images.by_prefix(org, ref, limit=50)
            exact = [i for i in matches if i.short_hash == ref]
            image = exact[0] if exact else (matches[0] if len(matches) == 1 else None)
        if image is None or (image.deleted and not include_deleted):
            raise NotFound(f"Source image {ref} not found.")
        return image

    def get(self, p: Principal, org: str, ref: str, include_deleted: bool = False) -> dict:
        auth.authorize(self.storage, p, org, "images:read")
        return self.resolve(org, ref, include_deleted).to_api()

    def download(self, p: Principal, org: str, ref: str) -> tuple[bytes, SourceImage]:
        m = auth.authorize(self.storage, p, org, "images:read")
        image = self.resolve(org, ref)
        return self.original(m, image, ref), image

    def original(self, m, image: SourceImage, ref: str | None = None) -> bytes:
        """The original bytes of `image` for a member `m` (protected originals need a role)."""
        ref = ref or image.hash
        if image.protected and not set(m.roles) & auth.PERMISSIONS["images:download_protected"]:
            raise Forbidden(f"Downloading the original of the protected image {ref} needs the "
                            "sourceimages:download:protected role.")
        data = self.storage.originals.get(original_key(image.organization, image.binary_hash))
        if data is None:
            raise NotFound(f"The original of {ref} is missing.")
        return data

    # --- delete / restore --------------------------------------------------------------

    def delete(self, p: Principal, org: str, ref: str) -> None:
        auth.authorize(self.storage, p, org, "images:write")
        image = self.resolve(org, ref)
        if image.locked:
            raise Forbidden(f"Source image {ref} is locked and cannot be deleted.")
        self.soft_delete(image)

    def soft_delete(self, image: SourceImage) -> None:
        """Deleted images stay restorable for a while; their renders go at once."""
        image.deleted, image.deleted_date = True, now_iso()
        self.storage.images.save(image)
        stats.image_removed(self.storage, image)
        self.cache.invalidate_image(image.organization, image.hash)

    def delete_by_binary_hash(self, p: Principal, org: str, binary_hash: str) -> None:
        auth.authorize(self.storage, p, org, "images:write")
        images = [i for i in self.storage.images.by_binary_hash(org, binary_hash) if not i.deleted]
        if not images:
            raise NotFound(f"No source image with binary hash {binary_hash}.")
        if any(i.locked for i in images):  # refuse before deleting any, not half way through
            raise Forbidden(f"A source image with binary hash {binary_hash} is locked and cannot be deleted.")
        for image in images:
            self.delete(p, org, image.hash)

    def restore(self, p: Principal, org: str, ref: str) -> dict:
        auth.authorize(self.storage, p, org, "images:write")
        image = self.resolve(org, ref, include_deleted=True)
        if expired(image):
            raise NotFound(f"Source image {ref} was deleted too long ago to be restored.")
        if image.deleted:
            image.deleted, image.deleted_date = False, None
            self.storage.images.save(image)
            stats.image_added(self.storage, image)
        return {**image.to_api(), "deleted": False}

    # --- user metadata -----------------------------------------------------------------

    def _writable(self, p: Principal, org: str, ref: str) -> SourceImage:
        auth.authorize(self.storage, p, org, "images:write")
        image = self.resolve(org, ref)
        if image.locked:
            raise Forbidden(f"Source image {ref} is locked.")
        return image

    def patch_user_metadata(self, p: Principal, org: str, ref: str, data) -> None:
        image = self._writable(p, org, ref)
        if data == []:
            data = {}
        if not isinstance(data, dict):
            raise BadRequest("User metadata must be an object")
        merged = dict(image.user_metadata)
        for k, v in data.items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = metadata.validate_user_field(k, v)
        image.user_metadata = merged
        self.storage.images.save(image)

    def replace_user_metadata(self, p: Principal, org: str, ref: str, data) -> None:
        image = self._writable(p, org, ref)
        image.user_metadata = metadata.validate_user_metadata(data)
        self.storage.images.save(image)

    def set_user_field(self, p: Principal, org: str, ref: str, name: str, value) -> None:
        image = self._writable(p, org, ref)
        image.user_metadata = {**image.user_metadata, name: metadata.validate_user_field(name, value)}
        self.storage.images.save(image)

    def delete_user_field(self, p: Principal, org: str, ref: str, name: str | None) -> None:
        image = self._writable(p, org, ref)
        if name is None:
            image.user_metadata = {}
        elif name in image.user_metadata:
            image.user_metadata = {k: v for k, v in image.user_metadata.items() if k != name}
        else:
            raise NotFound(f"User metadata field {name} not found.")
        self.storage.images.save(image)

    def get_user_metadata(self, p: Principal, org: str, ref: str, name: str | None = None):
        auth.authorize(self.storage, p, org, "images:read")
        meta = self.resolve(org, ref).user_metadata
        if name is None:
            return meta
        if name not in meta:
            raise NotFound(f"User metadata field {name} not found.")
        return meta[name]
