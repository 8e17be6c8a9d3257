"""The local server process (threads, request log, host routing, Ctrl-C) and manage.py."""
import io
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from PIL import Image

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
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
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
