"""Remote images (§6.3): -{path}- with remote_basepath and -https://...- with remote_fullurl_allow,
fetched once through the SSRF-safe fetcher, stored as source images; on both storage adapters."""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from chalicelib import bootstrap
from tests.conftest import json_of
from tests.render.remote_server import CountingServer


def render(path, query=""):
    return bootstrap.services().renderer.handle(path, query, {})


def error_code(result):
    assert result.headers["Content-Type"] == "application/json"
    return json.loads(result.body)["error"]["code"]


@pytest.fixture
def remote(api_any, monkeypatch):
    """The counting image server on loopback, which the fetcher may reach (FETCH_ALLOWED_NETWORKS)."""
    server = CountingServer()
    monkeypatch.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.1/32")
    bootstrap.reset()
    yield server
    server.close()


def set_options(api, options, org="acme"):
    r = api.call("PUT", f"/organizations/{org}/options", options)
    assert r.status_code == 200, r.body


def image_count(api, org="acme"):
    return json_of(api.call("GET", f"/sourceimages/{org}"))["total"]


def test_basepath_image_is_fetched_once_stored_and_rendered(api_any, remote):
    api = api_any
    set_options(api, {"remote_basepath": remote.base + "/imgs/"})
    assert api.call("PUT", "/stacks/acme/thumb", [{"name": "resize", "options": {"width": 50}}]).status_code == 201
    result = render("/acme/thumb/-photo.png-.jpg")
    assert result.status == 200, result.body[:300]
    assert Image.open(io.BytesIO(result.body)).size == (50, 25)
    assert remote.hits["/imgs/photo.png"] == 1

    # Stored as a source image that records where it came from.
    items = json_of(api.call("GET", "/sourceimages/acme"))["items"]
    assert len(items) == 1
    assert items[0]["static_metadata"]["remote_urls"] == [remote.base + "/imgs/photo.png"]
    assert (items[0]["width"], items[0]["height"], items[0]["format"]) == (200, 100, "png")

    # The same URL again: from the render cache; another stack and an SEO name: from the stored image.
    assert render("/acme/thumb/-photo.png-.jpg").body == result.body
    again = render("/acme/dynamic/resize-width-20/-photo.png-/my-seo-name.png")
    assert again.status == 200 and Image.open(io.BytesIO(again.body)).size == (20, 10)
    assert remote.hits["/imgs/photo.png"] == 1 and image_count(api) == 1

    # Deleting the image drops its renders; the next render imports it again (and revives it).
    assert api.call("DELETE", f"/sourceimages/acme/{items[0]['hash']}").status_code == 204
    assert render("/acme/thumb/-photo.png-.jpg").status == 200
    assert remote.hits["/imgs/photo.png"] == 2 and image_count(api) == 1


def test_full_urls_need_allow_and_match_the_whitelist(api_any, remote):
    api = api_any
    url = remote.base + "/imgs/sub/other-img.jpg"
    path = f"/acme/dynamic/resize-width-30/-{url}-.png"
    assert error_code(render(path)) == 403  # remote_fullurl_allow is off
    set_options(api, {"remote_fullurl_allow": True, "remote_fullurl_whitelist": [r"^https://cdn\.example\.com/"]})
    assert error_code(render(path)) == 403  # not on the whitelist
    assert remote.total == 0 and image_count(api) == 0

    set_options(api, {"remote_fullurl_whitelist": [r"^https://cdn\.example\.com/", r"^http://127\.0\.0\.1:\d+/imgs/"]})
    result = render(path)
    assert result.status == 200, result.body
    assert Image.open(io.BytesIO(result.body)).size == (30, 15)
    # A proxy folding "//" into "/" still names the same image: found, not fetched again.
    assert render(path.replace("http://", "http:/"), "x=1").status == 200
    assert render(f"/acme/dynamic/resize-width-31/-{url}-/seo.png").status == 200
    assert remote.hits["/imgs/sub/other-img.jpg"] == 1 and image_count(api) == 1


