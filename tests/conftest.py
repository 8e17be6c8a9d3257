"""Shared fixtures: a fresh data directory per test, the Chalice test client, an account."""
from __future__ import annotations

import io
import json
import uuid

import pytest
from PIL import Image, ImageDraw

from chalicelib import bootstrap


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STORAGE", "local")
    monkeypatch.delenv("ALLOW_SIGNUP", raising=False)
    bootstrap.reset()
    yield tmp_path / "data"
    bootstrap.reset()


@pytest.fixture
def client(data_dir):
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        yield c


class Api:
    """Small helper over chalice.test.Client that speaks JSON and keeps an API key."""

    def __init__(self, client, key=None):
        self.client = client
        self.key = key

    def call(self, method, path, body=None, headers=None, key=..., raw=None):
        h = {"Accept": "*/*"}
        k = self.key if key is ... else key
        if k:
            h["Api-Key"] = k
        if body is not None:
            raw = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        h.update(headers or {})
        return getattr(self.client.http, method.lower())(path, headers=h, body=raw)

    def upload(self, org, files, fields=None, key=...):
        body, ctype = multipart(files, fields or {})
        return self.call("POST", f"/sourceimages/{org}", headers={"Content-Type": ctype}, raw=body, key=key)


def json_of(response):
    return json.loads(response.body) if response.body else None


def multipart(files, fields):
    """Encode a multipart/form-data body: files = [(field, filename, bytes)], fields = {name: str}."""
    boundary = "----rokka" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for field, filename, data in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                  f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def image_bytes(fmt="JPEG", size=(120, 80), color=(200, 30, 30), mode="RGB", seed=0, **save):
    """A generated test image: a coloured field with a marker so different seeds differ."""
    im = Image.new(mode, size, color if mode != "RGBA" else (*color, 255))
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, 0, size[0] // 4, size[1] // 4], fill=(seed % 256, 255 - seed % 256, 40)[: len(mode)]
                   if mode in ("RGB", "RGBA") else seed % 256)
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def signup(api, org="acme", email=None):
    r = api.call("POST", "/users", {"email": email or f"{uuid.uuid4().hex[:8]}@example.com",
                                    "organization": org}, key=None)
    assert r.status_code == 200, r.body
    return json_of(r)


@pytest.fixture
def api(client):
    """An API helper authenticated as the admin of organization 'acme'."""
    helper = Api(client)
    helper.key = signup(helper, "acme")["api_key"]
    return helper


from tests.aws_fixtures import aws_resources, moto_endpoint  # noqa: E402,F401 - shared fixtures


@pytest.fixture(params=["local", "aws"])
def api_any(request, data_dir, monkeypatch):
    """Like `api`, on the local adapters and on the AWS adapters (fresh tables on moto per test)."""
    if request.param == "aws":
        request.getfixturevalue("moto_endpoint")
        from chalicelib.storage import aws
        run = uuid.uuid4().hex[:8]
        env = {"TABLE_PREFIX": f"t{run}-", "SOURCES_BUCKET": f"t{run}-sources", "RENDERS_BUCKET": f"t{run}-renders"}
        aws.ensure_resources(env["TABLE_PREFIX"], [env["SOURCES_BUCKET"], env["RENDERS_BUCKET"]])
        for k, v in {**env, "STORAGE": "aws", "ALLOW_SIGNUP": "true"}.items():
            monkeypatch.setenv(k, v)
        bootstrap.reset()
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        helper = Api(c)
        helper.key = signup(helper, "acme")["api_key"]
        yield helper
    bootstrap.reset()
