"""Signed URLs, protected stacks and images, basestacks, video formats (reference §3.4, §6.9)."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from chalicelib import bootstrap
from chalicelib.render import signing
from tests.conftest import image_bytes, json_of
from tests.render.test_render import decoded, make_stack, photo, render  # noqa: F401 - fixtures

E2E = Path(__file__).resolve().parent.parent / "e2e"


def signing_key(api) -> str:
    return json_of(api.call("GET", "/organizations/acme"))["signing_keys"][0]["key"]


def rokka_js_sign(urls: list[tuple[str, str | None]], key: str) -> list[str]:
    """Sign URLs with the official rokka.js client (render.signUrl), optionally with `until`."""
    script = """
const rokka = require('rokka').default || require('rokka');
const client = rokka({});
const [items, key] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(items.map(([url, until]) =>
  client.render.signUrl(url, key, until ? {until: new Date(until), roundDateUpTo: 1} : {}))));
"""
    out = subprocess.run(["node", "-e", script], cwd=E2E, input=json.dumps([urls, key]), capture_output=True,
                         text=True, check=True, timeout=30)
    return json.loads(out.stdout)


def render_url(url: str):
    """Render a host-form URL (http://acme.localhost/...) the way the local server maps it."""
    parts = urlsplit(url)
    return render("/acme" + parts.path, parts.query)


def test_organizations_get_a_signing_key(api):
    assert len(signing_key(api)) >= 20


def test_protected_stack_needs_a_signature_computed_by_rokka_js(api, photo):  # noqa: F811
    make_stack(api, "secret", {"operations": [{"name": "resize", "options": {"width": 50}}],
                               "options": {"protected": True}})
    base = f"http://acme.localhost:8000/secret/{photo['hash']}"
    assert render(f"/acme/secret/{photo['hash']}.jpg").status == 403
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    plain, seo, with_v, valid_until, expired = rokka_js_sign([
        (f"{base}.jpg", None), (f"{base}/seo-name.jpg", None),
        (f"{base}.jpg?v=" + quote('{"x":1}'), None), (f"{base}.jpg", future), (f"{base}.jpg", past),
    ], signing_key(api))
    for url in (plain, seo, with_v, valid_until):
        result = render_url(url)
        assert result.status == 200, (url, result.body)
        assert decoded(result).size == (50, 38)
    assert render_url(expired).status == 403
    assert json.loads(render_url(expired).body)["error"]["message"] == "The signed URL has expired."
    tampered = plain.replace("sig=", "sig=0") [:-1]
    assert render_url(tampered).status == 403
    assert render_url(plain.replace("/secret/", "/secret/resize-width-60/")).status == 403


def test_php_style_signature_over_the_path_with_seo_name(api, photo):  # noqa: F811
    make_stack(api, "secret", {"operations": [{"name": "resize", "options": {"width": 50}}],
                               "options": {"protected": True}})
    path = f"/secret/{photo['hash']}/seo-name.jpg"
    sig = signing.sign(path, signing_key(api))
    assert render("/acme" + path, f"sig={sig}").status == 200
    # ... and over the org-first path of a path-form render host.
    sig = signing.sign("/render/acme" + path, signing_key(api))
    assert render("/acme" + path, f"sig={sig}").status == 200
    assert render("/acme" + path, "sig=" + "0" * 16).status == 403


def test_signed_renders_are_not_stored_in_the_public_cache(api, photo, data_dir):  # noqa: F811
    make_stack(api, "secret", {"operations": [], "options": {"protected": True}})
    path = f"/secret/{photo['hash']}.png"
    assert render("/acme" + path, f"sig={signing.sign(path, signing_key(api))}").status == 200
    assert not list((data_dir / "renders").rglob("*.png"))
    assert render("/acme" + path).status == 403


def test_protected_images_need_signatures_in_any_stack(api):
    item = json_of(api.upload("acme", [("filedata", "p.jpg", image_bytes())],
                              {"options[0]": '{"protected": true}'}))["items"][0]
    assert item["protected"] is True
    path = f"/dynamic/resize-width-20/{item['hash']}.jpg"
    assert render("/acme" + path).status == 403
    assert render("/acme" + path, f"sig={signing.sign(path, signing_key(api))}").status == 200


def test_protect_dynamic_stack_organization_option(api, photo):  # noqa: F811
    svc = bootstrap.services()
    org = svc.storage.organizations.get("acme")
    org.options["protect_dynamic_stack"] = True
    svc.storage.organizations.update(org)
    path = f"/dynamic/resize-width-20/{photo['hash']}.jpg"
    assert render("/acme" + path).status == 403
    assert render("/acme" + path, f"sig={signing.sign(path, signing_key(api))}").status == 200
    make_stack(api, "open", [{"name": "resize", "options": {"width": 20}}])
    assert render(f"/acme/open/{photo['hash']}.jpg").status == 200  # named stacks stay public


def test_basestack_runs_first_and_its_options_are_defaults(api, photo):  # noqa: F811
    make_stack(api, "base", {"operations": [{"name": "rotate", "options": {"angle": 90}}],
                             "options": {"jpg.quality": 20}})
    make_stack(api, "child", {"operations": [{"name": "resize", "options": {"width": 100}}],
                              "options": {"basestack": "base"}})
    im = decoded(render(f"/acme/child/{photo['hash']}.jpg"))
    assert im.size == (100, 133)  # rotated first (300x400), then resized
    r, _, b = im.convert("RGB").getpixel((50, 10))
    assert r > 150 and b < 100  # the red left half is on top after a clockwise turn
    make_stack(api, "loop", {"operations": [], "options": {"basestack": "loop"}})
    assert render(f"/acme/loop/{photo['hash']}.jpg").status == 400
    make_stack(api, "orphan", {"operations": [], "options": {"basestack": "nosuch"}})
    assert render(f"/acme/orphan/{photo['hash']}.jpg").status == 404


@pytest.mark.parametrize("fmt", ["mp4", "webm", "m3u8"])
def test_video_outputs_of_a_still_image_are_a_clear_400(api, photo, fmt):  # noqa: F811
    result = render(f"/acme/dynamic/noop/{photo['hash']}.{fmt}")
    assert result.status == 400 and "Video" in json.loads(result.body)["error"]["message"]


def test_video_stack_options_are_accepted_and_validated(api):
    ok = {"operations": [], "options": {"timestamp": "00:00:02", "fps": 12, "mp4.quality": 40}}
    assert api.call("PUT", "/stacks/acme/video", ok).status_code == 201
    for bad in ({"fps": 60}, {"min_video_width": 320}, {"av1.quality": 50}):
        r = api.call("PUT", "/stacks/acme/video2", {"operations": [], "options": bad})
        assert r.status_code == 400, bad
