"""Aliases: a stable name for an image hash, renderable as /{stack}/-_{alias}_-.{format} (§6.4)."""
from __future__ import annotations

import re

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.models import Alias, now_iso
from chalicelib.services.sourceimages import SourceImages

ALIAS_RE = re.compile(r"^[a-zA-Z0-9_]{1,100}$")


class Aliases:
    def __init__(self, images: SourceImages):
        self.images = images
        self.storage = images.storage

    @staticmethod
    def _check_name(name: str) -> None:
        if not ALIAS_RE.match(name or ""):
            raise NotFound(f"Alias {name} not found.")  # rokka answers 404 for invalid names

    def put(self, p: Principal, org: str, name: str, body: dict, overwrite: bool) -> tuple[int, dict]:
        auth.authorize(self.storage, p, org, "images:write")
        self._check_name(name)
        ref = body.get("hash") if isinstance(body, dict) else None
        if not isinstance(ref, str):
            raise BadRequest('The body must be {"hash": "<image hash>"}.')
        image = self.images.resolve(org, ref)
        alias = Alias(organization=org, alias=name, hash=image.hash, created=now_iso())
        if not overwrite:
            try:
                self.storage.aliases.create(alias)
            except Conflict:
                raise Conflict(f"Alias {name} already exists; use overwrite=true to change it.") from None
            return 201, alias.to_api()
        existed = self.storage.aliases.get(org, name) is not None
        self.storage.aliases.save(alias)
        self.images.cache.invalidate_alias(org, name)
        return (200 if existed else 201), alias.to_api()

    def get(self, p: Principal, org: str, name: str) -> dict:
        auth.authorize(self.storage, p, org, "images:read")
        return self.resolve(org, name).to_api()

    def resolve(self, org: str, name: str) -> Alias:
        self._check_name(name)
        alias = self.storage.aliases.get(org, name)
        if alias is None:
            raise NotFound(f"Alias {name} not found.")
        return alias

    def delete(self, p: Principal, org: str, name: str) -> None:
        auth.authorize(self.storage, p, org, "images:write")
        self._check_name(name)
        if not self.storage.aliases.delete(org, name):
            raise NotFound(f"Alias {name} not found.")
        self.images.cache.invalidate_alias(org, name)
