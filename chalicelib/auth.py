"""API keys, roles and the organization permission check."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import string
from dataclasses import dataclass


from chalicelib.errors import AuthenticationFailed, Forbidden, InvalidToken
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
    # Lock and unlock images (reference §2.4): not even write may unlock.
    "images:lock": frozenset({"admin", "sourceimages:unlock"}),
    # Download the original of a protected image, on top of images:read: sourceimages:read and
    # sourceimages:write need the explicit sourceimages:download:protected role, other roles do not.
    "images:download_protected": frozenset({"admin", "write", "read", "sourceimages:download:protected"}),
    # GET /billing/{org}: admin and write see billing (reference §1.8), billing:read sees only that.
    "billing:read": frozenset({"admin", "write", "billing:read"}),
}

# Holding one of these anywhere denies API-key management (reference §1.6).
READ_ONLY_ROLES = frozenset({"read", "upload", "sourceimages:read"})

# JWTs (reference §1.4) are HS256 under a server secret. The key claim ties a token to the API
# key that issued it, so deleting the key revokes its tokens.
TOKEN_ALGORITHM = "HS256"
KEY_CLAIM = "kid"


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
    key: ApiKey  # the API key used, or the one that issued the token
    token: dict | None = None  # the verified JWT claims when a token authenticated the call
    source_ip: str | None = None


def authenticate(storage: Storage, headers: dict, pepper: str, source_ip: str | None = None,
                 jwt_secret: str | None = None) -> Principal:
    """The caller behind the `Api-Key` header or, without one, an `Authorization: Bearer` JWT.

    A missing or bad API key is AuthenticationFailed (403, flat body); a bad, expired or
    IP-mismatched token is InvalidToken (401). The API key wins when both are sent, as in the
    PHP client.
    """
    api_key = _header(headers, "api-key")
    if not api_key:
        token = _bearer(headers)
        if token is None:
            raise AuthenticationFailed()
        return _token_principal(storage, token, jwt_secret, source_ip)
    if not _KEY_RE.match(api_key):
        raise AuthenticationFailed()
    key = storage.users.key_by_digest(key_digest(api_key, pepper))
    user = storage.users.get(key.user_id) if key else None
    if key is None or user is None:
        # The same body as for a malformed key (reference §1.3, rokka-go's GetInvalidAPIKey fixture).
        raise AuthenticationFailed()
    return Principal(user=user, key=key, source_ip=source_ip)


def _bearer(headers: dict) -> str | None:
    scheme, _, token = (_header(headers, "authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _token_principal(storage: Storage, token: str, secret: str | None, source_ip: str | None) -> Principal:
    if not token or not secret:
        raise InvalidToken("The token is not valid.")
    import jwt  # only token requests pay for PyJWT (and the crypto it may load) at cold start

    try:
        claims = jwt.decode(token, secret, algorithms=[TOKEN_ALGORITHM],
                            options={"require": ["exp", "sub", "expt", KEY_CLAIM]})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("The token has expired.") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("The token is not valid.") from None
    ips = claims.get("ips") or []
    if ips and not ip_allowed(source_ip, ips):
        raise InvalidToken("The token is not valid from this IP address.")
    user = storage.users.get(claims["sub"])
    key = next((k for k in storage.users.keys(user.id) if k.id == claims[KEY_CLAIM]), None) if user else None
    if key is None:
        raise InvalidToken("The API key that issued this token no longer exists.")
    return Principal(user=user, key=key, token=claims, source_ip=source_ip)


def ip_allowed(ip: str | None, networks: list[str]) -> bool:
    """Whether `ip` lies in one of `networks` (addresses or CIDRs)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except (TypeError, ValueError):
            continue
    return False


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
