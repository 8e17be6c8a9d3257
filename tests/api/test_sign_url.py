"""POST /utils/{org}/sign_url: server-side signing as rokka.js's render.signUrl does it (reference §6.9)."""
import hashlib
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest

from tests.conftest import Api, json_of, multipart, signup
from tests.render.test_render import make_stack, photo, render  # noqa: F401 - fixtures
from tests.render.test_signing import render_url, rokka_js_sign, signing_key


def member(api, role):
    """An API helper for a new user holding `role` in acme."""
    r = api.call("POST", "/organizations/acme/memberships", {"roles": [role]})
    return Api(api.client, json_of(r)["api_key"])


def sign(api, body, key=...):
    return api.call("POST", "/utils/acme/sign_url", body, key=key)


def signed(api, body) -> str:
    r = sign(api, body)
    assert r.status_code == 200, r.body
    return json_of(r)["signed_url"]


@pytest.fixture
def base(api, photo):  # noqa: F811
    make_stack(api, "secret", {"operations": [{"name": "resize", "options": {"width": 50}}],
                               "options": {"protected": True}})
    return f"https://acme.rokka.io/secret/{photo['hash']}"


def test_signed_url_drops_the_seo_name_and_renders(api, base):
    url = signed(api, {"url": f"{base}/my-picture.jpg"})
    assert url.startswith(f"{base}.jpg?sig=")
    sig = dict(parse_qsl(urlsplit(url).query))["sig"]
    path = urlsplit(base).path + ".jpg"
    assert sig == hashlib.sha256(f"{path}:{signing_key(api)}".encode()).hexdigest()[:16]
    assert render_url(url).status == 200
    assert render_url(f"{base}.jpg").status == 403


def test_same_result_as_rokka_js(api, base):
    urls = [f"{base}.jpg", f"{base}/seo-name.jpg", f"{base}.jpg?v=" + quote('{"a":"b c"}'),
            f"{base}/x.png?sig=0123456789abcdef&z=1&a=~*", "https://acme.rokka.io/dynamic/resize-width-20/abc123.jpg"]
    expected = rokka_js_sign([(u, None) for u in urls], signing_key(api))
    assert [signed(api, {"url": u}) for u in urls] == expected
    for url in expected[:3]:
        assert render_url(url).status == 200


def test_until_adds_sigopts_like_rokka_js(api, base):
    until = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=123000)
    [expected] = rokka_js_sign([(f"{base}.jpg", until.isoformat())], signing_key(api))
    got = signed(api, {"url": f"{base}.jpg", "until": until.isoformat(), "round_date_up_to": 1})
    assert got == expected
    assert render_url(got).status == 200

    rounded = signed(api, {"url": f"{base}.jpg", "until": until.isoformat()})  # default: up to 300 s
    sigopts = json.loads(dict(parse_qsl(urlsplit(rounded).query))["sigopts"])
    limit = datetime.fromisoformat(sigopts["until"].replace("Z", "+00:00"))
    assert limit >= until and limit.timestamp() % 300 == 0 and limit - until < timedelta(seconds=300)
    assert sigopts["until"].endswith(".000Z")

    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    expired = signed(api, {"url": f"{base}.jpg?sigopts=old", "until": past, "round_date_up_to": 0})
    assert expired.count("sigopts=") == 1 and render_url(expired).status == 403
    unlimited = signed(api, {"url": f"{base}.jpg?sigopts=old"})  # no until: sigopts is dropped
    assert "sigopts" not in unlimited and render_url(unlimited).status == 200


def test_form_fields_are_accepted(api, base):
    expected = signed(api, {"url": f"{base}/name.jpg"})
    r = api.call("POST", "/utils/acme/sign_url", raw=urlencode({"url": f"{base}/name.jpg"}).encode(),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and json_of(r)["signed_url"] == expected
    body, ctype = multipart([], {"url": f"{base}/name.jpg"})
    r = api.call("POST", "/utils/acme/sign_url", raw=body, headers={"Content-Type": ctype})
    assert r.status_code == 200 and json_of(r)["signed_url"] == expected
    r = api.call("POST", "/utils/acme/sign_url", raw=json.dumps({"url": f"{base}/name.jpg"}).encode(),
                 headers={"Content-Type": "text/plain;charset=UTF-8"})  # rokka.js
    assert r.status_code == 200 and json_of(r)["signed_url"] == expected


def test_a_path_is_signed_as_a_path(api, base):
    path = urlsplit(base).path
    url = signed(api, {"url": f"{path}/name.jpg?foo=1"})
    assert url.startswith(f"{path}.jpg?foo=1&sig=")
    assert render("/acme" + urlsplit(url).path, urlsplit(url).query).status == 200


@pytest.mark.parametrize("body", [{}, {"url": ""}, {"url": 5}, {"url": "ftp://acme.rokka.io/a/b.jpg"},
                                  {"url": "acme.rokka.io/a/b.jpg"},
                                  {"url": "https://acme.rokka.io/a/b.jpg", "until": "tomorrow"},
                                  {"url": "https://acme.rokka.io/a/b.jpg", "until": "2030-01-01T00:00:00Z",
                                   "round_date_up_to": "x"}])
def test_bad_requests_are_400(api, body):
    r = sign(api, body)
    assert r.status_code == 400 and json_of(r)["error"]["code"] == 400


def test_signing_needs_read_access(api):
    body = {"url": "https://acme.rokka.io/s/abcdef.jpg"}
    reader = member(api, "read")
    assert sign(reader, body).status_code == 200
    uploader = member(api, "upload")
    assert sign(uploader, body).status_code == 403
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert sign(other, body).status_code == 403
    r = sign(api, body, key=None)
    assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True
