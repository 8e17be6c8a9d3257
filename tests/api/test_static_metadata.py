"""Static metadata read at upload from the header: EXIF, GPS, ICC; read-only in responses."""
import io
from fractions import Fraction

from PIL import Image, ImageCms

from tests.conftest import image_bytes, json_of


def jpeg_with_exif() -> bytes:
    im = Image.new("RGB", (64, 48), (10, 20, 30))
    exif = Image.Exif()
    exif[0x010F] = "Canon"           # Make
    exif[0x0110] = "EOS 5D"          # Model
    exif[0x0112] = 1                 # Orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (Fraction(47), Fraction(22), Fraction(3, 1))
    gps[3], gps[4] = "E", (Fraction(8), Fraction(32), Fraction(30))
    gps[5], gps[6] = 0, Fraction(408)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif, icc_profile=icc)
    return buf.getvalue()


def test_exif_gps_and_icc_are_read_at_upload(api):
    item = json_of(api.upload("acme", [("filedata", "c.jpg", jpeg_with_exif())]))["items"][0]
    meta = item["static_metadata"]
    assert meta["exif"]["make"] == "Canon" and meta["exif"]["model"] == "EOS 5D"
    assert meta["exif"]["orientation"] == 1
    gps = meta["exif"]["gps"]
    assert abs(gps["latitude"] - 47.3675) < 1e-4 and abs(gps["longitude"] - 8.541667) < 1e-4
    assert gps["altitude"] == 408
    assert meta["icc"]["present"] is True and meta["icc"]["size"] > 100


def test_images_without_metadata_have_no_exif(api):
    item = json_of(api.upload("acme", [("filedata", "p.png", image_bytes("PNG"))]))["items"][0]
    assert "exif" not in item["static_metadata"]
    assert item["static_metadata"]["icc"] == {"present": False, "size": 0}


def test_dominant_colour_is_recorded_by_the_first_render(api):
    from chalicelib import bootstrap
    im = Image.new("RGB", (300, 200), (200, 30, 40))
    im.paste((10, 10, 250), (0, 0, 60, 40))  # a small blue corner
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    item = json_of(api.upload("acme", [("filedata", "red.jpg", buf.getvalue())]))["items"][0]
    assert "dominant_color" not in item["static_metadata"]  # the upload decoded no pixels
    assert bootstrap.services().renderer.handle(f"/acme/dynamic/resize-width-50/{item['hash']}.jpg").status == 200
    colour = json_of(api.call("GET", f"/sourceimages/acme/{item['hash']}"))["static_metadata"]["dominant_color"]
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    assert r > 150 and g < 80 and b < 90
