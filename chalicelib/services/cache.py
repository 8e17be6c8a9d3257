"""The render cache: stored renders and their invalidation when stacks or images change."""
from __future__ import annotations

from chalicelib.storage.ports import Storage

CACHE_CONTROL = "public, max-age=31536000, immutable"
DYNAMIC_STACK = "dynamic"  # renders of /dynamic/... URLs are indexed under this stack name
# Renders of another organization's image (render_org_fallback) are indexed in the rendering org
# under this alias, and in the image's org under this stack name; neither is a valid name.
FALLBACK = "~fallback"


class RenderCache:
    def __init__(self, storage: Storage, purger=None):
        self.storage = storage
        # Optional CDN purger (CloudFront invalidation on AWS): purger(org, org-first paths).
        self.purger = purger

    def get(self, key: str) -> bytes | None:
        return self.storage.renders.get(key)

    def put(self, org: str, key: str, data: bytes, content_type: str, stack: str, image_hash: str,
            alias: str | None = None, image_org: str | None = None) -> None:
        # Index first: a render stored but not indexed could never be invalidated.
        if image_org and image_org != org:
            # A fallback render goes when the image changes in its org or the fallback is changed.
            self.storage.render_index.add(image_org, key, FALLBACK, image_hash)
            alias = alias or FALLBACK
        self.storage.render_index.add(org, key, stack, image_hash, alias)
        self.storage.renders.put(key, data, content_type=content_type, cache_control=CACHE_CONTROL)

    def invalidate_stack(self, org: str, stack: str) -> None:
        self._drop(org, self.storage.render_index.keys_for_stack(org, stack))

    def invalidate_dynamic(self, org: str) -> None:
        """Every render of the org's dynamic stack (e.g. after protect_dynamic_stack changed)."""
        self.invalidate_stack(org, DYNAMIC_STACK)

    def invalidate_image(self, org: str, image_hash: str) -> None:
        self._drop(org, self.storage.render_index.keys_for_image(org, image_hash))

    def invalidate_fallback(self, org: str) -> None:
        """Every render of `org` made from its render_org_fallback organization's images."""
        self.invalidate_alias(org, FALLBACK)

    def invalidate_alias(self, org: str, alias: str) -> None:
        self._drop(org, self.storage.render_index.keys_for_alias(org, alias))

    def _drop(self, org: str, keys: list[str]) -> None:
        if not keys:
            return
        for key in keys:
            self.storage.renders.delete(key)
        self.storage.render_index.remove(org, keys)
        if self.purger is not None:
            self.purger(org, ["/" + k for k in keys])
