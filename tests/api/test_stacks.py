"""Stacks: three body forms, overwrite, validation against the registry (reference §3)."""
import pytest

from tests.conftest import Api, json_of, signup

OPS = [{"name": "resize", "options": {"width": 200, "height": 150}}, {"name": "rotate", "options": {"angle": 90}}]


@pytest.mark.parametrize("body", [
    OPS,                                                                  # legacy array
    {"operations": OPS, "options": {"jpg.quality": 77}},                  # rokka.js / PHP
    {"stack_operations": OPS, "stack_options": {"jpg.quality": 77}},      # swagger keys
])
def test_create_stack_in_every_body_form(api, body):
    r = api.call("PUT", "/stacks/acme/thumb", body)
    assert r.status_code == 201, r.body
    stack = json_of(r)
    assert stack["name"] == "thumb" and stack["organization"] == "acme" and stack["created"]
    assert stack["stack_operations"] == OPS
    assert stack["stack_expressions"] == [] and stack["stack_variables"] == {}
    got = json_of(api.call("GET", "/stacks/acme/thumb"))
    assert got["link"] == "/stacks/acme/thumb" and got["stack_operations"] == OPS


def test_php_empty_arrays_and_text_plain_are_accepted(api):
    raw = b'{"operations":[{"name":"grayscale","options":[],"expressions":[]}],"options":[],"variables":[],"expressions":[]}'
    r = api.call("PUT", "/stacks/acme/gray", headers={"Content-Type": "text/plain;charset=UTF-8"}, raw=raw)
    assert r.status_code == 201, r.body
    assert json_of(r)["stack_operations"] == [{"name": "grayscale", "options": {}}]


def test_url_style_strings_are_coerced_to_the_declared_types(api):
    r = api.call("PUT", "/stacks/acme/s", {"operations": [{"name": "resize", "options": {"width": "300",
                                                                                         "upscale": "false"}}],
                                           "options": {"jpg.quality": "60"}})
    stack = json_of(r)
    assert stack["stack_operations"][0]["options"] == {"width": 300, "upscale": False}
    assert stack["stack_options"] == {"jpg.quality": 60}


def test_duplicate_is_409_and_overwrite_is_200(api):
    assert api.call("PUT", "/stacks/acme/s", OPS).status_code == 201
    assert api.call("PUT", "/stacks/acme/s", OPS).status_code == 409
    r = api.call("PUT", "/stacks/acme/s?overwrite=true", [{"name": "grayscale"}])
    assert r.status_code == 200
    assert json_of(api.call("GET", "/stacks/acme/s"))["stack_operations"] == [{"name": "grayscale", "options": {}}]
    assert api.call("PUT", "/stacks/acme/new?overwrite=true", OPS).status_code == 201


@pytest.mark.parametrize("name", ["dynamic", "_hidden", "bad name", "a.b"])
def test_reserved_and_invalid_names_are_refused(api, name):
    assert api.call("PUT", f"/stacks/acme/{name}", OPS).status_code == 400


def test_preview_stacks_are_allowed(api):
    assert api.call("PUT", "/stacks/acme/_preview_dashboard", OPS).status_code == 201


@pytest.mark.parametrize("body, words", [
    ([{"name": "nosuchop"}], ["nosuchop"]),
    ([{"name": "resize", "options": {"width": 0}}], ["resize", "width"]),
    ([{"name": "resize", "options": {"width": 20000}}], ["resize", "width"]),
    ([{"name": "resize", "options": {"mode": "stretch", "width": 10}}], ["resize", "mode"]),
    ([{"name": "resize", "options": {}}], ["resize", "width", "height"]),
    ([{"name": "resize", "options": {"width": 10, "colour": 1}}], ["resize", "colour"]),
    ([{"name": "rotate", "options": {}}], ["rotate", "angle"]),
    ([{"name": "rotate", "options": {"angle": 10, "background_color": "red"}}], ["rotate", "background_color"]),
    ([{"name": "crop", "options": {"width": 10}}], ["crop", "height"]),
    ({"operations": [], "options": {"jpg.quality": 101}}, ["jpg.quality"]),
    ({"operations": [], "options": {"no.such.option": 1}}, ["no.such.option"]),
    ({"operations": "resize"}, ["operations"]),
    ([{"options": {}}], ["name"]),
    ({"operations": [], "options": {"source_file": True, "jpg.quality": 50}}, ["source_file"]),
])
def test_invalid_operations_and_options_are_400_naming_them(api, body, words):
    r = api.call("PUT", "/stacks/acme/bad", body)
    assert r.status_code == 400
    message = json_of(r)["error"]["message"]
    for word in words:
        assert word in message
    assert api.call("GET", "/stacks/acme/bad").status_code == 404


