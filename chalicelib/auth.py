"""API keys, roles and the organization permission check."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

from chalicelib.errors import AuthenticationFailed, Forbidden
from chalicelib.models import ApiKey, Membership, User, now_iso
from chalicelib.storage.ports import Storage

_KEY_RE = re.compile(r"^[0-9A-Za-z]{32}([0-9A-Za-z]{32})?$")
_ALPHANUM = string.ascii_letters + string.digits

# Which roles allow which action inside an organization (reference §1.8).
PERMISSIONS: dict[str, frozenset[str]] = {
    "org:read": frozenset({"admin", "write", "read"}),
    "org:write": frozenset({"admin"}),
    "memberships": frozenset({"admin"}),
    "images:read": frozenset({"admin", "write", "read", "sourceimages:read", "sourceimages:write"}),
    "images:upload": frozenset({"admin", "write", "upload", "sourceimages:write"}),
    "images:write": frozenset({"admin", "write", "sourceimages:write"}),
    "stacks:read": frozenset({"admin", "write", "read"}),
    "stacks:write": frozenset({"admin", "write"}),
}

# Holding one of these anywhere denies API-key management (reference §1.6).
READ_ONLY_ROLES = frozenset({"read", "upload", "sourceimages:read"})


def key_digest(api_key: str, pepper: str) -> str:
    """Keys are stored as an HMAC under a server secret: a leaked table reveals no key."""
    return hmac.new(pepper.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def new_api_key(user: User, pepper: str, comment: str | None = None) -> tuple[str, ApiKey]:
    """A 64-character key: 32 lowercase characters from the user id, then a 32-character secret."""
    prefix = user.id.replace("-", "")[:32].lower()
    secret = "".join(secrets.choice(_ALPHANUM) for _ in range(32))
    plain = prefix + secret
    record = ApiKey(id=secrets.token_hex(16), user_id=user.id, digest=key_digest(plain, pepper),
                    created=now_iso(), comment=comment)
    return plain, record


@dataclass
class Principal:
    user: User
    key: ApiKey


def authenticate(storage: Storage, headers: dict, pepper: str) -> Principal:
    """The caller behind the `Api-Key` header, or AuthenticationFailed (403, flat body)."""
    api_key = _header(headers, "api-key")
    if not api_key or not _KEY_RE.match(api_key):
        raise AuthenticationFailed()
    key = storage.users.key_by_digest(key_digest(api_key, pepper))
    user = storage.users.get(key.user_id) if key else None
    if key is None or user is None:
        raise AuthenticationFailed("API key is not valid.")
    return Principal(user=user, key=key)


def membership_for(storage: Storage, principal: Principal, org: str) -> Membership | None:
    m = storage.memberships.get(org, principal.user.id)
    return m if m is not None and m.active else None


def authorize(storage: Storage, principal: Principal, org: str, action: str) -> Membership:
    """The caller's membership in `org` if one of its roles allows `action`; else 403.

    Unknown organizations and organizations the caller is not a member of give the same
    answer, so keys cannot probe which organizations exist.
    """
    m = membership_for(storage, principal, org)
    if m is None or not (set(m.roles) & PERMISSIONS[action]):
        raise Forbidden(f"Not allowed to access organization {org}.")
    return m


def _header(headers: dict, name: str) -> str | None:
    for k, v in headers.items():
        if k.lower() == name:
            return v.strip() if isinstance(v, str) else v
    return None
