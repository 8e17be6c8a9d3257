"""Server-side signing of render URLs: POST /utils/{org}/sign_url (reference §6.9).

The URL is signed exactly as rokka.js's `render.signUrl` does it (signUrlWithOptions), with the
organization's first signing key:
  1. `sigopts={"until": ...}` is set when `until` is given (rounded up to `round_date_up_to`
     seconds, default 300), and removed otherwise; any `sig` is removed;
  2. the SEO file name is dropped from the path (/stack/hash/name.jpg → /stack/hash.jpg);
  3. the query is re-serialised as a browser's URLSearchParams would (form encoding);
  4. sig = sha256(path + "?" + query + ":" + key)[:16] is appended.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, NotFound
from chalicelib.render.signing import sign
from chalicelib.storage.ports import Storage

DEFAULT_ROUND_DATE_UP_TO = 300

# rokka.js getUrlComponents: the first pattern found anywhere in the path wins. In its template
# literals `\.` is a plain ".", so the character before the format is any character there too.
_STACK, _HASH, _NAME, _FORMAT, _REMOTE = (r"(?P<stack>.*([^-]|--)|-*)", r"(?P<hash>[0-9a-f]{6,40})",
                                          r"(?P<filename>[^/^.]+)", r"(?P<format>.{2,4})", r"(?P<hash>-.+-)")
_URL_PATTERNS = [re.compile(p) for p in (
    f"/{_STACK}/{_HASH}/{_NAME}.{_FORMAT}", f"/{_STACK}/{_HASH}.{_FORMAT}",
    f"/{_STACK}/{_REMOTE}/{_NAME}.{_FORMAT}", f"/{_STACK}/{_REMOTE}.{_FORMAT}",
)]
_FORM_SAFE = frozenset(b"*-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _form_encode(text: str) -> str:
    """application/x-www-form-urlencoded as the URL standard serialises it (space → +)."""
    return "".join(chr(b) if b in _FORM_SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in text.encode())


def _serialize(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in params)


def _without_filename(path: str) -> str:
    for pattern in _URL_PATTERNS:
        m = pattern.search(path)
        if m:
            if m.group("stack") and m.groupdict().get("filename") is not None:
                suffix = re.compile(f"/{re.escape(m.group('filename'))}.{re.escape(m.group('format'))}$")
                return suffix.sub(lambda _: "." + m.group("format"), path, count=1)
            return path
    return path


def _js_iso(moment: datetime) -> str:
    """Date.prototype.toISOString: UTC with milliseconds and Z."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _until(raw, round_to) -> str:
    try:
        moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("until must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if round_to > 1:
        step_ms = round_to * 1000
        ms = math.ceil(moment.timestamp() * 1000 / step_ms) * step_ms
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return _js_iso(moment)


def _round_to(raw) -> int:
    if raw in (None, ""):
        return DEFAULT_ROUND_DATE_UP_TO
    try:
        value = int(str(raw))
    except ValueError:
        raise BadRequest("round_date_up_to must be a number of seconds") from None
    if value < 0:
        raise BadRequest("round_date_up_to must not be negative")
    return value


def sign_url(url: str, key: str, until: str | None = None) -> str:
    """The signed form of a render URL (absolute, or a path with an optional query)."""
    parts = urlsplit(url)
    sigopts = json.dumps({"until": until}, separators=(",", ":")) if until is not None else None
    # URLSearchParams.set: the first sigopts gets the new value, the others go; else append.
    params, placed = [], False
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k == "sigopts" and sigopts is not None and not placed:
            params.append((k, sigopts))
            placed = True
        elif k not in ("sig", "sigopts"):
            params.append((k, v))
    if sigopts is not None and not placed:
        params.append(("sigopts", sigopts))
    path = _without_filename(parts.path or "/")
    query = _serialize(params)
    sig = sign(path + (f"?{query}" if query else ""), key)
    return urlunsplit((parts.scheme, parts.netloc, path, _serialize([*params, ("sig", sig)]), parts.fragment))


class UrlSigner:
    def __init__(self, storage: Storage):
        self.storage = storage

    def sign(self, p: Principal, org_name: str, body: dict) -> dict:
        auth.authorize(self.storage, p, org_name, "org:read")
        url = body.get("url")
        if not isinstance(url, str) or not url.strip():
            raise BadRequest("url is required")
        url = url.strip()
        parts = urlsplit(url)
        if not (url.startswith("/") or (parts.scheme in ("http", "https") and parts.netloc)):
            raise BadRequest("url must be an http(s) URL or a path starting with /")
        org = self.storage.organizations.get(org_name)
        if org is None:
            raise NotFound(f"Organization {org_name} not found.")
        keys = [k.get("key") for k in org.signing_keys if k.get("key")]
        if not keys:
            raise BadRequest(f"Organization {org_name} has no signing key.")
        until = body.get("until")
        until = _until(until, _round_to(body.get("round_date_up_to"))) if until not in (None, "") else None
        return {"signed_url": sign_url(url, keys[0], until)}
