"""svgdynamic and svg2bitmap: schema, validation of changes, and the source hook on SVG text."""
import io

import pytest
from PIL import Image

from chalicelib.errors import BadRequest, InvalidOperation
from chalicelib.operations import registry, svgdynamic
from chalicelib.render import formats_vector

SPEC = registry.get("svgdynamic")
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       b'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="100" height="50" '
       b'inkscape:version="1.0"><!-- keep me --><polyline id="line" stroke="#FF6840" stroke-width="10" '
       b'points="10 50, 90 10"/><rect id="box" width="5" height="5"/><use id="ref" xlink:href="#box"/></svg>')


def changed(changes, data=SVG) -> dict:
    out = svgdynamic.prepare_source(data, {"format": "svg"}, SPEC.with_defaults(SPEC.validate({"changes": changes})))
    doc = formats_vector.parse_svg(out)
    return {el.getAttribute("id"): el for el in doc.getElementsByTagName("*") if el.hasAttribute("id")}


def test_schema():
    described = SPEC.describe()
    assert described["required"] == ["changes"]
    assert described["properties"]["changes"]["type"] == "array"
    assert registry.get("svg2bitmap").describe()["required"] == []
    assert set(registry.get("svg2bitmap").describe()["properties"]) == {"enabled"}


def test_changes_are_applied_by_id():
    els = changed([{"id": "line", "attr": "stroke", "value": "#ff00ff"},
                   {"id": "line", "attr": "stroke-width", "value": 5},
                   {"id": "box", "attr": "opacity", "value": 0.5},
                   {"id": "ref", "attr": "xlink:href", "value": "#line"},
                   {"id": "nothere", "attr": "fill", "value": "red"}])  # unknown ids are ignored
    assert els["line"].getAttribute("stroke") == "#ff00ff" and els["line"].getAttribute("stroke-width") == "5"
    assert els["box"].getAttribute("opacity") == "0.5"
    assert els["ref"].getAttributeNS("http://www.w3.org/1999/xlink", "href") == "#line"


def test_the_rest_of_the_document_is_kept():
    out = svgdynamic.prepare_source(SVG, {}, {"changes": [{"id": "box", "attr": "fill", "value": "red"}]})
    assert b"<!-- keep me -->" in out and b'inkscape:version="1.0"' in out and b'points="10 50, 90 10"' in out


def test_other_sources_and_empty_changes_are_untouched():
    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4)).save(jpeg, "JPEG")
    change = {"changes": [{"id": "a", "attr": "fill", "value": "red"}]}
    assert svgdynamic.prepare_source(jpeg.getvalue(), {}, change) == jpeg.getvalue()
    assert svgdynamic.prepare_source(SVG, {}, {"changes": []}) is SVG


@pytest.mark.parametrize("changes", [
    "not-an-array",
    [{"id": "line", "attr": "stroke"}],
    [{"id": "line", "attr": "stroke", "value": "red", "extra": 1}],
    [{"id": "", "attr": "stroke", "value": "red"}],
    [{"id": "line", "attr": "bad name", "value": "red"}],
    [{"id": "line", "attr": "stroke", "value": {"nested": 1}}],
    [{"id": "line", "attr": "onload", "value": "alert(1)"}],
    [{"id": "line", "attr": "OnClick", "value": "alert(1)"}],
    [{"id": "ref", "attr": "xlink:href", "value": " javascript:alert(1)"}],
    [{"id": str(i), "attr": "fill", "value": "red"} for i in range(101)],
])
def test_invalid_changes_are_refused(changes):
    with pytest.raises(InvalidOperation):
        SPEC.validate({"changes": changes})


def test_changes_are_required():
    with pytest.raises(InvalidOperation):
        SPEC.validate({})


def test_the_hook_checks_again_values_that_came_from_expressions():
    with pytest.raises(BadRequest):
        svgdynamic.prepare_source(SVG, {}, {"changes": [{"id": "line", "attr": "onmouseover", "value": "x"}]})


def test_entities_are_refused_at_render_too():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><text id="t">&a;</text></svg>')
    with pytest.raises(BadRequest):
        svgdynamic.prepare_source(bomb, {}, {"changes": [{"id": "t", "attr": "fill", "value": "red"}]})


def test_stacks_with_bad_changes_are_400(api):
    body = [{"name": "svgdynamic", "options": {"changes": [{"id": "x", "attr": "onload", "value": "1"}]}}]
    assert api.call("PUT", "/stacks/acme/evil", body).status_code == 400
    body = [{"name": "svgdynamic", "options": {"changes": [{"id": "x", "attr": "fill", "value": "#fff"}]}}]
    assert api.call("PUT", "/stacks/acme/fine", body).status_code in (200, 201)
