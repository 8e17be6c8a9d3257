"""Upload by URL (url[0]) and its SSRF protection: private targets, DNS, redirects, size, time."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chalicelib import bootstrap
from tests.conftest import image_bytes, json_of

IMAGE = image_bytes("PNG", size=(33, 22))


def serve(host: str, target_for_redirect: str = ""):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/img.png"):
                self._send(200, IMAGE)
            elif self.path == "/redirect-private":
                self.send_response(302)
                self.send_header("Location", target_for_redirect)
                self.end_headers()
            elif self.path == "/redirect-same":
                self.send_response(301)
                self.send_header("Location", "/img.png")
                self.end_headers()
            elif self.path == "/corrupt.png":  # valid IHDR, garbage pixel data
                from tests.reliability.hostile import corrupt
                self._send(200, corrupt()["png-garbage-idat"])
            elif self.path == "/big":
                self._send(200, b"\0" * 200_000)
            elif self.path == "/slow":
                self.send_response(200)
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self._send(404, b"no")

        def _send(self, status, body):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def remote():
    """An image server on 127.0.0.2 whose /redirect-private sends clients to 127.0.0.1."""
    inner = serve("127.0.0.1")
    outer = serve("127.0.0.2", f"http://127.0.0.1:{inner.server_address[1]}/img.png")
    yield f"http://127.0.0.2:{outer.server_address[1]}"
    outer.shutdown()
    inner.shutdown()


def upload_url(api, url, fields=None):
    return api.upload("acme", [], {"url[0]": url, **(fields or {})})


def allow(monkeypatch, networks, **extra):
    monkeypatch.setenv("FETCH_ALLOWED_NETWORKS", networks)
    for k, v in extra.items():
        monkeypatch.setenv(k, v)
    bootstrap.reset()


def test_import_from_an_allowed_network_with_metadata(api, remote, monkeypatch):
    allow(monkeypatch, "127.0.0.2/32")
    r = upload_url(api, f"{remote}/img.png?x=1", {"meta_user[0]": json.dumps({"source": "web"})})
    assert r.status_code == 200, r.body
    item = json_of(r)["items"][0]
    assert (item["width"], item["height"], item["name"], item["format"]) == (33, 22, "img.png", "png")
    assert item["user_metadata"] == {"source": "web"}
    assert api.call("GET", f"/sourceimages/acme/{item['hash']}/download").body == IMAGE
    # A redirect within the allowed network is followed.
    assert upload_url(api, f"{remote}/redirect-same").status_code == 200


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/img.png", "http://localhost/img.png", "http://10.1.2.3/", "http://192.168.1.1/",
    "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/",
    "file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/", "http:///nohost",
])
def test_private_and_odd_targets_are_refused_by_default(api, url):
    r = upload_url(api, url)
    assert r.status_code == 400, url
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 0


def test_dns_names_resolving_to_private_addresses_are_refused(api, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "images.evil.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 80)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    r = upload_url(api, "http://images.evil.example/a.png")
    assert r.status_code == 400 and "non-public" in json_of(r)["error"]["message"]


def test_redirects_are_checked_again(api, remote, monkeypatch):
    allow(monkeypatch, "127.0.0.2/32")
    r = upload_url(api, f"{remote}/redirect-private")
    assert r.status_code == 400 and "127.0.0.1" in json_of(r)["error"]["message"]


def test_size_and_time_limits(api, remote, monkeypatch):
    allow(monkeypatch, "127.0.0.2/32", MAX_UPLOAD_BYTES="100000", FETCH_TIMEOUT_SECONDS="1")
    r = upload_url(api, f"{remote}/big")
    assert r.status_code == 400 and "larger than" in json_of(r)["error"]["message"]
    started = time.monotonic()
    r = upload_url(api, f"{remote}/slow")
    assert r.status_code == 400 and time.monotonic() - started < 4


def test_a_remote_file_that_is_not_an_image_is_400(api, remote, monkeypatch):
    allow(monkeypatch, "127.0.0.2/32")
    assert upload_url(api, f"{remote}/missing").status_code == 400
    r = upload_url(api, f"{remote}/corrupt.png")
    assert r.status_code == 400 and "corrupt" in json_of(r)["error"]["message"]
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 0
