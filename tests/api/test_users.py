"""Signup, users, API keys and authentication failures (reference §1.3, §1.6)."""
import pytest

from chalicelib import bootstrap
from tests.conftest import Api, json_of, signup


def test_signup_returns_id_email_and_a_64_character_key(client):
    api = Api(client)
    body = signup(api, "newco", email="Someone@Example.com")
    assert set(body) == {"id", "email", "api_key"}
    assert len(body["api_key"]) == 64 and body["api_key"][:32].islower()
    r = api.call("GET", "/organizations/newco", key=body["api_key"])
    assert r.status_code == 200 and json_of(r)["name"] == "newco"


def test_signup_without_organization_creates_only_the_user(client):
    api = Api(client)
    r = api.call("POST", "/users", {"email": "solo@example.com"}, key=None)
    assert r.status_code == 200
    api.key = json_of(r)["api_key"]
    assert json_of(api.call("GET", "/user"))["email"] == "solo@example.com"


def test_signup_accepts_rokka_js_text_plain_json(client):
    r = client.http.post("/users", headers={"Content-Type": "text/plain;charset=UTF-8"},
                         body=b'{"email": "js@example.com", "organization": "jsorg"}')
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("body, status", [
    ({"email": "not-an-email"}, 400),
    ({}, 400),
    ({"email": "a@example.com", "organization": "Bad Name!"}, 400),
])
def test_signup_rejects_bad_input(client, body, status):
    r = Api(client).call("POST", "/users", body, key=None)
    assert r.status_code == status
    assert json_of(r)["error"]["code"] == status


def test_signup_twice_with_one_email_or_one_org_is_a_conflict_and_leaves_no_half_record(client):
    api = Api(client)
    signup(api, "first", email="dup@example.com")
    r = api.call("POST", "/users", {"email": "dup@example.com", "organization": "second"}, key=None)
    assert r.status_code == 409
    # The organization claimed for the failed signup was released again.
    assert bootstrap.services().storage.organizations.get("second") is None
    r = api.call("POST", "/users", {"email": "other@example.com", "organization": "first"}, key=None)
    assert r.status_code == 409


def test_signup_can_be_switched_off(client, monkeypatch):
    monkeypatch.setenv("ALLOW_SIGNUP", "false")
    bootstrap.reset()
    r = Api(client).call("POST", "/users", {"email": "x@example.com"}, key=None)
    assert r.status_code == 403


@pytest.mark.parametrize("headers, message", [
    ({}, "not supplied"),
    ({"Api-Key": "short"}, "not supplied"),
    ({"Api-Key": "a" * 64}, "not supplied"),  # an unknown key gets the same answer as no key
])
def test_authentication_failures_are_flat_403_with_invalid_authentication(client, headers, message):
    r = client.http.get("/user", headers=headers)
    assert r.status_code == 403
    body = json_of(r)
    assert body["code"] == 403 and body["invalid_authentication"] is True
    assert message in body["message"]


def test_index_needs_a_valid_key(api):
    assert api.call("GET", "/").status_code == 200
    assert api.call("GET", "/", key=None).status_code == 403


def test_api_keys_list_add_current_delete(api):
    keys = json_of(api.call("GET", "/user/apikeys"))
    assert isinstance(keys, list) and len(keys) == 1 and "api_key" not in keys[0]
    current = json_of(api.call("GET", "/user/apikeys/current"))
    assert current["id"] == keys[0]["id"]

    r = api.call("POST", "/user/apikeys", {"comment": "ci"})
    assert r.status_code == 200
    new = json_of(r)
    assert new["comment"] == "ci" and len(new["api_key"]) == 64
    # The new key works, and can delete the first one.
    assert api.call("DELETE", f"/user/apikeys/{current['id']}", key=new["api_key"]).status_code == 204
    assert api.call("GET", "/user").status_code == 403  # the old key is gone
    api.key = new["api_key"]
    assert [k["id"] for k in json_of(api.call("GET", "/user/apikeys"))] == [new["id"]]


def test_the_key_in_use_cannot_be_deleted_and_unknown_keys_are_404(api):
    current = json_of(api.call("GET", "/user/apikeys/current"))
    assert api.call("DELETE", f"/user/apikeys/{current['id']}").status_code == 400
    assert api.call("DELETE", "/user/apikeys/doesnotexist").status_code == 404


def test_at_most_five_keys(api):
    for _ in range(4):
        assert api.call("POST", "/user/apikeys", {}).status_code == 200
    r = api.call("POST", "/user/apikeys", {})
    assert r.status_code == 400


def test_keys_are_stored_hashed(api, data_dir):
    raw = (data_dir / "meta.sqlite3").read_bytes()
    for name in data_dir.iterdir():
        if name.name.startswith("meta.sqlite3-wal"):
            raw += name.read_bytes()
    assert api.key.encode() not in raw
    assert api.key[32:].encode() not in raw


def test_read_only_users_see_only_their_id_and_cannot_manage_keys(api):
    member = json_of(api.call("POST", "/organizations/acme/memberships", {"roles": ["read"]}))
    reader = Api(api.client, member["api_key"])
    assert json_of(reader.call("GET", "/user")) == {"user_id": member["user_id"]}
    assert reader.call("GET", "/user/apikeys").status_code == 403
    assert reader.call("POST", "/user/apikeys", {}).status_code == 403
