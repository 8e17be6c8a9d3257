"""The SDK: one typed method per management API call, on requests with retries."""
from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import requests

from rokka_client.errors import RokkaApiError, RokkaError
from rokka_client.signing import sign_url

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
JSON = dict[str, Any]


def _seg(value: str) -> str:
    return quote(str(value), safe=":@")  # ":" is legal in a path segment (user:int:x fields)


class Client:
    """A rokka API client.

    base_url: the API (e.g. http://127.0.0.1:8000 or https://api.rokka.io).
    render_base: where render URLs point; "{org}" is replaced by the organization. Defaults to
    `{base_url}/render/{org}` (the local server); for rokka.io use "https://{org}.rokka.io".
    Requests answered 429 or 5xx (and connection failures) are retried `retries` times with
    exponential backoff (`backoff` * 2^n seconds plus jitter, or the server's Retry-After).
    """

    def __init__(self, base_url: str, api_key: str | None = None, org: str | None = None,
                 render_base: str | None = None, retries: int = 3, backoff: float = 0.5,
                 timeout: float = 60.0, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key, self.org = api_key, org
        self.render_base = (render_base or self.base_url + "/render/{org}").rstrip("/")
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.session = session or requests.Session()
        self.sleep = time.sleep  # tests replace it

    # --- transport -----------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
                data: Any = None, files: Any = None, headers: dict | None = None, raw: bool = False):
        """One API call; returns the decoded JSON (None for an empty body), or the Response if raw."""
        url = self.base_url + path
        hdrs = {"Accept": "application/json", "Api-Version": "1"}
        if self.api_key:
            hdrs["Api-Key"] = self.api_key
        hdrs.update(headers or {})
        body = data
        if json_body is not None:
            body = json.dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                resp = self.session.request(method, url, params=params, data=body, files=files,
                                            headers=hdrs, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt >= self.retries:
                    raise RokkaError(f"{method} {url}: {exc}") from exc
                self._wait(attempt, None)
                attempt += 1
                continue
            if resp.status_code in RETRY_STATUSES and attempt < self.retries:
                self._wait(attempt, resp.headers.get("Retry-After"))
                attempt += 1
                continue
            break
        if resp.status_code >= 400:
            try:
                payload = resp.json()
            except ValueError:
                payload = resp.text
            raise RokkaApiError(resp.status_code, payload, method, url)
        if raw:
            return resp
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** attempt) + random.uniform(0, self.backoff / 2)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        self.sleep(min(delay, 30.0))

    def _org(self, org: str | None) -> str:
        org = org or self.org
        if not org:
            raise RokkaError("no organization given (pass org=... or set Client.org)")
        return _seg(org)

    # --- discovery -------------------------------------------------------------------------------

    def operations(self) -> JSON:
        return self.request("GET", "/operations")

    def stack_options(self) -> JSON:
        return self.request("GET", "/stackoptions")

    # --- users and API keys --------------------------------------------------------------------

    def create_user(self, email: str, organization: str | None = None) -> JSON:
        body = {"email": email, **({"organization": organization} if organization else {})}
        return self.request("POST", "/users", json_body=body)

    def get_user(self) -> JSON:
        return self.request("GET", "/user")

    def list_api_keys(self) -> JSON:
        return self.request("GET", "/user/apikeys")

    def create_api_key(self, comment: str | None = None) -> JSON:
        return self.request("POST", "/user/apikeys", json_body={"comment": comment})

    def current_api_key(self) -> JSON:
        return self.request("GET", "/user/apikeys/current")

    def delete_api_key(self, key_id: str) -> None:
        self.request("DELETE", f"/user/apikeys/{_seg(key_id)}")

    def get_token(self, **params) -> JSON:
        return self.request("GET", "/user/apikeys/token", params=params)

    # --- organizations and memberships -----------------------------------------------------------

    def create_organization(self, name: str, billing_email: str | None = None,
                            display_name: str | None = None) -> JSON:
        body = {k: v for k, v in (("billing_email", billing_email), ("display_name", display_name)) if v}
        return self.request("PUT", f"/organizations/{_seg(name)}", json_body=body)

    def get_organization(self, org: str | None = None) -> JSON:
        return self.request("GET", f"/organizations/{self._org(org)}")

    def set_organization_option(self, name: str, value: Any, org: str | None = None) -> JSON:
        return self.request("PUT", f"/organizations/{self._org(org)}/options/{_seg(name)}", json_body=value)

    def list_memberships(self, org: str | None = None) -> JSON:
        return self.request("GET", f"/organizations/{self._org(org)}/memberships")

    def create_membership_user(self, roles: list[str], comment: str | None = None, org: str | None = None) -> JSON:
        body = {"roles": roles, **({"comment": comment} if comment else {})}
        return self.request("POST", f"/organizations/{self._org(org)}/memberships", json_body=body)

    def get_membership(self, user_id: str, org: str | None = None) -> JSON:
        return self.request("GET", f"/organizations/{self._org(org)}/memberships/{_seg(user_id)}")

    def set_membership(self, user_id: str, roles: list[str], org: str | None = None) -> JSON | None:
        return self.request("PUT", f"/organizations/{self._org(org)}/memberships/{_seg(user_id)}",
                            json_body={"roles": roles})

    def delete_membership(self, user_id: str, org: str | None = None) -> None:
        self.request("DELETE", f"/organizations/{self._org(org)}/memberships/{_seg(user_id)}")

    # --- source images ---------------------------------------------------------------------------

    def _images(self, org: str | None) -> str:
        return f"/sourceimages/{self._org(org)}"

    def upload_bytes(self, data: bytes, filename: str = "image", *, meta_user: JSON | None = None,
                     meta_dynamic: JSON | None = None, options: JSON | None = None,
                     org: str | None = None) -> JSON:
        """Uploads one image; returns its source image record."""
        fields = self._upload_fields(meta_user, meta_dynamic, options)
        result = self.request("POST", self._images(org), data=fields,
                              files={"filedata": (os.path.basename(filename), data)})
        return result["items"][0]

    def upload_path(self, path: str | os.PathLike, **kwargs) -> JSON:
        p = Path(path)
        return self.upload_bytes(p.read_bytes(), p.name, **kwargs)

    def upload_url(self, url: str, *, meta_user: JSON | None = None, meta_dynamic: JSON | None = None,
                   options: JSON | None = None, org: str | None = None) -> JSON:
        """Lets the server fetch the image from `url` (url[0])."""
        fields = {"url[0]": url, **self._upload_fields(meta_user, meta_dynamic, options)}
        # multipart even without a file, as rokka.js sends it
        result = self.request("POST", self._images(org), files={k: (None, v) for k, v in fields.items()})
        return result["items"][0]

    @staticmethod
    def _upload_fields(meta_user, meta_dynamic, options) -> dict:
        fields = {}
        for name, value in (("meta_user[0]", meta_user), ("meta_dynamic[0]", meta_dynamic), ("options[0]", options)):
            if value is not None:
                fields[name] = json.dumps(value)
        return fields

    def get_image(self, hash: str, deleted: bool = False, org: str | None = None) -> JSON:
        params = {"deleted": "true"} if deleted else None
        return self.request("GET", f"{self._images(org)}/{_seg(hash)}", params=params)

    def list_images(self, params: dict | None = None, org: str | None = None) -> JSON:
        """One page of GET /sourceimages/{org} (filters, sort, limit, offset/cursor, facets)."""
        return self.request("GET", self._images(org), params=params)

    def search(self, params: dict | None = None, page_size: int = 100, org: str | None = None) -> Iterator[JSON]:
        """Every image matching `params`, page by page with the server's cursors."""
        query = {**(params or {}), "limit": page_size}
        while True:
            page = self.list_images(query, org)
            items = page.get("items") or []
            yield from items
            cursor = page.get("cursor")
            if not items or len(items) < page_size or not cursor:
                return
            query = {**query, "offset": cursor}

    def find_by_binary_hash(self, binary_hash: str, org: str | None = None) -> list[JSON]:
        return self.list_images({"binaryHash": binary_hash}, org).get("items") or []

    def delete_image(self, hash: str, org: str | None = None) -> None:
        self.request("DELETE", f"{self._images(org)}/{_seg(hash)}")

    def delete_by_binary_hash(self, binary_hash: str, org: str | None = None) -> None:
        self.request("DELETE", self._images(org), params={"binaryHash": binary_hash})

    def restore_image(self, hash: str, org: str | None = None) -> JSON:
        return self.request("POST", f"{self._images(org)}/{_seg(hash)}/restore")

    def download_image(self, hash: str, org: str | None = None) -> bytes:
        return self.request("GET", f"{self._images(org)}/{_seg(hash)}/download", raw=True,
                            headers={"Accept": "*/*"}).content

    def rename_image(self, hash: str, name: str, org: str | None = None) -> None:
        self.request("PUT", f"{self._images(org)}/{_seg(hash)}/name", json_body=name)

    def set_locked(self, hash: str, locked: bool, org: str | None = None) -> JSON:
        return self.request("PUT", f"{self._images(org)}/{_seg(hash)}/options/locked", json_body=locked)

    def set_protected(self, hash: str, protected: bool, delete_previous: bool = False,
                      org: str | None = None) -> JSON | None:
        return self.request("PUT", f"{self._images(org)}/{_seg(hash)}/options/protected", json_body=protected,
                            params={"deletePrevious": str(delete_previous).lower()})

    def copy_image(self, hash: str, destination_org: str, overwrite: bool = True, org: str | None = None) -> int:
        """Copies an image to another organization; returns 201 (copied), 204 (existed) or 412."""
        headers = {"Destination": destination_org, "Overwrite": "T" if overwrite else "F"}
        try:
            resp = self.request("POST", f"{self._images(org)}/{_seg(hash)}/copy", headers=headers, raw=True)
        except RokkaApiError as err:
            if err.status == 412:
                return 412
            raise
        return resp.status_code

    def copy_images(self, hashes: list[str], destination_org: str, overwrite: bool = True,
                    org: str | None = None) -> JSON:
        headers = {"Destination": destination_org, "Overwrite": "T" if overwrite else "F"}
        return self.request("POST", f"{self._images(org)}/copy", json_body=hashes, headers=headers)

    # --- metadata --------------------------------------------------------------------------------

    def get_user_metadata(self, hash: str, org: str | None = None) -> JSON:
        return self.request("GET", f"{self._images(org)}/{_seg(hash)}/meta/user")

    def set_user_metadata(self, hash: str, values: JSON, replace: bool = False, org: str | None = None) -> None:
        """PATCH (merge; a None value removes the field) or, with replace, PUT the whole set."""
        self.request("PUT" if replace else "PATCH", f"{self._images(org)}/{_seg(hash)}/meta/user", json_body=values)

    def delete_user_metadata(self, hash: str, field: str | None = None, org: str | None = None) -> None:
        path = f"{self._images(org)}/{_seg(hash)}/meta/user" + (f"/{_seg(field)}" if field else "")
        self.request("DELETE", path)

    def set_dynamic_metadata(self, hash: str, name: str, value: JSON, delete_previous: bool = False,
                             org: str | None = None) -> JSON | None:
        """Sets e.g. subject_area; returns the image under its new hash (None if unchanged)."""
        return self.request("PUT", f"{self._images(org)}/{_seg(hash)}/meta/dynamic/{_seg(name)}", json_body=value,
                            params={"deletePrevious": str(delete_previous).lower()})

    def delete_dynamic_metadata(self, hash: str, name: str, delete_previous: bool = False,
                                org: str | None = None) -> JSON | None:
        return self.request("DELETE", f"{self._images(org)}/{_seg(hash)}/meta/dynamic/{_seg(name)}",
                            params={"deletePrevious": str(delete_previous).lower()})

    # --- aliases ---------------------------------------------------------------------------------

    def create_alias(self, name: str, hash: str, overwrite: bool = False, org: str | None = None) -> JSON:
        return self.request("PUT", f"{self._images(org)}/alias/{_seg(name)}", json_body={"hash": hash},
                            params={"overwrite": str(overwrite).lower()})

    def get_alias(self, name: str, org: str | None = None) -> JSON:
        return self.request("GET", f"{self._images(org)}/alias/{_seg(name)}")

    def delete_alias(self, name: str, org: str | None = None) -> None:
        self.request("DELETE", f"{self._images(org)}/alias/{_seg(name)}")

    # --- stacks ----------------------------------------------------------------------------------

    def list_stacks(self, org: str | None = None) -> list[JSON]:
        return self.request("GET", f"/stacks/{self._org(org)}").get("items") or []

    def get_stack(self, name: str, org: str | None = None) -> JSON:
        return self.request("GET", f"/stacks/{self._org(org)}/{_seg(name)}")

    def create_stack(self, name: str, operations: list[JSON], options: JSON | None = None,
                     expressions: list[JSON] | None = None, overwrite: bool = False, org: str | None = None) -> JSON:
        body: JSON = {"operations": operations}
        if options:
            body["options"] = options
        if expressions:
            body["expressions"] = expressions
        return self.request("PUT", f"/stacks/{self._org(org)}/{_seg(name)}", json_body=body,
                            params={"overwrite": str(overwrite).lower()})

    def delete_stack(self, name: str, org: str | None = None) -> None:
        self.request("DELETE", f"/stacks/{self._org(org)}/{_seg(name)}")

    # --- stats, signing, cache -------------------------------------------------------------------

    def stats(self, from_date: str | None = None, to_date: str | None = None, org: str | None = None) -> JSON:
        params = {k: v for k, v in (("from", from_date), ("to", to_date)) if v}
        return self.request("GET", f"/stats/{self._org(org)}", params=params)

    def sign_url_remote(self, url: str, until: str | None = None, org: str | None = None) -> str:
        """The server signs the URL with the organization's signing key."""
        body = {"url": url, **({"until": until} if until else {})}
        return self.request("POST", f"/utils/{self._org(org)}/sign_url", json_body=body)["signed_url"]

    def purge_stack_cache(self, name: str, org: str | None = None) -> Any:
        return self.request("DELETE", f"/stacks/{self._org(org)}/{_seg(name)}/cache")

    # --- render URLs -----------------------------------------------------------------------------

    def render_url(self, stack: str | list[JSON], hash: str, format: str = "jpg", *, filename: str | None = None,
                   options: JSON | None = None, org: str | None = None, signing_key: str | None = None,
                   until: datetime | str | None = None) -> str:
        """A render URL. `stack` is a stack name, or a list of operations for a dynamic stack
        ([{"name": "resize", "options": {"width": 200}}] -> dynamic/resize-width-200); `options`
        are stack options (o-...). With signing_key the URL is signed as rokka.js does it."""
        stack_part = stack if isinstance(stack, str) else dynamic_stack(stack)
        if options:  # dynamic/ops--options-...; a named stack takes them in its own segment
            sep = "--" if stack_part.startswith("dynamic/") else "/"
            stack_part += f"{sep}options-" + _options_part(options)
        base = self.render_base.replace("{org}", org or self.org or "")
        url = f"{base}/{stack_part}/{hash}" + (f"/{_seg(filename)}" if filename else "") + f".{format}"
        return sign_url(url, signing_key, until) if signing_key else url


def _options_part(options: JSON) -> str:
    return "-".join(f"{k}-{_value(v)}" for k, v in options.items())


def _value(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def dynamic_stack(operations: list[JSON]) -> str:
    """rokka's dynamic stack path: op-opt-value-opt-value--op2..., prefixed with dynamic/."""
    parts = []
    for op in operations:
        opts = op.get("options") or {}
        parts.append("-".join([op["name"], *(f"{k}-{_value(v)}" for k, v in opts.items())]))
    return "dynamic/" + "--".join(parts)
