"""Concurrency: the same upload from 20 clients, 20 concurrent stack overwrites, 20 concurrent
renders of one URL (against localserver.py over HTTP, and the uploads and overwrites also on the
AWS adapters through the services), then a bounded load test on loopback.

Load test: N clients for T seconds mixing uploads, metadata GETs, renders (cache misses) and
cache hits. It reports requests served, errors and p50/p99 latency (printed, and written as
JSON under the pytest temporary directory); the only assertion on it is errors == 0.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import os
import random
import threading
import time
from collections import Counter, defaultdict

import pytest
import requests
from PIL import Image

from chalicelib import auth
from chalicelib.services.sourceimages import Upload, original_key
from tests.conftest import image_bytes
from tests.reliability.measure import percentile, report_dir, write_report

CLIENTS = 20
LOAD_CLIENTS = int(os.environ.get("RELIABILITY_LOAD_CLIENTS", "8"))
LOAD_SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "5"))
FIGURES: dict = {}


def at_once(n: int, fn) -> list:
    """Run fn(i) in n threads released together; results (or exceptions) in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture(scope="module", autouse=True)
def summary(tmp_path_factory):
    yield
    if FIGURES:
        write_report(report_dir(tmp_path_factory), "concurrency", FIGURES)


@pytest.fixture(scope="module")
def server(local_server):
    """The local server with an organization and its admin key."""
    r = requests.post(local_server.base + "/users", data='{"email": "load@example.com", "organization": "load"}')
    assert r.status_code == 200, r.text
    local_server.key = r.json()["api_key"]
    local_server.org = "load"
    return local_server


def originals_on_disk(server, org: str) -> list:
    """The originals' files (not temp files, not the reduced decodes kept beside them)."""
    root = server.data_dir / "originals" / org
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")
            and ".decoded-" not in p.name]


def post_image(server, data: bytes, session=None, name="x.jpg"):
    return (session or requests).post(f"{server.base}/sourceimages/{server.org}", headers={"Api-Key": server.key},
                                      files={"filedata": (name, data)}, timeout=60)


# --- the same upload, 20 clients ------------------------------------------------------------------

def test_same_image_from_20_clients_is_one_record_and_one_original_local(server):
    data = image_bytes(size=(200, 150), seed=101)
    responses = at_once(CLIENTS, lambda i: post_image(server, data))
    assert all(not isinstance(r, Exception) and r.status_code == 200 for r in responses), responses
    hashes = {r.json()["items"][0]["hash"] for r in responses}
    assert len(hashes) == 1
    binary = hashlib.sha1(data).hexdigest()
    listed = requests.get(f"{server.base}/sourceimages/{server.org}?limit=1000", headers={"Api-Key": server.key}).json()
    assert [i["hash"] for i in listed["items"] if i["binary_hash"] == binary] == list(hashes)
    assert [p.name for p in originals_on_disk(server, server.org) if p.name == binary] == [binary]
    FIGURES["same_upload_local"] = {"clients": CLIENTS, "records": 1, "originals": 1}


def test_same_image_from_20_clients_is_one_record_and_one_original_aws(aws_app):
    svc = aws_app.services
    p = auth.authenticate(svc.storage, {"Api-Key": aws_app.api.key}, svc.settings.key_pepper)
    data = image_bytes(size=(200, 150), seed=102)
    binary = hashlib.sha1(data).hexdigest()
    results = at_once(CLIENTS, lambda i: svc.images.upload(p, aws_app.org, [Upload(filename=f"{i}.jpg", data=data)]))
    assert all(isinstance(r, dict) for r in results), [r for r in results if not isinstance(r, dict)]
    assert len({r["items"][0]["hash"] for r in results}) == 1
    assert len(svc.storage.images.by_binary_hash(aws_app.org, binary)) == 1
    assert [k for k in svc.storage.originals.list(f"{aws_app.org}/") if k.endswith(binary)] == \
        [original_key(aws_app.org, binary)]
    FIGURES["same_upload_aws"] = {"clients": CLIENTS, "records": 1, "originals": 1}


# --- concurrent stack overwrites ------------------------------------------------------------------

def stack_body(i: int) -> dict:
    return {"operations": [{"name": "resize", "options": {"width": 10 + i, "height": 10 + i}}],
            "options": {"jpg.quality": 50 + i}}


def _same_stack(stored: dict, body: dict) -> bool:
    ops = [{"name": o["name"], "options": {k: o["options"][k] for k in ("width", "height")}}
           for o in stored["stack_operations"]]
    return ops == body["operations"] and stored["stack_options"].get("jpg.quality") == body["options"]["jpg.quality"]


def test_concurrent_stack_overwrites_leave_one_of_the_bodies_local(server):
    url = f"{server.base}/stacks/{server.org}/race?overwrite=true"
    responses = at_once(CLIENTS, lambda i: requests.put(url, json=stack_body(i), headers={"Api-Key": server.key},
                                                        timeout=60))
    assert all(not isinstance(r, Exception) and r.status_code in (200, 201) for r in responses), responses
    stored = requests.get(f"{server.base}/stacks/{server.org}/race", headers={"Api-Key": server.key}).json()
    winners = [i for i in range(CLIENTS) if _same_stack(stored, stack_body(i))]
    assert len(winners) == 1, stored
    # Renders use the stored stack.
    item = post_image(server, image_bytes(size=(300, 300), seed=103)).json()["items"][0]
    im = Image.open(io.BytesIO(requests.get(f"{server.base}/render/{server.org}/race/{item['hash']}.jpg").content))
    assert im.size[0] == 10 + winners[0]
    FIGURES["stack_overwrites_local"] = {"clients": CLIENTS, "winner": winners[0]}


