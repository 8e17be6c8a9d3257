"""The local server process (threads, request log, host routing, Ctrl-C) and manage.py."""
import fcntl
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.conftest import image_bytes
from tests.servers import start_local_server

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path):
    proc, base, port = start_local_server(tmp_path / "data")
    yield proc, base, port
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_serves_api_and_both_render_url_forms_and_logs_each_request(server):
    proc, base, port = server
    key = requests.post(base + "/users", data='{"email": "a@example.com", "organization": "demo"}').json()["api_key"]
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 128, 0)).save(buf, "JPEG")
    item = requests.post(base + "/sourceimages/demo", headers={"Api-Key": key},
                         files={"filedata": ("g.jpg", buf.getvalue())}).json()["items"][0]
    r = requests.get(f"{base}/render/demo/dynamic/resize-width-30/{item['short_hash']}.png")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (30, 20)
    # The {org}.localhost host form, sent with an explicit Host header (no DNS needed).
    r = requests.get(f"{base}/dynamic/resize-width-60/{item['hash']}/seo.jpg",
                     headers={"Host": f"demo.localhost:{port}"})
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (60, 40)
    assert requests.get(base + "/no/such/route").status_code == 404
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    out = proc.log_path.read_text()
    assert '"POST /users" 200' in out and '"GET /render/demo/dynamic/resize-width-30/' in out
    assert '"GET /dynamic/resize-width-60/' in out


def test_answers_several_requests_at_once(server):
    _, base, _ = server
    results = []

    def hit():
        results.append(requests.get(base + "/operations", timeout=10).status_code)

    threads = [threading.Thread(target=hit) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 16


def test_keep_alive_uploads_are_answered_while_nobody_reads_the_log(tmp_path):
    """Parallel keep-alive sessions, two passes like two bulk runs, with the server's stdout a
    small pipe that is never read. The log used to be written from the request thread after the
    response: once the pipe was full, that thread never read the next request on its connection."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)  # full after ~40 log lines
    try:
        proc, base, _ = start_local_server(tmp_path / "data", stdout=write_end)
    finally:
        os.close(write_end)
    try:
        key = requests.post(base + "/users", json={"email": "k@example.com", "organization": "demo"},
                            timeout=5).json()["api_key"]
        images = [image_bytes("PNG", size=(8, 8), seed=i) for i in range(24)]
        errors = []

        def worker(mine):
            with requests.Session() as session:
                session.headers["Api-Key"] = key
                for _pass in range(2):
                    for data in mine:
                        try:
                            found = session.get(base + "/sourceimages/demo", timeout=3,
                                                params={"binaryHash": hashlib.sha1(data).hexdigest()})
                            if not found.json()["items"]:
                                up = session.post(base + "/sourceimages/demo", timeout=3,
                                                  files={"filedata": ("i.png", data)})
                                assert up.status_code == 200, up.text
                        except Exception as exc:  # noqa: BLE001 - collected, asserted below
                            errors.append(repr(exc))
                            return

        threads = [threading.Thread(target=worker, args=(images[i::6],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        # The log was not lost, only delayed: reading the pipe lets the server write it.
        proc.send_signal(signal.SIGINT)
        out = b""
        while chunk := os.read(read_end, 1 << 16):
            out += chunk
        assert proc.wait(timeout=10) == 0
        assert out.count(b'"POST /sourceimages/demo" 200') == 24
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(read_end)


def test_a_chunked_request_body_is_read_and_the_connection_stays_usable(server):
    _, base, _ = server

    def body():  # a generator body: requests sends it with Transfer-Encoding: chunked
        yield b'{"email": "chunked@example.com", '
        yield b'"organization": "chunky"}'

    with requests.Session() as session:
        r = session.post(base + "/users", data=body(), timeout=5)
        assert r.status_code == 200, r.text
        assert r.json()["email"] == "chunked@example.com"
        # The next request on the same keep-alive connection gets its own answer.
        r = session.get(base + "/user", headers={"Api-Key": r.json()["api_key"]}, timeout=5)
        assert r.status_code == 200 and r.json()["email"] == "chunked@example.com"


@pytest.mark.parametrize("declared", ["-1", "abc"])
def test_a_request_with_an_invalid_content_length_is_answered_400(server, declared):
    _, _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n{{}}".encode())
        answer = sock.makefile("rb").read()  # the server closes the connection after it
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"Connection: close" in head
    assert json.loads(body)["error"]["code"] == 400


def test_start_local_server_never_gives_the_server_a_pipe(tmp_path):
    with pytest.raises(ValueError):
        start_local_server(tmp_path / "data", stdout=subprocess.PIPE)


def test_manage_create_org_prints_a_working_admin_key(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "manage.py", "create-org", "viacli", "--email", "ops@example.com"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    created = json.loads(out)
    assert created["organization"] == "viacli" and len(created["api_key"]) == 64
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr

    os.environ["DATA_DIR"] = str(tmp_path / "data")
    try:
        from chalicelib import auth, bootstrap
        bootstrap.reset()
        svc = bootstrap.services()
        p = auth.authenticate(svc.storage, {"Api-Key": created["api_key"]}, svc.settings.key_pepper)
        assert svc.storage.memberships.get("viacli", p.user.id).roles == ["admin"]
    finally:
        del os.environ["DATA_DIR"]
        bootstrap.reset()
