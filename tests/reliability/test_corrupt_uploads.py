"""Upload integrity: corrupt files of every accepted input format (hostile.corrupt: truncated,
garbage pixel data in a valid container, bad CRCs, wrong magic) are a 400 with rokka's error
JSON and leave nothing behind (no original, no record, no search entry), on both adapters.
A source that stops decoding after the upload (its stored original overwritten) renders as a
JSON error, never as an image, and nothing is cached."""
from __future__ import annotations

import json
import uuid

import pytest

from chalicelib import bootstrap
from chalicelib.services.sourceimages import original_key
from tests.conftest import Api, image_bytes, json_of, signup
from tests.reliability import hostile

CORRUPT = hostile.corrupt()


@pytest.fixture(scope="module", params=["local", "aws"])
def app_any(request, tmp_path_factory):
    """The app on the local adapters or on fresh tables and buckets of the moto server, with
    one organization, for the whole module."""
    with pytest.MonkeyPatch.context() as mp:
        for k in ("MAX_SOURCE_PIXELS", "MAX_UPLOAD_BYTES", "RENDER_TIMEOUT_SECONDS", "CLOUDFRONT_DISTRIBUTION_ID"):
            mp.delenv(k, raising=False)
        mp.setenv("DATA_DIR", str(tmp_path_factory.mktemp("corrupt") / "data"))
        mp.setenv("ALLOW_SIGNUP", "true")
        if request.param == "aws":
            request.getfixturevalue("moto_endpoint")
            from chalicelib.storage import aws
            run = uuid.uuid4().hex[:8]
            env = {"TABLE_PREFIX": f"c{run}-", "SOURCES_BUCKET": f"c{run}-sources", "RENDERS_BUCKET": f"c{run}-renders"}
            aws.ensure_resources(env["TABLE_PREFIX"], [env["SOURCES_BUCKET"], env["RENDERS_BUCKET"]])
            for k, v in env.items():
                mp.setenv(k, v)
        mp.setenv("STORAGE", request.param)
        bootstrap.reset()
        from chalice.test import Client

        from app import app

        with Client(app) as c:
            api = Api(c)
            api.key = signup(api, "acme")["api_key"]
            yield api
        bootstrap.reset()


def leftovers(org: str = "acme") -> dict:
    """Everything an upload could have left in the storage of `org`."""
    storage = bootstrap.services().storage
    return {"originals": storage.originals.list(f"{org}/"), "records": storage.images.list(org, 10, 0)[1],
            "search": storage.images.find(org, "created", "0", "\uffff", 10)}


NOTHING = {"originals": [], "records": 0, "search": []}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_upload_is_400_and_stores_nothing(app_any, name):
    r = app_any.upload("acme", [("filedata", name, CORRUPT[name])])
    assert r.status_code == 400, (r.status_code, r.body[:300])
    assert json_of(r)["error"]["code"] == 400 and json_of(r)["error"]["message"]
    assert leftovers() == NOTHING


def test_one_corrupt_file_among_good_ones_stores_none_of_them(app_any):
    good = image_bytes("PNG", seed=99)
    r = app_any.upload("acme", [("filedata", "good.png", good),
                                ("filedata", "bad.png", CORRUPT["png-garbage-idat"])])
    assert r.status_code == 400
    assert leftovers() == NOTHING


def test_a_source_that_no_longer_decodes_renders_as_a_json_error(app_any):
    """Simulates an original damaged in storage after its upload: the blob is overwritten."""
    r = app_any.upload("acme", [("filedata", "later-broken.png", image_bytes("PNG", size=(300, 200), seed=7))])
    assert r.status_code == 200, r.body
    item = json_of(r)["items"][0]
    found = leftovers()  # the probe sees what an upload stores
    assert found["records"] == 1 and found["originals"] and found["search"] == [item["hash"]]
    svc = bootstrap.services()
    svc.storage.originals.put(original_key("acme", item["binary_hash"]), CORRUPT["png-garbage-idat"])
    for path in (f"/acme/dynamic/resize-width-50/{item['hash']}.jpg", f"/acme/dynamic/noop/{item['hash']}.png",
                 f"/acme/dynamic/resize-width-50/{item['short_hash']}.webp"):
        res = svc.renderer.handle(path, "", {})
        assert 400 <= res.status < 600, (path, res.status)
        assert res.headers["Content-Type"] == "application/json"
        assert json.loads(res.body)["error"]["code"] == res.status
        assert "Traceback" not in res.body.decode()
    assert svc.storage.renders.list("") == [] and svc.storage.render_index.keys_for_image("acme", item["hash"]) == []
    app_any.call("DELETE", f"/sourceimages/acme/{item['hash']}")
