"""Large uploads that bypass API Gateway's request limit: a presigned POST straight to the
sources bucket, then the S3 event registers the image exactly as a multipart upload would.

    POST /sourceimages/{org}/uploads      → {"id", "url", "fields", "status"}
    (client POSTs the file to url with fields; S3 notifies register_upload)
    GET  /sourceimages/{org}/uploads/{id} → {"status": "pending" | "done" | "failed", ...}

Keys start with "_" so they can never collide with originals ("{org}/..."; org names have no "_").
"""
from __future__ import annotations

import json
import re
import uuid

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, NotFound, RokkaError
from chalicelib.limits import MAX_NAME_LENGTH
from chalicelib.models import now_iso
from chalicelib.services import metadata
from chalicelib.services.sourceimages import SourceImages, Upload
from chalicelib.storage.ports import Storage

UPLOAD_PREFIX = "_uploads/"
MANIFEST_PREFIX = "_pending/"
UPLOAD_KEY_RE = re.compile(r"^_uploads/([a-z0-9][a-z0-9-]{0,62})/([0-9a-f]{32})/(.+)$")
EXPIRES = 3600


def _manifest_key(org: str, upload_id: str) -> str:
    return f"{MANIFEST_PREFIX}{org}/{upload_id}.json"


class DirectUploads:
    def __init__(self, storage: Storage, images: SourceImages, max_upload_bytes: int):
        self.storage = storage
        self.images = images
        self.max_upload_bytes = max_upload_bytes

    def start(self, p: Principal, org: str, body: dict) -> dict:
        auth.authorize(self.storage, p, org, "images:upload")
        filename = body.get("filename") or "image"
        if not isinstance(filename, str) or "/" in filename or len(filename) > MAX_NAME_LENGTH:
            raise BadRequest("filename must be a plain file name")
        # Validate the metadata now, so a bad request fails before any byte is uploaded.
        manifest = {
            "status": "pending", "created": now_iso(), "filename": filename,
            "meta_user": metadata.validate_user_metadata(body.get("meta_user") or {}),
            "meta_dynamic": metadata.validate_dynamic_metadata(body.get("meta_dynamic") or {}),
            "options": body.get("options") or {},
        }
        if not isinstance(manifest["options"], dict) or not isinstance(manifest["options"].get("protected", False), bool):
            raise BadRequest("options must be an object with a boolean protected")
        upload_id = uuid.uuid4().hex
        post = self.storage.originals.presigned_post(f"{UPLOAD_PREFIX}{org}/{upload_id}/{filename}",
                                                     self.max_upload_bytes, EXPIRES)
        self._write_manifest(org, upload_id, manifest)
        return {"id": upload_id, "method": "POST", "url": post["url"], "fields": post["fields"],
                "expires_in": EXPIRES, "status": f"/sourceimages/{org}/uploads/{upload_id}"}

    def status(self, p: Principal, org: str, upload_id: str) -> dict:
        auth.authorize(self.storage, p, org, "images:upload")
        manifest = self._manifest(org, upload_id)
        out = {"id": upload_id, "status": manifest["status"]}
        if manifest["status"] == "done":
            out["item"] = self.images.resolve(org, manifest["hash"], include_deleted=True).to_api()
        elif manifest["status"] == "failed":
            out["error"] = manifest["error"]
        return out

    def register(self, key: str) -> dict | None:
        """S3 event for a finished upload: register it like a multipart upload, then drop the temp object."""
        m = UPLOAD_KEY_RE.match(key)
        if not m:
            return None
        org, upload_id, filename = m.groups()
        try:
            manifest = self._manifest(org, upload_id)
        except NotFound:
            self.storage.originals.delete(key)  # an upload nobody asked for
            return None
        try:
            data = self.storage.originals.get(key)
            if data is None:
                raise NotFound("The uploaded object is gone.")
            upload = Upload(filename=manifest["filename"], data=data, user_metadata=manifest["meta_user"],
                            dynamic_metadata=manifest["meta_dynamic"], options=manifest["options"])
            image = self.images.register(org, upload, self.images.identify(upload))
            manifest.update(status="done", hash=image.hash)
        except RokkaError as err:
            manifest.update(status="failed", error=err.body()["error"])
        self._write_manifest(org, upload_id, manifest)
        self.storage.originals.delete(key)  # the original now lives under its binary hash
        return manifest

    def _manifest(self, org: str, upload_id: str) -> dict:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id or ""):
            raise NotFound("Upload not found.")
        raw = self.storage.originals.get(_manifest_key(org, upload_id))
        if raw is None:
            raise NotFound("Upload not found.")
        return json.loads(raw)

    def _write_manifest(self, org: str, upload_id: str, manifest: dict) -> None:
        self.storage.originals.put(_manifest_key(org, upload_id), json.dumps(manifest).encode(),
                                   content_type="application/json")
