"""End to end: the official rokka.js client (tests/e2e/flow.mjs) against the real local server over HTTP.

The module starts localserver.py on a free port with a fresh DATA_DIR, generates the source image with
Pillow, runs rokka's "upload an image" guide flow once through `node flow.mjs` and then checks the JSON
summary and the rendered files. Node and tests/e2e/node_modules are required (`make test` installs them):
when they are missing the tests fail, they do not skip.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw, features

E2E = Path(__file__).resolve().parent
ROOT = E2E.parent.parent
FLOW = E2E / "flow.mjs"

SOURCE_SIZE = (640, 480)
# The subject area set as dynamic metadata at upload (flow.mjs), painted solid red in the source.
SUBJECT = (440, 280, 120, 120)
RED = (255, 0, 0)
META_USER = {"title": "E2E sample", "int:views": 3, "array:tags": ["e2e", "rokka"], "draft": "yes"}
META_AFTER_ADD = {"title": "E2E sample", "int:views": 4, "array:tags": ["e2e", "rokka"], "photographer": "Jane Doe"}

SERVER_START_TIMEOUT = 20
FLOW_TIMEOUT = 60


@dataclass
class Flow:
    summary: dict
    work: Path
    source: bytes
    server_log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no server log>"


def make_source() -> bytes:
    """A photo-like PNG (gradients plus noise, so JPEG quality matters) with a red subject square."""
    rnd = random.Random(20240601)
    w, h = SOURCE_SIZE
    grad = Image.linear_gradient("L").resize(SOURCE_SIZE)
    noise = Image.frombytes("L", SOURCE_SIZE, rnd.randbytes(w * h))
    mixed = Image.blend(grad.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.5)
    img = Image.merge("RGB", (grad, mixed, noise))
    x, y, sw, sh = SUBJECT
    ImageDraw.Draw(img).rectangle((x, y, x + sw - 1, y + sh - 1), fill=RED)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed or not on PATH: the rokka.js end-to-end test needs Node.js "
                    "(v18+). Install it, then run `make test`.", pytrace=False)
    pkg = E2E / "node_modules" / "rokka" / "package.json"
    if not pkg.is_file():
        pytest.fail(f"{pkg} is missing: run `make install` or `cd tests/e2e && npm ci` "
                    "(`make test` does this).", pytrace=False)
    wanted = json.loads((E2E / "package.json").read_text())["dependencies"]["rokka"]
    installed = json.loads(pkg.read_text())["version"]
    if installed != wanted:
        pytest.fail(f"tests/e2e/node_modules has rokka {installed}, package.json pins {wanted}: "
                    "run `cd tests/e2e && npm ci`.", pytrace=False)
    return node


def wait_until_up(proc, url: str, log_path: Path, name: str) -> None:
    """Until GET {url}/operations answers 200; fails the test if the process exits or times out."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode} before answering:\n{tail(log_path)}", pytrace=False)
        try:
            if requests.get(f"{url}/operations", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer on {url} within {SERVER_START_TIMEOUT}s:\n{tail(log_path)}",
                        pytrace=False)
        time.sleep(0.1)


