"""Organization options (reference §1.7): PUT /organizations/{org}/options[/{name}], admins only.

Every option is validated before any is stored; `null` removes an option. Turning
protect_dynamic_stack on or off drops the org's cached dynamic renders, which were stored
unsigned and would otherwise still be served; changing render_org_fallback drops the renders
made from the old fallback organization's images. Every option here works: remote_* in
services/remote_images.py, render_org_fallback and protect_dynamic_stack in services/render.py.
"""
from __future__ import annotations

import re

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, NotFound
from chalicelib.services.cache import RenderCache
from chalicelib.storage.ports import Storage
from chalicelib.limits import MAX_WHITELIST



def _bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"Option {name} must be true or false.")
    return value


def _basepath(name: str, value) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise BadRequest(f"Option {name} must be a URL starting with http:// or https://.")
    return value


def _regex_list(name: str, value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_WHITELIST or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"Option {name} must be a list of at most {MAX_WHITELIST} regular expressions.")
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise BadRequest(f"Option {name}: {pattern!r} is not a valid regular expression ({exc}).") from None
    return value


VALIDATORS = {
    "remote_basepath": _basepath,
    "remote_fullurl_allow": _bool,
    "remote_fullurl_whitelist": _regex_list,
    "protect_dynamic_stack": _bool,
    # render_org_fallback needs the caller and is checked in OrgOptions._validate.
}
OPTION_NAMES = (*VALIDATORS, "render_org_fallback")


class OrgOptions:
    def __init__(self, storage: Storage, cache: RenderCache):
        self.storage = storage
        self.cache = cache

    def set_many(self, p: Principal, org: str, options: dict) -> dict:
        return self._apply(p, org, options)

    def set_one(self, p: Principal, org: str, name: str, value) -> dict:
        return self._apply(p, org, {name: value})

    def _apply(self, p: Principal, org_name: str, changes: dict) -> dict:
        auth.authorize(self.storage, p, org_name, "org:write")
        org = self.storage.organizations.get(org_name)
        if org is None:
            raise NotFound(f"Organization {org_name} not found.")
        validated = {name: self._validate(p, org_name, name, value) for name, value in changes.items()}
        was_protected = bool(org.options.get("protect_dynamic_stack"))
        old_fallback = org.options.get("render_org_fallback")
        options = dict(org.options)
        for name, value in validated.items():
            if value is None:
                options.pop(name, None)
            else:
                options[name] = value
        org.options = options
        self.storage.organizations.update(org)
        if bool(options.get("protect_dynamic_stack")) != was_protected:
            self.cache.invalidate_dynamic(org_name)
        if options.get("render_org_fallback") != old_fallback:
            self.cache.invalidate_fallback(org_name)  # cached renders of the old fallback's images
        return org.to_api()

    def _validate(self, p: Principal, org: str, name: str, value):
        if name not in OPTION_NAMES:
            raise BadRequest(f"Unknown organization option {name!r}. Valid options: {', '.join(OPTION_NAMES)}.")
        if value is None:
            return None
        if name != "render_org_fallback":
            return VALIDATORS[name](name, value)
        if not isinstance(value, str) or not value:
            raise BadRequest("Option render_org_fallback must be an organization name.")
        if value == org:
            raise BadRequest("An organization cannot be its own render_org_fallback.")
        # Admin of both: the fallback org's images become renderable through this org.
        auth.authorize(self.storage, p, value, "org:write")
        if self.storage.organizations.get(value) is None:
            raise NotFound(f"Organization {value} not found.")
        return value
