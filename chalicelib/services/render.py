"""A render: URL → stack + image → validated operations → pixels → cache → response.

Shared by the render Lambda and the local server, which only adapt the transport.
"""
from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field

from chalicelib.errors import BadRequest, NotFound, RokkaError, http_error
from chalicelib.render import allocator, codecs, formats_jxl, inspect, limits, pipeline, signing, stackdef, url
from chalicelib.render.context import RenderResources
from chalicelib.services import stats
from chalicelib.services.cache import CACHE_CONTROL, RenderCache
from chalicelib.services.reduced_decodes import ReducedDecodes
from chalicelib.services.sourceimages import SourceImages, original_key
from chalicelib.storage.ports import Storage
from chalicelib.limits import MAX_STACK_NESTING

ERROR_CACHE_CONTROL = "public, max-age=60"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
VIDEO_FORMATS = ("m3u", "m3u8", "ts", "mov")  # HLS is not implemented; mp4/webm are


def host_path(path: str) -> str:
    """The render path as the client saw it on the {org} host: without org and format token."""
    segments = [s for s in path.split("/") if s]
    rest = segments[1:]
    if rest and rest[0].startswith("~"):
        rest = rest[1:]
    return "/" + "/".join(rest)


@dataclass
class RenderResult:
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)


class Renderer:
    def __init__(self, storage: Storage, cache: RenderCache, images: SourceImages,
                 max_operations: int, max_output_pixels: int, render_timeout: float | None = None,
                 reduced: ReducedDecodes | None = None):
        from chalicelib.services.aliases import Aliases
        from chalicelib.services.remote_images import RemoteImages

        self.aliases = Aliases(images)
        self.remote = RemoteImages(images)
        self.storage = storage
        self.cache = cache
        self.images = images
        self.max_operations = max_operations
        self.max_output_pixels = max_output_pixels
        self.render_timeout = render_timeout  # seconds; None: no limit
        self.reduced = reduced  # kept reduced decodes of JPEG originals; None: every render decodes
        limits.configure_pillow(images.max_source_pixels)
        allocator.keep_freed_memory()  # a warm process reuses the last render's pages

    def handle(self, path: str, query_string: str = "", headers: dict | None = None) -> RenderResult:
        """Render and answer; errors become rokka's error JSON with a short cache lifetime."""
        try:
            result = self.render(path, query_string, headers or {})
            stats.downloaded(self.storage, path.strip("/").split("/")[0], len(result.body))  # org-first path
            return result
        except Exception as exc:  # noqa: BLE001 - errors.http_error maps every error
            return _error(exc, f"render {path}")

    def render(self, path: str, query_string: str, headers: dict) -> RenderResult:
        req = url.parse(path, query_string, url.header(headers, "accept"))
        if req.format in VIDEO_FORMATS:
            raise BadRequest(f"Video output ({req.format}) is not supported by this server.")
        if req.format not in codecs.OUTPUT_FORMATS:
            raise BadRequest(f"Output format {req.format!r} is not supported.")
        vary = {"Vary": "Accept"} if req.format in url.NEGOTIABLE else {}
        cached = self.cache.get(req.cache_key)
        if cached is not None:
            # Only jpg/png requests can hold another format (autoformat); the rest are what they say.
            sniffed = sniff_mimetype(cached) if req.format in url.NEGOTIABLE else None
            return self._response(cached, sniffed or codecs.OUTPUT_FORMATS[req.format][1], vary)

        if req.stack == "dynamic":
            defn, url_ops = stackdef.StackDefinition(), req.operations
        else:
            stack = self.storage.stacks.get(req.org, req.stack)
            if stack is None:
                raise NotFound(f"Stack {req.stack} not found.")
            defn = stackdef.StackDefinition(stack.operations, stack.options, stack.expressions, stack.variables)
            url_ops = None
        if any(name.startswith("remote_") for name in req.options):
            raise BadRequest("The remote_* options cannot be set in a render URL.")
        if req.image_kind == "alias":
            image = self.images.resolve(req.org, self.aliases.resolve(req.org, req.image).hash)
        elif req.image_kind == "remote":
            image = self.remote.resolve(req.org, req.image, defn.options)
        else:
            image = self._resolve_hash(req.org, req.image)
        props = image_properties(image)
        entropy = _Entropy(lambda: self._original(req, image), self.render_timeout)
        if _mentions_entropy(defn, url_ops, req.overrides, req.variables):
            props["entropy"] = entropy()

        operations, options = stackdef.resolve(defn, req, props, headers, url_ops)
        if options.get("basestack"):
            operations = self._basestack_operations(req, options, props, headers, entropy) + operations
        if len(operations) > self.max_operations:
            raise BadRequest(f"At most {self.max_operations} operations per render.")
        if float(options.get("dpr") or 1) != 1 and not any(s.name == "resize" for s, _ in operations):
            raise BadRequest("The dpr option needs a resize operation in the stack.")

        protected = self._needs_signature(req, options, image)
        if protected:
            org = self.storage.organizations.get(req.org)
            keys = [k["key"] for k in (org.signing_keys if org else []) if k.get("key")]
            signing.verify(req, host_path(path), query_string, keys)

        if image.format in ("ttf", "otf") and not options.get("source_file"):
            raise BadRequest("Fonts are used by the text operation; they cannot be rendered.")
        fmt = negotiated_format(req, options)
        kept = None if options.get("source_file") or fmt == "svg" else self._kept_decode(image, operations, options)
        # With a kept decode the pixels need no original; a composition of this image loads it then.
        data = entropy.data
        if data is None and (kept is None or kept.decode is None or pipeline.has_source_hooks(operations)):
            data = self._original(req, image)
        if fmt == "jxl":
            formats_jxl.lossless_by_default(image.format, options)
        if options.get("source_file"):
            body, content_type = data, image.mimetype
        else:
            if image.width * image.height > self.images.max_source_pixels:  # the limit was lowered since
                raise BadRequest(f"The source image has more than {self.images.max_source_pixels} pixels.")
            own = data if data is not None else (lambda: self._original(req, image))
            resources = self._resources(req.org, image, own, headers)
            if kept is not None:
                resources.reduced_decode = lambda: kept.decode
                resources.keep_reduced_decode = lambda decoded, before: self.reduced.save(kept.key, decoded, before)
            with limits.guard(self.render_timeout):
                body, fmt = pipeline.render_pixels(data or b"", image.to_dict(), operations, options, fmt,
                                                   self.max_output_pixels, resources,
                                                   transparency_format(req, options))
            content_type = codecs.OUTPUT_FORMATS[fmt][1]
        extra = dict(vary)
        if options.get("content_disposition") == "attachment":
            extra["Content-Disposition"] = f'attachment; filename="{req.seo_name or image.hash}.{req.format}"'
        # Stacks under _preview are never cached.
        # The cache serves by extension only, so renders with extra headers are not stored.
        # Signed renders are never stored where the CDN would serve them without a signature.
        if (not req.stack.startswith("_preview") and "Content-Disposition" not in extra
                and not options.get("source_file") and not protected):
            try:
                self.cache.put(req.org, req.cache_key, body, content_type, req.stack, image.hash,
                               req.image if req.image_kind == "alias" else None, image.organization)
            except Exception:  # noqa: BLE001 - a failed cache write must not fail the render itself
                logging.getLogger("rokka").warning("render cache write failed: %s", req.cache_key, exc_info=True)
        return self._response(body, content_type, extra, cacheable=not req.stack.startswith("_preview"))

    def _resolve_hash(self, org: str, ref: str):
        """The org's image, else (render_org_fallback set) the fallback organization's image."""
        try:
            return self.images.resolve(org, ref)
        except NotFound:
            record = self.storage.organizations.get(org)
            fallback = record.options.get("render_org_fallback") if record else None
            if not fallback:
                raise
            return self.images.resolve(fallback, ref)

    def _needs_signature(self, req: url.RenderRequest, options: dict, image) -> bool:
        if options.get("protected") or image.protected:
            return True
        if req.stack == "dynamic":
            org = self.storage.organizations.get(req.org)
            return bool(org and org.options.get("protect_dynamic_stack"))
        return False

    def _original(self, req: url.RenderRequest, image) -> bytes:
        data = self.storage.originals.get(original_key(image.organization, image.binary_hash))
        if data is None:
            raise NotFound(f"The original of {req.image} is missing.")
        return data

    def _basestack_operations(self, req: url.RenderRequest, options: dict, props: dict, headers: dict,
                              entropy) -> list:
        """The operations of the basestack chain, run before the stack's own (options: the stack's win)."""
        chain, name = [], options.get("basestack")
        while name:
            if len(chain) >= MAX_STACK_NESTING or name in (req.stack, *[c[0] for c in chain]):
                raise BadRequest(f"Basestack {name} nests too deep or refers back to itself.")
            stack = self.storage.stacks.get(req.org, name)
            if stack is None:
                raise NotFound(f"Basestack {name} not found.")
            defn = stackdef.StackDefinition(stack.operations, stack.options, stack.expressions, stack.variables)
            sub = url.RenderRequest(org=req.org, stack=name, variables=dict(req.variables))
            if _mentions_entropy(defn):
                props["entropy"] = entropy()
            ops, base_options = stackdef.resolve(defn, sub, props, headers)
            for key, value in base_options.items():
                options.setdefault(key, value)
            chain.append((name, ops))
            name = base_options.get("basestack")
        return [op for _, ops in reversed(chain) for op in ops]

    def _kept_decode(self, image, operations: list, options: dict) -> _Kept | None:
        """Where this render's reduced decode is kept, and the decode when it is (services/reduced_decodes.py)."""
        key = self.reduced.key_for(image, operations, options) if self.reduced is not None else None
        return None if key is None else _Kept(key, self.reduced.load(key, (image.width, image.height)))

    def _resources(self, org: str, image, data, headers: dict, depth: int = 0) -> RenderResources:
        """Loaders for operations that use other images or stacks of the same organization.
        `data` is the image's original, or a function that loads it (when the render itself needs
        no bytes: its decode was kept)."""

        def load_bytes(ref: str) -> bytes:
            other = self.images.resolve(org, ref)
            blob = self.storage.originals.get(original_key(org, other.binary_hash))
            if blob is None:
                raise NotFound(f"The original of {ref} is missing.")
            return blob

        def load_image(ref: str):
            return codecs.open_source(load_bytes(ref))[0]

        def render_stack(name: str, variables: dict, image_ref: str | None = None):
            if depth >= MAX_STACK_NESTING:
                raise BadRequest(f"Stacks nest more than {MAX_STACK_NESTING} levels deep.")
            stack = self.storage.stacks.get(org, name)
            if stack is None:
                raise NotFound(f"Stack {name} not found.")
            defn = stackdef.StackDefinition(stack.operations, stack.options, stack.expressions, stack.variables)
            sub = url.RenderRequest(org=org, stack=name, variables=dict(variables or {}))
            target, target_data = image, data() if callable(data) else data
            if image_ref:
                target, target_data = self.images.resolve(org, image_ref), load_bytes(image_ref)
            props = image_properties(target)
            if _mentions_entropy(defn):
                with limits.guard(None):
                    props["entropy"] = inspect.entropy(target_data)
            operations, options = stackdef.resolve(defn, sub, props, headers)
            return pipeline.process(target_data, target.to_dict(), operations, options, self.max_output_pixels,
                                    self._resources(org, target, target_data, headers, depth + 1))

        def on_source(decoded) -> None:
            # Static metadata's dominant colour: uploads decode no pixels, so the first render of
            # an image, which decodes it anyway, records it.
            if depth == 0 and "dominant_color" not in image.static_metadata:
                try:
                    image.static_metadata = {**image.static_metadata,
                                             "dominant_color": inspect.dominant_color(decoded)}
                    self.storage.images.save(image)
                except Exception:  # noqa: BLE001 - metadata must never fail a render
                    logging.getLogger("rokka").warning("dominant colour failed", exc_info=True)

        return RenderResources(load_image=load_image, load_bytes=load_bytes, render_stack=render_stack,
                               on_source=on_source)

    @staticmethod
    def _response(body: bytes, content_type: str, extra: dict, cacheable: bool = True) -> RenderResult:
        headers = {"Content-Type": content_type,
                   "Cache-Control": CACHE_CONTROL if cacheable else "no-store", **extra}
        if content_type == "image/svg+xml":
            # Uploaded SVGs may carry scripts; served from the render domain they must not run.
            headers["Content-Security-Policy"] = SVG_CSP
        return RenderResult(200, body, headers)


