"""Stacks: create/overwrite, read, list, delete (reference §3)."""
from __future__ import annotations

import re

from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.models import Stack, now_iso
from chalicelib.render import stackdef
from chalicelib.services.cache import RenderCache
from chalicelib.storage.ports import Storage
from chalicelib.limits import MAX_PAGE_NUMBER

STACK_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


def page_number(raw, default: int) -> int:
    """limit/offset of GET /stacks: ASCII digits (anything else means the default), capped so
    that no value overflows the storage's integers."""
    raw = str(raw if raw is not None else "")
    if not (raw.isascii() and raw.isdigit()):
        return default
    return MAX_PAGE_NUMBER if len(raw) > 10 else min(int(raw), MAX_PAGE_NUMBER)


def validate_stack_name(name: str) -> str:
    if not STACK_NAME_RE.match(name or ""):
        raise BadRequest("Stack names are 1-100 characters of a-z, A-Z, 0-9, '-' and '_'.")
    if name == "dynamic" or (name.startswith("_") and not name.startswith("_preview")):
        raise BadRequest(f"The stack name {name!r} is reserved.")
    return name


class Stacks:
    def __init__(self, storage: Storage, cache: RenderCache, max_operations: int):
        self.storage = storage
        self.cache = cache
        self.max_operations = max_operations

    def put(self, p: Principal, org: str, name: str, body, overwrite: bool) -> tuple[int, dict]:
        auth.authorize(self.storage, p, org, "stacks:write")
        validate_stack_name(name)
        defn = stackdef.validate(stackdef.normalize(body), self.max_operations)
        stack = Stack(organization=org, name=name, created=now_iso(), operations=defn.operations,
                      options=defn.options, expressions=defn.expressions, variables=defn.variables,
                      description=defn.description)
        if not overwrite:
            try:
                self.storage.stacks.create(stack)
            except Conflict:
                raise Conflict(f"Stack {name} already exists; use overwrite=true to replace it.") from None
            return 201, _created_view(stack)
        existing = self.storage.stacks.get(org, name)
        if existing is not None and existing.options.get("protected") and not stack.options.get("protected"):
            raise BadRequest("A protected stack cannot be overwritten by an unprotected one.")
        self.storage.stacks.save(stack)
        self.cache.invalidate_stack(org, name)
        return (200 if existing else 201), _created_view(stack)

    def get(self, p: Principal, org: str, name: str) -> dict:
        auth.authorize(self.storage, p, org, "stacks:read")
        stack = self.storage.stacks.get(org, name)
        if stack is None:
            raise NotFound(f"Stack {name} not found.")
        return stack.to_api()

    def list(self, p: Principal, org: str, limit: int, offset: int) -> dict:
        auth.authorize(self.storage, p, org, "stacks:read")
        stacks = self.storage.stacks.list(org, limit, offset)
        out = {"items": [s.to_api() for s in stacks]}
        if len(stacks) == limit:
            out["cursor"] = str(offset + limit)
        return out

    def delete(self, p: Principal, org: str, name: str) -> None:
        auth.authorize(self.storage, p, org, "stacks:write")
        if not self.storage.stacks.delete(org, name):
            raise NotFound(f"Stack {name} not found.")
        self.cache.invalidate_stack(org, name)


def _created_view(stack: Stack) -> dict:
    out = stack.to_api()
    out.pop("link")
    return out
