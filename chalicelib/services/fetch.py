"""Fetching a remote image for upload by URL (`url[0]`), safely.

SSRF protection: only http(s) on ports 80/443 (or explicitly allowed), every address the host
resolves to must be public unless its network is allowed by configuration, the connection goes
to the checked address (no second DNS lookup an attacker could answer differently), and each
redirect is checked again. Size and time are bounded.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from chalicelib.errors import BadRequest
from chalicelib.limits import MAX_REDIRECTS

CHUNK = 64 * 1024


def _allowed(ip: ipaddress._BaseAddress, allowed_networks: list) -> bool:
    if any(ip in net for net in allowed_networks):
        return True
    # is_global excludes private, loopback, link-local (cloud metadata 169.254.169.254),
    # shared, reserved and multicast ranges, for IPv4 and IPv6 alike.
    return ip.is_global and not ip.is_multicast


def resolve_checked(host: str, port: int, allowed_networks: list) -> str:
    """One public address of `host`, or BadRequest; every resolved address must pass."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BadRequest(f"Cannot resolve the host {host!r}.") from None
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not _allowed(ip, allowed_networks):
            raise BadRequest(f"The URL points to a non-public address ({ip}); refused.")
        addresses.append(str(ip))
    if not addresses:
        raise BadRequest(f"Cannot resolve the host {host!r}.")
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a fixed IP, with SNI and certificate checks for the original host name."""

    def __init__(self, ip: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, max_bytes: int, timeout: float, allowed_networks: list) -> tuple[bytes, str]:
    """The body of `url` and a file name for it; BadRequest for anything unsafe or too big."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequest("Only http and https URLs can be imported.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ip = resolve_checked(parts.hostname, port, allowed_networks)
        if port not in (80, 443) and not any(ipaddress.ip_address(ip) in n for n in allowed_networks):
            raise BadRequest("Only the standard ports 80 and 443 can be fetched.")
        remaining = max(0.1, deadline - time.monotonic())
        conn = (_PinnedHTTPSConnection(ip, parts.hostname, port, remaining) if parts.scheme == "https"
                else http.client.HTTPConnection(ip, port, timeout=remaining))
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", path, headers={"Host": parts.netloc, "User-Agent": "rokka-clone-import/1",
                                               "Accept": "image/*"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise BadRequest("The URL redirects without a Location.")
                url = urljoin(url, location)  # checked again on the next round
                continue
            if resp.status != 200:
                raise BadRequest(f"The URL answered {resp.status}.")
            declared = resp.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise BadRequest(f"The remote file is larger than {max_bytes} bytes.")
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise BadRequest("Fetching the URL took too long.")
                chunk = resp.read1(CHUNK)  # returns what has arrived, so the deadline is checked
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise BadRequest(f"The remote file is larger than {max_bytes} bytes.")
            name = parts.path.rstrip("/").rsplit("/", 1)[-1] or "image"
            return bytes(body), name
        except (OSError, http.client.HTTPException) as exc:
            raise BadRequest(f"Fetching the URL failed: {exc.__class__.__name__}") from None
        finally:
            conn.close()
    raise BadRequest("The URL redirects too often.")