def function_url_response(result: RenderResult, event: dict, max_inline_bytes: int, render_domain: str) -> dict:
    """A Lambda function URL (payload 2.0) answer: the bytes inline when they fit the response
    limit, else a 302 back to the same URL, which the CDN now answers from the stored render."""
    if result.status == 200 and len(result.body) > max_inline_bytes:
        path = "/" + "/".join(s for s in event.get("rawPath", "/").split("/") if s and not s.startswith("~"))
        path = url.V_SUFFIX_RE.sub("", path)  # the viewer function adds it again from ?v=
        query = event.get("rawQueryString") or ""
        location = (f"https://{render_domain}" if render_domain else "") + path + (f"?{query}" if query else "")
        return {"statusCode": 302, "headers": {"Location": location, "Cache-Control": "private, no-store"},
                "body": "", "isBase64Encoded": False}
    return {"statusCode": result.status, "headers": result.headers,
            "body": base64.b64encode(result.body).decode("ascii"), "isBase64Encoded": True}


def transparency_format(req: url.RenderRequest, options: dict):
    """jpg.transparency.autoformat: a JPEG request whose result has visible alpha gets PNG or WebP.

    rokka's "true" may also answer an SVG-wrapped JPEG with a mask to `Accept: */*` clients; here
    "true" gives WebP where accepted and PNG otherwise, because the render cache key distinguishes
    clients only by the avif/webp token.
    """
    mode = str(options.get("jpg.transparency.autoformat") or "false")
    if req.format not in ("jpg", "jpeg") or mode == "false" or options.get("jpg.transparency.convert"):
        return None
    webp_ok = req.accept_token in ("webp", "avif")

    def choose(image, fmt: str) -> str:
        if fmt not in ("jpg", "jpeg") or not pipeline.has_visible_alpha(image):
            return fmt
        if mode == "png":
            return "png"
        return "webp" if webp_ok else "png"

    return choose