def test_invalid_json_is_400(api):
    r = api.call("PUT", "/stacks/acme/bad", raw=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_list_and_delete(api):
    for name in ("b", "a", "c"):
        api.call("PUT", f"/stacks/acme/{name}", OPS)
    listed = json_of(api.call("GET", "/stacks/acme"))
    assert [s["name"] for s in listed["items"]] == ["a", "b", "c"]
    assert all(s["stack_operations"][0]["options"] for s in listed["items"])
    page = json_of(api.call("GET", "/stacks/acme?limit=2"))
    assert len(page["items"]) == 2 and page["cursor"] == "2"
    assert [s["name"] for s in json_of(api.call("GET", "/stacks/acme?limit=2&offset=2"))["items"]] == ["c"]
    assert api.call("DELETE", "/stacks/acme/b").status_code == 204
    assert api.call("GET", "/stacks/acme/b").status_code == 404
    assert api.call("DELETE", "/stacks/acme/b").status_code == 404


@pytest.mark.parametrize("role, read, write", [("read", 200, 403), ("write", 200, 201), ("upload", 403, 403),
                                               ("sourceimages:write", 403, 403)])
def test_roles_on_stacks(api, role, read, write):
    api.call("PUT", "/stacks/acme/existing", OPS)
    member = Api(api.client, json_of(api.call("POST", "/organizations/acme/memberships",
                                               {"roles": [role]}))["api_key"])
    assert member.call("GET", "/stacks/acme/existing").status_code == read
    assert member.call("PUT", "/stacks/acme/mine", OPS).status_code == write


def test_stacks_with_expressions_and_variables_are_stored(api):
    body = {"operations": [{"name": "resize", "options": {"width": "$w"}, "expressions": {"height": "$w / 2"}}],
            "variables": {"w": 300},
            "expressions": [{"expression": "options.dpr >= 2", "overrides": {"options": {"jpg.quality": 50}}}]}
    r = api.call("PUT", "/stacks/acme/expr", body)
    assert r.status_code == 201, r.body
    stack = json_of(r)
    assert stack["stack_variables"] == {"w": 300}
    assert stack["stack_operations"][0]["expressions"] == {"height": "$w / 2"}
    bad = {"operations": [{"name": "resize", "expressions": {"width": "1 +"}}]}
    assert api.call("PUT", "/stacks/acme/bad", bad).status_code == 400


def test_operations_and_stackoptions_need_no_auth(client):
    api = Api(client)
    ops = api.call("GET", "/operations", key=None)
    assert ops.status_code == 200 and ops.headers["Content-Type"] == "application/json"
    ops = json_of(ops)
    for name in ("resize", "crop", "rotate", "autorotate", "grayscale", "sepia", "blur", "noop", "trim",
                 "modulate", "alpha", "circlemask", "multiply", "sharpen"):
        assert isinstance(ops[name]["properties"], dict) and isinstance(ops[name]["required"], list)
        assert ops[name]["properties"]["enabled"] == {"type": "boolean", "default": True,
                                                     "description": "false skips the operation"}
    assert ops["resize"]["oneOf"] == ["width", "height"]
    assert ops["resize"]["properties"]["width"] == {"type": "integer", "minimum": 1, "maximum": 10000,
                                                    "description": "Width of the box, in pixels"}
    assert ops["resize"]["properties"]["mode"]["values"] == ["box", "absolute", "fill"]
    assert ops["rotate"]["required"] == ["angle"]
    opts = json_of(api.call("GET", "/stackoptions", key=None))["properties"]
    assert opts["jpg.quality"]["type"] == "integer" and opts["jpg.quality"]["default"] == 80
    assert opts["basestack"]["type"] == ["string", "null"] and opts["basestack"]["default"] is None
    assert opts["jpg.transparency.autoformat"]["values"] == ["true", "false", "png", "webp"]
    assert opts["dpr"]["minimum"] == 1 and opts["dpr"]["maximum"] == 10


def test_foreign_organizations_stacks_are_invisible(api):
    api.call("PUT", "/stacks/acme/s", OPS)
    other = Api(api.client, signup(Api(api.client), "other")["api_key"])
    assert other.call("GET", "/stacks/acme/s").status_code == 403
    assert other.call("GET", "/stacks/other/s").status_code == 404
