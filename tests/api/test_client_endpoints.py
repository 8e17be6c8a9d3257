"""Endpoints the official clients call (reference §1.7, §2): GET /billing/{org}, the zip of a
search page (GET /sourceimages/{org}/download), GET /sourceimages/{org}/binaryhash/{h} and the
search's default page size of 100; on both storage adapters (api_any)."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime, timezone

import pytest

from chalicelib import bootstrap
from chalicelib.services import bulk_download
from tests.api.test_stats import member
from tests.conftest import image_bytes, json_of


def upload(api, name, data, meta=None):
    fields = {"meta_user[0]": json.dumps(meta)} if meta else {}
    r = api.upload("acme", [("filedata", name, data)], fields)
    assert r.status_code == 200, r.body
    return json_of(r)["items"][0]


def month() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m")


def test_billing_sums_the_counters_per_month(api_any):
    a = image_bytes("PNG", size=(30, 20), seed=1)
    b = image_bytes("JPEG", size=(40, 30), seed=2)
    upload(api_any, "a.png", a)
    upload(api_any, "b.jpg", b)
    r = api_any.call("GET", "/billing/acme")
    assert r.status_code == 200, r.body
    body = json_of(r)
    [current] = [m for m in body["items"] if m["month"] == month()]
    assert current["number_of_files"] == 2 and current["number_of_files_max"] == 2
    assert current["space_in_bytes"] == len(a) + len(b)
    assert body["total"]["bytes_downloaded"] == sum(m["bytes_downloaded"] for m in body["items"])
    # 30 days by default: one or two calendar months, oldest first.
    assert [m["month"] for m in body["items"]] == sorted(m["month"] for m in body["items"])
    one = json_of(api_any.call("GET", "/billing/acme?from=2020-01-30&to=2020-02-02"))
    assert [(m["month"], m["from"], m["to"], m["number_of_files"]) for m in one["items"]] == [
        ("2020-01", "2020-01-30", "2020-01-31", 0), ("2020-02", "2020-02-01", "2020-02-02", 0)]
    assert api_any.call("GET", "/billing/acme?from=2020-02-02&to=2020-01-01").status_code == 400
    assert api_any.call("GET", "/billing/acme?from=yesterday").status_code == 400


def test_billing_roles(api):
    assert member(api, "billing:read").call("GET", "/billing/acme").status_code == 200
    assert member(api, "write").call("GET", "/billing/acme").status_code == 200
    assert member(api, "read").call("GET", "/billing/acme").status_code == 403
    # billing:read sees only billing.
    assert member(api, "billing:read").call("GET", "/sourceimages/acme").status_code == 403


def test_download_zips_a_search_page(api_any):
    red = image_bytes("PNG", size=(30, 20), color=(200, 0, 0), seed=3)
    blue = image_bytes("PNG", size=(30, 20), color=(0, 0, 200), seed=4)
    h_red = upload(api_any, "../red.png", red, {"int:views": 5})["hash"]
    h_blue = upload(api_any, "blue.png", blue, {"int:views": 50})["hash"]
    r = api_any.call("GET", "/sourceimages/acme/download")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.body)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    assert files == {f"{h_red}-red.png": red, f"{h_blue}-blue.png": blue}  # no path from the name
    # Same parameters as the search.
    r = api_any.call("GET", "/sourceimages/acme/download?user:int:views=[10,]")
    with zipfile.ZipFile(io.BytesIO(r.body)) as z:
        assert z.namelist() == [f"{h_blue}-blue.png"]
    assert api_any.call("GET", "/sourceimages/acme/download?limit=x").status_code == 400
    assert api_any.call("GET", "/sourceimages/acme/download", key=None).status_code in (401, 403)


def test_download_is_bounded_and_respects_protected(api, monkeypatch):
    data = image_bytes("PNG", size=(30, 20), seed=5)
    h = upload(api, "p.png", data)["hash"]
    monkeypatch.setattr(bootstrap.services().downloads, "max_bytes", len(data) - 1)
    r = api.call("GET", "/sourceimages/acme/download")
    assert r.status_code == 413 and "limit and offset" in json_of(r)["error"]["message"]
    monkeypatch.setattr(bootstrap.services().downloads, "max_bytes", 10**6)
    assert api.call("PUT", f"/sourceimages/acme/{h}/options/protected", True).status_code in (200, 201)
    reader = member(api, "sourceimages:read")
    assert reader.call("GET", "/sourceimages/acme/download").status_code == 403


def test_entry_names_are_flat():
    class Img:
        hash, name = "ab" * 20, "dir/../sub\\evil name?.png"
    assert bulk_download.entry_name(Img) == f"{'ab' * 20}-evil_name_.png"


def test_binaryhash_path_lists_the_images_of_one_binary(api_any):
    data = image_bytes("PNG", size=(20, 20), seed=6)
    first = upload(api_any, "one.png", data)
    upload(api_any, "other.png", image_bytes("PNG", size=(21, 20), seed=7))
    binary = hashlib.sha1(data).hexdigest()
    r = api_any.call("GET", f"/sourceimages/acme/binaryhash/{binary}")
    assert r.status_code == 200, r.body
    body = json_of(r)
    assert body["total"] == 1 and [i["hash"] for i in body["items"]] == [first["hash"]]
    assert json_of(api_any.call("GET", f"/sourceimages/acme/binaryhash/{'0' * 40}"))["items"] == []
    assert json_of(api_any.call("GET", f"/sourceimages/acme?binaryHash={binary}"))["items"] == body["items"]


def test_search_pages_hold_100_images_by_default(api):
    """The default reaches the adapters as the page size; 101 uploads on moto would take ~40 s, so
    this runs on the local adapter (the AWS adapter's list(limit) is covered by tests/storage)."""
    from chalicelib.services.search import parse
    assert parse({}).limit == 100 and parse({"limit": "7"}).limit == 7
    api_any = api
    base = image_bytes("PNG", size=(8, 8), seed=8)
    for i in range(101):  # 101 distinct binaries: a PNG text chunk differs per image
        from PIL import Image, PngImagePlugin
        info = PngImagePlugin.PngInfo()
        info.add_text("n", str(i))
        buf = io.BytesIO()
        Image.open(io.BytesIO(base)).save(buf, "PNG", pnginfo=info)
        upload(api_any, f"{i}.png", buf.getvalue())
    body = json_of(api_any.call("GET", "/sourceimages/acme"))
    assert body["total"] == 101 and len(body["items"]) == 100 and "cursor" in body
    assert len(json_of(api_any.call("GET", f"/sourceimages/acme?cursor={body['cursor']}"))["items"]) == 1
