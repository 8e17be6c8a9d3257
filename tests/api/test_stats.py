"""GET /stats/{org}: daily series from real counters (reference §8, rokka.js fixture stats_get.json)."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib import bootstrap
from tests.conftest import Api, image_bytes, json_of, signup
from tests.render.test_render import render

SERIES = ("space_in_bytes", "number_of_files", "bytes_downloaded", "bytes_downloaded_external")


def member(api, role):
    """An API helper for a new user holding `role` in acme."""
    r = api.call("POST", "/organizations/acme/memberships", {"roles": [role]})
    return Api(api.client, json_of(r)["api_key"])


def today() -> date:
    return datetime.now(timezone.utc).date()


def stats(api, query="", org="acme"):
    r = api.call("GET", f"/stats/{org}" + (f"?{query}" if query else ""))
    assert r.status_code == 200, r.body
    return json_of(r)


def latest(body, series):
    points = body[series]
    assert points[0]["timestamp"] == f"{today().isoformat()}T00:00:00+00:00"
    return points[0]["value"]


def upload(api, data, **fields):
    r = api.upload("acme", [("filedata", "a.jpg", data)], fields=fields)
    assert r.status_code == 200, r.body
    return json_of(r)["items"][0]


def test_default_range_is_the_last_30_days_newest_first(api):
    body = stats(api)
    assert set(body) == set(SERIES)
    days = [today() - timedelta(days=i) for i in range(30)]
    for name, unit in (("space_in_bytes", "Bytes"), ("number_of_files", None)):
        assert [p["timestamp"] for p in body[name]] == [f"{d.isoformat()}T00:00:00+00:00" for d in days]
        assert all(p["value"] == 0 and p["unit"] == unit for p in body[name])
    assert body["bytes_downloaded"] == [] and body["bytes_downloaded_external"] == []


def test_uploads_deletes_and_restores_move_files_and_space(api):
    a, b = image_bytes(seed=1), image_bytes(seed=2, size=(200, 100))
    first = upload(api, a)
    upload(api, b)
    upload(api, a)  # the same image again: nothing new
    body = stats(api)
    assert latest(body, "number_of_files") == 2 and latest(body, "space_in_bytes") == len(a) + len(b)

    # Same bytes, other dynamic metadata: a second image sharing the stored original.
    twin = upload(api, a, **{"meta_dynamic[0][subject_area]": json.dumps({"x": 1, "y": 1})})
    assert twin["hash"] != first["hash"]
    body = stats(api)
    assert latest(body, "number_of_files") == 3 and latest(body, "space_in_bytes") == len(a) + len(b)

    assert api.call("DELETE", f"/sourceimages/acme/{first['hash']}").status_code == 204
    body = stats(api)  # the twin still holds the original
    assert latest(body, "number_of_files") == 2 and latest(body, "space_in_bytes") == len(a) + len(b)
    assert api.call("DELETE", f"/sourceimages/acme/{twin['hash']}").status_code == 204
    body = stats(api)
    assert latest(body, "number_of_files") == 1 and latest(body, "space_in_bytes") == len(b)

    assert api.call("POST", f"/sourceimages/acme/{first['hash']}/restore").status_code == 200
    body = stats(api)
    assert latest(body, "number_of_files") == 2 and latest(body, "space_in_bytes") == len(a) + len(b)
    upload(api, a, **{"meta_dynamic[0][subject_area]": json.dumps({"x": 1, "y": 1})})  # revives the twin
    assert latest(stats(api), "number_of_files") == 3


def test_new_hashes_and_copies_count_as_files(api):
    data = image_bytes(seed=3)
    old = upload(api, data)
    r = api.call("PUT", f"/sourceimages/acme/{old['hash']}/options/protected?deletePrevious=true", raw=b"true")
    assert r.status_code == 201
    body = stats(api)  # a new hash replaced the old one: still one file of the same bytes
    assert latest(body, "number_of_files") == 1 and latest(body, "space_in_bytes") == len(data)
    r = api.call("PUT", f"/sourceimages/acme/{json_of(r)['hash']}/options/protected", raw=b"false")
    assert r.status_code == 201  # brings the deleted unprotected image back, keeps the protected one
    assert latest(stats(api), "number_of_files") == 2

    api.call("PUT", "/organizations/second", {})
    r = api.call("POST", f"/sourceimages/acme/{old['hash']}/copy", headers={"Destination": "second"})
    assert r.status_code == 201
    body = stats(api, org="second")
    assert latest(body, "number_of_files") == 1 and latest(body, "space_in_bytes") == len(data)
    assert api.call("POST", f"/sourceimages/acme/{old['hash']}/copy",
                    headers={"Destination": "second"}).status_code == 204  # overwritten: no new file
    assert latest(stats(api, org="second"), "number_of_files") == 1


def test_renders_count_as_bytes_downloaded(api):
    image = upload(api, image_bytes(size=(300, 200)))
    first = render(f"/acme/dynamic/resize-width-100/{image['hash']}.png")
    second = render(f"/acme/dynamic/resize-width-100/{image['hash']}.png")  # from the render cache
    failed = render("/acme/dynamic/resize-width-100/" + "0" * 40 + ".png")
    assert first.status == second.status == 200 and failed.status == 404
    body = stats(api)
    assert body["bytes_downloaded"] == [{"timestamp": f"{today().isoformat()}T00:00:00+00:00",
                                         "value": len(first.body) + len(second.body), "unit": None}]


def test_explicit_range_with_levels_carried_from_earlier_days(api):
    counters = bootstrap.services().storage.counters
    counters.add("acme", "number_of_files", "2020-01-02", 5)
    counters.add("acme", "space_in_bytes", "2019-12-01", 1000)
    counters.add("acme", "number_of_files", "2020-01-04", -1)
    counters.add("acme", "bytes_downloaded", "2020-01-03", 77)
    counters.add("acme", "bytes_downloaded", "2020-01-09", 99)  # outside the range
    body = stats(api, "from=2020-01-01&to=2020-01-04")
    assert [(p["timestamp"][:10], p["value"]) for p in body["number_of_files"]] == [
        ("2020-01-04", 4), ("2020-01-03", 5), ("2020-01-02", 5), ("2020-01-01", 0)]
    assert [p["value"] for p in body["space_in_bytes"]] == [1000] * 4
    assert body["bytes_downloaded"] == [{"timestamp": "2020-01-03T00:00:00+00:00", "value": 77, "unit": None}]
    one_day = stats(api, "from=2020-01-02&to=2020-01-02")
    assert len(one_day["number_of_files"]) == 1
    only_to = stats(api, "to=2020-01-31")
    assert len(only_to["number_of_files"]) == 30 and only_to["number_of_files"][-1]["timestamp"][:10] == "2020-01-02"
    only_from = stats(api, f"from={(today() - timedelta(days=2)).isoformat()}")
    assert len(only_from["number_of_files"]) == 3


@pytest.mark.parametrize("query", ["from=2020-01-05&to=2020-01-04", "from=yesterday", "to=2020-13-01",
                                   "from=2018-01-01&to=2020-12-31"])
def test_bad_ranges_are_400(api, query):
    r = api.call("GET", f"/stats/acme?{query}")
    assert r.status_code == 400 and json_of(r)["error"]["code"] == 400


def test_stats_need_read_access_to_the_organization(api):
    reader = member(api, "read")
    assert reader.call("GET", "/stats/acme").status_code == 200
    uploader = member(api, "upload")
    assert uploader.call("GET", "/stats/acme").status_code == 403
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert other.call("GET", "/stats/acme").status_code == 403
    assert latest(stats(other, org="other"), "number_of_files") == 0
    r = api.call("GET", "/stats/acme", key=None)
    assert r.status_code == 403 and json_of(r)["invalid_authentication"] is True
