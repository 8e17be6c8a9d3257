"""Dynamic metadata, protect/lock/name and copy between organizations (reference §2.4, §2.5, §2.7)."""
import json

import pytest
import requests

from tests.conftest import Api, image_bytes, json_of, signup
from tests.test_commands import server  # noqa: F401 - the local server fixture

SUBJECT = {"x": 10, "y": 20, "width": 30, "height": 40}



@pytest.fixture
def api(api_any):
    """Every test here runs on both storage adapters."""
    return api_any

def upload(api, org="acme", seed=0, fields=None):
    return json_of(api.upload(org, [("filedata", "a.jpg", image_bytes(seed=seed))], fields))["items"][0]


def test_put_dynamic_metadata_makes_a_new_image_with_location(api):
    old = upload(api)
    r = api.call("PUT", f"/sourceimages/acme/{old['hash']}/meta/dynamic/subject_area", SUBJECT)
    assert r.status_code == 201
    new = json_of(r)
    assert new["hash"] != old["hash"] and new["binary_hash"] == old["binary_hash"]
    assert new["dynamic_metadata"] == {"subject_area": SUBJECT}
    assert r.headers["Location"] == f"/sourceimages/acme/{new['hash']}"
    # Same again: nothing changed.
    again = api.call("PUT", f"/sourceimages/acme/{new['hash']}/meta/dynamic/subject_area", SUBJECT)
    assert again.status_code == 204 and again.body in (b"", "", None)
    # The old image is kept unless deletePrevious.
    assert api.call("GET", f"/sourceimages/acme/{old['hash']}").status_code == 200
    # Removing the metadata leads back to the original hash (which exists: returned unchanged).
    r = api.call("DELETE", f"/sourceimages/acme/{new['hash']}/meta/dynamic/subject_area?deletePrevious=true")
    assert r.status_code == 201 and json_of(r)["hash"] == old["hash"]
    assert api.call("GET", f"/sourceimages/acme/{new['hash']}").status_code == 404


def test_delete_previous_from_a_json_body_as_rokka_js_sends_it(api):
    old = upload(api)
    new = json_of(api.call("PUT", f"/sourceimages/acme/{old['hash']}/meta/dynamic/version?deletePrevious=true",
                           {"text": "v2"}))
    assert api.call("GET", f"/sourceimages/acme/{old['hash']}").status_code == 404
    r = api.call("DELETE", f"/sourceimages/acme/{new['hash']}/meta/dynamic/version",
                 {"deletePrevious": "true"})
    assert r.status_code == 201
    assert api.call("GET", f"/sourceimages/acme/{new['hash']}").status_code == 404


def test_keep_hash_updates_in_place_with_a_warning(api):
    old = upload(api)
    r = api.call("PUT", f"/sourceimages/acme/{old['hash']}/meta/dynamic/subject_area?keepHash=true", SUBJECT)
    assert r.status_code == 200 and json_of(r)["hash"] == old["hash"]
    assert r.headers["Warning"].startswith("299")
    assert json_of(api.call("GET", f"/sourceimages/acme/{old['hash']}"))["dynamic_metadata"] == {
        "subject_area": SUBJECT}
    bad = api.call("PUT", f"/sourceimages/acme/{old['hash']}/meta/dynamic/version?keepHash=true&deletePrevious=true",
                   {"text": "x"})
    assert bad.status_code == 400


@pytest.mark.parametrize("name, body", [("subject_area", {"y": 1}), ("crop_area", {"x": 1, "y": 1}),
                                        ("unknown", {}), ("version", {"text": 5})])
def test_invalid_dynamic_metadata_is_400(api, name, body):
    old = upload(api)
    assert api.call("PUT", f"/sourceimages/acme/{old['hash']}/meta/dynamic/{name}", body).status_code == 400


def test_dynamic_metadata_changes_renders(api):
    from chalicelib import bootstrap
    old = upload(api)
    path = f"/acme/dynamic/crop-width-20-height-20-anchor-subjectarea/{old['hash']}.png"
    assert bootstrap.services().renderer.handle(path).status == 200
    new = json_of(api.call("PUT", f"/sourceimages/acme/{old['hash']}/meta/dynamic/subject_area?keepHash=true",
                           SUBJECT))
    assert new["hash"] == old["hash"]
    assert not bootstrap.services().storage.render_index.keys_for_image("acme", old["hash"])


def test_protect_changes_the_hash_and_location(api):
    old = upload(api)
    r = api.call("PUT", f"/sourceimages/acme/{old['hash']}/options/protected", raw=b"true")
    assert r.status_code == 201
    new = json_of(r)
    assert new["protected"] is True and new["hash"] != old["hash"]
    assert r.headers["Location"].rsplit("/", 1)[-1] == new["hash"]
    assert api.call("PUT", f"/sourceimages/acme/{new['hash']}/options/protected", raw=b"true").status_code == 204
    assert api.call("PUT", f"/sourceimages/acme/{new['hash']}/options/protected", raw=b'"yes"').status_code == 400


