"""detection_face: offline detection (OpenCV) and Rekognition, and the face crop anchor."""
from __future__ import annotations

import io

import pytest
from botocore.stub import Stubber
from PIL import Image, ImageDraw, ImageFilter

from chalicelib import bootstrap
from tests.conftest import image_bytes, json_of


def face_photo(size=(600, 400), center=(420, 200), scale=1.0) -> bytes:
    """A drawn face (skin oval, dark eyes and brows, bright nose, dark mouth): enough for a Haar cascade."""
    im = Image.new("L", size, 90)
    d = ImageDraw.Draw(im)
    cx, cy, s = center[0], center[1], scale
    d.ellipse([cx - 60 * s, cy - 80 * s, cx + 60 * s, cy + 80 * s], fill=190)
    for ex in (-28, 28):
        d.ellipse([cx + (ex - 14) * s, cy - 32 * s, cx + (ex + 14) * s, cy - 18 * s], fill=40)
        d.rectangle([cx + (ex - 18) * s, cy - 45 * s, cx + (ex + 18) * s, cy - 40 * s], fill=60)
    d.polygon([(cx, cy - 15 * s), (cx - 10 * s, cy + 20 * s), (cx + 10 * s, cy + 20 * s)], fill=210)
    d.ellipse([cx - 25 * s, cy + 38 * s, cx + 25 * s, cy + 50 * s], fill=70)
    buf = io.BytesIO()
    im.filter(ImageFilter.GaussianBlur(3)).convert("RGB").save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_put_detection_face_detects_offline_and_crops_on_it(api):
    item = json_of(api.upload("acme", [("filedata", "f.jpg", face_photo())]))["items"][0]
    r = api.call("PUT", f"/sourceimages/acme/{item['hash']}/meta/dynamic/detection_face", {})
    assert r.status_code == 201, r.body
    face = json_of(r)["dynamic_metadata"]["detection_face"]
    assert abs(face["x"] + face["width"] / 2 - 420) < 30 and abs(face["y"] + face["height"] / 2 - 200) < 40
    new_hash = json_of(r)["hash"]
    result = bootstrap.services().renderer.handle(
        f"/acme/dynamic/crop-width-100-height-100-anchor-face/{new_hash}.png")
    crop = Image.open(io.BytesIO(result.body)).convert("L")
    assert crop.getpixel((50, 50)) > 150  # the skin of the face, not the grey background


def test_detection_face_at_upload(api):
    r = api.upload("acme", [("filedata", "f.jpg", face_photo())], {"meta_dynamic[0][detection_face]": "{}"})
    assert r.status_code == 200
    assert set(json_of(r)["items"][0]["dynamic_metadata"]["detection_face"]) == {"x", "y", "width", "height"}


def test_no_face_is_400_and_changes_nothing(api):
    item = json_of(api.upload("acme", [("filedata", "p.jpg", image_bytes())]))["items"][0]
    r = api.call("PUT", f"/sourceimages/acme/{item['hash']}/meta/dynamic/detection_face", {})
    assert r.status_code == 400 and "No face" in json_of(r)["error"]["message"]
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 1


def test_a_given_box_is_stored_as_is_and_checked(api):
    item = json_of(api.upload("acme", [("filedata", "p.jpg", image_bytes())]))["items"][0]
    base = f"/sourceimages/acme/{item['hash']}/meta/dynamic/detection_face"
    r = api.call("PUT", base, {"x": 1, "y": 2, "width": 3, "height": 4})
    assert r.status_code == 201 and json_of(r)["dynamic_metadata"]["detection_face"] == {
        "x": 1, "y": 2, "width": 3, "height": 4}
    assert api.call("PUT", base, {"x": 1}).status_code == 400


def test_switched_off_is_501(api, monkeypatch):
    monkeypatch.setenv("FACE_DETECTION", "off")
    bootstrap.reset()
    item = json_of(api.upload("acme", [("filedata", "f.jpg", face_photo())]))["items"][0]
    r = api.call("PUT", f"/sourceimages/acme/{item['hash']}/meta/dynamic/detection_face", {})
    assert r.status_code == 501


def test_rekognition_backend_scales_its_box_to_pixels(monkeypatch):
    """Rekognition is not in moto; its one call is checked with botocore's Stubber instead."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(k, "testing")
    from chalicelib.render import faces
    from chalicelib.storage import aws
    aws.reset_clients()
    client = aws.client("rekognition")
    with Stubber(client) as stub:
        stub.add_response("detect_faces", {"FaceDetails": [
            {"BoundingBox": {"Left": 0.5, "Top": 0.25, "Width": 0.1, "Height": 0.2}},
            {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.3, "Height": 0.4}}]},
            {"Image": {"Bytes": stub_any()}, "Attributes": ["DEFAULT"]})
        box = faces.detect(face_photo(size=(600, 400)), "rekognition")
    assert box == {"x": 60, "y": 40, "width": 180, "height": 160}  # the larger face
    aws.reset_clients()


def stub_any():
    from botocore.stub import ANY
    return ANY
