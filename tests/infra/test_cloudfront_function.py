"""The CloudFront Function (viewer request): host rewrite, Accept reduction, cache-key safety.

The function is JavaScript, so it is run under node through tests/infra/cloudfront_harness.js,
both as a CommonJS module (``require``) and the way CloudFront runs it: a plain strict-mode
script in an empty global scope (``sandbox``). Node is a hard requirement: without it these
tests fail rather than skip, so an untested function can never ship unnoticed.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "infra" / "cloudfront" / "viewer-request.js"
HARNESS = Path(__file__).resolve().parent / "cloudfront_harness.js"
DOMAIN = "img.example.com"
PLACEHOLDER = "__RENDER_DOMAIN__"
MAX_SIZE = 10 * 1024  # CloudFront Functions: maximum function size 10 KB

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
FIREFOX = "image/avif,image/webp,*/*"
SAFARI_17 = ("image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
             "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5")
SAFARI_14 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
JXL_ONLY = "image/jxl,image/webp,*/*"
OLD_BROWSER = "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
CURL = "*/*"


def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("node is required to test infra/cloudfront/viewer-request.js (not skipped on purpose)")
    return exe


def event(uri, host=DOMAIN, accept=CURL, querystring=None):
    headers = {"host": {"value": host}}
    if accept is not None:
        headers["accept"] = {"value": accept}
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": "d111111abcdef8.cloudfront.net",
            "distributionId": "EDFDVBD6EXAMPLE",
            "eventType": "viewer-request",
            "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
        },
        "viewer": {"ip": "198.51.100.11"},
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": querystring if querystring is not None else {},
            "headers": headers,
            "cookies": {},
        },
    }


# id: (uri, host, accept, expected uri)
CASES = {
    # 1. host rewrite
    "host-form-to-path-form": ("/dynamic/resize-width-100/abc.gif", "acme.img.example.com", CURL,
                               "/acme/dynamic/resize-width-100/abc.gif"),
    "host-form-root": ("/", "acme.img.example.com", CURL, "/acme/"),
    "host-form-uppercase-host": ("/s/abc.gif", "ACME.Img.Example.COM", CURL, "/acme/s/abc.gif"),
    "host-form-with-port": ("/s/abc.gif", "acme.img.example.com:443", CURL, "/acme/s/abc.gif"),
    "host-form-63-char-org": ("/s/abc.gif", "a" * 63 + ".img.example.com", CURL, "/" + "a" * 63 + "/s/abc.gif"),
    "host-form-digits-and-hyphen": ("/s/abc.gif", "0rg-1.img.example.com", CURL, "/0rg-1/s/abc.gif"),
    "path-form-unchanged": ("/acme/dynamic/resize-width-100/abc.gif", DOMAIN, CURL,
                            "/acme/dynamic/resize-width-100/abc.gif"),
    "cloudfront-host-unchanged": ("/acme/s/abc.gif", "d111111abcdef8.cloudfront.net", CURL, "/acme/s/abc.gif"),
    "other-host-unchanged": ("/acme/s/abc.gif", "img.example.com.evil.test", CURL, "/acme/s/abc.gif"),
    "suffix-without-dot-unchanged": ("/acme/s/abc.gif", "acmeimg.example.com", CURL, "/acme/s/abc.gif"),
    "invalid-org-64-chars": ("/acme/s/abc.gif", "a" * 64 + ".img.example.com", CURL, "/acme/s/abc.gif"),
    "invalid-org-leading-hyphen": ("/acme/s/abc.gif", "-acme.img.example.com", CURL, "/acme/s/abc.gif"),
    "invalid-org-underscore": ("/acme/s/abc.gif", "ac_me.img.example.com", CURL, "/acme/s/abc.gif"),
    "invalid-org-two-labels": ("/acme/s/abc.gif", "a.b.img.example.com", CURL, "/acme/s/abc.gif"),
    # 2. Accept reduction to a format token
    "chrome-avif": ("/acme/s/abc.jpg", DOMAIN, CHROME, "/acme/~avif/s/abc.jpg"),
    "firefox-avif": ("/acme/s/abc.jpg", DOMAIN, FIREFOX, "/acme/~avif/s/abc.jpg"),
    "safari17-jxl-avif": ("/acme/s/abc.jpg", DOMAIN, SAFARI_17, "/acme/~jxl-avif/s/abc.jpg"),
    "jxl-without-avif": ("/acme/s/abc.png", DOMAIN, JXL_ONLY, "/acme/~jxl/s/abc.png"),
    "jxl-no-token-for-jxl-ext": ("/acme/s/abc.jxl", DOMAIN, SAFARI_17, "/acme/s/abc.jxl"),
    "safari14-webp": ("/acme/s/abc.jpg", DOMAIN, SAFARI_14, "/acme/~webp/s/abc.jpg"),
    "old-browser-none": ("/acme/s/abc.jpg", DOMAIN, OLD_BROWSER, "/acme/s/abc.jpg"),
    "curl-none": ("/acme/s/abc.jpg", DOMAIN, CURL, "/acme/s/abc.jpg"),
    "no-accept-header": ("/acme/s/abc.jpg", DOMAIN, None, "/acme/s/abc.jpg"),
    "accept-case-insensitive": ("/acme/s/abc.png", DOMAIN, "Image/WebP,*/*", "/acme/~webp/s/abc.png"),
    "host-form-and-token": ("/dynamic/o-af-1/abc.jpg", "acme.img.example.com", CHROME,
                            "/acme/~avif/dynamic/o-af-1/abc.jpg"),
    "seo-name-and-options": ("/acme/dynamic/resize-width-100--options-autoformat-true/abc/my-photo.jpeg",
                             DOMAIN, SAFARI_14,
                             "/acme/~webp/dynamic/resize-width-100--options-autoformat-true/abc/my-photo.jpeg"),
    # extension rules
    "ext-jpeg": ("/acme/s/abc.jpeg", DOMAIN, CHROME, "/acme/~avif/s/abc.jpeg"),
    "ext-png": ("/acme/s/abc.png", DOMAIN, CHROME, "/acme/~avif/s/abc.png"),
    "ext-upper-JPG": ("/acme/s/abc.JPG", DOMAIN, CHROME, "/acme/~avif/s/abc.JPG"),
    "ext-upper-PNG": ("/acme/s/abc.PNG", DOMAIN, SAFARI_14, "/acme/~webp/s/abc.PNG"),
    "ext-webp-no-token": ("/acme/s/abc.webp", DOMAIN, CHROME, "/acme/s/abc.webp"),
    "ext-gif-no-token": ("/acme/s/abc.gif", DOMAIN, CHROME, "/acme/s/abc.gif"),
    "ext-avif-no-token": ("/acme/s/abc.avif", DOMAIN, CHROME, "/acme/s/abc.avif"),
    "no-extension-no-token": ("/acme/s/abc", DOMAIN, CHROME, "/acme/s/abc"),
    "jpg-not-last-segment": ("/acme/s/abc.jpg/more", DOMAIN, CHROME, "/acme/s/abc.jpg/more"),
    "jpg-lookalike-no-token": ("/acme/s/abc.jpgx", DOMAIN, CHROME, "/acme/s/abc.jpgx"),
    "org-only-untouched": ("/acme.jpg", DOMAIN, CHROME, "/acme.jpg"),
    # 3. forced '~' segments are stripped, then rule 2 applies
    "forced-webp-replaced-by-avif": ("/acme/~webp/s/abc.jpg", DOMAIN, CHROME, "/acme/~avif/s/abc.jpg"),
    "forced-avif-stripped-for-curl": ("/acme/~avif/s/abc.jpg", DOMAIN, CURL, "/acme/s/abc.jpg"),
    "forced-avif-stripped-for-gif": ("/acme/~avif/s/abc.gif", DOMAIN, CHROME, "/acme/s/abc.gif"),
    "forced-jxl-stripped-for-curl": ("/acme/~jxl-avif/s/abc.jpg", DOMAIN, CURL, "/acme/s/abc.jpg"),
    "forced-several-stripped": ("/acme/~avif/~webp/~/s/abc.jpg", DOMAIN, SAFARI_14, "/acme/~webp/s/abc.jpg"),
    "forced-percent-encoded-stripped": ("/acme/%7Eavif/%7ewebp/s/abc.jpg", DOMAIN, CURL, "/acme/s/abc.jpg"),
    "forced-in-host-form-stripped": ("/~avif/s/abc.jpg", "acme.img.example.com", CURL, "/acme/s/abc.jpg"),
    "forced-as-last-segment": ("/acme/~avif", DOMAIN, CHROME, "/acme/"),
    "tilde-later-segment-kept": ("/acme/s/~abc.jpg", DOMAIN, CHROME, "/acme/~avif/s/~abc.jpg"),
    # 4. remote images: the "//" of a full URL and a remote path's "/" pass through as they are
    "remote-full-url-host-form": ("/s/-https://cdn.example.org/a/b-c.jpg-/seo.jpg", "acme.img.example.com",
                                  CHROME, "/acme/~avif/s/-https://cdn.example.org/a/b-c.jpg-/seo.jpg"),
    "remote-path-gif": ("/acme/s/-folder/pic.png-.gif", DOMAIN, CHROME, "/acme/s/-folder/pic.png-.gif"),
}

QUERY = {"v": {"value": "2"}, "tag": {"value": "a", "multiValue": [{"value": "a"}, {"value": "b"}]}}


def run_harness(function_file: Path, mode: str, events: list) -> list:
    proc = subprocess.run(
        [node(), str(HARNESS), str(function_file), mode],
        input=json.dumps(events), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def function_file(tmp_path_factory) -> Path:
    """A copy of the function with the render domain substituted, as the packaging step does."""
    source = FUNCTION.read_text(encoding="utf-8")
    target = tmp_path_factory.mktemp("cloudfront") / "viewer-request.js"
    target.write_text(source.replace(PLACEHOLDER, DOMAIN), encoding="utf-8")
    return target


@pytest.fixture(scope="module", params=["require", "sandbox"])
def results(request, function_file):
    """Every case through one node process per loading mode: {case id: returned request}."""
    ids = list(CASES)
    events = [event(uri, host, accept) for uri, host, accept, _ in CASES.values()]
    ids.append("querystring")
    events.append(event("/acme/s/abc.jpg", DOMAIN, CHROME, querystring=QUERY))
    out = run_harness(function_file, request.param, events)
    assert len(out) == len(ids)
    return dict(zip(ids, out))


@pytest.mark.parametrize("case", list(CASES))
def test_uri(results, case):
    uri, host, accept, expected = CASES[case]
    got = results[case]
    assert "__error__" not in got, got.get("__error__")
    assert got["uri"] == expected


@pytest.mark.parametrize("case", list(CASES))
def test_render_lambda_derives_the_same_token(results, case):
    """Without CloudFront (local server, function URL), url.accept_token_for gives the same token."""
    from chalicelib.render import url

    uri, host, accept, expected = CASES[case]
    if uri.startswith("/acme/s/abc.") and uri.rsplit(".", 1)[1].lower() in url.NEGOTIABLE and host == DOMAIN:
        token = url.accept_token_for(accept)
        assert expected == (f"/acme/~{token}/" if token else "/acme/") + uri[len("/acme/"):]


@pytest.mark.parametrize("case", list(CASES))
def test_accept_removed_other_headers_kept(results, case):
    got = results[case]
    assert "accept" not in got["headers"]
    assert got["headers"]["host"] == {"value": CASES[case][1]}
    assert got["method"] == "GET"
    assert got["querystring"] == {}
    assert got["cookies"] == {}


def test_querystring_untouched(results):
    import hashlib
    got = results["querystring"]
    assert got["uri"] == "/acme/~avif/s/abc.jpg~v" + hashlib.sha1(b"2").hexdigest()[:16]
    assert got["querystring"] == QUERY
    assert "accept" not in got["headers"]


@pytest.mark.parametrize("mode", ["require", "sandbox"])
def test_v_query_is_folded_into_the_uri_as_the_render_lambda_expects(function_file, mode):
    import hashlib

    from chalicelib.render.url import parse
    raw = "%7B%22w%22%3A%22a%20%26%20b%22%7D"
    ev = event("/s/abcdef.jpg", "acme." + DOMAIN, CURL, {"v": {"value": raw}})
    forced = event("/s/abcdef.jpg~v0000000000000000", "acme." + DOMAIN, CURL)
    out = run_harness(function_file, mode, [ev, forced])
    digest = hashlib.sha1(raw.encode()).hexdigest()[:16]
    assert out[0]["uri"] == f"/acme/s/abcdef.jpg~v{digest}"
    assert out[1]["uri"] == "/acme/s/abcdef.jpg"  # a forged suffix is dropped
    # The render side parses that path with that query into the same cache key.
    req = parse(out[0]["uri"], "v=" + raw)
    assert req.cache_key == out[0]["uri"].lstrip("/") and req.variables == {"w": "a & b"}


def test_placeholder_is_one_substitutable_constant():
    source = FUNCTION.read_text(encoding="utf-8")
    assert source.count(PLACEHOLDER) == 1
    assert re.search(r"^var RENDER_DOMAIN = '__RENDER_DOMAIN__';$", source, re.M)


def test_unsubstituted_template_rewrites_nothing():
    out = run_harness(FUNCTION, "sandbox", [event("/s/abc.jpg", "acme.img.example.com", CURL)])
    assert out[0]["uri"] == "/s/abc.jpg"


def test_parses_as_plain_script():
    proc = subprocess.run([node(), "--check", str(FUNCTION)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_size_under_cloudfront_limit():
    # Even with the longest possible domain name substituted in.
    size = len(FUNCTION.read_text(encoding="utf-8").replace(PLACEHOLDER, "x" * 253).encode("utf-8"))
    assert size < MAX_SIZE


def test_uses_only_cloudfront_runtime_features():
    """CloudFront Functions: no modules, no timers, no dynamic code, no Date; entry point handler()."""
    lines = FUNCTION.read_text(encoding="utf-8").rstrip("\n").split("\n")
    code = "\n".join(line for line in lines[:-1] if not line.lstrip().startswith("//"))
    assert re.search(r"^function handler\(event\) \{$", code, re.M)
    # require('crypto') is the one module cloudfront-js-2.0 offers.
    assert re.findall(r"\brequire\s*\(([^)]*)\)", code) == ["'crypto'"]
    for forbidden in (r"^\s*import\b", r"^\s*export\b", r"\bmodule\b", r"\bexports\b",
                      r"\bprocess\.", r"\bsetTimeout\b", r"\bsetInterval\b", r"\beval\s*\(",
                      r"\bnew Function\b", r"\bDate\b", r"\bconsole\.", r"\bclass\b"):
        assert not re.search(forbidden, code, re.M), forbidden
    # The one node-only line is the last, guarded so it is inert where `module` is undeclared.
    assert lines[-1] == "if (typeof module !== 'undefined') { module.exports = { handler: handler }; }"
