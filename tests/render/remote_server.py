"""A loopback HTTP server for remote-image tests that counts the requests per path."""
from __future__ import annotations

import collections
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import image_bytes


class CountingServer:
    """Serves generated images under /imgs/...; `hits[path]` counts GETs (query included)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.files = {
            "/imgs/photo.png": image_bytes("PNG", size=(200, 100), seed=3),
            "/imgs/sub/other-img.jpg": image_bytes("JPEG", size=(120, 60), seed=9),
            "/imgs/not-an-image.png": b"this is text, not a picture",
        }
        self.hits: collections.Counter = collections.Counter()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits[self.path] += 1
                body = outer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                body = body if body is not None else b"missing"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.base = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
