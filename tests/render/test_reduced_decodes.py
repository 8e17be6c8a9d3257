"""Kept reduced decodes (services/reduced_decodes.py, render/decoded.py): a render of a new size
of a JPEG reads the decode an earlier render made at that DCT scale, byte-identical to decoding
again; the decodes go with the original; damaged or unkeepable ones are never used."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from chalicelib import bootstrap
from chalicelib.render import codecs, decoded
from chalicelib.services import reduced_decodes
from chalicelib.services.render import Renderer
from tests.conftest import json_of
from tests.render.test_jpeg_load import photo_like


def camera_jpeg() -> bytes:
    """A 1024x768 photo stored sideways (768x1024, EXIF orientation 6), with an sRGB profile and
    300 dpi."""
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    photo_like(1024, 768).transpose(Image.Transpose.ROTATE_90).save(
        out, "JPEG", quality=90, exif=exif, icc_profile=icc, dpi=(300, 300))
    return out.getvalue()


@pytest.fixture
def kept(api_any, monkeypatch):
    """The services with reduced decodes on (on both adapters), and the uploaded camera JPEG."""
    monkeypatch.setenv("REDUCED_DECODES", "on")
    bootstrap.reset()
    item = json_of(api_any.upload("acme", [("filedata", "camera.jpg", camera_jpeg())]))["items"][0]
    return bootstrap.services(), item


def without_reduced(svc, item) -> Renderer:
    """A renderer that decodes every time; the renders made so far are dropped from the store,
    so its render is a miss too."""
    r = svc.renderer
    r.cache.invalidate_image("acme", item["hash"])
    return Renderer(svc.storage, r.cache, r.images, r.max_operations, r.max_output_pixels, r.render_timeout)


def kept_keys(svc, item) -> list[str]:
    return svc.storage.originals.list(reduced_decodes.key("acme", item["binary_hash"], (0, 0)).rsplit("-", 1)[0])


def render(renderer, path: str) -> bytes:
    result = renderer.handle(path, "", {})
    assert result.status == 200, result.body[:300]
    return result.body


def count_decodes(monkeypatch) -> list:
    calls = []
    real = codecs.open_source
    monkeypatch.setattr(codecs, "open_source", lambda *a, **k: (calls.append(a[1:]), real(*a, **k))[1])
    return calls


@pytest.mark.parametrize("first, later", [
    ("resize-width-200", "resize-width-230"),  # both decode at 1/4 (upright 256x192)
    ("resize-width-100", "resize-width-55--options-dpr-2"),  # 1/8 (128x96) for 100 and 110 px
    ("blur-sigma-4", "blur-sigma-5"),  # the reduced-scale blur's 1/4
])
@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "avif", "gif"])
def test_a_later_render_reads_the_kept_decode_and_gives_the_same_bytes(kept, monkeypatch, first, later, fmt):
    svc, item = kept
    render(svc.renderer, f"/acme/dynamic/{first}/{item['hash']}.{fmt}")
    assert len(kept_keys(svc, item)) == 1
    calls = count_decodes(monkeypatch)
    body = render(svc.renderer, f"/acme/dynamic/{later}/{item['hash']}.{fmt}")
    assert calls == []  # no decode: the kept one served
    assert body == render(without_reduced(svc, item), f"/acme/dynamic/{later}/{item['hash']}.{fmt}")
    assert len(calls) == 1  # the reference did decode
    out = Image.open(io.BytesIO(body))
    assert out.width > out.height  # upright (the source is stored sideways)


def test_renders_that_decode_above_a_quarter_of_the_size_keep_nothing(kept):
    svc, item = kept
    for ops in ("resize-width-800", "resize-width-500", "resize-width-350",  # full size, 1/2, 3/8
                "rotate-angle-90", "crop-width-100-height-100", "blur-sigma-1"):
        render(svc.renderer, f"/acme/dynamic/{ops}/{item['hash']}.jpg")
    assert kept_keys(svc, item) == []


def test_an_unreadable_store_costs_a_decode_not_the_render(kept, monkeypatch):
    svc, item = kept
    render(svc.renderer, f"/acme/dynamic/resize-width-200/{item['hash']}.jpg")

    class Unreadable:  # the originals store, failing for the kept decodes only
        def get(self, key):
            if reduced_decodes.SUFFIX in key:
                raise OSError("store unavailable")
            return svc.storage.originals.get(key)

        def __getattr__(self, name):
            return getattr(svc.storage.originals, name)

    monkeypatch.setattr(svc.renderer, "reduced", reduced_decodes.ReducedDecodes(Unreadable()))
    calls = count_decodes(monkeypatch)
    render(svc.renderer, f"/acme/dynamic/resize-width-221/{item['hash']}.jpg")
    assert len(calls) == 1


def test_a_damaged_kept_decode_is_decoded_again_and_replaced(kept, monkeypatch):
    svc, item = kept
    render(svc.renderer, f"/acme/dynamic/resize-width-200/{item['hash']}.jpg")
    [name] = kept_keys(svc, item)
    good = svc.storage.originals.get(name)
    svc.storage.originals.put(name, good[:len(good) // 2])  # truncated
    calls = count_decodes(monkeypatch)
    body = render(svc.renderer, f"/acme/dynamic/resize-width-220/{item['hash']}.jpg")
    assert len(calls) == 1
    assert body == render(without_reduced(svc, item), f"/acme/dynamic/resize-width-220/{item['hash']}.jpg")
    assert svc.storage.originals.get(name) == good


def test_the_kept_decodes_go_with_the_original(kept, api_any):
    from datetime import datetime, timedelta, timezone

    svc, item = kept
    render(svc.renderer, f"/acme/dynamic/resize-width-200/{item['hash']}.jpg")
    render(svc.renderer, f"/acme/dynamic/resize-width-90/{item['hash']}.jpg")
    assert len(kept_keys(svc, item)) == 2
    assert api_any.call("DELETE", f"/sourceimages/acme/{item['hash']}").status_code == 204
    assert len(kept_keys(svc, item)) == 2  # deleted images stay restorable, their original too
    svc.retention.purge(datetime.now(timezone.utc) + timedelta(days=365))
    assert kept_keys(svc, item) == []


def test_off_by_default_on_aws_and_on_by_default_locally(monkeypatch):
    from chalicelib.config import settings

    for storage, expected in (("local", True), ("aws", False)):
        monkeypatch.setenv("STORAGE", storage)
        monkeypatch.delenv("REDUCED_DECODES", raising=False)
        settings.cache_clear()
        assert settings().reduced_decodes is expected
    monkeypatch.setenv("REDUCED_DECODES", "off")
    monkeypatch.setenv("STORAGE", "local")
    settings.cache_clear()
    assert settings().reduced_decodes is False
    settings.cache_clear()


@pytest.mark.parametrize("image, reason", [
    (Image.new("RGBA", (8, 8)), "mode"),
    (Image.new("RGB", (1500, 1500)), "larger than MAX_BYTES"),
])
def test_what_cannot_be_kept_exactly_is_not_kept(image, reason):
    assert decoded.dumps(image, (16, 16)) is None, reason


def test_an_info_value_without_an_exact_form_is_not_kept():
    image = Image.new("RGB", (8, 8))
    image.info["photoshop"] = {1028: b"iptc"}
    assert decoded.dumps(image, (16, 16)) is None


def test_the_bytes_round_trip_exactly():
    image = photo_like(64, 48)
    image.info.update({"dpi": (300.0, 300.0), "exif": b"Exif\x00\x00MM", "jfif": 257, "comment": "x"})
    back, before = decoded.loads(decoded.dumps(image, (256, 192)))
    assert before == (256, 192) and back.mode == "RGB" and back.tobytes() == image.tobytes()
    assert back.info == image.info


@pytest.mark.parametrize("blob", [b"", b"RKDECODED1\n\x00\x00\x00\x05{}", b"not a decode"])
def test_other_bytes_do_not_load(blob):
    assert decoded.loads(blob) is None


def reads_of(svc, monkeypatch) -> list[str]:
    keys, real = [], svc.storage.originals.get
    monkeypatch.setattr(svc.storage.originals, "get", lambda key: (keys.append(key), real(key))[1])
    return keys


def test_a_render_from_a_kept_decode_does_not_read_the_original(kept, monkeypatch):
    svc, item = kept
    render(svc.renderer, f"/acme/dynamic/resize-width-200/{item['hash']}.jpg")
    reads = reads_of(svc, monkeypatch)
    render(svc.renderer, f"/acme/dynamic/resize-width-240/{item['hash']}.jpg")
    assert [k for k in reads if reduced_decodes.SUFFIX not in k] == []  # only the kept decode
    render(svc.renderer, f"/acme/dynamic/resize-width-800/{item['hash']}.jpg")  # no kept decode: the original
    assert [k for k in reads if reduced_decodes.SUFFIX not in k] != []


def test_a_composition_of_the_same_image_loads_the_original_it_needs(kept, api_any):
    svc, item = kept
    r = api_any.call("PUT", "/stacks/acme/small?overwrite=true", [{"name": "resize", "options": {"width": 60}}])
    assert r.status_code in (200, 201), r.body
    render(svc.renderer, f"/acme/dynamic/resize-width-200/{item['hash']}.png")
    path = f"/acme/dynamic/resize-width-230--composition-secondary_stack-small/{item['hash']}.png"
    body = render(svc.renderer, path)
    assert body == render(without_reduced(svc, item), path)
