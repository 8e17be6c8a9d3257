"""render_org_fallback (§6.3): renders of hashes missing in an org come from the fallback org's
images; nothing leaks without the option, and the cache follows image and option changes."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib import bootstrap
from tests.conftest import image_bytes, json_of


def render(path):
    return bootstrap.services().renderer.handle(path, "", {})


@pytest.fixture
def two_orgs(api_any):
    """acme (rendering org, stack 'thumb') and bee (the same admin) holding one image."""
    api = api_any
    assert api.call("PUT", "/organizations/bee", {"billing_email": "b@example.com"}).status_code == 200
    item = json_of(api.upload("bee", [("filedata", "b.png", image_bytes("PNG", size=(160, 80), seed=5))]))["items"][0]
    assert api.call("PUT", "/stacks/acme/thumb", [{"name": "resize", "options": {"width": 40}}]).status_code == 201
    return api, item


def cached(path):
    return bootstrap.services().storage.renders.get(path.lstrip("/")) is not None


def set_fallback(api, value):
    r = api.call("PUT", "/organizations/acme/options/render_org_fallback", raw=value.encode(),
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.body


def test_fallback_renders_the_other_orgs_image_only_when_set(two_orgs):
    api, item = two_orgs
    path = f"/acme/thumb/{item['hash']}.png"
    assert render(path).status == 404  # no option: bee's image is invisible to acme
    assert render(f"/acme/dynamic/resize-width-10/{item['short_hash']}.png").status == 404

    set_fallback(api, '"bee"')
    result = render(path)
    assert result.status == 200 and Image.open(io.BytesIO(result.body)).size == (40, 20)
    assert render(f"/acme/dynamic/resize-width-10/{item['short_hash']}.png").status == 200
    assert cached(path)
    # Render only: acme's API still does not show bee's image.
    assert api.call("GET", f"/sourceimages/acme/{item['hash']}").status_code == 404
    assert render(f"/acme/thumb/{'0' * 40}.png").status == 404  # missing in both

    # An image acme has itself wins over the fallback.
    own = json_of(api.upload("acme", [("filedata", "a.png", image_bytes("PNG", size=(100, 100), seed=7))]))
    own_result = render(f"/acme/thumb/{own['items'][0]['hash']}.png")
    assert Image.open(io.BytesIO(own_result.body)).size == (40, 40)

    # Unsetting the option drops the cached fallback renders: no leak through the cache.
    set_fallback(api, "null")
    assert not cached(path) and render(path).status == 404
    assert cached(f"/acme/thumb/{own['items'][0]['hash']}.png")  # acme's own renders stay


def test_deleting_the_image_in_the_fallback_org_drops_the_fallback_renders(two_orgs):
    api, item = two_orgs
    set_fallback(api, '"bee"')
    path = f"/acme/thumb/{item['hash']}.png"
    assert render(path).status == 200 and cached(path)
    assert api.call("DELETE", f"/sourceimages/bee/{item['hash']}").status_code == 204
    assert not cached(path) and render(path).status == 404

    # Changing acme's stack still drops acme's fallback renders too.
    assert api.call("POST", f"/sourceimages/bee/{item['hash']}/restore").status_code == 200
    assert render(path).status == 200 and cached(path)
    body = [{"name": "resize", "options": {"width": 20}}]
    assert api.call("PUT", "/stacks/acme/thumb?overwrite=true", body).status_code == 200
    assert not cached(path)
    assert Image.open(io.BytesIO(render(path).body)).size == (20, 10)
