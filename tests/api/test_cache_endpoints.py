"""Cache purges for stacks, images and aliases, and their hourly rate limit (reference §6.8, §7.3)."""
from datetime import datetime, timezone

import pytest

from chalicelib import bootstrap
from tests.conftest import Api, image_bytes, json_of, signup
from tests.render.test_render import make_stack, photo, render  # noqa: F401 - fixtures

NOON = datetime(2030, 5, 6, 12, 30, tzinfo=timezone.utc).timestamp()


def member(api, role):
    """An API helper for a new user holding `role` in acme."""
    r = api.call("POST", "/organizations/acme/memberships", {"roles": [role]})
    return Api(api.client, json_of(r)["api_key"])


@pytest.fixture
def clock(api):
    """Pins the purge service's clock; returns a setter."""
    purges = bootstrap.services().purges

    def set_time(ts):
        purges.clock = lambda: ts
    set_time(NOON)
    return set_time


@pytest.fixture
def cdn(api):
    """Records CDN invalidations as CloudFront would receive them."""
    calls = []
    bootstrap.services().purges.cache.purger = lambda org, paths: calls.append((org, sorted(paths)))
    return calls


def keys(kind, value):
    index = bootstrap.services().storage.render_index
    return {"stack": index.keys_for_stack, "image": index.keys_for_image,
            "alias": index.keys_for_alias}[kind]("acme", value)


def other_image(api):
    r = api.upload("acme", [("filedata", "b.png", image_bytes("PNG", seed=9))])
    return json_of(r)["items"][0]


def assert_ok(r, limit, remaining):
    assert r.status_code == 200, r.body
    assert json_of(r) == {"status": "ok"}
    assert r.headers["X-RateLimit-Limit"] == str(limit)
    assert r.headers["X-RateLimit-Remaining"] == str(remaining)
    assert "X-RateLimit-Retry-After" not in r.headers


def test_stack_purge_drops_the_stacks_renders_and_invalidates_the_cdn(api, photo, clock, cdn):  # noqa: F811
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 40}}])
    make_stack(api, "other", [{"name": "resize", "options": {"width": 30}}])
    for stack in ("thumb", "other"):
        assert render(f"/acme/{stack}/{photo['hash']}.jpg").status == 200
    [key] = keys("stack", "thumb")
    assert bootstrap.services().storage.renders.exists(key)

    assert_ok(api.call("DELETE", "/stacks/acme/thumb/cache"), 5, 4)
    assert keys("stack", "thumb") == [] and not bootstrap.services().storage.renders.exists(key)
    assert len(keys("stack", "other")) == 1
    assert cdn == [("acme", ["/" + key])]
    assert render(f"/acme/thumb/{photo['hash']}.jpg").status == 200  # rendered afresh

    assert_ok(api.call("DELETE", "/stacks/acme/dynamic/cache"), 5, 4)  # the dynamic stack has its own limit


def test_image_purge_by_hash_or_short_hash(api, photo, clock, cdn):  # noqa: F811
    second = other_image(api)
    for image in (photo, second):
        assert render(f"/acme/dynamic/resize-width-20/{image['hash']}.png").status == 200
    assert_ok(api.call("DELETE", f"/sourceimages/acme/{photo['hash']}/cache"), 5, 4)
    assert keys("image", photo["hash"]) == [] and len(keys("image", second["hash"])) == 1
    assert len(cdn) == 1
    assert_ok(api.call("DELETE", f"/sourceimages/acme/{photo['short_hash']}/cache"), 5, 3)  # same target
    assert len(cdn) == 1  # nothing left to invalidate


def test_alias_purge(api, photo, clock):  # noqa: F811
    assert api.call("PUT", "/sourceimages/acme/alias/hero", {"hash": photo["hash"]}).status_code == 201
    assert render("/acme/dynamic/resize-width-20/-_hero_-.png").status == 200
    assert len(keys("alias", "hero")) == 1
    assert_ok(api.call("DELETE", "/sourceimages/acme/alias/hero/cache"), 10, 9)
    assert keys("alias", "hero") == []


@pytest.mark.parametrize("path", ["/stacks/acme/nosuchstack/cache", "/sourceimages/acme/" + "0" * 40 + "/cache",
                                  "/sourceimages/acme/nothex/cache", "/sourceimages/acme/alias/nosuch/cache",
                                  "/sourceimages/acme/alias/bad-name!/cache"])
def test_unknown_targets_are_404(api, clock, path):
    r = api.call("DELETE", path)
    assert r.status_code == 404 and json_of(r)["error"]["code"] == 404


def test_deleted_images_are_404(api, photo, clock):  # noqa: F811
    assert api.call("DELETE", f"/sourceimages/acme/{photo['hash']}").status_code == 204
    assert api.call("DELETE", f"/sourceimages/acme/{photo['hash']}/cache").status_code == 404


@pytest.mark.parametrize("kind, path, limit", [
    ("stack", "/stacks/acme/thumb/cache", 5),
    ("image", "/sourceimages/acme/{hash}/cache", 5),
    ("alias", "/sourceimages/acme/alias/hero/cache", 10),
])
def test_rate_limit_per_target_and_hour(api, photo, clock, kind, path, limit):  # noqa: F811
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 40}}])
    api.call("PUT", "/sourceimages/acme/alias/hero", {"hash": photo["hash"]})
    path = path.format(hash=photo["hash"])
    for used in range(1, limit + 1):
        assert_ok(api.call("DELETE", path), limit, limit - used)
    assert render(f"/acme/thumb/{photo['hash']}.jpg").status == 200
    cached = keys("stack", "thumb")

    r = api.call("DELETE", path)
    assert r.status_code == 429
    next_hour = int(datetime(2030, 5, 6, 13, tzinfo=timezone.utc).timestamp())
    assert r.headers["X-RateLimit-Limit"] == str(limit) and r.headers["X-RateLimit-Remaining"] == "0"
    assert r.headers["X-RateLimit-Retry-After"] == str(next_hour)
    assert r.headers["Retry-After"] == str(30 * 60)
    assert json_of(r) == {"status": "too many requests",
                          "X-RateLimit-Retry-After-readable": "2030-05-06T13:00:00+00:00"}
    assert keys("stack", "thumb") == cached  # a refused purge drops nothing
    assert api.call("DELETE", path).status_code == 429

    # Other targets have their own budget; the next hour starts afresh.
    make_stack(api, "thumb2", [{"name": "resize", "options": {"width": 40}}])
    assert_ok(api.call("DELETE", "/stacks/acme/thumb2/cache"), 5, 4)
    clock(next_hour)
    assert_ok(api.call("DELETE", path), limit, limit - 1)


def test_purges_need_write_access(api, photo, clock):  # noqa: F811
    make_stack(api, "thumb", [{"name": "resize", "options": {"width": 40}}])
    api.call("PUT", "/sourceimages/acme/alias/hero", {"hash": photo["hash"]})
    paths = ["/stacks/acme/thumb/cache", f"/sourceimages/acme/{photo['hash']}/cache",
             "/sourceimages/acme/alias/hero/cache"]
    reader = member(api, "read")
    writer = member(api, "write")
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    for path in paths:
        assert reader.call("DELETE", path).status_code == 403, path
        assert other.call("DELETE", path).status_code == 403, path
        r = api.call("DELETE", path, key=None)
        assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True
        assert writer.call("DELETE", path).status_code == 200, path
    images_only = member(api, "sourceimages:write")
    assert images_only.call("DELETE", paths[0]).status_code == 403
    assert images_only.call("DELETE", paths[1]).status_code == 200
