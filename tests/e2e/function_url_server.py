"""A stand-in for the API's Lambda function URL, for tests: each HTTP request becomes a payload 2.0
event (as Lambda builds it, any method, COPY included) and is answered by calling the deployed
entry point `app.handler` (infra/merge.yaml's APIHandler Handler), one request at a time as one
Lambda instance does. PORT selects the port; storage comes from the environment (STORAGE=aws
plus AWS_ENDPOINT_URL for moto).
"""
from __future__ import annotations

import base64
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import handler  # noqa: E402

LAMBDA = threading.Lock()  # one request at a time, as in one Lambda instance
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")


def event_for(method: str, target: str, headers, body: bytes, client_ip: str) -> dict:
    split = urlsplit(target)
    lower = {}
    for name, value in headers.items():  # Lambda joins repeated headers with commas
        key = name.lower()
        lower[key] = f"{lower[key]},{value}" if key in lower else value
    cookies = [c.strip() for c in lower.pop("cookie", "").split(";") if c.strip()]
    ctype = lower.get("content-type", "")
    binary = bool(body) and not ctype.startswith(TEXT_TYPES)
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": split.path, "rawQueryString": split.query,
        "headers": lower, "isBase64Encoded": binary,
        "requestContext": {"accountId": "anonymous", "apiId": "loopback", "domainName": lower.get("host", ""),
                           "http": {"method": method, "path": split.path, "protocol": "HTTP/1.1",
                                    "sourceIp": client_ip, "userAgent": lower.get("user-agent", "")},
                           "requestId": f"req-{time.monotonic_ns()}", "routeKey": "$default", "stage": "$default",
                           "timeEpoch": int(time.time() * 1000)},
    }
    if cookies:
        event["cookies"] = cookies
    if body:
        event["body"] = base64.b64encode(body).decode("ascii") if binary else body.decode("utf-8")
    return event


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        with LAMBDA:
            result = handler(event_for(self.command, self.path, self.headers, body, self.client_address[0]), None)
        payload = result.get("body") or ""
        payload = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        self.send_response(result["statusCode"])
        for name, value in (result.get("headers") or {}).items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for cookie in result.get("cookies") or []:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_COPY = _handle

    def log_message(self, format, *args):  # noqa: A002
        sys.stderr.write("%s %s\n" % (self.command, self.path))


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
