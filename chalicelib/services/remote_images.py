"""Remote images (reference §6.3): a render URL's image may be "-{path}-" or "-https://...-".

"-{path}-" is appended to the `remote_basepath` option; "-https://...-" is taken as it is when
`remote_fullurl_allow` is on and the URL matches one of the `remote_fullurl_whitelist` regexes
(no whitelist: any URL). The three options are organization options, and a stack may set them
too (its stored stack options win); URL options (`o-remote_...`) are refused, or anyone could
turn full URLs on.

The source is fetched once through the SSRF-safe fetcher and stored as an ordinary source image
of the organization. Its static metadata lists the URLs it came from (`remote_urls`); a search
entry per URL digest finds it again, so later renders, also through other stacks, fetch nothing.
A failed fetch, a URL that is not allowed and a file that is not an image are 4xx and store
nothing.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from chalicelib.errors import BadRequest, Forbidden, NotFound
from chalicelib.models import SourceImage
from chalicelib.services import fetch
from chalicelib.services.sourceimages import SourceImages, Upload
from chalicelib.storage import search_keys
from chalicelib.limits import MAX_URLS_PER_IMAGE

OPTIONS = ("remote_basepath", "remote_fullurl_allow", "remote_fullurl_whitelist")
# Proxies and path normalisers may fold "https://" into "https:/"; both mean a full URL.
FULL_URL_RE = re.compile(r"^(https?):/+(.+)$", re.IGNORECASE)


def effective_options(org_options: dict, stack_options: dict) -> dict:
    """The remote settings of one render: the stack's stored value where it sets one, else the org's."""
    out = {}
    for name in OPTIONS:
        value = stack_options.get(name)
        out[name] = value if value is not None else org_options.get(name)
    return out


def source_url(remote: str, options: dict) -> str:
    """The URL to fetch for the remote token, or Forbidden/BadRequest when the options do not allow it."""
    full = FULL_URL_RE.match(remote)
    if full:
        if not options.get("remote_fullurl_allow"):
            raise Forbidden("Full remote URLs are not allowed for this organization (remote_fullurl_allow).")
        target = f"{full.group(1).lower()}://{full.group(2)}"
        whitelist = options.get("remote_fullurl_whitelist") or []
        if isinstance(whitelist, str):
            whitelist = [whitelist]
        try:
            allowed = not whitelist or any(re.search(p, target) for p in whitelist)
        except re.error:
            raise BadRequest("remote_fullurl_whitelist holds an invalid regular expression.") from None
        if not allowed:
            raise Forbidden("The remote URL does not match remote_fullurl_whitelist.")
        return target
    base = options.get("remote_basepath")
    if not base:
        raise Forbidden("Remote images need the remote_basepath option (or remote_fullurl_allow for full URLs).")
    if any(seg in (".", "..") for seg in remote.split("/")) or "\\" in remote or "?" in remote or "#" in remote:
        raise BadRequest("A remote path must not contain '.', '..', '\\', '?' or '#' segments.")
    target = base.rstrip("/") + "/" + remote.lstrip("/")
    if urlsplit(target).netloc != urlsplit(base).netloc:  # e.g. a path starting with "@evil.example"
        raise BadRequest("A remote path must stay on the remote_basepath host.")
    return target


class RemoteImages:
    def __init__(self, images: SourceImages):
        self.images = images
        self.storage = images.storage

    def find(self, org: str, target: str) -> SourceImage | None:
        """The live image already imported from `target`, if any (no fetch)."""
        digest = search_keys.remote_digest(target)
        sep = search_keys.SEP
        for h in self.storage.images.find(org, search_keys.REMOTE_FIELD, digest + sep, digest + sep + "\U0010ffff", 5):
            image = self.storage.images.get(org, h)
            if image is not None and not image.deleted and target in image.static_metadata.get("remote_urls", []):
                return image
        return None

    def resolve(self, org: str, remote: str, stack_options: dict) -> SourceImage:
        org_record = self.storage.organizations.get(org)
        if org_record is None:
            raise NotFound(f"Organization {org} not found.")
        target = source_url(remote, effective_options(org_record.options, stack_options))
        image = self.find(org, target)
        if image is not None:
            return image
        data, name = fetch.fetch(target, self.images.max_upload_bytes, self.images.fetch_timeout,
                                 self.images.fetch_allowed_networks)
        upload = Upload(filename=name, data=data)
        info = self.images.identify(upload)  # not an image (or too big): 4xx before anything is stored
        image = self.images.register(org, upload, info)
        urls = list(image.static_metadata.get("remote_urls", []))
        if target not in urls:
            image.static_metadata = {**image.static_metadata, "remote_urls": (urls + [target])[-MAX_URLS_PER_IMAGE:]}
            self.storage.images.save(image)
        return image
