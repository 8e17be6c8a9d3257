"""Changes to an image's identity and flags: dynamic metadata, protection, lock, name, copy
(reference §2.4, §2.5, §2.7).

Dynamic metadata and the protected flag are part of the hash, so changing them derives a new
image (same original, new hash) unless keepHash asks to change it in place.
"""
from __future__ import annotations

from dataclasses import replace

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Forbidden, NotFound
from chalicelib.models import SourceImage, now_iso
from chalicelib.render import faces
from chalicelib.services import metadata, stats
from chalicelib.services.sourceimages import SourceImages, original_key
from chalicelib.limits import MAX_BULK_COPY, MAX_NAME_LENGTH



class Change:
    """Outcome of a change: the image to answer with, and how to answer."""

    def __init__(self, status: int, image: SourceImage | None, location: str | None = None,
                 warning: str | None = None):
        self.status, self.image, self.location, self.warning = status, image, location, warning


class ImageChanges:
    def __init__(self, images: SourceImages):
        self.images = images
        self.storage = images.storage

    def _writable(self, p: Principal, org: str, ref: str) -> SourceImage:
        auth.authorize(self.storage, p, org, "images:write")
        image = self.images.resolve(org, ref)
        if image.locked:
            raise Forbidden(f"Source image {ref} is locked.")
        return image

    # --- dynamic metadata and protection: new hash -------------------------------------------

    def set_dynamic(self, p: Principal, org: str, ref: str, name: str, value, delete_previous: bool,
                    keep_hash: bool) -> Change:
        image = self._writable(p, org, ref)
        value = metadata.validate_dynamic(name, value)
        if name == "detection_face" and not value:
            data = self.storage.originals.get(original_key(org, image.binary_hash))
            if data is None:
                raise NotFound(f"The original of {ref} is missing.")
            value = faces.detect(data, self.images.face_detection)
        dynamic = {**image.dynamic_metadata, name: value}
        return self._derive(image, dynamic, image.protected, delete_previous, keep_hash)

    def delete_dynamic(self, p: Principal, org: str, ref: str, name: str, delete_previous: bool,
                       keep_hash: bool) -> Change:
        image = self._writable(p, org, ref)
        if name not in image.dynamic_metadata:
            return Change(204, None)
        dynamic = {k: v for k, v in image.dynamic_metadata.items() if k != name}
        return self._derive(image, dynamic, image.protected, delete_previous, keep_hash)

    def set_protected(self, p: Principal, org: str, ref: str, value, delete_previous: bool) -> Change:
        if not isinstance(value, bool):
            raise BadRequest("The body must be true or false.")
        image = self._writable(p, org, ref)
        return self._derive(image, image.dynamic_metadata, value, delete_previous, keep_hash=False)

    def _derive(self, image: SourceImage, dynamic: dict, protected: bool, delete_previous: bool,
                keep_hash: bool) -> Change:
        if keep_hash and delete_previous:
            raise BadRequest("keepHash and deletePrevious cannot be combined.")
        if dynamic == image.dynamic_metadata and protected == image.protected:
            return Change(204, None)
        org = image.organization
        if keep_hash:
            image.dynamic_metadata = dynamic
            self.storage.images.save(image)
            self.images.cache.invalidate_image(org, image.hash)
            return Change(200, image, warning='299 - "The hash was kept although the metadata changed."')
        new_hash = metadata.image_hash(image.binary_hash, dynamic, protected)
        target = self.storage.images.get(org, new_hash)
        if target is None or target.deleted:
            derived = replace(image, hash=new_hash, short_hash=self.images.short_hash(org, new_hash),
                              dynamic_metadata=dynamic, protected=protected, created=now_iso(),
                              deleted=False, deleted_date=None)
            if target is None:
                if self.storage.images.create(derived):
                    stats.image_added(self.storage, derived)
                else:
                    derived = self.storage.images.get(org, new_hash)
            else:
                derived = replace(target, deleted=False, deleted_date=None)
                self.storage.images.save(derived)
                stats.image_added(self.storage, derived)
            target = derived
        # An existing target is returned unchanged: metadata is not copied onto it.
        if delete_previous:
            self.images.soft_delete(image)
        return Change(201, target, location=f"/sourceimages/{org}/{target.hash}")

    # --- flags and name ------------------------------------------------------------------------

    def set_locked(self, p: Principal, org: str, ref: str, value) -> SourceImage:
        if not isinstance(value, bool):
            raise BadRequest("The body must be true or false.")
        auth.authorize(self.storage, p, org, "images:lock")
        image = self.images.resolve(org, ref)
        if image.locked != value:
            image.locked = value
            self.storage.images.save(image)
        return image

    def rename(self, p: Principal, org: str, ref: str, name) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise BadRequest("The body must be the new name as a JSON string.")
        image = self._writable(p, org, ref)
        image.name = name
        self.storage.images.save(image)

    # --- copy between organizations ------------------------------------------------------------

    def copy(self, p: Principal, org: str, ref: str, destination: str | None, overwrite: bool) -> int:
        """201 created, 204 overwritten, 412 exists and Overwrite: F (reference §2.5)."""
        dest = self._destination(p, org, destination)
        image = self.images.resolve(org, ref)
        return self._copy_one(image, dest, overwrite)

    def copy_many(self, p: Principal, org: str, refs, destination: str | None, overwrite: bool) -> dict:
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise BadRequest("The body must be a JSON array of hashes.")
        if len(refs) > MAX_BULK_COPY:
            raise BadRequest(f"At most {MAX_BULK_COPY} hashes per copy.")
        dest = self._destination(p, org, destination)
        out: dict = {"created": [], "existing": [], "notfound": []}
        for ref in refs:
            try:
                image = self.images.resolve(org, ref)
            except NotFound:
                out["notfound"].append(ref)
                continue
            status = self._copy_one(image, dest, overwrite)
            out["created" if status == 201 else "existing"].append(image.hash)
        return out

    def _destination(self, p: Principal, org: str, destination: str | None) -> str:
        auth.authorize(self.storage, p, org, "images:read")
        if not destination:
            raise BadRequest("The Destination header names the target organization.")
        dest = destination.strip().rstrip("/").rsplit("/", 1)[-1]
        if self.storage.organizations.get(dest) is None:
            raise BadRequest(f"Destination organization {dest} does not exist.")
        auth.authorize(self.storage, p, dest, "images:upload")
        return dest

    def _copy_one(self, image: SourceImage, dest: str, overwrite: bool) -> int:
        existing = self.storage.images.get(dest, image.hash)
        if existing is not None and not existing.deleted and not overwrite:
            return 412
        if existing is not None and not existing.deleted and existing.locked:
            # A locked image is frozen: overwriting it would unlock it (and change its user
            # metadata) for callers who may not unlock (e.g. copying an image onto its own org).
            return 204
        blob_key = original_key(dest, image.binary_hash)
        if not self.storage.originals.exists(blob_key):
            data = self.storage.originals.get(original_key(image.organization, image.binary_hash))
            if data is None:
                raise NotFound(f"The original of {image.hash} is missing.")
            self.storage.originals.put(blob_key, data, content_type=image.mimetype)
        copied = replace(image, organization=dest, created=now_iso(), deleted=False, deleted_date=None,
                         locked=False, short_hash=existing.short_hash if existing else
                         self.images.short_hash(dest, image.hash))
        if existing is None:
            if self.storage.images.create(copied):
                stats.image_added(self.storage, copied)
                return 201
        self.storage.images.save(copied)
        if existing is not None and existing.deleted:
            stats.image_added(self.storage, copied)
        self.images.cache.invalidate_image(dest, image.hash)
        return 204