@pytest.fixture(scope="module", params=["local", "aws"])
def server(request, tmp_path_factory):
    """localserver.py on a free port with empty storage; always stopped afterwards.

    "local" is the embedded default (files + SQLite); "aws" is STORAGE=aws against a moto
    server, with the tables and buckets created by the dev switch AWS_CREATE_RESOURCES.
    """
    base_dir = tmp_path_factory.mktemp("rokka-e2e-server")
    log_path = base_dir / "server.log"
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(base_dir / "data"), "HOST": "127.0.0.1", "PORT": str(port),
           "STORAGE": request.param, "ALLOW_SIGNUP": "true", "PYTHONUNBUFFERED": "1",
           # flow_management.mjs imports one of the server's own renders by URL.
           "FETCH_ALLOWED_NETWORKS": "127.0.0.0/8"}
    if request.param == "aws":
        request.getfixturevalue("moto_endpoint")  # sets AWS_ENDPOINT_URL and credentials in os.environ
        run = base_dir.name.lower().replace("_", "-")[-12:]
        env = {**os.environ, **env, "AWS_CREATE_RESOURCES": "true", "TABLE_PREFIX": f"e2e-{run}-",
               "SOURCES_BUCKET": f"e2e-{run}-sources", "RENDERS_BUCKET": f"e2e-{run}-renders"}
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "localserver.py"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until_up(proc, url, log_path, "localserver.py")
        yield url, log_path
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="module")
def flow(server, tmp_path_factory) -> Flow:
    """Runs flow.mjs once against the server; every test below checks one part of its outcome."""
    node = require_node()
    url, log_path = server
    work = tmp_path_factory.mktemp("rokka-e2e-work")
    source = make_source()
    (work / "source.png").write_bytes(source)
    try:
        done = subprocess.run([node, str(FLOW), url, str(work)], cwd=E2E, capture_output=True, text=True,
                              timeout=FLOW_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"node flow.mjs did not finish within {FLOW_TIMEOUT}s\nstderr:\n{exc.stderr}\n"
                    f"server log:\n{tail(log_path)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"node flow.mjs failed (exit {done.returncode}):\n{done.stderr.strip()}\n"
                    f"--- server log (tail) ---\n{tail(log_path)}", pytrace=False)
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"node flow.mjs printed no JSON summary:\n{done.stdout[:2000]}\n{done.stderr}", pytrace=False)
    return Flow(summary=summary, work=work, source=source, server_log=log_path)


def render(flow: Flow, name: str) -> dict:
    info = flow.summary["renders"][name]
    assert info["status"] == 200, f"{name}: {info['url']} answered {info['status']}: {info.get('text')}"
    return info


def decode(info: dict) -> Image.Image:
    data = Path(info["file"]).read_bytes()
    assert len(data) == info["bytes"]
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def error_body(info: dict) -> dict:
    assert info["contentType"] == "application/json", info
    return json.loads(info["text"])


# --- 1. sign up and organization -------------------------------------------------------------

def test_signup_returns_an_api_key(flow):
    s = flow.summary
    assert s["user"]["status"] == 200
    assert s["user"]["hasApiKey"]
    assert s["user"]["email"] == s["email"]
    assert re.fullmatch(r"[0-9a-f-]{32,36}", s["user"]["id"]), s["user"]


def test_organization_get(flow):
    org = flow.summary["organization"]
    assert org["name"] == flow.summary["org"]
    for key in ("id", "name", "display_name", "billing_email"):  # what the PHP client requires
        assert key in org, org


# --- 2. upload with user and dynamic metadata ------------------------------------------------

def test_upload_response(flow):
    s = flow.summary
    assert s["upload"]["status"] in (200, 201)
    body = s["upload"]["body"]
    assert body["total"] == 1 and len(body["items"]) == 1
    item = body["items"][0]
    assert re.fullmatch(r"[0-9a-f]{40}", item["hash"])
    assert re.fullmatch(r"[0-9a-f]{6,40}", item["short_hash"])
    assert item["hash"].startswith(item["short_hash"])
    assert item["binary_hash"] == hashlib.sha1(flow.source).hexdigest()
    assert item["organization"] == s["org"]
    assert item["name"] == "e2e-source.png"
    assert (item["width"], item["height"]) == SOURCE_SIZE
    assert item["format"] == "png" and item["mimetype"] == "image/png"
    assert item["size"] == len(flow.source)
    assert item["link"] == f"/sourceimages/{s['org']}/{item['hash']}"
    assert item["protected"] is False and item["locked"] is False
    # rokka.js double-encodes the multipart metadata fields; they must arrive as objects.
    assert item["user_metadata"] == META_USER
    x, y, w, h = SUBJECT
    area = item["dynamic_metadata"]["subject_area"]
    assert {k: area[k] for k in ("x", "y", "width", "height")} == {"x": x, "y": y, "width": w, "height": h}
    assert set(item["dynamic_metadata"]) == {"subject_area"}


# --- 3. list, get by hash and short hash, user metadata --------------------------------------

