"""HTTP edge of the API: request parsing as rokka's clients send it, and errors → responses.

Only this module and app.py import chalice.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from chalice import Response
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from chalicelib.errors import BadRequest, http_error


JSON = "application/json"
# Routes accept any request Content-Type: rokka.js sends JSON as text/plain.
ANY_CONTENT_TYPE = ["*/*"]


def json_response(data, status: int = 200, headers: dict | None = None) -> Response:
    # Exactly "application/json": rokka.js compares the header as a string.
    return Response(body=json.dumps(data), status_code=status, headers={"Content-Type": JSON, **(headers or {})})


def empty_response(status: int = 204, headers: dict | None = None) -> Response:
    return Response(body="", status_code=status, headers=headers or {})


def error_response(err: BaseException, where: str = "") -> Response:
    status, body = http_error(err, where)
    return json_response(body, status)


def api_view(fn):
    """Turn typed errors into rokka's error JSON; anything else is a 500 without internals."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - errors.http_error maps every error
            return error_response(exc, fn.__name__)

    return wrapper


def raw_text(body: bytes | None) -> str:
    if not body:
        return ""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Request body is not valid UTF-8") from None


def _not_json(constant: str):
    """NaN and Infinity are not JSON (RFC 8259); Python's parser would take them."""
    raise ValueError(f"{constant} is not valid JSON")


def parse_json_object(body: bytes | None) -> dict:
    """A JSON object from any Content-Type; empty body → {}; PHP's [] → {}."""
    text = raw_text(body).strip()
    if not text:
        return {}
    try:
        value = json.loads(text, parse_constant=_not_json)
    except ValueError:
        raise BadRequest("Request body is not valid JSON") from None
    if value == []:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("Request body must be a JSON object")
    return value


def parse_json_any(body: bytes | None):
    """A JSON value; a body that is not JSON is taken as a bare string (rokka.js sends them unquoted)."""
    text = raw_text(body)
    if not text.strip():
        raise BadRequest("Request body is empty")
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        return text


def parse_json_value(body: bytes | None):
    """Any JSON value (object, array, scalar); invalid JSON is a 400."""
    text = raw_text(body).strip()
    if not text:
        raise BadRequest("Request body is empty")
    try:
        return json.loads(text, parse_constant=_not_json)
    except ValueError:
        raise BadRequest("Request body is not valid JSON") from None


@dataclass
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, list[str]]
    files: list[UploadedFile]


def parse_form(content_type: str | None, body: bytes | None, max_bytes: int) -> Form:
    """multipart/form-data or urlencoded form: every file part (any name), every field."""
    body = body or b""
    if len(body) > max_bytes:
        from chalicelib.errors import PayloadTooLarge
        raise PayloadTooLarge(f"Request body larger than {max_bytes} bytes")
    ctype, params = parse_options_header(content_type or "")
    if ctype == b"application/x-www-form-urlencoded":
        fields = parse_qs(raw_text(body), keep_blank_values=True)
        return Form(fields=fields, files=[])
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest("Expected a multipart/form-data upload")
    return _parse_multipart(params[b"boundary"], body)


def parse_fields_or_json(content_type: str | None, body: bytes | None, max_bytes: int) -> dict:
    """Form fields (urlencoded or multipart; the last value of each) or else a JSON object."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {name: values[-1] for name, values in parse_form(content_type, body, max_bytes).fields.items()}
    return parse_json_object(body)


def _parse_multipart(boundary: bytes, body: bytes) -> Form:
    parts: list[dict] = []
    state: dict = {}

    def on_part_begin():
        state["part"] = {"headers": {}, "data": bytearray()}
        state["field"], state["value"] = bytearray(), bytearray()

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        name = bytes(state["field"]).decode("latin-1").lower()
        state["part"]["headers"][name] = bytes(state["value"]).decode("latin-1")
        state["field"], state["value"] = bytearray(), bytearray()

    def on_part_data(data, start, end):
        state["part"]["data"] += data[start:end]

    def on_part_end():
        parts.append(state.pop("part"))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, ValueError) as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from None

    form = Form(fields={}, files=[])
    for part in parts:
        disposition = part["headers"].get("content-disposition", "")
        _, params = parse_options_header(disposition)
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        data = bytes(part["data"])
        if filename is not None:
            form.files.append(UploadedFile(
                field=name, filename=filename.decode("utf-8", "replace"),
                content_type=part["headers"].get("content-type", "application/octet-stream"), data=data))
        else:
            form.fields.setdefault(name, []).append(data.decode("utf-8", "replace"))
    return form
