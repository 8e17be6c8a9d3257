"""The render URL grammar (reference §6.1)."""
import pytest

from chalicelib.errors import BadRequest
from chalicelib.render.url import Expr, parse, split_outside_brackets

H = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("path, stack, image, seo, fmt", [
    (f"/acme/thumb/{H}.jpg", "thumb", H, None, "jpg"),
    (f"/acme/thumb/{H}/my-photo.png", "thumb", H, "my-photo", "png"),
    (f"/acme/thumb/{H}/name.with.dots.webp", "thumb", H, "name.with.dots", "webp"),
    ("/acme/thumb/abc123.avif", "thumb", "abc123", None, "avif"),
    ("/acme/thumb/abc123/v2.gif", "thumb", "abc123", "v2", "gif"),
    ("/acme/thumb/abc123.JPG", "thumb", "abc123", None, "jpg"),
    ("//acme//thumb//abc123.jpg", "thumb", "abc123", None, "jpg"),
])
def test_image_seo_and_format(path, stack, image, seo, fmt):
    req = parse(path)
    assert (req.org, req.stack, req.image, req.seo_name, req.format) == ("acme", stack, image, seo, fmt)
    assert req.image_kind == "hash"


def test_alias():
    req = parse("/acme/thumb/-_my_alias_-.jpg")
    assert (req.image_kind, req.image) == ("alias", "my_alias")


def test_dynamic_first_segment_adds_operations_in_order():
    req = parse("/acme/dynamic/resize-width-200-height-150--rotate-angle-90--options-dpr-2/abc123.jpg")
    assert req.operations == [("resize", {"width": "200", "height": "150"}), ("rotate", {"angle": "90"})]
    assert req.options == {"dpr": "2"} and req.overrides == []


def test_dynamic_later_segments_override_and_add_options():
    req = parse("/acme/dynamic/circlemask--resize-width-150/o-af-1/resize-height-20/5adad6.png")
    assert req.operations == [("circlemask", {}), ("resize", {"width": "150"})]
    assert req.options == {"af": "1"}
    assert req.overrides == [("resize", {"height": "20"})]


def test_named_stack_groups_are_overrides_and_options_and_variables_merge():
    req = parse("/acme/thumb/resize-width-300--o-dpr-2-jpg.quality-50/v-w-800-h-400/variables-w-900/abc123.jpg")
    assert req.operations == []
    assert req.overrides == [("resize", {"width": "300"})]
    assert req.options == {"dpr": "2", "jpg.quality": "50"}
    assert req.variables == {"w": "900", "h": "400"}


def test_short_option_and_noop_forms_from_the_clients():
    req = parse("/acme/dynamic/noop--options-autoformat-true-jpg.transparency.autoformat-true/abc123.jpg")
    assert req.operations == [("noop", {})]
    assert req.options == {"autoformat": "true", "jpg.transparency.autoformat": "true"}


def test_expression_values_may_contain_dashes():
    req = parse("/acme/dynamic/crop-anchor-face-width-[image.width-10]-height-%5Bimage.height%20*%201.5%5D/abc123.png")
    assert req.operations == [("crop", {"anchor": "face", "width": Expr("image.width-10"),
                                        "height": Expr("image.height * 1.5")})]


def test_query_variables_override_path_variables():
    from urllib.parse import quote
    req = parse("/acme/thumb/v-text-a/abc123.jpg", "v=" + quote('{"text":"Some & Some"}') + "&sig=abc")
    assert req.variables == {"text": "Some & Some"}
    assert req.query["sig"] == "abc"
    assert req.cache_key.startswith("acme/thumb/v-text-a/abc123.jpg~v")


def test_cache_key_is_the_org_first_path():
    assert parse(f"/acme/thumb/{H}/seo.jpg").cache_key == f"acme/thumb/{H}/seo.jpg"


@pytest.mark.parametrize("path, query", [
    ("/acme/thumb.jpg", ""),
    ("/acme/thumb/abc123", ""),
    ("/acme/thumb/nothash.jpg", ""),
    ("/acme/thumb/abc12.jpg", ""),                       # short hash under 6
    ("/acme/thumb/resize-width/abc123.jpg", ""),         # key without value
    ("/acme/dynamic/resize-width-[1+2/abc123.jpg", ""),  # unclosed bracket
    ("/ACME!/thumb/abc123.jpg", ""),
    ("/acme/bad.stack/abc123.jpg", ""),
    ("/acme/thumb/abc123.j", ""),
    ("/acme/thumb/abc123.jpg", "v=notjson"),
    ("/acme/thumb/abc123.jpg", "v=[1,2]"),
    ("/acme/" + "x" * 5000 + "/abc123.jpg", ""),
])
def test_malformed_urls_are_bad_requests(path, query):
    with pytest.raises(BadRequest):
        parse(path, query)


def test_split_outside_brackets():
    assert split_outside_brackets("a--b-[c--d]--e", "--") == ["a", "b-[c--d]", "e"]


def test_v_suffix_from_cloudfront_must_match_the_query():
    import hashlib
    raw = "%7B%22w%22%3A1%7D"
    digest = hashlib.sha1(raw.encode()).hexdigest()[:16]
    req = parse(f"/acme/thumb/abc123.jpg~v{digest}", f"v={raw}")
    assert req.format == "jpg" and req.variables == {"w": 1}
    assert req.cache_key == f"acme/thumb/abc123.jpg~v{digest}"
    assert parse("/acme/thumb/abc123.jpg", f"v={raw}").cache_key == req.cache_key  # local server, same key
    with pytest.raises(BadRequest):
        parse(f"/acme/thumb/abc123.jpg~v{digest}")  # suffix without the query: a forged key
    with pytest.raises(BadRequest):
        parse("/acme/thumb/abc123.jpg~v0123456789abcdef", f"v={raw}")