def test_list_and_get(flow):
    s = flow.summary
    item = s["upload"]["body"]["items"][0]
    assert s["list"]["total"] == 1
    assert s["list"]["hashes"] == [item["hash"]]
    assert s["getFull"]["hash"] == item["hash"]
    assert s["getFull"]["short_hash"] == item["short_hash"]
    assert s["getFull"]["user_metadata"] == META_USER
    assert s["getShort"] == s["getFull"]


def test_user_metadata_add_merges(flow):
    s = flow.summary
    assert s["metaAdd"]["status"] == 204
    after = s["afterMetaAdd"]
    assert after["user_metadata"] == META_AFTER_ADD  # merged; the null value removed "draft"
    assert after["hash"] == s["upload"]["body"]["items"][0]["hash"]  # user metadata never changes the hash
    assert after["dynamic_metadata"] == s["getFull"]["dynamic_metadata"]
    assert s["metaGet"] == META_AFTER_ADD


# --- 4. stack and operations ------------------------------------------------------------------

def test_stack_create_and_get(flow):
    s = flow.summary
    assert s["stackCreate"]["status"] == 201
    for body in (s["stackCreate"]["body"], s["stackGet"]):
        assert body["name"] == "thumb"
        assert body["organization"] == s["org"]
        assert body["stack_operations"] == [{"name": "resize", "options": {"width": 200}}]
        assert body["stack_options"] == {"jpg.quality": 85}
        assert "created" in body


def test_stack_with_variables_and_expressions(flow):
    s = flow.summary
    assert s["varStackCreate"]["status"] == 201
    body = s["varStackCreate"]["body"]
    assert body["stack_variables"] == {"w": 160}
    assert body["stack_operations"] == [{"name": "resize", "options": {"width": 100},
                                         "expressions": {"width": "$w"}}]


def test_operations_list(flow):
    ops = set(flow.summary["operations"])
    expected = {"resize", "crop", "rotate", "noop", "autorotate", "grayscale", "blur", "sepia", "trim",
                "modulate", "alpha"}
    assert expected <= ops, f"missing operations: {sorted(expected - ops)}"


# --- 5. render URLs built by rokka.js -----------------------------------------------------------

def test_render_urls_have_the_rokka_shape(flow):
    s = flow.summary
    item = s["upload"]["body"]["items"][0]
    h, short, host = item["hash"], item["short_hash"], f"http://{s['org']}.localhost:"
    urls = s["urls"]
    assert urls["named"].startswith(host) and urls["named"].endswith(f"/thumb/{h}.jpg")
    assert urls["seo"].endswith(f"/thumb/{h}/my-holiday-picture.jpg")
    assert urls["short"].endswith(f"/thumb/{short}.jpg")
    assert urls["quality50"].endswith(f"/thumb/o-jpg.quality-50/{h}.jpg")
    assert urls["dynamic"].endswith(f"/dynamic/resize-width-100/{h}.png")
    assert urls["noop"].endswith(f"/dynamic/noop/{h}.png")
    assert urls["var_w60"].endswith(f"/varthumb/v-w-60/{h}.jpg")
    assert urls["var_w80_getUrl"].endswith(f"/varthumb/v-w-80/{h}.jpg")
    assert urls["path_named"].endswith(f"/render/{s['org']}/thumb/{h}.jpg")