def test_concurrent_stack_overwrites_leave_one_of_the_bodies_aws(aws_app):
    svc = aws_app.services
    p = auth.authenticate(svc.storage, {"Api-Key": aws_app.api.key}, svc.settings.key_pepper)
    results = at_once(CLIENTS, lambda i: svc.stacks.put(p, aws_app.org, "race", stack_body(i), True))
    assert all(isinstance(r, tuple) and r[0] in (200, 201) for r in results), results
    stored = svc.stacks.get(p, aws_app.org, "race")
    assert len([i for i in range(CLIENTS) if _same_stack(stored, stack_body(i))]) == 1, stored
    FIGURES["stack_overwrites_aws"] = {"clients": CLIENTS}


# --- concurrent renders of one URL ----------------------------------------------------------------

def test_concurrent_renders_of_one_url_are_200_and_cache_one_object(server):
    item = post_image(server, image_bytes(size=(800, 600), seed=104)).json()["items"][0]
    path = f"/{server.org}/dynamic/resize-width-321--grayscale/{item['hash']}.png"
    responses = at_once(CLIENTS, lambda i: requests.get(f"{server.base}/render{path}", timeout=60))
    assert all(not isinstance(r, Exception) and r.status_code == 200 for r in responses), responses
    for r in responses:
        assert Image.open(io.BytesIO(r.content)).size == (321, 241)
    cached = [p for p in (server.data_dir / "renders").rglob("*")
              if p.is_file() and not p.name.startswith(".tmp-") and item["hash"] in str(p)]
    assert len(cached) == 1, cached
    Image.open(cached[0]).load()
    assert cached[0].read_bytes() in {r.content for r in responses}
    FIGURES["same_render"] = {"clients": CLIENTS, "statuses": dict(Counter(r.status_code for r in responses)),
                              "cached_objects": len(cached)}


# --- bounded load test ----------------------------------------------------------------------------

def test_bounded_load_on_loopback(server, tmp_path):
    seed_images = [post_image(server, image_bytes(size=(640, 480), seed=200 + i)).json()["items"][0]
                   for i in range(4)]
    requests.put(f"{server.base}/stacks/{server.org}/thumb?overwrite=true", headers={"Api-Key": server.key},
                 json={"operations": [{"name": "resize", "options": {"width": 120}}]}).raise_for_status()
    hot = f"{server.base}/render/{server.org}/thumb/{seed_images[0]['hash']}.jpg"
    assert requests.get(hot).status_code == 200  # cached from now on
    records_before = total_records(server)
    uploaded: list = []

    counter = itertools.count()
    latencies: dict = defaultdict(list)
    errors: list = []
    deadline = time.monotonic() + LOAD_SECONDS
    kinds = ["cache_hit", "render", "get", "cache_hit", "upload", "get", "cache_hit", "render"]

    def client(cid: int):
        session = requests.Session()
        rnd = random.Random(cid)
        step = 0
        while time.monotonic() < deadline:
            kind = kinds[(cid + step) % len(kinds)]
            step += 1
            image = rnd.choice(seed_images)
            started = time.perf_counter()
            try:
                if kind == "upload":
                    n = next(counter)
                    r = post_image(server, image_bytes(size=(160, 120), seed=1000 + n, color=(n % 256, 90, 40)),
                                   session, name=f"load-{n}.jpg")
                    if r.status_code == 200:
                        uploaded.append(r.json()["items"][0]["hash"])
                elif kind == "get":
                    r = session.get(f"{server.base}/sourceimages/{server.org}/{image['hash']}",
                                    headers={"Api-Key": server.key}, timeout=60)
                elif kind == "render":  # a new URL each time: a cache miss
                    r = session.get(f"{server.base}/render/{server.org}/dynamic/resize-width-{next(counter) % 400 + 20}"
                                    f"/{image['hash']}.jpg", timeout=60)
                else:
                    r = session.get(hot, timeout=60)
                ok = r.status_code == 200
            except requests.RequestException as exc:
                ok, r = False, exc
            elapsed = time.perf_counter() - started
            latencies[kind].append(elapsed)
            if not ok:
                errors.append((kind, getattr(r, "status_code", repr(r)), getattr(r, "text", "")[:200]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(LOAD_CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOAD_SECONDS + 120)
    wall = time.monotonic() - started
    everything = [x for v in latencies.values() for x in v]

    def ms(values):
        return {"count": len(values), "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1)} if values else {"count": 0}

    records_lost = records_before + len(set(uploaded)) - total_records(server)
    figures = {"clients": LOAD_CLIENTS, "seconds": LOAD_SECONDS, "wall_seconds": round(wall, 2),
               "requests_served": len(everything), "errors": len(errors), "uploads": len(uploaded),
               "records_lost": records_lost,
               "requests_per_second": round(len(everything) / wall, 1), **ms(everything),
               "by_kind": {k: ms(v) for k, v in sorted(latencies.items())}, "error_samples": errors[:5]}
    FIGURES["load"] = figures
    write_report(tmp_path, "load", figures)
    assert errors == [], errors[:5]
    # Every upload of the load test is one record, with its original.
    assert records_lost == 0
    assert total_records(server) == len(originals_on_disk(server, server.org))


def total_records(server) -> int:
    return requests.get(f"{server.base}/sourceimages/{server.org}?limit=1", headers={"Api-Key": server.key},
                        timeout=60).json()["total"]
