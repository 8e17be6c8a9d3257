"""Upload with every client quirk, read, list, delete/restore, download (reference §2.1-2.4)."""
import hashlib
import io
import json

import pytest
from PIL import Image

from chalicelib import bootstrap
from tests.conftest import Api, image_bytes, json_of, signup

FIELDS = {"organization", "hash", "short_hash", "binary_hash", "name", "format", "mimetype", "size",
          "width", "height", "created", "link", "user_metadata", "dynamic_metadata", "static_metadata",
          "protected", "locked", "opaque", "animated"}


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


FORMATS = [
    ("JPEG", {}, "jpg", "image/jpeg"),
    ("PNG", {}, "png", "image/png"),
    ("GIF", {}, "gif", "image/gif"),
    ("WEBP", {}, "webp", "image/webp"),
    ("AVIF", {}, "avif", "image/avif"),
    ("TIFF", {}, "tiff", "image/tiff"),
]


def upload_one(api, data, name="photo.jpg", fields=None, field="filedata"):
    r = api.upload("acme", [(field, name, data)], fields)
    assert r.status_code == 200, r.body
    body = json_of(r)
    assert body["total"] == len(body["items"])
    return body["items"][0]


@pytest.mark.parametrize("fmt, save, name, mimetype", FORMATS)
def test_upload_every_accepted_format(api, fmt, save, name, mimetype):
    data = image_bytes(fmt, size=(64, 48), **save)
    item = upload_one(api, data, f"x.{name}")
    assert FIELDS <= set(item)
    assert (item["format"], item["mimetype"], item["width"], item["height"]) == (name, mimetype, 64, 48)
    assert item["binary_hash"] == hashlib.sha1(data).hexdigest()
    assert item["size"] == len(data) and item["short_hash"] == item["hash"][:6]
    assert item["link"] == f"/sourceimages/acme/{item['hash']}"
    assert item["user_metadata"] == {} and item["dynamic_metadata"] == {}
    assert isinstance(item["static_metadata"], dict) and "exif" not in item["static_metadata"]
    assert item["protected"] is False and item["locked"] is False


def test_animated_gif_is_flagged(api):
    assert upload_one(api, animated_gif(), "a.gif")["animated"] is True


def test_png_with_alpha_is_not_opaque(api):
    assert upload_one(api, image_bytes("PNG", mode="RGBA"), "a.png")["opaque"] is False


@pytest.mark.parametrize("data", [
    b"this is not an image",
    b"BM" + b"\0" * 100,
    image_bytes("JPEG")[:300],   # truncated JPEG
    image_bytes("PNG")[:-20],    # truncated PNG
    image_bytes("GIF")[:-1],     # GIF without trailer
    image_bytes("WEBP")[:-10],   # truncated WebP
    image_bytes("BMP"),          # a real image, in a format we do not accept
])
def test_bad_files_are_400_and_nothing_is_stored(api, data_dir, data):
    r = api.upload("acme", [("filedata", "bad.jpg", data)])
    assert r.status_code == 400
    assert json_of(r)["error"]["code"] == 400
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 0
    assert not any((data_dir / "originals").rglob("*"))


def test_one_bad_file_among_several_stores_none(api):
    r = api.upload("acme", [("a", "a.jpg", image_bytes()), ("b", "b.jpg", b"garbage")])
    assert r.status_code == 400
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 0


def test_upload_is_idempotent_and_merges_user_metadata(api):
    data = image_bytes()
    first = upload_one(api, data, fields={"meta_user[0]": json.dumps({"a": "1", "b": "2"})})
    again = upload_one(api, data, fields={"meta_user[0]": json.dumps({"b": "3", "c": "4"})})
    assert again["hash"] == first["hash"]
    assert again["user_metadata"] == {"a": "1", "b": "3", "c": "4"}
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 1


def test_metadata_encoded_twice_as_rokka_js_sends_it(api):
    twice = json.dumps(json.dumps({"foo": "bar"}))
    item = upload_one(api, image_bytes(), fields={"meta_user[0]": twice,
                                                   "meta_dynamic[0]": json.dumps(json.dumps(
                                                       {"subject_area": {"x": 1, "y": 2}}))})
    assert item["user_metadata"] == {"foo": "bar"}
    assert item["dynamic_metadata"] == {"subject_area": {"x": 1, "y": 2, "width": 1, "height": 1}}


