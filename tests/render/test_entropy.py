"""`image.entropy` in expressions: the Shannon entropy of the source's greyscale histogram,
computed (at reduced scale) only when an expression mentions it."""
from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from chalicelib.render import inspect
from tests.conftest import json_of
from tests.render.test_render import decoded, make_stack, render


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    return buf.getvalue()


FLAT = _jpeg(Image.new("RGB", (400, 300), (120, 130, 140)))
NOISY = _jpeg(Image.frombytes("RGB", (400, 300), random.Random(1).randbytes(400 * 300 * 3)))


def test_entropy_of_flat_and_noisy_sources():
    assert inspect.entropy(FLAT) < 0.5
    assert inspect.entropy(NOISY) > 7


@pytest.fixture
def sources(api):
    out = {}
    for name, data in (("flat.jpg", FLAT), ("noisy.jpg", NOISY)):
        r = api.upload("acme", [("filedata", name, data)])
        assert r.status_code == 200, r.body
        out[name.split(".")[0]] = json_of(r)["items"][0]["hash"]
    return out


def test_stack_expression_on_entropy(api, sources):
    make_stack(api, "busy", {"operations": [{"name": "resize", "options": {"width": "$w"}}],
                             "variables": {"w": 100},
                             "expressions": [{"expression": "image.entropy > 5", "overrides": {"variables": {"w": 40}}}]})
    assert decoded(render(f"/acme/busy/{sources['flat']}.png")).width == 100
    assert decoded(render(f"/acme/busy/{sources['noisy']}.png")).width == 40


def test_url_expression_on_entropy(api, sources):
    path = "/acme/dynamic/resize-width-[image.entropy%20%3E%205%20%3F%2090%20%3A%2010]/{}.png"
    assert decoded(render(path.format(sources["flat"]))).width < 15
    assert decoded(render(path.format(sources["noisy"]))).width > 80


def test_entropy_is_not_computed_when_unused(api, sources, monkeypatch):
    def boom(data):
        raise AssertionError("entropy computed for a stack that does not use it")

    monkeypatch.setattr(inspect, "entropy", boom)
    assert decoded(render(f"/acme/dynamic/resize-width-[image.width%20%2F%204]/{sources['noisy']}.png")).width == 100
