"""JWT tokens: GET /user/apikeys/token and `Authorization: Bearer` on the API (reference §1.4, §1.3)."""
import time

import jwt
import pytest

from chalicelib import bootstrap
from tests.conftest import Api, json_of, signup

CALLER_IP = "127.0.0.1"  # what chalice's local gateway reports as identity.sourceIp


def get_token(api, query="", **kw):
    r = api.call("GET", "/user/apikeys/token" + (f"?{query}" if query else ""), **kw)
    assert r.status_code == 200, r.body
    return json_of(r)


def bearer(api, method, path, token, body=None, headers=None):
    return api.call(method, path, body, headers={"Authorization": f"Bearer {token}", **(headers or {})}, key=None)


def secret():
    return bootstrap.services().settings.jwt_secret


def test_default_token_is_a_real_ip_bound_renewable_jwt(api):
    user = json_of(api.call("GET", "/user"))
    before = int(time.time())
    body = get_token(api)
    payload = body["payload"]
    assert payload["id"] == user["user_id"] and payload["sub"] == user["user_id"]
    assert payload["expt"] == 86400 and before + 86400 <= payload["exp"] <= int(time.time()) + 86400
    assert payload["ips"] == [CALLER_IP] and payload["rn"] is True
    assert payload["kid"] == json_of(api.call("GET", "/user/apikeys/current"))["id"]
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "HS256"
    assert jwt.decode(body["token"], secret(), algorithms=["HS256"]) == payload


def test_the_token_authenticates_like_its_api_key(api):
    token = get_token(api)["token"]
    current = bearer(api, "GET", "/user/apikeys/current", token)
    assert current.status_code == 200
    assert json_of(current)["id"] == json_of(api.call("GET", "/user/apikeys/current"))["id"]
    assert bearer(api, "GET", "/organizations/acme", token).status_code == 200
    r = bearer(api, "PUT", "/stacks/acme/viatoken", token, [{"name": "resize", "options": {"width": 10}}])
    assert r.status_code == 201
    assert bearer(api, "GET", "/", token).status_code == 200


@pytest.mark.parametrize("query, expected", [
    ("expires_in=3600", {"expt": 3600, "ips": [CALLER_IP], "rn": True}),
    ("no_ip_protection=true", {"expt": 86400, "ips": [], "rn": False}),
    ("no_ip_protection=true&renewable=true", {"ips": [], "rn": True}),
    ("renewable=false", {"ips": [CALLER_IP], "rn": False}),
    ("ips=request_ip,10.0.0.7/24,192.168.1.1", {"ips": [CALLER_IP, "10.0.0.0/24", "192.168.1.1"]}),
    ("ips=2001:db8::/120", {"ips": ["2001:db8::/120"]}),
    ("no_ip_protection=false&ips=", {"ips": [CALLER_IP]}),
])
def test_token_options(api, query, expected):
    payload = get_token(api, query)["payload"]
    assert {k: payload[k] for k in expected} == expected
    assert payload["exp"] - int(time.time()) <= payload["expt"]


@pytest.mark.parametrize("query", [
    "no_ip_protection=true&ips=1.2.3.4",
    "ips=" + ",".join(f"10.0.0.{i}" for i in range(11)),
    "ips=not-an-ip",
    "ips=10.0.0.0/16",  # 65536 addresses, more than 10000
    "expires_in=0", "expires_in=abc", f"expires_in={31 * 86400}",
    "renewable=maybe",
])
def test_invalid_token_options_are_400(api, query):
    r = api.call("GET", f"/user/apikeys/token?{query}")
    assert r.status_code == 400, query
    assert json_of(r)["error"]["code"] == 400


def assert_401(response):
    assert response.status_code == 401, response.body
    body = json_of(response)
    assert body["code"] == 401 and body["invalid_authentication"] is True and body["message"]


def test_invalid_expired_forged_and_foreign_ip_tokens_are_401(api):
    good = get_token(api)["payload"]
    assert_401(bearer(api, "GET", "/user/apikeys/current", "not.a.jwt"))
    assert_401(bearer(api, "GET", "/user/apikeys/current", ""))
    expired = jwt.encode({**good, "exp": int(time.time()) - 10}, secret(), algorithm="HS256")
    assert_401(bearer(api, "GET", "/user/apikeys/current", expired))
    forged = jwt.encode(good, "some other secret of enough length 0123456789", algorithm="HS256")
    assert_401(bearer(api, "GET", "/user/apikeys/current", forged))
    unsigned = jwt.encode(good, None, algorithm="none")
    assert_401(bearer(api, "GET", "/user/apikeys/current", unsigned))
    elsewhere = get_token(api, "ips=10.1.2.3")["token"]
    r = bearer(api, "GET", "/organizations/acme", elsewhere)
    assert_401(r)
    assert "IP" in json_of(r)["message"]


