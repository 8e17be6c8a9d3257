"""Untrusted files: decompression bombs, truncated and corrupt files of every accepted format,
absurd metadata. Each must be refused at upload with a 4xx and leave nothing behind, or be
accepted and then render without a 5xx. Bomb uploads must not grow memory beyond a bound.

The render side: Pillow's bomb check follows MAX_SOURCE_PIXELS, pixel data that stops decoding
after the upload is a 400, and RENDER_TIMEOUT_SECONDS stops a render with a 503 that is not cached.
"""
from __future__ import annotations

import io
import json
import os
from collections import Counter

import pytest
from PIL import Image

from chalicelib import bootstrap
from tests.conftest import Api, image_bytes, json_of, signup
from tests.reliability import hostile
from tests.reliability.measure import PeakRss, memory_measurable, report_dir, write_report

# Peak RSS growth allowed while one bomb is uploaded (configurable for slower allocators).
BOMB_RSS_BOUND = int(os.environ.get("RELIABILITY_BOMB_RSS_MB", "50")) * 1024 * 1024

CASES = {**{n: ("bomb", d) for n, d in hostile.bombs().items()},
         **{n: ("damaged", d) for n, d in hostile.damaged().items()},
         **{n: ("metadata", d) for n, d in hostile.absurd_metadata().items()}}
