"""Render URL signing, the same algorithm as rokka.js `render.signUrl` and the server's
POST /utils/{org}/sign_url:

  sigopts={"until": ...} set (or removed), any sig removed, the SEO file name dropped from the path
  (/stack/hash/name.jpg -> /stack/hash.jpg), the query serialised as URLSearchParams does, and
  sig = sha256(path + "?" + query + ":" + key)[:16] appended.

Kept independent of the server package on purpose: the SDK installs on its own.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit

_STACK = r"(?P<stack>.*([^-]|--)|-*)"
_HASH = r"(?P<hash>[0-9a-f]{6,40})"
_REMOTE = r"(?P<hash>-.+-)"
_NAME, _FMT = r"(?P<filename>[^/^.]+)", r"(?P<format>.{2,4})"
_PATTERNS = [re.compile(f"/{_STACK}/{h}{tail}") for h, tail in (
    (_HASH, f"/{_NAME}.{_FMT}"), (_HASH, f".{_FMT}"), (_REMOTE, f"/{_NAME}.{_FMT}"), (_REMOTE, f".{_FMT}"))]


def _encode(text: str) -> str:
    # URLSearchParams keeps only *-._ and alphanumerics; quote_plus also keeps "~", so encode it.
    return quote_plus(text, safe="*").replace("~", "%7E")


def _query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in params)


def strip_seo_name(path: str) -> str:
    for pattern in _PATTERNS:
        m = pattern.search(path)
        if m is None:
            continue
        name = m.groupdict().get("filename")
        if m.group("stack") and name is not None:
            tail = f"/{name}.{m.group('format')}"
            if path.endswith(tail):
                return path[: -len(tail)] + "." + m.group("format")
        return path
    return path


def round_until(moment: datetime, round_to: int = 300) -> str:
    """The `until` value as rokka.js writes it: rounded up to round_to seconds, ISO with ms and Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if round_to > 1:
        step = round_to * 1000
        moment = datetime.fromtimestamp(math.ceil(moment.timestamp() * 1000 / step) * step / 1000, timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sign_url(url: str, key: str, until: datetime | str | None = None, round_to: int = 300) -> str:
    """The signed form of a render URL (absolute, or a path with a query)."""
    if isinstance(until, datetime):
        until = round_until(until, round_to)
    parts = urlsplit(url)
    sigopts = json.dumps({"until": until}, separators=(",", ":")) if until is not None else None
    params, placed = [], False
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k == "sigopts" and sigopts is not None and not placed:
            params.append((k, sigopts))
            placed = True
        elif k not in ("sig", "sigopts"):
            params.append((k, v))
    if sigopts is not None and not placed:
        params.append(("sigopts", sigopts))
    path = strip_seo_name(parts.path or "/")
    query = _query(params)
    signed = path + (f"?{query}" if query else "")
    sig = hashlib.sha256(f"{signed}:{key}".encode()).hexdigest()[:16]
    return urlunsplit((parts.scheme, parts.netloc, path, _query([*params, ("sig", sig)]), parts.fragment))
