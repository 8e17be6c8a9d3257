"""Deleted images: restorable for 30 days, purged after (record, search entries, unshared original)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import bootstrap
from chalicelib.services.sourceimages import original_key
from tests.api.test_search import searchable  # noqa: F401 - the fixture (both adapters)
from tests.conftest import image_bytes, json_of


def age_deletion(org, h, days):
    storage = bootstrap.services().storage
    image = storage.images.get(org, h)
    image.deleted_date = (datetime.now(timezone.utc) - timedelta(days=days)).replace(microsecond=0).isoformat()
    storage.images.save(image)


def test_purge_after_thirty_days(searchable):  # noqa: F811
    api, org, hashes = searchable
    storage = bootstrap.services().storage
    beach = json_of(api.call("GET", f"/sourceimages/{org}/{hashes['beach.jpg']}"))
    # A second image sharing beach's original (other dynamic metadata) keeps that original alive.
    twin = json_of(api.call("PUT", f"/sourceimages/{org}/{beach['hash']}/meta/dynamic/version", {"text": "2"}))
    for name in ("beach.jpg", "alpine.jpg"):
        assert api.call("DELETE", f"/sourceimages/{org}/{hashes[name]}").status_code == 204
    age_deletion(org, hashes["beach.jpg"], 31)
    age_deletion(org, hashes["alpine.jpg"], 29)

    assert api.call("POST", f"/sourceimages/{org}/{hashes['beach.jpg']}/restore").status_code == 404
    assert bootstrap.services().retention.purge() >= 1
    assert storage.images.get(org, hashes["beach.jpg"]) is None
    assert json_of(api.call("GET", f"/sourceimages/{org}?deleted=true"))["total"] == 1
    assert json_of(api.call("GET", f"/sourceimages/{org}?user:int:views=200&deleted=true"))["total"] == 0
    assert storage.originals.exists(original_key(org, beach["binary_hash"]))  # still used by the twin
    r = api.call("POST", f"/sourceimages/{org}/{hashes['alpine.jpg']}/restore")
    assert r.status_code == 200

    assert api.call("DELETE", f"/sourceimages/{org}/{twin['hash']}").status_code == 204
    age_deletion(org, twin["hash"], 40)
    bootstrap.services().retention.purge()
    assert not storage.originals.exists(original_key(org, beach["binary_hash"]))
