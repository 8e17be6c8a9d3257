"""Signed render URLs (reference §6.9), verified exactly as rokka's clients compute them.

    sig = sha256(path_and_query_without_sig + ":" + signing_key)[:16]

rokka.js signs the path without the SEO file name; the PHP helper signs the path as is. A
client may also have signed the host form (/stack/...), or a path-form render host
(/{org}/stack/... or /render/{org}/stack/...). Every form is accepted; comparisons are
constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timezone

from chalicelib.errors import Forbidden
from chalicelib.render.url import RenderRequest


def new_signing_key() -> str:
    return secrets.token_urlsafe(24)


def sign(path_and_query: str, key: str) -> str:
    return hashlib.sha256(f"{path_and_query}:{key}".encode()).hexdigest()[:16]


def _without_sig(raw_query: str) -> str:
    """The raw query minus its sig parameter, with the client's own encoding and order kept."""
    return "&".join(p for p in raw_query.split("&") if p and not p.startswith("sig="))


def candidate_paths(req: RenderRequest, host_path: str) -> list[str]:
    """Every path form a client may have signed for this request."""
    forms = [host_path, f"/{req.org}{host_path}", f"/render/{req.org}{host_path}"]
    if req.seo_name is not None:
        seo_suffix = f"/{req.seo_name}.{req.format}"
        if host_path.endswith(seo_suffix):
            plain = host_path[: -len(seo_suffix)] + f".{req.format}"
            forms += [plain, f"/{req.org}{plain}", f"/render/{req.org}{plain}"]
    return forms


def verify(req: RenderRequest, host_path: str, raw_query: str, keys: list[str], now: datetime | None = None) -> None:
    """Raise Forbidden unless the URL carries a valid, unexpired signature of one of `keys`."""
    given = req.query.get("sig", "")
    if not given:
        raise Forbidden("This render needs a signed URL (sig parameter missing).")
    query = _without_sig(raw_query)
    ok = False
    for key in keys:
        for path in candidate_paths(req, host_path):
            candidate = sign(path + (f"?{query}" if query else ""), key)
            ok |= hmac.compare_digest(candidate, given)  # no early exit: constant time per request
    if not ok:
        raise Forbidden("The URL signature is not valid.")
    if "sigopts" in req.query:
        _check_options(req.query["sigopts"], now or datetime.now(timezone.utc))


def _check_options(raw: str, now: datetime) -> None:
    try:
        options = json.loads(raw)
        until = options.get("until") if isinstance(options, dict) else None
        if until is not None:
            limit = datetime.fromisoformat(until.replace("Z", "+00:00"))
            if limit.tzinfo is None:
                limit = limit.replace(tzinfo=timezone.utc)
            if now > limit:
                raise Forbidden("The signed URL has expired.")
    except (ValueError, AttributeError, TypeError):
        raise Forbidden("sigopts is not valid.") from None
