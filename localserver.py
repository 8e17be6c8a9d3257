"""One local process serving the management API and render URLs on the embedded storage.

    API:     http://127.0.0.1:8000/...                 (through Chalice's local gateway)
    Render:  http://127.0.0.1:8000/render/{org}/...    and    http://{org}.localhost:8000/...

HOST, PORT and DATA_DIR override the defaults. Threaded; one log line per request.
"""
from __future__ import annotations

import base64
import json
import logging
import logging.handlers
import os
import queue
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException

from chalicelib.errors import BadRequest, NotFound, RokkaError, http_error
from chalicelib.function_url_events import copy_as_post

log = logging.getLogger("rokka.server")
ORG_HOST_RE = re.compile(r"^([a-z0-9][a-z0-9-]{0,62})\.localhost(?::\d+)?$", re.IGNORECASE)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def read_chunked(rfile) -> bytes:
    """A `Transfer-Encoding: chunked` request body (requests sends one for a generator body).

    Left unread, the chunks were parsed as the connection's next request, and its 400 page was
    read by the client as the answer to its next request on that keep-alive connection."""
    parts = []
    while size := int(rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16):
        parts.append(rfile.read(size))
        rfile.readline()  # the CRLF after the chunk
    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
        pass  # trailer fields
    return b"".join(parts)


def _error(err: RokkaError) -> tuple[int, dict, bytes]:
    status, body = http_error(err)
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def make_handler(chalice_app, renderer):
    # Chalice keeps the current request on the app object; LocalChalice makes it per thread.
    chalice_app.__class__ = LocalChalice
    gateway = LocalGateway(chalice_app, Config.create(chalice_stage="dev", lambda_timeout=300))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "rokka-local"
        # Headers and body go out in two writes: with Nagle on, every keep-alive request waited
        # ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def _handle(self):
            started = time.perf_counter()
            body, render_path = self._body(), self._render_path()
            if body is False:
                # Where this body ends is unknown, so nothing after it on the connection is read.
                self.close_connection = True
                status, headers, payload = _error(BadRequest("Invalid Content-Length header"))
            elif render_path is not None:
                status, headers, payload = self._render(render_path)
            else:
                status, headers, payload = self._api(body)
            self._send(status, headers, payload)
            log.info('%s "%s %s" %d %d %.1fms', self.client_address[0], self.command, self.path,
                     status, len(payload or b""), (time.perf_counter() - started) * 1000)

        def _body(self) -> bytes | None | bool:
            """The request body, None without one, False for a Content-Length that is no length
            (read(-1) waited for the client to close its connection)."""
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                return read_chunked(self.rfile) or None
            declared = (self.headers.get("content-length") or "0").strip()
            if not declared.isdigit():
                return False
            return self.rfile.read(int(declared)) if int(declared) else None

        def _render_path(self) -> str | None:
            host = ORG_HOST_RE.match(self.headers.get("host", ""))
            path = urlsplit(self.path).path
            if host:
                return f"/{host.group(1).lower()}{path}"
            if path.startswith("/render/"):
                return path[len("/render"):]
            return None

        def _render(self, path: str):
            if self.command not in ("GET", "HEAD"):
                return _error(RokkaError("Method not allowed", 405))
            result = renderer().handle(path, urlsplit(self.path).query, dict(self.headers))
            return result.status, result.headers, result.body

        def _api(self, body):
            headers = {k: v for k, v in self.headers.items()}
            method, path = self.command, self.path
            # API Gateway cannot route WebDAV's COPY; it maps onto POST .../copy (as on AWS's function URL).
            method, path = copy_as_post(method, path)
            # Browsers, curl and fetch send Accept; without one Chalice refuses binary downloads.
            headers.setdefault("Accept", "*/*")
            try:
                response = gateway.handle_request(method=method, path=path, headers=headers, body=body)
            except LocalGatewayException:
                # API Gateway says 403 "Missing Authentication Token" for unknown paths; locally
                # a plain 404 in rokka's error format is clearer.
                return _error(NotFound("Not found"))

            out_headers = dict(response.get("headers") or {})
            for name, values in (response.get("multiValueHeaders") or {}).items():
                out_headers[name] = ", ".join(values)
            payload = response.get("body")
            if response.get("isBase64Encoded"):
                payload = base64.b64decode(payload)
            elif isinstance(payload, str):
                payload = payload.encode("utf-8")
            return response["statusCode"], out_headers, payload

        def _send(self, status: int, headers: dict, payload: bytes | None):
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            payload = payload or b""
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and status not in (204, 304):
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_COPY = _handle

        def log_message(self, format, *args):  # noqa: A002 - one line per request is logged in _handle
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: more clients connecting at once got resets.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # socketserver prints the traceback to stderr from the request thread; the queued log
        # never blocks it.
        log.exception("request from %s failed", client_address[0])


def retention_loop(services, interval: float = 24 * 3600) -> None:
    """What the deployed stack's daily purge_deleted Lambda does, for the local process."""
    while True:
        try:
            purged = services().retention.purge()
            if purged:
                log.info("purged %d image(s) deleted more than 30 days ago", purged)
        except Exception:  # noqa: BLE001 - a failed run is retried the next day
            log.exception("purging deleted images failed")
        time.sleep(interval)


def create_server(host: str, port: int) -> Server:
    from app import app
    from chalicelib.bootstrap import services

    services()  # fail fast on bad configuration, and create the data directory
    threading.Thread(target=retention_loop, args=(services,), daemon=True, name="retention").start()
    return Server((host, port), make_handler(app, lambda: services().renderer))


def log_off_the_request_path(stream=sys.stdout) -> logging.handlers.QueueListener:
    """Request threads only queue their log records; one thread writes them to `stream`.

    Each request is logged after its response went out. Written from the request thread, a log
    line blocks when stdout is a pipe nobody reads any more (a full pipe buffer): that thread,
    and every other one behind the handler's lock, stops, and the next request on each of their
    keep-alive connections is never answered. Now a stalled log consumer only delays the log."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    records: queue.SimpleQueue = queue.SimpleQueue()
    queued = logging.handlers.QueueHandler(records)
    queued.setFormatter(logging.Formatter("%(message)s"))  # the writer adds the time
    logging.basicConfig(level=logging.INFO, handlers=[queued])
    listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    return listener


def main() -> int:
    listener = log_off_the_request_path()
    logging.getLogger("botocore").setLevel(logging.WARNING)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    server = create_server(host, port)
    print(f"rokka clone on http://{host}:{server.server_address[1]}/ "
          f"(renders: /render/{{org}}/... and http://{{org}}.localhost:{server.server_address[1]}/...), "
          f"data in {os.path.abspath(os.environ.get('DATA_DIR') or '.data')}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        server.server_close()
        listener.stop()  # writes what is still queued
    return 0


if __name__ == "__main__":
    sys.exit(main())
