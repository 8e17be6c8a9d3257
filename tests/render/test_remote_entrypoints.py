"""Remote images and render_org_fallback through both render entry points: the render Lambda
(function-URL events, S3 and DynamoDB on moto) and localserver.py's /render/{org}/... path."""
from __future__ import annotations

import base64
import io
import uuid

import pytest
import requests
from PIL import Image

from chalicelib import bootstrap
from chalicelib.storage.aws import client as aws_client
from tests.conftest import Api, image_bytes, json_of, signup
from tests.render.remote_server import CountingServer
from tests.render.test_render_lambda import aws_env, event, invoke, lambda_client  # noqa: F401 - fixtures
from tests.servers import start_local_server


@pytest.fixture
def remote():
    server = CountingServer()
    yield server
    server.close()


def test_lambda_imports_a_remote_image_once_and_serves_fallback_images(lambda_client, aws_env, remote,  # noqa: F811
                                                                       monkeypatch):
    monkeypatch.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.1/32")
    bootstrap.reset()
    org, other = "rem" + uuid.uuid4().hex[:8], "fb" + uuid.uuid4().hex[:8]
    api = Api(lambda_client)
    api.key = signup(api, org)["api_key"]
    options = {"remote_fullurl_allow": True, "remote_basepath": remote.base + "/imgs"}
    assert api.call("PUT", f"/organizations/{org}/options", options).status_code == 200

    full = f"/{org}/dynamic/resize-width-50/-{remote.base}/imgs/photo.png-/seo.png"
    relative = f"/{org}/dynamic/resize-width-60/-photo.png-.png"
    for path in (full, relative, full):
        resp = invoke(lambda_client, event(path))
        assert resp["statusCode"] == 200, base64.b64decode(resp["body"])[:200]
    assert Image.open(io.BytesIO(base64.b64decode(resp["body"]))).size == (50, 25)
    assert remote.hits["/imgs/photo.png"] == 1
    # Stored under the path CloudFront asks S3 for, "//" included.
    stored = aws_client("s3").get_object(Bucket=aws_env["RENDERS_BUCKET"], Key=full.lstrip("/"))
    assert stored["Body"].read() == base64.b64decode(resp["body"])

    resp = invoke(lambda_client, event(f"/{org}/dynamic/resize-width-50/-missing.png-.png"))
    assert resp["statusCode"] == 400 and resp["headers"]["Content-Type"] == "application/json"

    assert api.call("PUT", f"/organizations/{other}", {"billing_email": "f@example.com"}).status_code == 200
    item = json_of(api.upload(other, [("filedata", "f.png", image_bytes("PNG", size=(90, 30), seed=4))]))["items"][0]
    path = f"/{org}/dynamic/resize-width-30/{item['hash']}.png"
    assert invoke(lambda_client, event(path))["statusCode"] == 404
    assert api.call("PUT", f"/organizations/{org}/options", {"render_org_fallback": other}).status_code == 200
    resp = invoke(lambda_client, event(path))
    assert resp["statusCode"] == 200
    assert Image.open(io.BytesIO(base64.b64decode(resp["body"]))).size == (30, 10)


def test_local_server_render_path_imports_a_remote_image_once(tmp_path, remote):
    proc, base, _ = start_local_server(tmp_path / "data", {"FETCH_ALLOWED_NETWORKS": "127.0.0.1/32",
                                                           "STORAGE": "local", "AWS_ENDPOINT_URL": None})
    try:
        key = requests.post(base + "/users", data='{"email": "r@example.com", "organization": "demo"}').json()["api_key"]
        r = requests.put(base + "/organizations/demo/options", headers={"Api-Key": key},
                         json={"remote_fullurl_allow": True, "remote_fullurl_whitelist": [r"^http://127\.0\.0\.1:"]})
        assert r.status_code == 200, r.text
        url = f"{base}/render/demo/dynamic/resize-width-40/-{remote.base}/imgs/sub/other-img.jpg-.png"
        for _ in range(2):
            r = requests.get(url)
            assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.text[:200]
        assert Image.open(io.BytesIO(r.content)).size == (40, 20)
        assert remote.hits["/imgs/sub/other-img.jpg"] == 1
        items = requests.get(base + "/sourceimages/demo", headers={"Api-Key": key}).json()["items"]
        assert [i["static_metadata"]["remote_urls"] for i in items] == [[f"{remote.base}/imgs/sub/other-img.jpg"]]
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
