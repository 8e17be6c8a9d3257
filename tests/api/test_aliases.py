"""Aliases and rendering by alias (reference §6.4)."""
import pytest

from chalicelib import bootstrap
from tests.conftest import Api, image_bytes, json_of, signup



@pytest.fixture
def api(api_any):
    """Every test here runs on both storage adapters."""
    return api_any

def render(path):
    return bootstrap.services().renderer.handle(path)


def upload(api, seed=0):
    return json_of(api.upload("acme", [("filedata", "a.png", image_bytes("PNG", seed=seed))]))["items"][0]


def test_alias_lifecycle_and_render(api):
    a, b = upload(api, 1), upload(api, 2)
    r = api.call("PUT", "/sourceimages/acme/alias/hero_1", {"hash": a["short_hash"]})
    assert r.status_code == 201
    body = json_of(r)
    assert body["alias"] == "hero_1" and body["hash"] == a["hash"] and body["organization"] == "acme"
    assert json_of(api.call("GET", "/sourceimages/acme/alias/hero_1"))["hash"] == a["hash"]
    first = render("/acme/dynamic/resize-width-20/-_hero_1_-.png")
    assert first.status == 200
    assert api.call("PUT", "/sourceimages/acme/alias/hero_1", {"hash": b["hash"]}).status_code == 409
    r = api.call("PUT", "/sourceimages/acme/alias/hero_1?overwrite=true", {"hash": b["hash"]})
    assert r.status_code == 200
    # The cached render of the old target is gone; the alias now renders the new image.
    second = render("/acme/dynamic/resize-width-20/-_hero_1_-.png")
    assert second.status == 200 and second.body != first.body
    assert render("/acme/dynamic/resize-width-20/-_hero_1_-/seo.png").status == 200
    assert api.call("DELETE", "/sourceimages/acme/alias/hero_1").status_code == 204
    assert render("/acme/dynamic/resize-width-20/-_hero_1_-.png").status == 404
    assert api.call("GET", "/sourceimages/acme/alias/hero_1").status_code == 404
    assert api.call("DELETE", "/sourceimages/acme/alias/hero_1").status_code == 404


@pytest.mark.parametrize("name", ["bad-name", "a.b", "x" * 101])
def test_invalid_alias_names_are_404(api, name):
    a = upload(api)
    assert api.call("PUT", f"/sourceimages/acme/alias/{name}", {"hash": a["hash"]}).status_code == 404


def test_alias_to_unknown_image_or_bad_body(api):
    assert api.call("PUT", "/sourceimages/acme/alias/x", {"hash": "0" * 40}).status_code == 404
    assert api.call("PUT", "/sourceimages/acme/alias/x", {"nohash": 1}).status_code == 400


def test_deleting_the_image_stops_alias_renders(api):
    a = upload(api)
    api.call("PUT", "/sourceimages/acme/alias/pic", {"hash": a["hash"]})
    assert render("/acme/dynamic/noop/-_pic_-.png").status == 200
    api.call("DELETE", f"/sourceimages/acme/{a['hash']}")
    assert render("/acme/dynamic/noop/-_pic_-.png").status == 404


def test_aliases_are_per_organization(api):
    a = upload(api)
    api.call("PUT", "/sourceimages/acme/alias/pic", {"hash": a["hash"]})
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert other.call("GET", "/sourceimages/acme/alias/pic").status_code == 403
    assert other.call("GET", "/sourceimages/other/alias/pic").status_code == 404
    assert render("/other/dynamic/noop/-_pic_-.png").status == 404
