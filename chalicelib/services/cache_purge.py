"""Cache purge endpoints (reference §6.8, §7.3): drop the stored renders of a stack, an image or
an alias (and invalidate them on the CDN when one is configured), rate limited per target.

    DELETE /stacks/{org}/{name}/cache               5 per hour
    DELETE /sourceimages/{org}/{hash}/cache         5 per hour
    DELETE /sourceimages/{org}/alias/{name}/cache  10 per hour

The limit is a fixed window per clock hour (UTC), counted in the storage counters under
"purge:{kind}:{target}". Every answer carries X-RateLimit-Limit and X-RateLimit-Remaining; a 429
also carries X-RateLimit-Retry-After (unix time of the next window) and Retry-After (seconds).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import NotFound
from chalicelib.services.aliases import ALIAS_RE
from chalicelib.services.cache import DYNAMIC_STACK, RenderCache
from chalicelib.services.sourceimages import SourceImages
from chalicelib.storage.ports import Storage

LIMITS = {"stack": 5, "image": 5, "alias": 10}
WINDOW = 3600


@dataclass
class PurgeOutcome:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


class CachePurges:
    def __init__(self, storage: Storage, cache: RenderCache, images: SourceImages, clock=time.time):
        self.storage = storage
        self.cache = cache
        self.images = images
        self.clock = clock

    def stack(self, p: Principal, org: str, name: str) -> PurgeOutcome:
        auth.authorize(self.storage, p, org, "stacks:write")
        if name != DYNAMIC_STACK and self.storage.stacks.get(org, name) is None:
            raise NotFound(f"Stack {name} not found.")
        return self._purge(org, "stack", name, lambda: self.cache.invalidate_stack(org, name))

    def image(self, p: Principal, org: str, ref: str) -> PurgeOutcome:
        auth.authorize(self.storage, p, org, "images:write")
        image = self.images.resolve(org, ref)
        return self._purge(org, "image", image.hash, lambda: self.cache.invalidate_image(org, image.hash))

    def alias(self, p: Principal, org: str, name: str) -> PurgeOutcome:
        auth.authorize(self.storage, p, org, "images:write")
        if not ALIAS_RE.match(name or "") or self.storage.aliases.get(org, name) is None:
            raise NotFound(f"Alias {name} not found.")
        return self._purge(org, "alias", name, lambda: self.cache.invalidate_alias(org, name))

    def _purge(self, org: str, kind: str, target: str, drop) -> PurgeOutcome:
        now = self.clock()
        window_start = int(now // WINDOW * WINDOW)
        period = datetime.fromtimestamp(window_start, tz=timezone.utc).strftime("%Y-%m-%dT%H")
        limit = LIMITS[kind]
        used = self.storage.counters.add(org, f"purge:{kind}:{target}", period, 1)
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - used))}
        if used > limit:
            retry_at = window_start + WINDOW
            readable = datetime.fromtimestamp(retry_at, tz=timezone.utc).isoformat()
            headers.update({"X-RateLimit-Retry-After": str(retry_at), "Retry-After": str(max(1, int(retry_at - now)))})
            return PurgeOutcome(429, {"status": "too many requests", "X-RateLimit-Retry-After-readable": readable},
                                headers)
        drop()
        return PurgeOutcome(200, {"status": "ok"}, headers)
