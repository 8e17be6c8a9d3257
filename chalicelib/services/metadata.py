"""Validation of user and dynamic metadata, and the identity hashes of images (DESIGN §5)."""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import datetime

from chalicelib.errors import BadRequest
from chalicelib.limits import MAX_AREA_VALUE

USER_FIELD_RE = re.compile(r"^(?:(str|text|int|double|date|latlon|array|array_text):)?([a-z0-9_]{1,54})$")
AREA_NAME_RE = re.compile(r"^[a-zA-Z0-9_]+$")
# int fields are 64-bit, as in rokka's search index; larger numbers overflowed the index (500).
MAX_INT = 2**63 - 1


def _not_json(constant: str):
    raise ValueError(f"{constant} is not valid JSON")  # NaN and Infinity (Python's parser takes them)


def decode_json_field(raw: str, what: str):
    """Multipart metadata may be JSON-encoded once or twice (rokka.js encodes twice)."""
    try:
        value = json.loads(raw, parse_constant=_not_json)
        if isinstance(value, str):
            value = json.loads(value, parse_constant=_not_json)
    except ValueError:
        raise BadRequest(f"{what} is not valid JSON") from None
    return value


def validate_user_field(name: str, value):
    """One user metadata field, typed by its prefix; returns the stored value."""
    m = USER_FIELD_RE.match(name) if isinstance(name, str) else None
    if not m:
        raise BadRequest(f"Invalid user metadata field name {name!r}: "
                         "at most 54 characters of a-z, 0-9 and _, with an optional type prefix.")
    kind = m.group(1) or "str"
    try:
        if kind in ("str", "text"):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ValueError
            return value if isinstance(value, str) else json.dumps(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):
                value = int(value.strip())
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or not -MAX_INT - 1 <= value <= MAX_INT:
                raise ValueError
            return value
        if kind == "double":
            if isinstance(value, bool) or not math.isfinite(float(value)):  # no NaN/Infinity in JSON
                raise ValueError
            return float(value)
        if kind == "date":
            if not isinstance(value, str):
                raise ValueError
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return value
        if kind == "latlon":
            lat, lon = (float(x) for x in str(value).split(","))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError
            return str(value)
        if kind in ("array", "array_text"):
            if not isinstance(value, list):
                raise ValueError
            return [v if isinstance(v, str) else json.dumps(v) for v in value]
    except (ValueError, TypeError, OverflowError):
        raise BadRequest(f"User metadata field {name!r}: {str(value)[:100]!r} is not a valid {kind} value") from None
    raise BadRequest(f"Unknown metadata type {kind}")


def validate_user_metadata(data) -> dict:
    if data == []:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("User metadata must be an object")
    return {k: validate_user_field(k, v) for k, v in data.items() if v is not None}


def _area(value, what: str, required: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be an object")
    out = {}
    for key in ("x", "y", "width", "height"):
        if key in value:
            v = value[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= MAX_AREA_VALUE:
                raise BadRequest(f"{what}.{key} must be a number from 0 to {MAX_AREA_VALUE}")
            out[key] = int(v) if float(v).is_integer() else v
        elif key in required:
            raise BadRequest(f"{what}.{key} is required")
    if "percentage" in value:
        out["percentage"] = bool(value["percentage"])
    if what == "subject_area":
        out.setdefault("width", 1)
        out.setdefault("height", 1)
    if (out.get("width") == 0 or out.get("height") == 0) and what != "subject_area":
        raise BadRequest(f"{what} width and height must be positive")
    return out


def validate_dynamic(name: str, value) -> dict:
    if name == "subject_area":
        return _area(value, name, ("x", "y"))
    if name == "crop_area":
        return _area(value, name, ("x", "y", "width", "height"))
    if name == "version":
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise BadRequest('version must be {"text": "..."}')
        return {"text": value["text"]}
    if name == "multi_areas":
        if not isinstance(value, dict):
            raise BadRequest("multi_areas must be an object")
        out = {}
        for area, spec in value.items():
            if not AREA_NAME_RE.match(area) or not isinstance(spec, dict):
                raise BadRequest(f"Invalid multi_areas entry {area!r}")
            out[area] = {k: _area(v, k, ("x", "y") if k == "subject_area" else ("x", "y", "width", "height"))
                         for k, v in spec.items() if k in ("subject_area", "crop_area")}
        return out
    if name == "detection_face":
        if not isinstance(value, dict):
            raise BadRequest("detection_face must be an object")
        # {} asks the server to detect the face; a complete box is stored as given.
        return _area(value, name, ("x", "y", "width", "height")) if value else {}
    raise BadRequest(f"Unknown dynamic metadata {name!r}")


def validate_dynamic_metadata(data) -> dict:
    if data == []:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("Dynamic metadata must be an object")
    return {k: validate_dynamic(k, v) for k, v in data.items()}


def image_hash(binary_hash: str, dynamic_metadata: dict, protected: bool) -> str:
    """Same bytes + same dynamic metadata + same protection → same hash (idempotent uploads)."""
    canonical = json.dumps(dynamic_metadata, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(f"{binary_hash}\n{canonical}\n{int(protected)}".encode()).hexdigest()


def needs_face_detection(dynamic: dict) -> bool:
    return dynamic.get("detection_face") == {}
