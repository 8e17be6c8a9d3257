"""JWTs for the API: GET /user/apikeys/token (reference §1.4).

A token carries the rights of the API key that issued it (claim `kid`), is IP-bound by default
(`ips`), and may be renewable (`rn`). Renewing with a token cannot widen it: not for longer than
its lifetime (`expt`), not from addresses outside its networks, not without IP protection.
"""
from __future__ import annotations

import ipaddress
import time


from chalicelib import auth
from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.limits import MAX_EXPIRES_IN, MAX_IPS, MAX_ADDRESSES

DEFAULT_EXPIRES_IN = 86400
REQUEST_IP = "request_ip"


def _bool(query: dict, name: str) -> bool | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    low = str(raw).strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name} must be true or false")


def _expires_in(query: dict) -> int:
    raw = query.get("expires_in")
    if raw in (None, ""):
        return DEFAULT_EXPIRES_IN
    try:
        value = int(str(raw))
    except ValueError:
        raise BadRequest("expires_in must be a number of seconds") from None
    if not 1 <= value <= MAX_EXPIRES_IN:
        raise BadRequest(f"expires_in must be between 1 and {MAX_EXPIRES_IN} seconds")
    return value


def _networks(entries: list[str], source_ip: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if len(entries) > MAX_IPS:
        raise BadRequest(f"ips takes at most {MAX_IPS} entries")
    networks = []
    for entry in entries:
        if entry == REQUEST_IP:
            if not source_ip:
                raise BadRequest("The request IP is unknown; list the allowed IPs explicitly.")
            entry = source_ip
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise BadRequest(f"ips: {entry!r} is not an IP address or network") from None
    if sum(n.num_addresses for n in networks) > MAX_ADDRESSES:
        raise BadRequest(f"ips may cover at most {MAX_ADDRESSES} addresses in total")
    return networks


def _text(network) -> str:
    """A single address as itself ("1.2.3.4"), a network in CIDR form."""
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _within(network, allowed: list[str]) -> bool:
    for entry in allowed:
        try:
            outer = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue
        if network.version == outer.version and network.subnet_of(outer):
            return True
    return False


class ApiTokens:
    def __init__(self, secret: str, clock=time.time):
        self.secret = secret
        self.clock = clock

    def issue(self, p: Principal, query: dict) -> dict:
        expires_in = _expires_in(query)
        no_ip_protection = bool(_bool(query, "no_ip_protection"))
        renewable = _bool(query, "renewable")
        entries = [e.strip() for e in str(query.get("ips") or "").split(",") if e.strip()]
        if no_ip_protection and entries:
            raise BadRequest("no_ip_protection and ips cannot be combined.")
        networks = [] if no_ip_protection else _networks(entries or [REQUEST_IP], p.source_ip)
        if renewable is None:
            renewable = not no_ip_protection
        if p.token is not None:
            self._check_renewal(p.token, expires_in, networks)
        now = int(self.clock())
        payload = {
            "id": p.user.id, "sub": p.user.id, auth.KEY_CLAIM: p.key.id,
            "iat": now, "exp": now + expires_in, "expt": expires_in,
            "ips": [_text(n) for n in networks], "rn": renewable,
        }
        import jwt  # lazily: cold starts of the other routes do not need it

        token = jwt.encode(payload, self.secret, algorithm=auth.TOKEN_ALGORITHM)
        return {"token": token, "payload": payload}

    @staticmethod
    def _check_renewal(claims: dict, expires_in: int, networks: list) -> None:
        """A token may only renew itself into a token that is no wider than itself (403 otherwise)."""
        if not claims.get("rn"):
            raise Forbidden("This token is not renewable.")
        if expires_in > int(claims.get("expt") or 0):
            raise Forbidden(f"A token cannot be renewed for longer than its own lifetime "
                            f"({claims.get('expt')} seconds).")
        allowed = claims.get("ips") or []
        if allowed and not networks:
            raise Forbidden("An IP-protected token cannot be renewed without IP protection.")
        if allowed and not all(_within(n, allowed) for n in networks):
            raise Forbidden("A token cannot be renewed for IPs outside its own.")
