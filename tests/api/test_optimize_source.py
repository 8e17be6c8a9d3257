"""optimize_source at upload (reference §2.2): TIFF/PSD stored as PNG (true), every still raster
as PNG ("png") or high-quality JPEG / WebP with transparency ("jpg"); binary_hash stays the
SHA-1 of the uploaded bytes; renders come from the stored copy. On both adapters."""
from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, ImageChops

from chalicelib import bootstrap
from tests.conftest import image_bytes, json_of
from tests.reliability import hostile


def _tiff(size=(300, 200)) -> bytes:
    return image_bytes("TIFF", size=size, seed=3)


def upload(api, name, data, fields=None):
    r = api.upload("acme", [("filedata", name, data)], fields=fields)
    assert r.status_code == 200, r.body
    return json_of(r)["items"][0]


def stored(api, item) -> bytes:
    r = api.call("GET", f"/sourceimages/acme/{item['hash']}/download")
    assert r.status_code == 200
    return r.body


def pixels(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


@pytest.mark.parametrize("name, data", [("scan.tiff", _tiff()), ("layers.psd", hostile.psd(hostile._picture((300, 200))))])
def test_true_stores_tiff_and_psd_as_lossless_png(api_any, name, data):
    item = upload(api_any, name, data, {"optimize_source": "true"})
    assert (item["format"], item["mimetype"], item["width"], item["height"]) == ("png", "image/png", 300, 200)
    assert item["binary_hash"] == hashlib.sha1(data).hexdigest()
    body = stored(api_any, item)
    assert body.startswith(b"\x89PNG") and item["size"] == len(body) < len(data)
    assert ImageChops.difference(pixels(body), pixels(data)).getbbox() is None  # lossless
    assert json_of(api_any.call("GET", f"/sourceimages/acme/{item['hash']}"))["format"] == "png"
    res = bootstrap.services().renderer.handle(f"/acme/dynamic/resize-width-150/{item['hash']}.jpg", "", {})
    assert res.status == 200 and Image.open(io.BytesIO(res.body)).size == (150, 100)


def test_true_keeps_other_formats(api_any):
    data = image_bytes("JPEG", size=(200, 100))
    item = upload(api_any, "photo.jpg", data, {"optimize_source": "true"})
    assert item["format"] == "jpg" and stored(api_any, item) == data


def test_jpg_and_png_modes(api_any):
    png = upload(api_any, "flat.png", image_bytes("PNG", size=(200, 100), seed=1), {"options[0]": '{"optimize_source": "jpg"}'})
    assert (png["format"], png["mimetype"]) == ("jpg", "image/jpeg") and stored(api_any, png)[:3] == b"\xff\xd8\xff"
    cut = Image.new("RGBA", (200, 100), (200, 30, 30, 0))
    cut.paste((20, 20, 200, 255), (50, 20, 150, 80))
    buf = io.BytesIO()
    cut.save(buf, "PNG")
    alpha = upload(api_any, "cut.png", buf.getvalue(), {"optimize_source": "jpg"})
    assert (alpha["format"], alpha["mimetype"]) == ("webp", "image/webp")
    assert Image.open(io.BytesIO(stored(api_any, alpha))).mode == "RGBA"
    jpeg = upload(api_any, "p.jpg", image_bytes("JPEG", size=(200, 100), seed=4), {"optimize_source": '"png"'})
    assert jpeg["format"] == "png" and stored(api_any, jpeg).startswith(b"\x89PNG")
    res = bootstrap.services().renderer.handle(f"/acme/dynamic/resize-width-50/{alpha['hash']}.png", "", {})
    assert res.status == 200 and Image.open(io.BytesIO(res.body)).mode == "RGBA"


def test_bad_value_is_400_and_stores_nothing(api_any):
    r = api_any.upload("acme", [("filedata", "a.tiff", _tiff())], fields={"optimize_source": "gif"})
    assert r.status_code == 400 and "optimize_source" in json_of(r)["error"]["message"]
    assert json_of(api_any.call("GET", "/sourceimages/acme"))["total"] == 0
