"""Organizations and memberships, roles and the last-admin rule (reference §1.7, §1.8)."""
import pytest

from tests.conftest import Api, json_of, signup


def test_put_creates_an_organization_with_the_caller_as_admin(api):
    r = api.call("PUT", "/organizations/second", {"billing_email": "bill@example.com", "display_name": "Second"})
    assert r.status_code == 200
    org = json_of(r)
    assert {"id", "name", "display_name", "billing_email", "created", "master_organization",
            "options", "signing_keys"} <= set(org)
    assert org["display_name"] == "Second" and org["master_organization"] == "second"
    members = json_of(api.call("GET", "/organizations/second/memberships"))
    assert members["total"] == 1 and members["items"][0]["roles"] == ["admin"]


def test_put_on_an_existing_organization_updates_it_for_admins_only(api):
    r = api.call("PUT", "/organizations/acme", {"display_name": "ACME Inc"})
    assert r.status_code == 200 and json_of(r)["display_name"] == "ACME Inc"
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert other.call("PUT", "/organizations/acme", {"display_name": "Mine"}).status_code == 403
    assert json_of(api.call("GET", "/organizations/acme"))["display_name"] == "ACME Inc"


def test_organization_names_are_validated(api):
    r = api.call("PUT", "/organizations/Not_Valid", {})
    assert r.status_code == 400 and "Organization name" in json_of(r)["error"]["message"]


def test_another_organizations_key_is_denied_everywhere(api):
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    for method, path in [("GET", "/organizations/acme"), ("GET", "/organizations/acme/memberships"),
                         ("GET", "/sourceimages/acme"), ("GET", "/stacks/acme"),
                         ("PUT", "/stacks/acme/s1"), ("DELETE", "/stacks/acme/s1")]:
        r = other.call(method, path, {"operations": []} if method == "PUT" else None)
        assert r.status_code == 403, (method, path)
        assert "invalid_authentication" not in json_of(r)
    assert api.call("GET", "/stacks/acme/s1").status_code == 404  # nothing was created


def test_unknown_organization_is_indistinguishable_from_a_foreign_one(api):
    assert api.call("GET", "/organizations/nosuchorg").status_code == 403


def test_membership_lifecycle(api):
    user = json_of(api.call("POST", "/organizations/acme/memberships", {"roles": ["write"], "comment": "bot"}))
    assert {"user_id", "email", "roles", "api_key", "organization_id", "active"} <= set(user)
    uid = user["user_id"]
    got = json_of(api.call("GET", f"/organizations/acme/memberships/{uid}"))
    assert got["roles"] == ["write"] and got["active"] is True and "api_key" not in got

    assert api.call("PUT", f"/organizations/acme/memberships/{uid}", {"roles": ["write"]}).status_code == 204
    r = api.call("PUT", f"/organizations/acme/memberships/{uid}", {"role": "read"})
    assert r.status_code == 200 and json_of(r)["roles"] == ["read"]
    assert api.call("DELETE", f"/organizations/acme/memberships/{uid}").status_code == 204
    assert api.call("GET", f"/organizations/acme/memberships/{uid}").status_code == 404
    assert api.call("DELETE", f"/organizations/acme/memberships/{uid}").status_code == 404


def test_put_membership_adds_an_existing_user_with_201(api):
    outsider = signup(Api(api.client), "elsewhere")
    r = api.call("PUT", f"/organizations/acme/memberships/{outsider['id']}", {"roles": ["READ"]})
    assert r.status_code == 201 and json_of(r)["roles"] == ["read"]
    assert Api(api.client, outsider["api_key"]).call("GET", "/organizations/acme").status_code == 200
    assert api.call("PUT", "/organizations/acme/memberships/nobody", {"roles": ["read"]}).status_code == 404


@pytest.mark.parametrize("body", [{"roles": ["superuser"]}, {"roles": []}, {}])
def test_bad_roles_are_400(api, body):
    me = json_of(api.call("GET", "/user"))["user_id"]
    assert api.call("PUT", f"/organizations/acme/memberships/{me}", body).status_code == 400


def test_the_last_admin_cannot_be_removed_or_demoted(api):
    me = json_of(api.call("GET", "/user"))["user_id"]
    assert api.call("DELETE", f"/organizations/acme/memberships/{me}").status_code == 409
    assert api.call("PUT", f"/organizations/acme/memberships/{me}", {"roles": ["read"]}).status_code == 409
    # With a second admin, the first may step down.
    second = json_of(api.call("POST", "/organizations/acme/memberships", {"roles": ["admin"]}))
    assert api.call("PUT", f"/organizations/acme/memberships/{me}", {"roles": ["read"]}).status_code == 200
    admin2 = Api(api.client, second["api_key"])
    assert admin2.call("DELETE", f"/organizations/acme/memberships/{second['user_id']}").status_code == 409


@pytest.mark.parametrize("role", ["write", "read", "upload", "sourceimages:read"])
def test_only_admins_manage_memberships(api, role):
    member = Api(api.client, json_of(api.call("POST", "/organizations/acme/memberships",
                                               {"roles": [role]}))["api_key"])
    assert member.call("GET", "/organizations/acme/memberships").status_code == 403
    assert member.call("POST", "/organizations/acme/memberships", {"roles": ["admin"]}).status_code == 403