def test_failures_are_rokka_errors_and_store_nothing(api_any, remote, monkeypatch):
    set_options(api_any, {"remote_basepath": remote.base + "/imgs"})
    for tail in ("-missing.png-.jpg",         # the remote server answers 404
                 "-not-an-image.png-.jpg",    # not an image
                 "-../secret.png-.jpg",       # leaves the base path
                 "-@evil.example/x.png-.jpg",  # stays a path on the base host (which answers 404)
                 "-photo.png-"):              # no format
        result = render("/acme/dynamic/resize-width-10/" + tail)
        assert result.status == 400 and error_code(result) == 400, tail
    assert remote.hits["/imgs/missing.png"] == 1 and remote.hits["/imgs/not-an-image.png"] == 1
    assert remote.hits["/imgs/@evil.example/x.png"] == 1
    assert remote.total == 3 and image_count(api_any) == 0

    monkeypatch.delenv("FETCH_ALLOWED_NETWORKS")  # loopback is not public: refused by the fetcher
    bootstrap.reset()
    result = render("/acme/dynamic/resize-width-10/-photo.png-.png")
    assert result.status == 400 and "non-public" in json.loads(result.body)["error"]["message"]
    assert remote.total == 3 and image_count(api_any) == 0


def test_stack_options_set_the_remote_source_but_url_options_cannot(api_any, remote):
    api = api_any
    body = {"operations": [{"name": "resize", "options": {"width": 40}}],
            "options": {"remote_basepath": remote.base + "/imgs"}}
    assert api.call("PUT", "/stacks/acme/remote", body).status_code == 201
    assert render("/acme/remote/-photo.png-.png").status == 200
    assert error_code(render("/acme/dynamic/resize-width-10/-photo.png-.png")) == 403  # no org basepath
    # Turning full URLs on from the URL would let anyone fetch anything.
    url = remote.base + "/imgs/photo.png"
    assert error_code(render(f"/acme/dynamic/resize-width-10/o-remote_fullurl_allow-true/-{url}-.png")) == 400
    assert remote.hits["/imgs/photo.png"] == 1


@pytest.mark.parametrize("path, remote, seo", [
    ("/acme/~avif/s/-https://cdn.example.org/a/b-c.jpg-/seo.jpg", "https://cdn.example.org/a/b-c.jpg", "seo"),
    ("/acme/s/resize-width-[image.width-1]/-folder/my-pic.png-.gif", "folder/my-pic.png", None),
    ("/acme/s/-x.png-/name.with.dots.webp~v" + "0" * 16, "x.png", "name.with.dots"),
])
def test_remote_tokens_parse_and_key_the_cache_as_cloudfront_asks_s3(path, remote, seo):
    from chalicelib.render import url

    query = ""
    if "~v" in path:  # the suffix must be the digest of the v parameter
        query = "v=%7B%7D"
        path = path.replace("0" * 16, url.variables_digest(query))
    req = url.parse(path, query)
    assert (req.image_kind, req.image, req.seo_name) == ("remote", remote, seo)
    assert req.cache_key == path.lstrip("/")


def test_source_url_rules():
    from chalicelib.errors import BadRequest, Forbidden
    from chalicelib.services.remote_images import effective_options, source_url

    opts = effective_options({"remote_basepath": "https://org.example/base/"}, {"remote_fullurl_allow": True})
    assert source_url("a/b.jpg", opts) == "https://org.example/base/a/b.jpg"
    assert source_url("HTTPS:/cdn.example/x.jpg", opts) == "https://cdn.example/x.jpg"
    assert source_url("x.jpg", effective_options({"remote_basepath": "https://o.example"}, {})) == "https://o.example/x.jpg"
    for bad in ("a/../b.jpg", "./b.jpg", "a\\b.jpg", "b.jpg?x=1"):
        with pytest.raises(BadRequest):
            source_url(bad, opts)
    with pytest.raises(Forbidden):
        source_url("https://cdn.example/x.jpg", effective_options({"remote_fullurl_allow": True},
                                                                  {"remote_fullurl_whitelist": ["^https://other"]}))
    with pytest.raises(Forbidden):
        source_url("x.jpg", effective_options({}, {}))