def negotiated_format(req: url.RenderRequest, options: dict) -> str:
    """autoformat: the best format the client accepts instead of the requested jpg/png (§6.6)."""
    if not options.get("autoformat") or req.format not in url.NEGOTIABLE or not req.accept_token:
        return req.format
    excluded = {x.strip() for x in (options.get("autoformat.exclude") or "").split(",")}
    included = {x.strip() for x in (options.get("autoformat.include") or "").split(",")}
    accepted = set(req.accept_token.split("-"))  # e.g. "jxl-avif" (see url.ACCEPT_TOKENS)
    token = "webp"  # every browser that takes AVIF or JPEG XL takes WebP too
    for opt_in in ("jxl", "avif"):  # both opt-in (autoformat.include); JPEG XL first
        if opt_in in accepted and opt_in in included and opt_in not in excluded:
            token = opt_in
            break
    if token in excluded:
        return req.format
    if token == "webp" and req.format == "png" and "webp.quality" not in options:
        options["webp.quality"] = 100  # a PNG request gets lossless WebP
    if token == "jxl" and req.format == "png" and "jxl.quality" not in options:
        options["jxl.quality"] = 100  # and lossless JPEG XL
    return token


_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"), (b"GIF8", "image/gif"))


def sniff_mimetype(data: bytes) -> str | None:
    """The real type of a cached render (autoformat may have stored WebP under a .jpg key)."""
    for magic, mimetype in _MAGIC:
        if data.startswith(magic):
            return mimetype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if formats_jxl.is_jxl(data):
        return formats_jxl.MIMETYPE
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return "image/avif" if brand in (b"avif", b"avis") else "image/heic"
    return None