RESULTS: list[dict] = []


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One local data directory and organization for every hostile upload of the module."""
    data = tmp_path_factory.mktemp("untrusted") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATA_DIR", str(data))
        mp.setenv("STORAGE", "local")
        for name in ("ALLOW_SIGNUP", "MAX_SOURCE_PIXELS", "MAX_UPLOAD_BYTES", "RENDER_TIMEOUT_SECONDS"):
            mp.delenv(name, raising=False)
        bootstrap.reset()
        from chalice.test import Client

        from app import app

        with Client(app) as c:
            api = Api(c)
            api.key = signup(api, "acme")["api_key"]
            for data_bytes in hostile.samples().values():  # load every decoder before measuring
                api.upload("acme", [("filedata", "warm", data_bytes)])
            yield api, data
        bootstrap.reset()


@pytest.fixture(scope="module", autouse=True)
def summary(tmp_path_factory):
    yield
    if not RESULTS:
        return
    by_kind: dict = {}
    for r in RESULTS:
        k = by_kind.setdefault(r["kind"], Counter())
        k["tried"] += 1
        k[r["outcome"]] += 1
    bombs = [r for r in RESULTS if r["kind"] == "bomb"]
    write_report(report_dir(tmp_path_factory), "untrusted_files", {
        "by_kind": {k: dict(v) for k, v in by_kind.items()},
        "bomb_rss_bound_mb": BOMB_RSS_BOUND / 2**20,
        "bomb_max_rss_growth_mb": round(max((r["rss_growth"] for r in bombs), default=0) / 2**20, 2),
        "max_rss_growth_mb": round(max(r["rss_growth"] for r in RESULTS) / 2**20, 2),
        "server_errors": sum(r["outcome"] == "5xx" for r in RESULTS),
        "cases": RESULTS,
    })


def render(path: str):
    return bootstrap.services().renderer.handle(path, "", {})


def stored(data_dir) -> set:
    return {p.relative_to(data_dir) for p in (data_dir / "originals").rglob("*") if p.is_file()}


def image_total(api) -> int:
    return json_of(api.call("GET", "/sourceimages/acme?limit=1"))["total"]


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_upload_is_refused_cleanly_or_renders(env, name):
    api, data_dir = env
    kind, data = CASES[name]
    files_before, total_before = stored(data_dir), image_total(api)
    with PeakRss() as mem:
        r = api.upload("acme", [("filedata", name, data)])
    result = {"case": name, "kind": kind, "bytes": len(data), "upload": r.status_code,
              "rss_growth": mem.growth, "renders": {}}
    render_mem = PeakRss()
    try:
        assert r.status_code < 500, r.body[:300]
        if 400 <= r.status_code < 500:
            result["outcome"] = "refused"
            result["message"] = json_of(r)["error"]["message"]
            assert json_of(r)["error"]["code"] == r.status_code
            assert stored(data_dir) == files_before, "a refused upload left an original behind"
            assert image_total(api) == total_before, "a refused upload left a record behind"
        else:
            assert r.status_code == 200, r.body[:300]
            item = json_of(r)["items"][0]
            result["outcome"] = "accepted"
            formats = ["png", "jpg"] + (["gif"] if item["animated"] else [])
            for fmt in formats:
                with render_mem:
                    res = render(f"/acme/dynamic/resize-width-50/{item['hash']}.{fmt}")
                result["render_rss_growth"] = max(result.get("render_rss_growth", 0), render_mem.growth)
                result["renders"][fmt] = res.status
                assert res.status < 500, (fmt, res.body[:300])
                if res.status == 200:
                    Image.open(io.BytesIO(res.body)).load()
                else:
                    assert json.loads(res.body)["error"]["code"] == res.status
        if kind == "bomb":
            # Only a HEIC whose clean aperture crops the huge canvas reports a small size
            # (libheif's view); it is accepted and fails to decode at render (400).
            assert result["outcome"] == "refused" or "clap" in name, "a bomb must be refused at upload"
            if memory_measurable():
                growth = max(mem.growth, result.get("render_rss_growth", 0))
                assert growth < BOMB_RSS_BOUND, f"peak RSS grew {growth / 2**20:.1f} MB"
    except AssertionError:
        result["outcome"] = "5xx" if r.status_code >= 500 or any(
            s >= 500 for s in result["renders"].values()) else "failed"
        raise
    finally:
        RESULTS.append(result)


@pytest.mark.skipif(not memory_measurable(), reason="needs /proc/self/status")
def test_the_memory_measurement_sees_an_allocation():
    """The instrument itself: 30 MB of fresh pages touched inside the block show up as growth.
    (A fresh mapping: malloc could reuse pages a long test session already has resident, which
    RSS does not see, and which is why the bound is on growth of the process's memory.)"""
    import mmap

    with PeakRss() as mem:
        block = mmap.mmap(-1, 30 * 2**20)
        for offset in range(0, len(block), mmap.PAGESIZE):
            block[offset] = 1
        block.close()
    assert mem.growth > 25 * 2**20, (mem.method, mem.growth)


# --- render-side limits --------------------------------------------------------------------------

def test_pillow_bomb_check_follows_max_source_pixels(api, monkeypatch, data_dir):
    monkeypatch.setenv("MAX_SOURCE_PIXELS", "4000000")
    bootstrap.reset()
    ok = hostile.png_zero_rows(2000, 2000)  # 4 MP, ~1 KB: accepted, and it renders
    r = api.upload("acme", [("filedata", "ok.png", ok)])
    assert r.status_code == 200, r.body
    assert Image.MAX_IMAGE_PIXELS == 4_000_000
    with PeakRss() as mem:
        res = render(f"/acme/dynamic/resize-width-100/{json_of(r)['items'][0]['hash']}.png")
    assert res.status == 200 and Image.open(io.BytesIO(res.body)).size == (100, 100)
    assert mem.growth < BOMB_RSS_BOUND
    r = api.upload("acme", [("filedata", "big.png", hostile.png_zero_rows(2001, 2000))])
    assert r.status_code == 400 and "limit of 4000000 pixels" in json_of(r)["error"]["message"]
    assert not list((data_dir / "originals").rglob("*.png"))


def test_sources_between_pillows_default_and_the_limit_are_accepted(api):
    """100 MP is under MAX_SOURCE_PIXELS (225 MP) but over Pillow's default bomb limit (89 MP)."""
    r = api.upload("acme", [("filedata", "100mp.png", hostile.png_zero_rows(10_000, 10_000))])
    assert r.status_code == 200, r.body
    assert (json_of(r)["items"][0]["width"], json_of(r)["items"][0]["height"]) == (10_000, 10_000)


def test_a_source_over_a_lowered_limit_is_400_at_render(api, monkeypatch):
    r = api.upload("acme", [("filedata", "a.png", hostile.png_zero_rows(1200, 1000))])
    assert r.status_code == 200
    monkeypatch.setenv("MAX_SOURCE_PIXELS", "1000000")
    bootstrap.reset()
    res = render(f"/acme/dynamic/resize-width-100/{json_of(r)['items'][0]['hash']}.png")
    assert res.status == 400 and b"more than 1000000 pixels" in res.body


def test_truncated_pixel_data_is_refused_at_upload_and_is_a_400_at_render(api, data_dir):
    """A PNG whose deflate stream stops after 40 of its 3000 rows has valid chunks and CRCs; the
    upload's integrity check inflates the stream and refuses it. Stored anyway (as if damaged in
    storage after the upload), Pillow finds out while decoding and the render is a 400."""
    import zlib

    from chalicelib.services.sourceimages import original_key
    data = hostile.png(3000, 3000, zlib.compress(b"\0" * 3001 * 40)[:-8])
    r = api.upload("acme", [("filedata", "short.png", data)])
    assert r.status_code == 400, r.body
    assert not [p for p in (data_dir / "originals").rglob("*") if p.is_file()]
    r = api.upload("acme", [("filedata", "fine.png", hostile.png_zero_rows(3000, 3000, bit_depth=8))])
    assert r.status_code == 200, r.body
    item = json_of(r)["items"][0]
    bootstrap.services().storage.originals.put(original_key("acme", item["binary_hash"]), data)
    res = render(f"/acme/dynamic/resize-width-100/{item['hash']}.png")
    assert res.status == 400 and json.loads(res.body)["error"]["code"] == 400


def test_render_over_the_time_limit_is_503_and_not_cached(api, monkeypatch, data_dir):
    r = api.upload("acme", [("filedata", "big.jpg", image_bytes("JPEG", size=(1500, 1500)))])
    image = json_of(r)["items"][0]
    path = "/acme/dynamic/" + "--".join(["blur-sigma-20"] * 12) + f"/{image['hash']}.jpg"
    monkeypatch.setenv("RENDER_TIMEOUT_SECONDS", "0.05")
    bootstrap.reset()
    res = render(path)
    assert res.status == 503, res.body[:300]
    body = json.loads(res.body)
    assert body["error"]["code"] == 503 and "too long" in body["error"]["message"]
    assert res.headers["Content-Type"] == "application/json"
    assert res.headers["Cache-Control"] == "no-store"  # the CDN must not keep a transient error
    assert not [p for p in (data_dir / "renders").rglob("*") if p.is_file()]
    monkeypatch.setenv("RENDER_TIMEOUT_SECONDS", "60")
    bootstrap.reset()
    small = f"/acme/dynamic/resize-width-50/{image['hash']}.jpg"
    assert render(small).status == 200  # within the limit: rendered and cached as usual
    assert [p for p in (data_dir / "renders").rglob("*") if p.is_file()]


def test_render_timeout_is_configuration_with_a_safe_default(monkeypatch):
    from chalicelib.config import settings
    from chalicelib.errors import RokkaError

    monkeypatch.delenv("RENDER_TIMEOUT_SECONDS", raising=False)
    bootstrap.reset()
    assert 0 < settings().render_timeout_seconds < 30  # under CloudFront's 30 s origin timeout
    for bad in ("soon", "0", "-1"):
        monkeypatch.setenv("RENDER_TIMEOUT_SECONDS", bad)
        bootstrap.reset()
        with pytest.raises(RokkaError):
            settings()
    bootstrap.reset()