@pytest.mark.parametrize("name, fmt, ctype, size", [
    ("named", "JPEG", "image/jpeg", (200, 150)),
    ("named_png", "PNG", "image/png", (200, 150)),
    ("named_webp", "WEBP", "image/webp", (200, 150)),
    ("seo", "JPEG", "image/jpeg", (200, 150)),
    ("short", "JPEG", "image/jpeg", (200, 150)),
    ("quality50", "JPEG", "image/jpeg", (200, 150)),
    ("dpr2", "JPEG", "image/jpeg", (400, 300)),
    ("override", "JPEG", "image/jpeg", (120, 90)),
    ("dynamic", "PNG", "image/png", (100, 75)),
    ("dynamic_short", "PNG", "image/png", (100, 75)),
    ("dynamic_rotate", "PNG", "image/png", (75, 100)),
    ("dynamic_crop", "PNG", "image/png", (100, 100)),
    ("noop", "PNG", "image/png", SOURCE_SIZE),
    ("var_default", "JPEG", "image/jpeg", (160, 120)),
    ("var_w60", "JPEG", "image/jpeg", (60, 45)),
    ("var_w80_getUrl", "JPEG", "image/jpeg", (80, 60)),
    ("path_named", "JPEG", "image/jpeg", (200, 150)),
    ("named_again", "JPEG", "image/jpeg", (200, 150)),
])
def test_render(flow, name, fmt, ctype, size):
    if fmt == "WEBP" and not features.check("webp"):
        pytest.fail("Pillow was built without WebP support; cannot decode the WebP render")
    info = render(flow, name)
    assert info["contentType"] == ctype
    assert "max-age=31536000" in (info["cacheControl"] or ""), info["cacheControl"]
    img = decode(info)
    assert img.format == fmt
    assert img.size == size


def test_seo_name_short_hash_and_path_host_render_the_same_image(flow):
    named = render(flow, "named")["sha1"]
    for name in ("seo", "short", "path_named", "named_again"):
        assert render(flow, name)["sha1"] == named, name
    assert render(flow, "dynamic_short")["sha1"] == render(flow, "dynamic")["sha1"]


def test_quality_option_in_the_url_overrides_the_stack(flow):
    default, q50 = render(flow, "named"), render(flow, "quality50")
    assert q50["bytes"] < default["bytes"], (q50["bytes"], default["bytes"])
    # Coarser quantisation tables are the direct evidence of the lower quality setting.
    assert sum(decode(q50).quantization[0]) > sum(decode(default).quantization[0])


def test_crop_follows_the_subject_area(flow):
    crop = decode(render(flow, "dynamic_crop")).convert("RGB")
    (r_lo, _), (_, g_hi), (_, b_hi) = crop.getextrema()
    # The 100x100 crop centred on the subject area lies entirely inside the red square;
    # a centre-anchored crop would show the gradient instead.
    assert r_lo >= 250 and g_hi <= 5 and b_hi <= 5, crop.getextrema()


def test_noop_render_keeps_the_pixels(flow):
    out = decode(render(flow, "noop")).convert("RGB")
    src = Image.open(io.BytesIO(flow.source)).convert("RGB")
    assert out.tobytes() == src.tobytes()


# --- 6. download -------------------------------------------------------------------------------

def test_download_returns_the_original_bytes(flow):
    d = flow.summary["download"]
    assert d["status"] == 200
    assert d["equalsSource"]
    assert (flow.work / "download.bin").read_bytes() == flow.source


# --- 7. deletes ----------------------------------------------------------------------------------

def test_deleted_stack_stops_rendering(flow):
    s = flow.summary
    assert s["stackDelete"]["status"] == 204
    assert s["stackGetAfterDelete"]["status"] == 404
    for name in ("named_after_stack_delete", "seo_after_stack_delete"):
        info = s["renders"][name]
        assert info["status"] == 404, info  # even though the render was cached before
        assert error_body(info)["error"]["code"] == 404
    # Dynamic renders do not depend on the stack.
    assert render(flow, "dynamic_after_stack_delete")["sha1"] == render(flow, "dynamic")["sha1"]


def test_deleted_image_is_gone(flow):
    s = flow.summary
    assert s["imageDelete"]["status"] == 204
    for key in ("getAfterDelete", "getShortAfterDelete"):
        assert s[key]["status"] == 404, s[key]
        assert s[key]["body"]["error"]["code"] == 404
    item = s["upload"]["body"]["items"][0]
    assert item["hash"] not in s["listAfterDelete"]["hashes"]
    for name in ("dynamic_after_image_delete", "dynamic_short_after_image_delete", "noop_after_image_delete"):
        info = s["renders"][name]
        assert info["status"] == 404, info  # even though these renders were cached before
        assert error_body(info)["error"]["code"] == 404
