"""Listing and searching source images (reference §2.3).

Query cost, on both adapters:
- no filter, sorted by created (the default): one read of the created-order index, a page long
  (plus a count of the organization's images for `total`);
- binaryHash: one read of the binary-hash index;
- any other filter: one key-range read of that field's search entries per filter (exact value,
  prefix or range), then the matching records by key. Other sort orders and facets need every
  matching record, so they cost as many reads as there are matches (capped at MAX_MATCHES).
Nothing reads the whole organization except an unfiltered search sorted by another field.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest
from chalicelib.services.sourceimages import SourceImages
from chalicelib.storage import search_keys
from chalicelib.limits import MAX_LIMIT, MAX_MATCHES, MAX_FACET_VALUES, MAX_OFFSET

DEFAULT_LIMIT = 100  # rokka's default page size (reference §2)
RESERVED = {"limit", "offset", "sort", "deleted", "facets", "operator", "binaryHash", "binaryhash", "cursor"}
_RANGE_RE = re.compile(r"^([\[{])(.*),(.*)([\]}])$")


@dataclass
class Filter:
    field: str
    kind: str  # the field's type
    op: str  # "eq" | "prefix" | "range"
    value: object = None
    low: object = None
    high: object = None
    low_inclusive: bool = True
    high_inclusive: bool = True


@dataclass
class Query:
    filters: list[Filter] = field(default_factory=list)
    any_of: bool = False
    sort: list[tuple[str, str, bool]] = field(default_factory=lambda: [("created", "date", True)])
    default_sort: bool = True
    facets: list[tuple[str, str]] = field(default_factory=list)
    deleted: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    binary_hash: str | None = None


def _field(name: str) -> tuple[str, str]:
    try:
        return search_keys.normalize_field(name)
    except ValueError:
        raise BadRequest(f"Unknown search field {name!r}") from None


def parse(params: dict) -> Query:
    q = Query()
    q.limit = _int(params.get("limit"), DEFAULT_LIMIT, 0, MAX_LIMIT, "limit")
    q.offset = _offset(params)
    q.deleted = str(params.get("deleted", "false")).lower() == "true"
    q.any_of = str(params.get("operator", "and")).lower() == "or"
    q.binary_hash = params.get("binaryHash") or params.get("binaryhash")
    if params.get("sort"):
        q.sort, q.default_sort = [], False
        for part in str(params["sort"]).split(","):
            words = part.split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
                raise BadRequest(f"Invalid sort {part!r}: use 'field [asc|desc]'")
            name, kind = _field(words[0])
            q.sort.append((name, kind, len(words) == 2 and words[1].lower() == "desc"))
        q.default_sort = q.sort == [("created", "date", True)]
    if params.get("facets"):
        q.facets = [_field(f.strip()) for f in str(params["facets"]).split(",") if f.strip()]
    for name, raw in params.items():
        if name in RESERVED:
            continue
        fname, kind = _field(name)
        q.filters.append(_filter(fname, kind, str(raw)))
    return q


def _filter(name: str, kind: str, raw: str) -> Filter:
    m = _RANGE_RE.match(raw)
    try:
        if m:
            low, high = m.group(2).strip(), m.group(3).strip()
            return Filter(name, kind, "range", low=search_keys.encode(low, kind) if low not in ("", "*") else None,
                          high=search_keys.encode(high, kind) if high not in ("", "*") else None,
                          low_inclusive=m.group(1) == "[", high_inclusive=m.group(4) == "]")
        if raw.endswith("*") and kind in ("str", "text", "array", "array_text"):
            return Filter(name, kind, "prefix", value=search_keys.encode(raw[:-1], kind))
        return Filter(name, kind, "eq", value=search_keys.encode(raw, kind))
    except (ValueError, TypeError):
        raise BadRequest(f"Invalid value {raw!r} for {name} ({kind})") from None


def _int(raw, default: int, low: int, high: int, name: str) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def _offset(params: dict) -> int:
    raw = params.get("cursor") or params.get("offset")
    if raw in (None, ""):
        return 0
    try:
        if str(raw).isdigit():
            offset = int(raw)
        else:  # a cursor from an earlier page
            offset = int(json.loads(base64.urlsafe_b64decode(str(raw) + "==").decode())["o"])
    except (ValueError, KeyError, TypeError, OverflowError):
        raise BadRequest("offset must be an integer or a cursor") from None
    if not 0 <= offset <= MAX_OFFSET:  # beyond it SQLite's integers overflow
        raise BadRequest(f"offset must be between 0 and {MAX_OFFSET}")
    return offset


def cursor_for(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


class Search:
    def __init__(self, images: SourceImages):
        self.images = images
        self.storage = images.storage

    def search(self, p: Principal, org: str, params: dict) -> dict:
        auth.authorize(self.storage, p, org, "images:read")
        q = parse(params)
        page, total, matches = self._page(org, q)
        out = {"total": total, "items": [i.to_api() for i in page], "links": {}}
        if q.facets:
            out["facets"] = {name: _facet(matches, name) for name, _ in q.facets}
        if q.offset + q.limit < total:
            out["cursor"] = cursor_for(q.offset + q.limit)
            out["links"]["next"] = {"href": _href(org, params, q.limit, q.offset + q.limit)}
        if q.offset > 0 and q.limit:
            out["links"]["prev"] = {"href": _href(org, params, q.limit, max(0, q.offset - q.limit))}
        return out

    def images_for(self, p: Principal, org: str, params: dict) -> list:
        """The source images of one search page (same parameters as search), for bulk downloads."""
        auth.authorize(self.storage, p, org, "images:read")
        return self._page(org, parse(params))[0]

    def _page(self, org: str, q: Query) -> tuple[list, int, list]:
        """(this page's images, the total, every match when they were all loaded, else [])."""
        if not q.filters and not q.binary_hash and q.default_sort and not q.facets:
            page, total = self.storage.images.list(org, q.limit, q.offset, q.deleted)  # the cheap path
            return page, total, []
        matches = self._matches(org, q)
        matches.sort(key=lambda i: i.hash)  # a stable tie-break, then the requested order
        for name, kind, desc in reversed(q.sort):
            matches.sort(key=lambda i, n=name, d=desc: _sort_key(i, n, d), reverse=desc)
        return matches[q.offset:q.offset + q.limit], len(matches), matches

    def _matches(self, org: str, q: Query) -> list:
        if q.binary_hash:
            candidates = self.storage.images.by_binary_hash(org, q.binary_hash)
            candidates = [i for i in candidates if all(_matches(i, f) for f in q.filters)] if q.filters else candidates
        elif q.filters:
            sets = [set(self._find(org, f)) for f in q.filters]
            hashes = set.union(*sets) if q.any_of else set.intersection(*sets)
            candidates = [i for i in (self.storage.images.get(org, h) for h in sorted(hashes)[:MAX_MATCHES]) if i]
            check = any if q.any_of else all
            candidates = [i for i in candidates if check(_matches(i, f) for f in q.filters)]
        else:
            candidates, _ = self.storage.images.list(org, MAX_MATCHES, 0, q.deleted)
        return [i for i in candidates if i.deleted == q.deleted]

    def _find(self, org: str, f: Filter) -> list[str]:
        sep, top = search_keys.SEP, "\U0010ffff"
        if f.op == "eq":
            low, high = f.value + sep, f.value + sep + top
        elif f.op == "prefix":
            low, high = f.value, f.value + top
        else:
            low = f.low if f.low is not None else "\x01"  # DynamoDB key values cannot be empty
            high = (f.high + sep + top) if f.high is not None else top
        return self.storage.images.find(org, f.field, low, high, MAX_MATCHES)


def _values(image, name: str) -> list:
    entry = search_keys.field_values(image).get(name)
    if entry is None:
        return []
    kind, values = entry
    out = []
    for v in values:
        try:
            out.append(search_keys.encode(v, kind))
        except (ValueError, TypeError):
            continue
    return out


def _matches(image, f: Filter) -> bool:
    """The exact filter semantics, checked on the record (the index only narrows candidates)."""
    for v in _values(image, f.field):
        if f.op == "eq" and v == f.value:
            return True
        if f.op == "prefix" and v.startswith(f.value):
            return True
        if f.op == "range":
            low_ok = f.low is None or (v >= f.low if f.low_inclusive else v > f.low)
            high_ok = f.high is None or (v <= f.high if f.high_inclusive else v < f.high)
            if low_ok and high_ok:
                return True
    return False


def _sort_key(image, name: str, desc: bool):
    """Images without the field sort last in either direction."""
    values = _values(image, name)
    missing = not values
    return (missing != desc, values[0] if values else "")


def _facet(images: list, name: str) -> list[dict]:
    counts: dict[str, int] = {}
    for image in images:
        entry = search_keys.field_values(image).get(name)
        for value in set(map(str, entry[1])) if entry else ():
            counts[value] = counts.get(value, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FACET_VALUES]
    return [{"value": v, "count": c} for v, c in ordered]


def _href(org: str, params: dict, limit: int, offset: int) -> str:
    rest = {k: v for k, v in params.items() if k not in ("limit", "offset", "cursor")}
    return f"/sourceimages/{org}?" + urlencode({**rest, "limit": limit, "offset": offset})