def test_both_meta_dynamic_forms_give_the_same_hash_and_dynamic_metadata_changes_it(api):
    data = image_bytes()
    plain = upload_one(api, data)
    php = upload_one(api, data, fields={"meta_dynamic[0][subject_area]": '{"x": 5, "y": 6}'})
    js = upload_one(api, data, fields={"meta_dynamic[0]": '{"subject_area": {"x": 5, "y": 6}}'})
    assert php["hash"] == js["hash"] != plain["hash"]
    assert php["binary_hash"] == plain["binary_hash"]
    listed = json_of(api.call("GET", f"/sourceimages/acme?binaryHash={plain['binary_hash']}"))
    assert listed["total"] == 2


def test_protected_option_changes_the_hash(api):
    data = image_bytes()
    plain = upload_one(api, data)
    prot = upload_one(api, data, fields={"options[0]": '{"protected": true}'})
    assert prot["protected"] is True and prot["hash"] != plain["hash"]


def test_several_files_with_their_own_metadata_and_any_part_name(api):
    r = api.upload("acme", [("filedata", "a.jpg", image_bytes(seed=1)), ("f", "b.png", image_bytes("PNG", seed=2))],
                   {"meta_user[0]": '{"n": "a"}', "meta_user[1]": '{"n": "b"}'})
    body = json_of(r)
    assert body["total"] == 2
    assert [i["user_metadata"]["n"] for i in body["items"]] == ["a", "b"]
    assert [i["name"] for i in body["items"]] == ["a.jpg", "b.png"]


@pytest.mark.parametrize("fields", [
    {"meta_user[0]": "{not json"},
    {"meta_user[0]": '{"Bad Name": "x"}'},
    {"meta_user[0]": '{"int:n": "abc"}'},
    {"meta_dynamic[0][subject_area]": '{"y": 1}'},
    {"meta_dynamic[0][unknown]": '{}'},
])
def test_bad_metadata_is_400(api, fields):
    r = api.upload("acme", [("filedata", "a.jpg", image_bytes())], fields)
    assert r.status_code == 400
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 0


def test_upload_without_a_file_is_400(api):
    assert api.upload("acme", [], {"meta_user[0]": "{}"}).status_code == 400


def test_get_by_full_and_short_hash(api):
    item = upload_one(api, image_bytes())
    for ref in (item["hash"], item["short_hash"], item["hash"][:10]):
        r = api.call("GET", f"/sourceimages/acme/{ref}")
        assert r.status_code == 200 and json_of(r)["hash"] == item["hash"]
    assert api.call("GET", "/sourceimages/acme/" + "0" * 40).status_code == 404
    assert api.call("GET", "/sourceimages/acme/nothex").status_code == 404


def test_short_hash_grows_when_six_characters_are_taken(api):
    svc = bootstrap.services().images
    item = upload_one(api, image_bytes())
    # A second hash sharing the first six characters gets a longer short hash.
    other = "0" if item["hash"][6] != "0" else "1"
    assert svc.short_hash("acme", item["hash"][:6] + other * 34) == item["hash"][:6] + other


def test_list_with_limit_offset_and_links(api):
    hashes = [upload_one(api, image_bytes(seed=i), f"{i}.jpg")["hash"] for i in range(5)]
    page = json_of(api.call("GET", "/sourceimages/acme?limit=2&offset=1"))
    assert page["total"] == 5 and len(page["items"]) == 2
    assert [i["hash"] for i in page["items"]] == list(reversed(hashes))[1:3]  # newest first
    assert page["links"]["next"]["href"] == "/sourceimages/acme?limit=2&offset=3"
    assert page["links"]["prev"]["href"] == "/sourceimages/acme?limit=2&offset=0"
    assert api.call("GET", "/sourceimages/acme?limit=5000").status_code == 400
    assert json_of(api.call("GET", "/sourceimages/acme?limit=0")) ["items"] == []


def test_delete_restore_and_deleted_listing(api):
    item = upload_one(api, image_bytes())
    assert api.call("DELETE", f"/sourceimages/acme/{item['short_hash']}").status_code == 204
    assert api.call("GET", f"/sourceimages/acme/{item['hash']}").status_code == 404
    assert api.call("DELETE", f"/sourceimages/acme/{item['hash']}").status_code == 404
    deleted = json_of(api.call("GET", "/sourceimages/acme?deleted=true"))
    assert deleted["total"] == 1 and deleted["items"][0]["deleted"] is True
    r = api.call("POST", f"/sourceimages/acme/{item['hash']}/restore")
    assert r.status_code == 200 and json_of(r)["deleted"] is False
    assert api.call("GET", f"/sourceimages/acme/{item['hash']}").status_code == 200
    assert api.call("POST", "/sourceimages/acme/" + "1" * 40 + "/restore").status_code == 404