def test_lock_freezes_the_image_and_needs_admin_or_unlock_role(api):
    item = upload(api)
    base = f"/sourceimages/acme/{item['hash']}"
    r = api.call("PUT", f"{base}/options/locked", raw=b"true")
    assert r.status_code == 200 and json_of(r)["locked"] is True
    assert api.call("DELETE", base).status_code == 403
    assert api.call("PATCH", f"{base}/meta/user", {"a": "b"}).status_code == 403
    assert api.call("PUT", f"{base}/meta/dynamic/version", {"text": "x"}).status_code == 403
    writer = Api(api.client, json_of(api.call("POST", "/organizations/acme/memberships",
                                               {"roles": ["write"]}))["api_key"])
    assert writer.call("PUT", f"{base}/options/locked", raw=b"false").status_code == 403
    unlocker = Api(api.client, json_of(api.call("POST", "/organizations/acme/memberships",
                                                 {"roles": ["sourceimages:unlock"]}))["api_key"])
    assert json_of(unlocker.call("PUT", f"{base}/options/locked", raw=b"false"))["locked"] is False
    assert api.call("DELETE", base).status_code == 204


def test_rename_takes_a_json_string_or_a_bare_one(api):
    item = upload(api)
    base = f"/sourceimages/acme/{item['hash']}"
    assert api.call("PUT", f"{base}/name", raw=b'"new.jpg"').status_code == 204
    assert json_of(api.call("GET", base))["name"] == "new.jpg"
    assert api.call("PUT", f"{base}/name", raw=b"bare name.jpg",
                    headers={"Content-Type": "text/plain"}).status_code == 204
    assert json_of(api.call("GET", base))["name"] == "bare name.jpg"
    assert api.call("PUT", f"{base}/name", raw=b"123").status_code == 400


def test_copy_to_another_organization(api):
    item = upload(api, fields={"meta_user[0]": '{"k": "v"}'})
    api.call("PUT", "/organizations/second", {})
    r = api.call("POST", f"/sourceimages/acme/{item['hash']}/copy", headers={"Destination": "second"})
    assert r.status_code == 201 and json_of(r) == {}
    copied = json_of(api.call("GET", f"/sourceimages/second/{item['hash']}"))
    assert copied["user_metadata"] == {"k": "v"} and copied["organization"] == "second"
    assert api.call("GET", f"/sourceimages/second/{item['hash']}/download").body == image_bytes(seed=0)
    headers = {"Destination": "second", "Overwrite": "F"}
    assert api.call("POST", f"/sourceimages/acme/{item['hash']}/copy", headers=headers).status_code == 412
    assert api.call("POST", f"/sourceimages/acme/{item['hash']}/copy",
                    headers={"Destination": "second"}).status_code == 204
    assert api.call("POST", "/sourceimages/acme/" + "0" * 40 + "/copy",
                    headers={"Destination": "second"}).status_code == 404
    assert api.call("POST", f"/sourceimages/acme/{item['hash']}/copy",
                    headers={"Destination": "nosuchorg"}).status_code == 400


def test_copy_needs_write_rights_on_the_destination(api):
    item = upload(api)
    signup(Api(api.client), "foreign")
    r = api.call("POST", f"/sourceimages/acme/{item['hash']}/copy", headers={"Destination": "foreign"})
    assert r.status_code == 403


def test_bulk_copy(api):
    a, b = upload(api, seed=1), upload(api, seed=2)
    api.call("PUT", "/organizations/second", {})
    api.call("POST", f"/sourceimages/acme/{a['hash']}/copy", headers={"Destination": "second"})
    r = api.call("POST", "/sourceimages/acme/copy", [a["hash"], b["short_hash"], "f" * 40],
                 headers={"Destination": "second", "Overwrite": "F"})
    assert r.status_code == 200
    assert json_of(r) == {"created": [b["hash"]], "existing": [a["hash"]], "notfound": ["f" * 40]}
    assert api.call("POST", "/sourceimages/acme/copy", ["a" * 40] * 101,
                    headers={"Destination": "second"}).status_code == 400


def test_the_copy_method_on_the_local_server(server):  # noqa: F811
    _, base, _ = server
    key = requests.post(base + "/users", data=json.dumps({"email": "c@example.com", "organization": "src"})).json()[
        "api_key"]
    requests.put(base + "/organizations/dst", headers={"Api-Key": key}, data="{}")
    item = requests.post(base + "/sourceimages/src", headers={"Api-Key": key},
                         files={"filedata": ("a.jpg", image_bytes())}).json()["items"][0]
    r = requests.request("COPY", f"{base}/sourceimages/src/{item['hash']}",
                         headers={"Api-Key": key, "Destination": "dst"})
    assert r.status_code == 201
    assert requests.get(f"{base}/sourceimages/dst/{item['hash']}", headers={"Api-Key": key}).status_code == 200
    r = requests.request("COPY", f"{base}/sourceimages/src/{item['hash']}",
                         headers={"Api-Key": key, "Destination": "dst", "Overwrite": "F"})
    assert r.status_code == 412
