"""The render Lambda on function-URL events (payload 2.0), with S3 and DynamoDB on moto."""
from __future__ import annotations

import base64
import io
import json
import uuid

import pytest
from PIL import Image

from chalicelib import bootstrap
from chalicelib.storage.aws import client as aws_client
from tests.conftest import Api, json_of, signup


@pytest.fixture
def aws_env(aws_resources, monkeypatch, tmp_path):
    for k, v in aws_resources.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("STORAGE", "aws")
    monkeypatch.setenv("ALLOW_SIGNUP", "true")
    bootstrap.reset()
    yield aws_resources
    bootstrap.reset()


@pytest.fixture
def lambda_client(aws_env):
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        yield c


@pytest.fixture
def setup(lambda_client):
    """An organization with a 600x400 JPEG and a stack 'thumb' (resize width 150)."""
    org = "lam" + uuid.uuid4().hex[:8]
    api = Api(lambda_client)
    api.key = signup(api, org)["api_key"]
    buf = io.BytesIO()
    Image.effect_noise((600, 400), 60).convert("RGB").save(buf, "JPEG", quality=90)
    item = json_of(api.upload(org, [("filedata", "n.jpg", buf.getvalue())]))["items"][0]
    assert api.call("PUT", f"/stacks/{org}/thumb", [{"name": "resize", "options": {"width": 150}}]).status_code == 201
    return api, org, item


def event(path: str, query: str = "", headers: dict | None = None) -> dict:
    """A Lambda function URL request event (payload format 2.0), as CloudFront forwards it."""
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.eu-central-1.on.aws", "user-agent": "Amazon CloudFront",
                    **(headers or {})},
        "requestContext": {"http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "130.176.0.1", "userAgent": "Amazon CloudFront"},
                           "domainName": "abc.lambda-url.eu-central-1.on.aws", "stage": "$default",
                           "timeEpoch": 1764100000000},
        "isBase64Encoded": False,
    }


def invoke(lambda_client, ev):
    return lambda_client.lambda_.invoke("render", ev).payload


def test_render_returns_base64_and_stores_the_result_in_s3(lambda_client, setup, aws_env):
    _, org, item = setup
    path = f"/{org}/thumb/{item['short_hash']}/seo.webp"
    resp = invoke(lambda_client, event(path))
    assert resp["statusCode"] == 200 and resp["isBase64Encoded"] is True
    assert resp["headers"]["Content-Type"] == "image/webp"
    assert resp["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
    body = base64.b64decode(resp["body"])
    assert Image.open(io.BytesIO(body)).size == (150, 100)
    stored = aws_client("s3").get_object(Bucket=aws_env["RENDERS_BUCKET"], Key=path.lstrip("/"))
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "image/webp"
    assert stored["CacheControl"] == "public, max-age=31536000, immutable"


def test_accept_token_segment_is_part_of_the_cache_key(lambda_client, setup, aws_env):
    _, org, item = setup
    path = f"/{org}/~webp/thumb/{item['hash']}.jpg"
    assert invoke(lambda_client, event(path))["statusCode"] == 200
    aws_client("s3").head_object(Bucket=aws_env["RENDERS_BUCKET"], Key=path.lstrip("/"))


def test_oversize_results_are_stored_and_redirected(lambda_client, setup, aws_env, monkeypatch):
    _, org, item = setup
    monkeypatch.setenv("RENDER_MAX_INLINE_BYTES", "1000")
    monkeypatch.setenv("RENDER_DOMAIN", "images.example.com")
    bootstrap.reset()
    path = f"/{org}/~avif/dynamic/resize-width-500/{item['hash']}.png"
    resp = invoke(lambda_client, event(path, "v=%7B%7D"))
    assert resp["statusCode"] == 302
    assert resp["headers"]["Location"] == (f"https://images.example.com/{org}/dynamic/resize-width-500/"
                                           f"{item['hash']}.png?v=%7B%7D")
    assert resp["headers"]["Cache-Control"] == "private, no-store"
    keys = [o["Key"] for o in aws_client("s3").list_objects_v2(
        Bucket=aws_env["RENDERS_BUCKET"], Prefix=f"{org}/~avif/dynamic/").get("Contents", [])]
    assert len(keys) == 1
    assert len(aws_client("s3").get_object(Bucket=aws_env["RENDERS_BUCKET"], Key=keys[0])["Body"].read()) > 1000


@pytest.mark.parametrize("tail, status", [
    ("nostack/{hash}.jpg", 404),
    ("thumb/" + "0" * 40 + ".jpg", 404),
    ("dynamic/resize-width-0/{hash}.jpg", 400),
    ("thumb/{hash}.xyz", 400),
])
def test_errors_are_rokka_json_with_a_short_cache_lifetime(lambda_client, setup, tail, status):
    _, org, item = setup
    resp = invoke(lambda_client, event(f"/{org}/" + tail.format(hash=item["hash"])))
    assert resp["statusCode"] == status
    assert resp["headers"]["Content-Type"] == "application/json"
    assert resp["headers"]["Cache-Control"] == "public, max-age=60"
    assert json.loads(base64.b64decode(resp["body"]))["error"]["code"] == status


@pytest.fixture
def distribution(aws_env, monkeypatch):
    """A CloudFront distribution on moto, wired as the purge target."""
    config = {
        "CallerReference": uuid.uuid4().hex, "Comment": "test", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "renders.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}, "MinTTL": 0,
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    }
    dist_id = aws_client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    monkeypatch.setenv("CLOUDFRONT_DISTRIBUTION_ID", dist_id)
    bootstrap.reset()
    return dist_id


def invalidated_paths(dist_id: str) -> list[str]:
    cf = aws_client("cloudfront")
    paths = []
    for inv in cf.list_invalidations(DistributionId=dist_id)["InvalidationList"].get("Items", []):
        batch = cf.get_invalidation(DistributionId=dist_id, Id=inv["Id"])["Invalidation"]["InvalidationBatch"]
        paths.extend(batch["Paths"].get("Items", []))
    return paths


def test_stack_change_and_image_delete_drop_renders_and_invalidate_cloudfront(lambda_client, setup, aws_env,
                                                                                distribution):
    api, org, item = setup
    thumb = f"/{org}/thumb/{item['hash']}.jpg"
    dyn = f"/{org}/dynamic/resize-width-50/{item['hash']}.png"
    for path in (thumb, dyn):
        assert invoke(lambda_client, event(path))["statusCode"] == 200
    s3 = aws_client("s3")
    bucket = aws_env["RENDERS_BUCKET"]

    def stored(path):
        return bool(s3.list_objects_v2(Bucket=bucket, Prefix=path.lstrip("/")).get("KeyCount"))

    assert stored(thumb) and stored(dyn)
    r = api.call("PUT", f"/stacks/{org}/thumb?overwrite=true", [{"name": "resize", "options": {"width": 80}}])
    assert r.status_code == 200
    assert not stored(thumb) and stored(dyn)
    assert thumb in invalidated_paths(distribution)
    resp = invoke(lambda_client, event(thumb))
    assert Image.open(io.BytesIO(base64.b64decode(resp["body"]))).size == (80, 53)

    assert api.call("DELETE", f"/sourceimages/{org}/{item['hash']}").status_code == 204
    assert not stored(thumb) and not stored(dyn)
    assert {thumb, dyn} <= set(invalidated_paths(distribution))
    assert invoke(lambda_client, event(dyn))["statusCode"] == 404
