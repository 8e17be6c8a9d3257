"""The Python SDK (client/rokka_client) against the real app on a local server."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
import requests
from PIL import Image

from rokka_client import Client, RokkaApiError, sign_url
from rokka_client.client import dynamic_stack


def png(color=(200, 10, 10), size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def test_images_metadata_and_lifecycle(client, tmp_path):
    path = tmp_path / "red.png"
    path.write_bytes(png())
    img = client.upload_path(path, meta_user={"title": "red"})
    assert img["name"] == "red.png" and img["user_metadata"] == {"title": "red"}
    assert client.get_image(img["short_hash"])["hash"] == img["hash"]
    assert [i["hash"] for i in client.find_by_binary_hash(img["binary_hash"])] == [img["hash"]]
    client.set_user_metadata(img["hash"], {"int:views": 3})
    assert client.get_user_metadata(img["hash"]) == {"title": "red", "int:views": 3}
    client.delete_user_metadata(img["hash"], "int:views")
    assert client.get_user_metadata(img["hash"]) == {"title": "red"}
    moved = client.set_dynamic_metadata(img["hash"], "subject_area", {"x": 1, "y": 2, "width": 10, "height": 10},
                                        delete_previous=True)
    assert moved["hash"] != img["hash"] and moved["dynamic_metadata"]["subject_area"]["width"] == 10
    assert client.download_image(moved["hash"]) == path.read_bytes()
    client.delete_image(moved["hash"])
    with pytest.raises(RokkaApiError) as err:
        client.get_image(moved["hash"])
    assert err.value.status == 404 and err.value.code == 404 and err.value.message
    assert client.restore_image(moved["hash"])["deleted"] is False
    assert client.get_image(moved["hash"])["hash"] == moved["hash"]


def test_search_iterates_over_cursor_pages(client):
    hashes = {client.upload_bytes(png((i * 40, 0, 0)), f"s{i}.png", meta_user={"album": "a"})["hash"]
              for i in range(5)}
    client.upload_bytes(png((0, 0, 250)), "other.png", meta_user={"album": "b"})
    calls = []
    original = client.list_images
    client.list_images = lambda params=None, org=None: calls.append(dict(params)) or original(params, org)
    found = [i["hash"] for i in client.search({"user:str:album": "a"}, page_size=2)]
    assert sorted(found) == sorted(hashes) and len(found) == 5
    assert len(calls) == 3 and all("offset" in c for c in calls[1:])  # offset = the server's cursor


def test_stacks_aliases_stats_and_renders(client):
    img = client.upload_bytes(png(size=(80, 60)), "r.png")
    stack = client.create_stack("thumb", [{"name": "resize", "options": {"width": 20}}])
    assert stack["stack_operations"][0]["options"]["width"] == 20
    assert [s["name"] for s in client.list_stacks()] == ["thumb"]
    with pytest.raises(RokkaApiError) as err:
        client.create_stack("thumb", [{"name": "resize", "options": {"width": 30}}])
    assert err.value.status == 409
    client.create_stack("thumb", [{"name": "resize", "options": {"width": 30}}], overwrite=True)
    named = requests.get(client.render_url("thumb", img["hash"], "png", filename="seo"), timeout=10)
    assert named.status_code == 200 and Image.open(io.BytesIO(named.content)).width == 30
    ops = [{"name": "resize", "options": {"width": 16, "height": 16, "mode": "fill"}}]
    assert dynamic_stack(ops) == "dynamic/resize-width-16-height-16-mode-fill"
    dyn = requests.get(client.render_url(ops, img["hash"], "png"), timeout=10)
    assert Image.open(io.BytesIO(dyn.content)).size == (21, 16)  # fill: covers the box, no crop
    client.create_alias("hero", img["hash"])
    assert client.get_alias("hero")["hash"] == img["hash"]
    client.delete_stack("thumb")
    assert client.list_stacks() == []
    assert client.stats()["number_of_files"][0]["value"] == 1


def test_users_keys_and_memberships(client):
    assert client.get_user()["email"].endswith("@example.com")
    key = client.create_api_key("ci")
    assert key["api_key"] and key["comment"] == "ci"
    member = client.create_membership_user(["read"])
    assert member["roles"] == ["read"]
    assert member["user_id"] in {m["user_id"] for m in client.list_memberships()["items"]}
    reader = Client(client.base_url, member["api_key"], client.org)
    with pytest.raises(RokkaApiError) as err:
        reader.create_stack("nope", [{"name": "noop"}])
    assert err.value.status == 403 and err.value.error["code"] == 403


def test_errors_carry_rokka_json(client):
    with pytest.raises(RokkaApiError) as err:
        client.create_stack("bad", [{"name": "resize", "options": {"width": "wide"}}])
    assert err.value.status == 400 and "width" in err.value.message
    assert err.value.body["error"]["code"] == 400


class Flaky(requests.Session):
    """The real server behind, with the first `fail` answers replaced by 503/429."""

    def __init__(self, statuses):
        super().__init__()
        self.statuses, self.calls = list(statuses), 0

    def request(self, *args, **kwargs):
        self.calls += 1
        if self.statuses:
            resp = requests.Response()
            resp.status_code = self.statuses.pop(0)
            resp._content = b'{"error":{"code":503,"message":"busy"}}'
            resp.headers["Retry-After"] = "0"
            return resp
        return super().request(*args, **kwargs)


def test_retries_with_backoff_on_429_and_5xx(client):
    waits = []
    flaky = Client(client.base_url, client.api_key, client.org, session=Flaky([503, 429]), backoff=0.1)
    flaky.sleep = waits.append
    assert flaky.get_organization()["name"] == client.org
    assert flaky.session.calls == 3 and len(waits) == 2 and waits[1] > waits[0] >= 0.1
    give_up = Client(client.base_url, client.api_key, client.org, session=Flaky([503] * 5), retries=2)
    give_up.sleep = lambda s: None
    with pytest.raises(RokkaApiError) as err:
        give_up.get_organization()
    assert err.value.status == 503 and give_up.session.calls == 3


@pytest.mark.parametrize("url", [
    "/thumb/0123456789abcdef0123456789abcdef01234567/seo-name.jpg",
    "https://myorg.rokka.io/dynamic/resize-width-20/abcdef.png?v=a b~c&sig=old",
    "/render/myorg/thumb/abcdef.webp?sigopts=%7B%7D&x=%C3%A9",
])
def test_signing_matches_the_server(client, url):
    key = client.get_organization()["signing_keys"][0]["key"]
    assert sign_url(url, key) == client.sign_url_remote(url)
    until = datetime(2031, 5, 4, 3, 2, 1, tzinfo=timezone.utc)
    assert sign_url(url, key, until) == client.sign_url_remote(url, until=until.isoformat())


def test_signed_render_url_is_accepted(client):
    img = client.upload_bytes(png(), "s.png")
    client.set_organization_option("protect_dynamic_stack", True)
    url = client.render_url([{"name": "resize", "options": {"width": 10}}], img["hash"], "png")
    assert requests.get(url, timeout=10).status_code == 403
    key = client.get_organization()["signing_keys"][0]["key"]
    signed = client.render_url([{"name": "resize", "options": {"width": 10}}], img["hash"], "png", signing_key=key)
    assert requests.get(signed, timeout=10).status_code == 200


def test_upload_by_url_reaches_the_importer(client):
    """The server refuses loopback sources (SSRF guard), so the answer proves url[0] arrived as a URL import."""
    with pytest.raises(RokkaApiError) as err:
        client.upload_url("http://127.0.0.1:9/photo.png", meta_user={"a": "b"})
    assert err.value.status == 400 and "non-public address" in err.value.message
