"""Searchable fields of an image and their sortable string encoding, shared by both adapters.

Every image has one index entry per (field, value): field names are rokka's search names
("name", "size", "user:int:views", "dynamic:str:version:text"), values are encoded so that
string order is value order. Adapters store entries as "{org}#{field}" → "{encoded}\\x1f{hash}",
so exact, prefix and range filters are one key-range read each.
"""
from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from chalicelib.limits import MAX_VALUE_LENGTH

SEP = "\x1f"  # between the encoded value and the hash; never part of a stored value
NUMBER_OFFSET = 10 ** 15  # numbers in ±1e15 sort correctly as fixed-width positive strings

BUILTIN_TYPES = {
    "hash": "str", "short_hash": "str", "binaryhash": "str", "mimetype": "str", "format": "str",
    "name": "str", "name_text": "text", "size": "int", "width": "int", "height": "int", "created": "date",
}
_TOKEN_RE = re.compile(r"[\w]+", re.UNICODE)
# Internal entry (not a search parameter): sha1 of each URL a remote image was imported from.
REMOTE_FIELD = "remote:url_sha1"


def remote_digest(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


def user_field(key: str) -> tuple[str, str]:
    """Stored user metadata key ("int:views", "title") → (search field, type)."""
    kind, _, name = key.rpartition(":")
    kind = kind or "str"
    return f"user:{kind}:{name}", kind


def normalize_field(name: str) -> tuple[str, str]:
    """A search parameter name → (search field, type); "user:views" means "user:str:views"."""
    if name in BUILTIN_TYPES:
        return name, BUILTIN_TYPES[name]
    if name == "binaryHash":
        return "binaryhash", "str"
    parts = name.split(":")
    if parts[0] == "user" and len(parts) == 2:
        return f"user:str:{parts[1]}", "str"
    if parts[0] == "user" and len(parts) == 3:
        return name, parts[1]
    if parts[0] in ("dynamic", "static") and len(parts) == 4:
        return name, parts[1]
    raise ValueError(name)


def encode(value, kind: str) -> str:
    """Sortable text for one value of a field of type `kind`."""
    if kind in ("int", "double"):
        number = float(value)
        if not -NUMBER_OFFSET < number < NUMBER_OFFSET:
            raise ValueError("number out of the searchable range")
        return f"{number + NUMBER_OFFSET:026.6f}"
    if kind == "date":
        parsed = datetime.fromisoformat(str(value).strip("'\"").replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    text = str(value).replace(SEP, " ")[:MAX_VALUE_LENGTH]
    return text.lower() if kind in ("text", "array_text") else text


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN_RE.findall(str(text))][:200]


def field_values(image) -> dict[str, tuple[str, list]]:
    """Every searchable field of an image record: field → (type, raw values)."""
    out: dict[str, tuple[str, list]] = {
        "hash": ("str", [image.hash]), "short_hash": ("str", [image.short_hash]),
        "binaryhash": ("str", [image.binary_hash]), "mimetype": ("str", [image.mimetype]),
        "format": ("str", [image.format]), "name": ("str", [image.name]),
        "name_text": ("text", tokens(image.name)), "size": ("int", [image.size]),
        "width": ("int", [image.width]), "height": ("int", [image.height]), "created": ("date", [image.created]),
    }
    for key, value in (image.user_metadata or {}).items():
        field, kind = user_field(key)
        if kind == "latlon":
            continue
        values = value if isinstance(value, list) else [value]
        if kind in ("text", "array_text"):
            values = [t for v in values for t in tokens(v)]
        out[field] = (kind, values)
    version = (image.dynamic_metadata or {}).get("version", {}).get("text")
    if version is not None:
        out["dynamic:str:version:text"] = ("str", [version])
    remote_urls = (image.static_metadata or {}).get("remote_urls")
    if remote_urls:
        out[REMOTE_FIELD] = ("str", [remote_digest(u) for u in remote_urls])
    return out


def entries(image) -> set[tuple[str, str]]:
    """(field, encoded value + SEP + hash) pairs to store for an image."""
    out = set()
    for field, (kind, values) in field_values(image).items():
        for value in values:
            try:
                out.add((field, encode(value, kind) + SEP + image.hash))
            except (ValueError, TypeError, OverflowError):
                continue  # a value that cannot be encoded is simply not searchable
    return out