def test_deleting_the_api_key_revokes_its_tokens(api):
    second = json_of(api.call("POST", "/user/apikeys", {"comment": "for tokens"}))
    token = get_token(api, key=second["api_key"])["token"]
    assert bearer(api, "GET", "/user/apikeys/current", token).status_code == 200
    assert api.call("DELETE", f"/user/apikeys/{second['id']}").status_code == 204
    assert_401(bearer(api, "GET", "/user/apikeys/current", token))


def test_missing_or_non_bearer_credentials_stay_403(api):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        r = api.call("GET", "/user/apikeys/current", headers=headers, key=None)
        assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True


def test_the_api_key_wins_when_both_are_sent(api):
    token = get_token(api)["token"]
    r = api.call("GET", "/user/apikeys/current", headers={"Authorization": "Bearer garbage"})
    assert r.status_code == 200
    r = api.call("GET", "/user/apikeys/current", headers={"Authorization": f"Bearer {token}"}, key="x" * 32)
    assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True


def test_renewal_with_a_token_cannot_outlast_the_original(api):
    token = get_token(api, "expires_in=3600")["token"]
    r = bearer(api, "GET", "/user/apikeys/token?expires_in=1800", token)
    assert r.status_code == 200, r.body
    renewed = json_of(r)
    assert renewed["payload"]["expt"] == 1800 and renewed["payload"]["rn"] is True
    assert bearer(api, "GET", "/user/apikeys/current", renewed["token"]).status_code == 200
    assert bearer(api, "GET", "/user/apikeys/token?expires_in=3600", token).status_code == 200
    for query in ("expires_in=3601", ""):  # the default (86400) is longer than 3600 too
        r = bearer(api, "GET", f"/user/apikeys/token?{query}", token)
        assert r.status_code == 403, query
        assert "invalid_authentication" not in json_of(r)
    # With the API key there is no such limit.
    assert get_token(api, f"expires_in={30 * 86400}")["payload"]["expt"] == 30 * 86400


def test_renewal_cannot_widen_ip_protection_or_renew_a_non_renewable_token(api):
    bound = get_token(api, "ips=127.0.0.0/24&expires_in=600")["token"]
    ok = bearer(api, "GET", "/user/apikeys/token?expires_in=600", bound)
    assert ok.status_code == 200 and json_of(ok)["payload"]["ips"] == [CALLER_IP]
    for query in ("expires_in=600&no_ip_protection=true", "expires_in=600&ips=10.0.0.1",
                  "expires_in=600&ips=127.0.0.0/23"):
        assert bearer(api, "GET", f"/user/apikeys/token?{query}", bound).status_code == 403, query
    fixed = get_token(api, "expires_in=600&renewable=false")["token"]
    assert bearer(api, "GET", "/user/apikeys/token?expires_in=60", fixed).status_code == 403
    unprotected = get_token(api, "no_ip_protection=true&renewable=true&expires_in=600")["token"]
    r = bearer(api, "GET", "/user/apikeys/token?expires_in=600&no_ip_protection=true", unprotected)
    assert r.status_code == 200


def test_tokens_carry_the_roles_of_their_user(api):
    reader = json_of(api.call("POST", "/organizations/acme/memberships", {"roles": ["read"]}))
    token = get_token(api, key=reader["api_key"])["token"]
    assert bearer(api, "GET", "/organizations/acme", token).status_code == 200
    r = bearer(api, "PUT", "/stacks/acme/nope", token, [{"name": "resize", "options": {"width": 10}}])
    assert r.status_code == 403 and "invalid_authentication" not in json_of(r)
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    other_token = get_token(other)["token"]
    assert bearer(api, "GET", "/organizations/acme", other_token).status_code == 403


def test_token_endpoint_needs_credentials(api):
    r = api.call("GET", "/user/apikeys/token", key=None)
    assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True