def test_delete_by_binary_hash(api):
    data = image_bytes()
    upload_one(api, data)
    upload_one(api, data, fields={"meta_dynamic[0][version]": '{"text": "v2"}'})
    binary_hash = hashlib.sha1(data).hexdigest()
    assert api.call("DELETE", f"/sourceimages/acme?binaryHash={binary_hash}").status_code == 204
    assert json_of(api.call("GET", "/sourceimages/acme"))["total"] == 0
    assert api.call("DELETE", f"/sourceimages/acme?binaryHash={binary_hash}").status_code == 404


def test_download_returns_the_original_bytes_with_its_name(api):
    data = image_bytes("PNG")
    item = upload_one(api, data, "my picture.png")
    r = api.call("GET", f"/sourceimages/acme/{item['short_hash']}/download")
    assert r.status_code == 200 and r.body == data
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"] == 'attachment; filename="my picture.png"'


def test_user_metadata_routes(api):
    h = upload_one(api, image_bytes())["hash"]
    base = f"/sourceimages/acme/{h}/meta/user"
    assert api.call("PATCH", base, {"a": "1", "int:n": 5}).status_code == 204
    assert json_of(api.call("GET", base)) == {"a": "1", "int:n": 5}
    assert api.call("PATCH", base, {"a": None, "b": "2"}).status_code == 204
    assert json_of(api.call("GET", base)) == {"int:n": 5, "b": "2"}
    # rokka.js sends single values unquoted, as text/plain.
    r = api.call("PUT", f"{base}/c", headers={"Content-Type": "text/plain;charset=UTF-8"}, raw=b"plain value")
    assert r.status_code == 204
    assert json_of(api.call("GET", f"{base}/c")) == "plain value"
    assert api.call("DELETE", f"{base}/c").status_code == 204
    assert api.call("GET", f"{base}/c").status_code == 404
    assert api.call("PUT", base, {"only": "this"}).status_code == 204
    assert json_of(api.call("GET", f"/sourceimages/acme/{h}"))["user_metadata"] == {"only": "this"}
    assert api.call("DELETE", base).status_code == 204
    assert json_of(api.call("GET", base)) == {}
    assert api.call("PATCH", base, {"Bad Key": 1}).status_code == 400
    # User metadata never changes the hash.
    assert json_of(api.call("GET", f"/sourceimages/acme/{h}"))["hash"] == h


@pytest.mark.parametrize("role, upload, read, delete", [
    ("upload", 200, 403, 403),
    ("read", 403, 200, 403),
    ("sourceimages:read", 403, 200, 403),
    ("sourceimages:write", 200, 200, 204),
    ("write", 200, 200, 204),
])
def test_roles_on_source_images(api, role, upload, read, delete):
    existing = upload_one(api, image_bytes(seed=99))
    member = Api(api.client, json_of(api.call("POST", "/organizations/acme/memberships",
                                               {"roles": [role]}))["api_key"])
    assert member.upload("acme", [("filedata", "m.jpg", image_bytes(seed=7))]).status_code == upload
    assert member.call("GET", f"/sourceimages/acme/{existing['hash']}").status_code == read
    assert member.call("DELETE", f"/sourceimages/acme/{existing['hash']}").status_code == delete


def test_other_organizations_cannot_read_or_write_images(api):
    item = upload_one(api, image_bytes())
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert other.call("GET", f"/sourceimages/acme/{item['hash']}").status_code == 403
    assert other.call("GET", f"/sourceimages/other/{item['hash']}").status_code == 404
    assert other.call("DELETE", f"/sourceimages/acme/{item['hash']}").status_code == 403
    assert other.call("GET", f"/sourceimages/acme/{item['hash']}/download").status_code == 403
    assert other.upload("acme", [("filedata", "x.jpg", image_bytes(seed=3))]).status_code == 403
    assert api.call("GET", f"/sourceimages/acme/{item['hash']}").status_code == 200