def _error(exc: BaseException, where: str) -> RenderResult:
    status, body = http_error(exc, where)
    # 5xx (timeouts, throttled storage) are transient: the CDN must not keep them.
    cache_control = ERROR_CACHE_CONTROL if status < 500 else "no-store"
    return RenderResult(status, json.dumps(body).encode(),
                        {"Content-Type": "application/json", "Cache-Control": cache_control})


@dataclass
class _Kept:
    key: str
    decode: tuple | None  # (image, size before the draft) when kept, else None


class _Entropy:
    """`image.entropy`, computed at most once per render and only when an expression may use
    it (it decodes the source, at reduced scale); keeps the original it loaded for the render."""

    def __init__(self, load, timeout):
        self.load, self.timeout, self.data, self.value = load, timeout, None, None

    def __call__(self) -> float:
        if self.value is None:
            self.data = self.load()
            with limits.guard(self.timeout):  # a source that does not decode: 400, as in a render
                self.value = inspect.entropy(self.data)
        return self.value


def _mentions_entropy(*parts) -> bool:
    """Whether stack definitions / URL parts name `entropy` anywhere (expressions, variables,
    operation options): a cheap over-approximation of "an expression uses image.entropy"."""
    return "entropy" in repr(parts)


def image_properties(image) -> dict:
    """What expressions see as `image.*` (`entropy` is filled in by the renderer when used)."""
    dyn = image.dynamic_metadata
    return {
        "width": image.width, "height": image.height, "format": image.format, "hash": image.hash,
        "isAnimated": image.animated, "hasSubjectArea": "subject_area" in dyn,
        "subject_area": dyn.get("subject_area", {}), "hasDetectionFace": "detection_face" in dyn,
        "detection_face": dyn.get("detection_face", {}), "face_detection": dyn.get("detection_face", {}),
        "meta_user": image.user_metadata, "entropy": 0,
    }
