"""Organization options: PUT /organizations/{org}/options[/{name}] (reference §1.7, §6.9)."""
import json

import pytest

from chalicelib import bootstrap
from tests.conftest import Api, json_of, signup
from tests.render.test_render import make_stack, photo, render  # noqa: F401 - fixtures


def member(api, role):
    """An API helper for a new user holding `role` in acme."""
    r = api.call("POST", "/organizations/acme/memberships", {"roles": [role]})
    return Api(api.client, json_of(r)["api_key"])


def put_option(api, name, raw: bytes, key=...):
    return api.call("PUT", f"/organizations/acme/options/{name}", raw=raw,
                    headers={"Content-Type": "text/plain;charset=UTF-8"}, key=key)


def options(api):
    return json_of(api.call("GET", "/organizations/acme"))["options"]


def test_put_options_merges_and_returns_the_organization(api):
    r = api.call("PUT", "/organizations/acme/options",
                 {"remote_basepath": "https://images.example.com/", "remote_fullurl_allow": True})
    assert r.status_code == 200
    org = json_of(r)
    assert {"id", "name", "display_name", "billing_email"} <= set(org) and org["name"] == "acme"
    assert org["options"] == {"remote_basepath": "https://images.example.com/", "remote_fullurl_allow": True}
    r = api.call("PUT", "/organizations/acme/options", {"remote_fullurl_whitelist": ["^https://cdn\\.example\\.com/"]})
    assert r.status_code == 200
    assert options(api) == {"remote_basepath": "https://images.example.com/", "remote_fullurl_allow": True,
                            "remote_fullurl_whitelist": ["^https://cdn\\.example\\.com/"]}
    assert api.call("PUT", "/organizations/acme/options", raw=b"[]").status_code == 200  # PHP's empty object


def test_put_single_option_takes_raw_json_and_bare_strings(api):
    r = put_option(api, "protect_dynamic_stack", b"true")
    assert r.status_code == 200 and json_of(r)["options"] == {"protect_dynamic_stack": True}
    r = put_option(api, "remote_basepath", b"http://origin.example.com/img")  # rokka.js: unquoted
    assert r.status_code == 200 and json_of(r)["options"]["remote_basepath"] == "http://origin.example.com/img"
    r = put_option(api, "remote_basepath", json.dumps("https://quoted.example.com").encode())
    assert json_of(r)["options"]["remote_basepath"] == "https://quoted.example.com"
    r = put_option(api, "remote_fullurl_whitelist", b'["^https://a\\\\.example/", "b+"]')
    assert json_of(r)["options"]["remote_fullurl_whitelist"] == ["^https://a\\.example/", "b+"]
    r = put_option(api, "remote_basepath", b"null")  # null removes an option
    assert r.status_code == 200 and "remote_basepath" not in json_of(r)["options"]


@pytest.mark.parametrize("name, raw", [
    ("remote_basepath", b'"ftp://example.com"'),
    ("remote_basepath", b"example.com/images"),
    ("remote_basepath", b"42"),
    ("remote_fullurl_allow", b'"yes"'),
    ("remote_fullurl_allow", b"1"),
    ("remote_fullurl_whitelist", b'["(unclosed"]'),
    ("remote_fullurl_whitelist", b'{"a": 1}'),
    ("remote_fullurl_whitelist", b"[1, 2]"),
    ("protect_dynamic_stack", b'"true"'),
    ("render_org_fallback", b"17"),
    ("render_org_fallback", b"acme"),  # itself
    ("no_such_option", b"true"),
])
def test_invalid_values_and_unknown_options_are_400(api, name, raw):
    r = put_option(api, name, raw)
    assert r.status_code == 400, (name, raw)
    assert json_of(r)["error"]["code"] == 400
    assert options(api) == {}


def test_a_bad_option_in_a_batch_stores_nothing(api):
    r = api.call("PUT", "/organizations/acme/options", {"protect_dynamic_stack": True, "bogus": 1})
    assert r.status_code == 400 and "bogus" in json_of(r)["error"]["message"]
    assert api.call("PUT", "/organizations/acme/options", raw=b'"not an object"').status_code == 400
    assert api.call("PUT", "/organizations/acme/options/protect_dynamic_stack", raw=b"").status_code == 400
    assert options(api) == {}


def test_only_admins_set_options(api):
    writer = member(api, "write")
    assert writer.call("PUT", "/organizations/acme/options", {"protect_dynamic_stack": True}).status_code == 403
    assert put_option(writer, "protect_dynamic_stack", b"true").status_code == 403
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert put_option(other, "protect_dynamic_stack", b"true").status_code == 403
    r = put_option(api, "protect_dynamic_stack", b"true", key=None)
    assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True
    assert options(api) == {}


def test_render_org_fallback_needs_admin_on_both_organizations(api):
    assert api.call("PUT", "/organizations/second", {}).status_code == 200  # the caller is its admin
    r = put_option(api, "render_org_fallback", b"second")
    assert r.status_code == 200 and json_of(r)["options"]["render_org_fallback"] == "second"

    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert put_option(api, "render_org_fallback", b"other").status_code == 403  # not a member there
    # A member without admin rights on the fallback organization is refused too.
    me = json_of(api.call("GET", "/user"))["user_id"]
    assert other.call("PUT", f"/organizations/other/memberships/{me}", {"roles": ["write"]}).status_code == 201
    assert put_option(api, "render_org_fallback", b"other").status_code == 403
    assert other.call("PUT", f"/organizations/other/memberships/{me}", {"roles": ["admin"]}).status_code == 200
    assert put_option(api, "render_org_fallback", b"other").status_code == 200
    assert options(api)["render_org_fallback"] == "other"


def test_protect_dynamic_stack_drops_cached_dynamic_renders(api, photo):  # noqa: F811
    storage = bootstrap.services().storage
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 40}}])
    assert render(f"/acme/dynamic/resize-width-50/{photo['hash']}.jpg").status == 200
    assert render(f"/acme/thumb/{photo['hash']}.jpg").status == 200
    dynamic = storage.render_index.keys_for_stack("acme", "dynamic")
    named = storage.render_index.keys_for_stack("acme", "thumb")
    assert len(dynamic) == 1 and storage.renders.exists(dynamic[0]) and len(named) == 1

    assert put_option(api, "protect_dynamic_stack", b"true").status_code == 200
    assert storage.render_index.keys_for_stack("acme", "dynamic") == []
    assert not storage.renders.exists(dynamic[0])
    assert storage.render_index.keys_for_stack("acme", "thumb") == named  # other stacks keep theirs
    assert render(f"/acme/dynamic/resize-width-50/{photo['hash']}.jpg").status == 403

    assert put_option(api, "protect_dynamic_stack", b"false").status_code == 200
    assert render(f"/acme/dynamic/resize-width-50/{photo['hash']}.jpg").status == 200
    assert put_option(api, "remote_fullurl_allow", b"true").status_code == 200  # unrelated: cache stays
    assert len(storage.render_index.keys_for_stack("acme", "dynamic")) == 1
