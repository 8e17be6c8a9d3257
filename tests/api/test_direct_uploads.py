"""Large uploads straight to S3 (presigned POST) registered by the S3-event Lambda, on moto."""
from __future__ import annotations

import base64
import io
import json
import uuid

import pytest
import requests
from PIL import Image

from chalicelib import bootstrap
from chalicelib.storage.aws import client as aws_client
from tests.conftest import Api, json_of, signup
from tests.reliability import hostile
from tests.render.test_render_lambda import aws_env, lambda_client  # noqa: F401 - fixtures


@pytest.fixture
def api_aws(lambda_client):  # noqa: F811
    api = Api(lambda_client)
    org = "up" + uuid.uuid4().hex[:8]
    api.key = signup(api, org)["api_key"]
    return api, org


def photo(seed=1) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((320, 200), 40 + seed).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


def s3_event(lambda_client, bucket, key):  # noqa: F811
    return lambda_client.events.generate_s3_event(bucket=bucket, key=key, event_name="ObjectCreated:Post")


def test_direct_upload_registers_like_a_multipart_upload(api_aws, lambda_client, aws_env):  # noqa: F811
    api, org = api_aws
    data = photo()
    meta = {"meta_user": {"title": "big one"}, "meta_dynamic": {"subject_area": {"x": 10, "y": 20}}}
    r = api.call("POST", f"/sourceimages/{org}/uploads", {"filename": "big photo.jpg", **meta})
    assert r.status_code == 201, r.body
    ticket = json_of(r)
    assert ticket["method"] == "POST" and ticket["status"] == f"/sourceimages/{org}/uploads/{ticket['id']}"
    assert json_of(api.call("GET", ticket["status"]))["status"] == "pending"

    # The client posts the file straight to S3 (moto over HTTP), with the presigned fields.
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("big photo.jpg", data)})
    assert sent.status_code in (200, 204), sent.text
    key = ticket["fields"]["key"]
    ev = s3_event(lambda_client, aws_env["SOURCES_BUCKET"], key)
    lambda_client.lambda_.invoke("register_upload", ev)

    status = json_of(api.call("GET", ticket["status"]))
    assert status["status"] == "done", status
    item = status["item"]
    # The same bytes and metadata through the multipart endpoint give the same image.
    multipart = json_of(api.upload(org, [("filedata", "big photo.jpg", data)],
                                   {"meta_user[0]": json.dumps(meta["meta_user"]),
                                    "meta_dynamic[0]": json.dumps(meta["meta_dynamic"])}))["items"][0]
    assert multipart["hash"] == item["hash"]
    got = json_of(api.call("GET", f"/sourceimages/{org}/{item['hash']}"))
    assert set(got) == set(multipart)
    for field in ("hash", "short_hash", "binary_hash", "name", "format", "mimetype", "size", "width", "height",
                  "user_metadata", "dynamic_metadata", "protected"):
        assert got[field] == multipart[field], field
    # The temporary object is gone; the original is stored once under its binary hash.
    s3 = aws_client("s3")
    assert not s3.list_objects_v2(Bucket=aws_env["SOURCES_BUCKET"], Prefix=f"_uploads/{org}/").get("KeyCount")
    download = api.call("GET", f"/sourceimages/{org}/{item['hash']}/download")
    assert download.body == data


@pytest.mark.parametrize("content", [b"not an image", hostile.corrupt()["png-garbage-idat"]])
def test_a_bad_file_fails_cleanly_and_stores_nothing(api_aws, lambda_client, aws_env, content):  # noqa: F811
    api, org = api_aws
    ticket = json_of(api.call("POST", f"/sourceimages/{org}/uploads", {"filename": "x.jpg"}))
    requests.post(ticket["url"], data=ticket["fields"], files={"file": ("x.jpg", content)})
    lambda_client.lambda_.invoke("register_upload", s3_event(lambda_client, aws_env["SOURCES_BUCKET"],
                                                             ticket["fields"]["key"]))
    status = json_of(api.call("GET", ticket["status"]))
    assert status["status"] == "failed" and status["error"]["code"] == 400
    assert json_of(api.call("GET", f"/sourceimages/{org}"))["total"] == 0
    s3 = aws_client("s3")
    assert not s3.list_objects_v2(Bucket=aws_env["SOURCES_BUCKET"], Prefix=f"_uploads/{org}/").get("KeyCount")
    assert not s3.list_objects_v2(Bucket=aws_env["SOURCES_BUCKET"], Prefix=f"{org}/").get("KeyCount")


def test_files_over_the_limit_are_refused(api_aws, lambda_client, aws_env, monkeypatch):  # noqa: F811
    api, org = api_aws
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    bootstrap.reset()
    ticket = json_of(api.call("POST", f"/sourceimages/{org}/uploads", {"filename": "x.jpg"}))
    # S3 enforces the signed size range (moto does not, so check the policy itself) ...
    policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
    assert ["content-length-range", 1, 1000] in policy["conditions"]
    # ... and registration refuses an oversize object anyway.
    requests.post(ticket["url"], data=ticket["fields"], files={"file": ("x.jpg", photo())})
    lambda_client.lambda_.invoke("register_upload", s3_event(lambda_client, aws_env["SOURCES_BUCKET"],
                                                             ticket["fields"]["key"]))
    status = json_of(api.call("GET", ticket["status"]))
    assert status["status"] == "failed" and "1000 bytes" in status["error"]["message"]


@pytest.mark.parametrize("body", [{"filename": "a/b.jpg"}, {"meta_user": {"Bad Key": 1}},
                                  {"meta_dynamic": {"subject_area": {}}}, {"options": {"protected": "yes"}}])
def test_bad_requests_are_refused_before_any_upload(api_aws, body):
    api, org = api_aws
    assert api.call("POST", f"/sourceimages/{org}/uploads", body).status_code == 400


def test_other_organizations_cannot_start_or_read_uploads(api_aws):
    api, org = api_aws
    ticket = json_of(api.call("POST", f"/sourceimages/{org}/uploads", {"filename": "x.jpg"}))
    other = Api(api.client, signup(Api(api.client), "o" + uuid.uuid4().hex[:8])["api_key"])
    assert other.call("POST", f"/sourceimages/{org}/uploads", {}).status_code == 403
    assert other.call("GET", ticket["status"]).status_code == 403


def test_local_storage_explains_that_direct_uploads_need_aws(api):
    r = api.call("POST", "/sourceimages/acme/uploads", {"filename": "x.jpg"})
    assert r.status_code == 400 and "STORAGE=aws" in json_of(r)["error"]["message"]
