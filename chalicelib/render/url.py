"""The render URL grammar (reference §6.1), parsed by one pure function.

    /{org}/{stack}[/{mods}]*/{image}[/{seo}].{format}[?v={json}][&sig=..][&sigopts=..]

    mods   := group ("--" group)*
    group  := opname ("-" key "-" value)* | ("o"|"options") ... | ("v"|"variables") ...
    value  := literal | "[" expression "]"
    image  := hash (6..40 hex) | "-_" alias "_-" | "-" remote path or full URL "-"
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

from chalicelib.errors import BadRequest
from chalicelib.limits import MAX_PATH

HASH_RE = re.compile(r"^[0-9a-f]{6,40}$")
ALIAS_RE = re.compile(r"^-_([a-zA-Z0-9_]+)_-$")
# A remote image: "-{path}-.{fmt}" or "-{path}-/{seo}.{fmt}"; the path may hold "/" and "-"
# (greedy: it ends at the last "-" that a valid tail follows).
REMOTE_RE = re.compile(r"^-(?P<remote>.+)-(?P<tail>(?:/[^/]*)?\.[A-Za-z0-9]{2,5})$")
REMOTE_PLACEHOLDER = "-~remote~-"
FORMAT_RE = re.compile(r"^[a-z0-9]{2,5}$")
STACK_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
ORG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# "jxl" and "jxl-avif": JPEG XL (and AVIF); every client that names those also takes WebP.
ACCEPT_TOKENS = ("jxl-avif", "jxl", "avif", "webp")
V_SUFFIX_RE = re.compile(r"(?:~|%7[eE])v([0-9a-f]{16})$")
# Requested formats that autoformat may replace (and whose cache keys carry the Accept token).
NEGOTIABLE = ("jpg", "jpeg", "png")


@dataclass(frozen=True)
class Expr:
    """A URL value written as [expression]; evaluated at render time."""

    source: str


@dataclass
class RenderRequest:
    org: str
    stack: str
    # Operations added by a dynamic stack's first segment, in order: [(name, options)].
    operations: list = field(default_factory=list)
    # Operation groups that modify every existing operation with that name, in order.
    overrides: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    variables: dict = field(default_factory=dict)
    image_kind: str = "hash"  # "hash" | "alias" | "remote" (image: the path or URL between the dashes)
    image: str = ""
    seo_name: str | None = None
    format: str = "jpg"
    query: dict = field(default_factory=dict)
    cache_key: str = ""
    # Best modern format the client accepts ("avif", "webp") when it came as a path token.
    accept_token: str | None = None


def header(headers: dict | None, name: str):
    """A request header by lower-case name, whatever case the client (or CloudFront) sent."""
    for k, v in (headers or {}).items():
        if k.lower() == name:
            return v
    return None


def accept_token_for(accept: str | None) -> str | None:
    """The best modern format an Accept header names (the CloudFront Function does the same)."""
    accept = (accept or "").lower()
    if "image/jxl" in accept:
        return "jxl-avif" if "image/avif" in accept else "jxl"
    if "image/avif" in accept:
        return "avif"
    if "image/webp" in accept:
        return "webp"
    return None


def parse(path: str, query_string: str = "", accept: str | None = None) -> RenderRequest:
    """Parse an org-first render path and its query; BadRequest on anything malformed.

    Without a ~token segment (CloudFront adds one), `accept` gives the token for jpg/png
    requests, and the cache key gets the same segment CloudFront would have added.
    """
    if len(path) > MAX_PATH:
        raise BadRequest("Render URL too long")
    path, remote, remote_raw = _split_remote(path)
    segments = [s for s in path.split("/") if s]  # empty segments ("//") are ignored
    accept_token = None
    if len(segments) > 1 and segments[1].startswith("~"):
        # The CloudFront Function reduces Accept to a token segment after the org (~avif, ~webp).
        accept_token = segments.pop(1)[1:]
        if accept_token not in ACCEPT_TOKENS:
            raise BadRequest(f"Unknown format token ~{accept_token}")
    if len(segments) < 3:
        raise BadRequest("Render URL must be /{stack}/{hash}.{format}")
    org, stack, rest = segments[0], unquote(segments[1]), segments[2:]
    if not ORG_RE.match(org):
        raise BadRequest(f"Invalid organization name {org!r}")
    if not STACK_RE.match(stack):
        raise BadRequest(f"Invalid stack name {stack!r}")

    # CloudFront appends "~v" + sha1(raw v)[:16] when the URL has ?v= (the S3 origin ignores queries).
    v_suffix = V_SUFFIX_RE.search(rest[-1])
    if v_suffix:
        rest[-1] = rest[-1][:v_suffix.start()]
    last = unquote(rest[-1])
    if "." not in last:
        raise BadRequest("Render URL needs a file extension for the output format")
    name, fmt = last.rsplit(".", 1)
    fmt = fmt.lower()
    if not FORMAT_RE.match(fmt):
        raise BadRequest(f"Invalid output format {fmt!r}")
    req = RenderRequest(org=org, stack=stack, format=fmt, accept_token=accept_token)
    if len(rest) >= 2 and _image_token(unquote(rest[-2])):
        req.image_kind, req.image = _image_token(unquote(rest[-2]))
        req.seo_name = name
        mods = rest[:-2]
    elif _image_token(name):
        req.image_kind, req.image = _image_token(name)
        mods = rest[:-1]
    else:
        raise BadRequest(f"No valid image hash or alias in the render URL ({name!r})")
    if req.image_kind == "remote":
        req.image = remote

    for index, segment in enumerate(mods):
        for group in split_outside_brackets(unquote(segment), "--"):
            _apply_group(req, group, adds_operations=(stack == "dynamic" and index == 0))

    req.query = {k: v[-1] for k, v in parse_qs(query_string or "", keep_blank_values=True).items()}
    if "v" in req.query:
        req.variables.update(_query_variables(req.query["v"]))
    v_digest = variables_digest(query_string)
    if v_suffix and v_suffix.group(1) != v_digest:
        raise BadRequest("The ~v suffix does not match the v query parameter.")
    if accept_token is None and fmt in NEGOTIABLE:
        req.accept_token = accept_token_for(accept)
    # The key is what CloudFront asks S3 for: org, format token, the rest, and the ~v suffix.
    token = f"~{req.accept_token}/" if req.accept_token else ""
    key_rest = [*mods, remote_raw] if remote is not None else rest  # a remote URL keeps its "//"
    req.cache_key = f"{org}/{token}" + "/".join([segments[1], *key_rest]) + (f"~v{v_digest}" if v_digest else "")
    return req


def _split_remote(path: str) -> tuple[str, str | None, str]:
    """Cut a remote image token out of the raw path (before "//" is collapsed, which would break
    "https://"): (path with a placeholder, the remote path or URL, the raw token with its tail)."""
    parts = path.split("/")
    seen = 0  # org and stack come first; a "~token" segment after the org does not count
    for i, part in enumerate(parts):
        if not part or (seen == 1 and part.startswith("~")):
            continue
        if seen >= 2 and part.startswith("-") and not ALIAS_RE.match(part) and not ALIAS_RE.match(
                part.rsplit(".", 1)[0]):
            raw = "/".join(parts[i:])
            v_suffix = V_SUFFIX_RE.search(raw)
            body = raw[:v_suffix.start()] if v_suffix else raw
            m = REMOTE_RE.match(body)
            if not m:
                raise BadRequest("A remote image is written -{path}-.{format} or -{url}-/{seo}.{format}.")
            placeholder = REMOTE_PLACEHOLDER + m.group("tail")
            return ("/".join(parts[:i] + [placeholder]) + (v_suffix.group(0) if v_suffix else ""),
                    m.group("remote"), body)
        seen += 1
    return path, None, ""


def variables_digest(query_string: str) -> str | None:
    """sha1 of the raw (still URL-encoded) v parameter, first 16 hex digits, as CloudFront computes it."""
    for part in (query_string or "").split("&"):
        if part.startswith("v="):
            return hashlib.sha1(part[2:].encode()).hexdigest()[:16]
    return None


def _image_token(text: str) -> tuple[str, str] | None:
    if HASH_RE.match(text):
        return "hash", text
    m = ALIAS_RE.match(text)
    if m:
        return "alias", m.group(1)
    if text == REMOTE_PLACEHOLDER:
        return "remote", ""
    return None


def _apply_group(req: RenderRequest, group: str, adds_operations: bool) -> None:
    if not group:
        return
    tokens = split_outside_brackets(group, "-")
    name, pairs = tokens[0], tokens[1:]
    if not name:
        raise BadRequest(f"Malformed group {group!r} in the render URL")
    if len(pairs) % 2:
        raise BadRequest(f"Group {group!r} has a key without a value")
    values = {pairs[i]: _value(pairs[i + 1]) for i in range(0, len(pairs), 2)}
    if name in ("o", "options"):
        req.options.update(values)
    elif name in ("v", "variables"):
        req.variables.update(values)
    elif adds_operations:
        req.operations.append((name, values))
    else:
        req.overrides.append((name, values))


def _value(text: str):
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        return Expr(text[1:-1])
    return text


def split_outside_brackets(text: str, sep: str) -> list[str]:
    """Split on `sep`, but not inside [ ... ] (expressions may contain '-')."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    if depth:
        raise BadRequest(f"Unclosed '[' in {text!r}")
    parts.append(text[start:])
    return parts


def _query_variables(raw: str) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        raise BadRequest("The v query parameter must be a JSON object") from None
    if not isinstance(value, dict):
        raise BadRequest("The v query parameter must be a JSON object")
    return value
