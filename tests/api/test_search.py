"""Search (reference §2.3) on both adapters: filters, ranges, prefixes, or, sort, facets, paging."""
from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest

from chalicelib import bootstrap
from tests.conftest import Api, image_bytes, json_of, signup


@pytest.fixture(params=["local", "aws"])
def searchable(request, data_dir, monkeypatch):
    """An organization with five images carrying typed user metadata, on each adapter."""
    if request.param == "aws":
        for k, v in request.getfixturevalue("aws_resources").items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("STORAGE", "aws")
        monkeypatch.setenv("ALLOW_SIGNUP", "true")
        bootstrap.reset()
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        api = Api(client)
        org = "s" + uuid.uuid4().hex[:8]
        api.key = signup(api, org)["api_key"]
        rows = [
            ("alpine.jpg", {"int:views": 10, "title": "Mountain", "array:labels": ["mountain", "snow"],
                            "date:shot": "2020-01-01T00:00:00Z", "double:score": 1.5}),
            ("beach.jpg", {"int:views": 200, "title": "Beach", "array:labels": ["sea", "sand"],
                           "date:shot": "2021-06-01T00:00:00Z", "double:score": -2.25}),
            ("plan-a.png", {"int:views": 30, "title": "Plan A", "array:labels": ["mountain"]}),
            ("plan-b.png", {"int:views": 40, "text:description": "A quiet mountain lake at dawn"}),
            ("other.gif", {}),
        ]
        hashes = {}
        for i, (name, meta) in enumerate(rows):
            fmt = {"jpg": "JPEG", "png": "PNG", "gif": "GIF"}[name.rsplit(".", 1)[1]]
            data = image_bytes(fmt, size=(40 + i * 10, 30), seed=i)
            item = json_of(api.upload(org, [("filedata", name, data)], {"meta_user[0]": json.dumps(meta)}))["items"][0]
            hashes[name] = item["hash"]
        yield api, org, hashes
    bootstrap.reset()


def names(api, org, query):
    r = api.call("GET", f"/sourceimages/{org}?{query}")
    assert r.status_code == 200, r.body
    return [i["name"] for i in json_of(r)["items"]], json_of(r)


@pytest.mark.parametrize("query, expected", [
    ("user:int:views=30", ["plan-a.png"]),
    (f"{quote('user:int:views')}=200", ["beach.jpg"]),                      # rokka.js encodes the colons
    ("user:title=Beach", ["beach.jpg"]),                                    # untyped means str
    ("user:str:title=beach", []),                                           # str is exact
    ("name=plan*", ["plan-a.png", "plan-b.png"]),
    ("user:int:views=[30,200]", ["beach.jpg", "plan-a.png", "plan-b.png"]),
    ("user:int:views={30,200}", ["plan-b.png"]),
    ("user:int:views=[,30}", ["alpine.jpg"]),
    ("user:int:views=[40,]", ["beach.jpg", "plan-b.png"]),
    ("user:double:score=[-3,0]", ["beach.jpg"]),
    ("user:date:shot=['2021-01-01T00:00:00Z',}", ["beach.jpg"]),
    ("user:array:labels=mountain", ["alpine.jpg", "plan-a.png"]),
    ("user:text:description=LAKE", ["plan-b.png"]),
    ("format=png", ["plan-a.png", "plan-b.png"]),
    ("format=png&user:int:views=30", ["plan-a.png"]),
    ("format=gif&user:int:views=30&operator=or", ["other.gif", "plan-a.png"]),
    ("width=[60,]", ["other.gif", "plan-a.png", "plan-b.png"]),
    ("name_text=plan", ["plan-a.png", "plan-b.png"]),
])
def test_filters(searchable, query, expected):
    api, org, _ = searchable
    got, body = names(api, org, query + "&sort=name")
    assert got == expected
    assert body["total"] == len(expected)


def test_default_order_is_newest_first_and_sort_takes_several_fields(searchable):
    api, org, _ = searchable
    got, _ = names(api, org, "")
    assert got == ["other.gif", "plan-b.png", "plan-a.png", "beach.jpg", "alpine.jpg"]
    got, _ = names(api, org, "sort=user:int:views desc")
    assert got[:4] == ["beach.jpg", "plan-b.png", "plan-a.png", "alpine.jpg"]
    got, _ = names(api, org, "sort=format asc,size desc")
    assert got[0] == "other.gif" and got[1:3] == ["beach.jpg", "alpine.jpg"]


def test_facets(searchable):
    api, org, _ = searchable
    _, body = names(api, org, "facets=user:array:labels,format&limit=0")
    assert body["items"] == [] and body["total"] == 5
    assert body["facets"]["user:array:labels"] == [
        {"value": "mountain", "count": 2}, {"value": "sand", "count": 1},
        {"value": "sea", "count": 1}, {"value": "snow", "count": 1}]
    assert body["facets"]["format"][0] == {"value": "jpg", "count": 2}


def test_paging_with_offset_links_and_cursor(searchable):
    api, org, _ = searchable
    first, body = names(api, org, "limit=2&sort=name")
    assert first == ["alpine.jpg", "beach.jpg"]
    assert body["links"]["next"]["href"].endswith("limit=2&offset=2")
    second, body2 = names(api, org, f"limit=2&sort=name&cursor={body['cursor']}")
    assert second == ["other.gif", "plan-a.png"]
    third, body3 = names(api, org, "limit=2&sort=name&offset=4")
    assert third == ["plan-b.png"] and "next" not in body3["links"] and "prev" in body3["links"]


def test_deleted_and_metadata_changes_are_seen(searchable):
    api, org, hashes = searchable
    api.call("DELETE", f"/sourceimages/{org}/{hashes['beach.jpg']}")
    assert names(api, org, "user:int:views=200")[0] == []
    got, _ = names(api, org, "deleted=true")
    assert got == ["beach.jpg"]
    api.call("PATCH", f"/sourceimages/{org}/{hashes['alpine.jpg']}/meta/user", {"int:views": 31})
    assert names(api, org, "user:int:views=[31,31]")[0] == ["alpine.jpg"]
    assert names(api, org, "user:int:views=10")[0] == []


@pytest.mark.parametrize("query", ["limit=2001", "limit=x", "sort=size sideways", "nosuchfield=1",
                                   "user:int:views=abc", "offset=notacursor"])
def test_bad_queries_are_400(searchable, query):
    api, org, _ = searchable
    assert api.call("GET", f"/sourceimages/{org}?{query}").status_code == 400


def test_binary_hash_lookup(searchable):
    api, org, hashes = searchable
    item = json_of(api.call("GET", f"/sourceimages/{org}/{hashes['beach.jpg']}"))
    got, body = names(api, org, f"binaryHash={item['binary_hash']}")
    assert got == ["beach.jpg"] and body["total"] == 1
