"""errors.http_error is the one place errors become HTTP; both edges (API and render) use it."""
from __future__ import annotations

import json
import logging

from chalicelib import bootstrap
from chalicelib.errors import AuthenticationFailed, BadRequest, http_error
from tests.conftest import json_of


def test_typed_errors_keep_their_status_and_rokka_body():
    assert http_error(BadRequest("nope")) == (400, {"error": {"code": 400, "message": "nope"}})
    status, body = http_error(AuthenticationFailed())
    assert status == 403 and body["invalid_authentication"] is True


def test_unexpected_errors_are_logged_500s_without_internals(caplog):
    with caplog.at_level(logging.ERROR, logger="rokka"):
        status, body = http_error(KeyError("secret-internal-name"), "somewhere")
    assert (status, body) == (500, {"error": {"code": 500, "message": "Internal server error"}})
    assert "somewhere" in caplog.text and "secret-internal-name" in caplog.text


def test_api_and_render_edges_answer_500_through_the_same_mapping(api, monkeypatch):
    services = bootstrap.services()

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(services.stacks, "list", broken)
    monkeypatch.setattr(services.renderer, "render", broken)
    r = api.call("GET", "/stacks/acme")
    assert r.status_code == 500
    assert json_of(r) == {"error": {"code": 500, "message": "Internal server error"}}
    rendered = services.renderer.handle("/acme/dynamic/noop/0123456789abcdef0123456789abcdef01234567.png")
    assert rendered.status == 500
    assert json.loads(rendered.body) == {"error": {"code": 500, "message": "Internal server error"}}
    assert rendered.headers["Cache-Control"] == "no-store"
