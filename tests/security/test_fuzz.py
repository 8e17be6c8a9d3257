"""Property-based fuzzing of the untrusted inputs (hypothesis), bounded for `make test`.

Targets: the render URL grammar (url.parse and the whole renderer), stack bodies, expressions,
multipart upload bodies, search query parameters, and user / dynamic metadata values. The
property everywhere: no 5xx (no unexpected exception), only the documented client errors, and
a refused request stores nothing.

Examples per target = its base count × FUZZ_EXAMPLES (default 1). `make fuzz` runs this file with
a large multiplier and writes the number of inputs tried per target to a JSON file.
"""
from __future__ import annotations

import json
import logging
import os
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from chalicelib import bootstrap
from chalicelib.errors import BadRequest
from chalicelib.operations import registry
from chalicelib.render import codecs, expressions, stack_options, url
from tests.conftest import image_bytes, multipart
from tests.security.figures import add
from tests.security.snapshots import Baseline

ORG = "fuzz"
MULTIPLIER = float(os.environ.get("FUZZ_EXAMPLES", "1"))


def fuzz_settings(base: int):
    return settings(max_examples=max(1, int(base * MULTIPLIER)), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def tried(target: str) -> None:
    add("fuzz inputs", target)


# --- a small world: one organization with an image, a stack and an alias -------------------------

class World:
    def __init__(self, client, data_dir, key, image):
        self.client, self.data_dir, self.key, self.image = client, data_dir, key, image
        self.baseline: Baseline | None = None

    def call(self, method, path, body=None, headers=None, raw=None):
        h = {"Accept": "*/*", "Api-Key": self.key, **(headers or {})}
        if body is not None:
            raw = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        return self.client.http.request(method, path, headers=h, body=raw or b"")

    def settle(self) -> list[str]:
        """The storage changes since the baseline; then back to the baseline."""
        changes = self.baseline.changes()
        if changes:
            self.baseline.restore()
        return changes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from chalice.test import Client

    from app import app

    mp = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    for k, v in {"DATA_DIR": str(data_dir), "STORAGE": "local", "FETCH_TIMEOUT_SECONDS": "1",
                 # Small renders keep every example fast; larger ones are refused with a 400.
                 "MAX_OUTPUT_PIXELS": "250000"}.items():
        mp.setenv(k, v)
    mp.delenv("ALLOW_SIGNUP", raising=False)
    bootstrap.reset()
    try:
        with Client(app) as client:
            r = client.http.post("/users", headers={"Content-Type": "application/json"},
                                 body=json.dumps({"email": "fuzz@example.com", "organization": ORG}).encode())
            w = World(client, data_dir, json.loads(r.body)["api_key"], None)
            body, ctype = multipart([("filedata", "seed.png", image_bytes("PNG", size=(60, 40)))],
                                    {"meta_user[0]": json.dumps({"title": "seed", "int:views": 3})})
            w.image = json.loads(w.call("POST", f"/sourceimages/{ORG}", headers={"Content-Type": ctype},
                                        raw=body).body)["items"][0]
            assert w.call("PUT", f"/stacks/{ORG}/thumb",
                          {"operations": [{"name": "resize", "options": {"width": 20}}]}).status_code == 201
            assert w.call("PUT", f"/sourceimages/{ORG}/alias/seed", {"hash": w.image["hash"]}).status_code == 201
            w.baseline = Baseline(data_dir)
            yield w
    finally:
        bootstrap.reset()
        mp.undo()


@pytest.fixture
def errors_logged(caplog):
    """Unexpected exceptions the edges turned into 500s are logged at ERROR on 'rokka'."""
    caplog.set_level(logging.ERROR, logger="rokka")
    yield caplog


def strict_json(body: bytes):
    """Answers must be real JSON: no NaN or Infinity, which Python writes but browsers refuse."""
    def refuse(constant):
        raise AssertionError(f"{constant} in a JSON answer: {body[:300]!r}")
    return json.loads(body, parse_constant=refuse) if body else None


# --- building blocks --------------------------------------------------------------------------

garbage = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
ascii_garbage = st.text(alphabet=string.printable, max_size=12)
numbers = st.one_of(st.integers(-5, 3000).map(str), st.integers().map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(str), st.sampled_from(["0", "-0", "1e999"]))
OPERATION_NAMES = sorted(registry.describe_all())
OPTION_NAMES = sorted({name for op in registry.describe_all().values() for name in (op.get("properties") or {})})
STACK_OPTIONS = ["quality", "jpg.quality", "webp.quality", "png.compression_level", "dpr", "autoformat",
                 "optimize", "source_file", "protected", "basestack", "content_disposition", "timestamp"]
EXPRESSIONS = ["[image.width]", "[image.height * 2]", "[$x]", "[options.dpr > 1 ? 2 : 1]", "[1/0]",
               "[image.meta_user.title]", "[", "[]", "[[1]]", "[image.width ** 99]"]
values = st.one_of(numbers, st.sampled_from(["true", "false", "FF0000", "box", "fill", "absolute", "center",
                                              "%20", "%2F", "~", "_-", "-_"]),
                   st.sampled_from(EXPRESSIONS), ascii_garbage)


@st.composite
def group(draw, names=None):
    name = draw(st.one_of(st.sampled_from(names or OPERATION_NAMES + ["o", "options", "v", "variables"]),
                          ascii_garbage))
    pairs = draw(st.lists(st.tuples(st.one_of(st.sampled_from(OPTION_NAMES + STACK_OPTIONS), ascii_garbage),
                                    values), max_size=3))
    parts = [name] + [x for pair in pairs for x in pair]
    if draw(st.booleans()) and len(parts) > 1 and draw(st.integers(0, 9)) == 0:
        parts = parts[:-1]  # a key without its value
    return "-".join(parts)


def _property_value(schema: dict):
    """A URL value that the property's own description allows (mostly), as text."""
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    choices = schema.get("values") or schema.get("enum")
    if choices:
        return st.sampled_from([str(v).lower() if isinstance(v, bool) else str(v) for v in choices])
    low, high = schema.get("minimum", 0), schema.get("maximum", 400)
    if kind == "integer":
        return st.integers(int(low), int(min(high, low + 400))).map(str)
    if kind == "number":
        return st.floats(float(low), float(min(high, low + 400))).map(lambda f: f"{f:.2f}")
    if kind == "boolean":
        return st.sampled_from(["true", "false"])
    return st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=6)


OPERATIONS = registry.describe_all()
OPTIONS = stack_options.describe_all().get("properties", {})


@st.composite
def valid_group(draw, prefix=None):
    """An operation (or the o- stack options group) with a few well-typed options."""
    if prefix == "o":
        props, name = OPTIONS, "o"
    else:
        name = draw(st.sampled_from(sorted(OPERATIONS)))
        props = OPERATIONS[name].get("properties") or {}
    keys = draw(st.lists(st.sampled_from(sorted(props)), max_size=3, unique=True)) if props else []
    parts = [name] + [x for k in keys for x in (k, draw(_property_value(props[k])))]
    return "-".join(parts)


@st.composite
def valid_render_path(draw, w):
    """Well-formed render URLs (dynamic or named stack, options, real image, real format)."""
    stack = draw(st.sampled_from(["dynamic", "dynamic", "thumb"]))
    segments = [ORG, stack]
    if stack == "dynamic":
        segments.append("--".join(draw(st.lists(valid_group(), min_size=1, max_size=3))))
    elif draw(st.booleans()):
        segments.append(draw(valid_group()))  # overrides the stack's operation of that name
    if draw(st.booleans()):
        segments.append(draw(valid_group("o")))
    image = draw(st.sampled_from([w.image["hash"], w.image["short_hash"], "-_seed_-"]))
    fmt = draw(st.sampled_from(sorted(codecs.OUTPUT_FORMATS)))
    tail = [image, "seo." + fmt] if draw(st.booleans()) else [image + "." + fmt]
    return "/" + "/".join(segments + tail)


@st.composite
def render_path(draw, w):
    org = draw(st.one_of(st.just(ORG), st.just(ORG), st.sampled_from(["nope", "UPPER", "a" * 70, ""]), ascii_garbage))
    segments = [org]
    if draw(st.integers(0, 5)) == 0:
        segments.append(draw(st.sampled_from(["~avif", "~webp", "~gif", "~"])))
    segments.append(draw(st.one_of(st.sampled_from(["dynamic", "dynamic", "thumb", "missing", "_preview"]),
                                   ascii_garbage)))
    for _ in range(draw(st.integers(0, 3))):
        segments.append("--".join(draw(st.lists(group(), min_size=1, max_size=3))))
    image = draw(st.one_of(st.sampled_from([w.image["hash"], w.image["short_hash"], "-_seed_-", "-_nope_-",
                                            "abcdef", "0" * 40, "-pic.png-", "-https://x.example/a-b.png-"]),
                             ascii_garbage))
    fmt = draw(st.one_of(st.sampled_from(["jpg", "png", "webp", "gif", "avif", "heic", "tiff", "svg", "mp4",
                                          "jpeg", "JPG"]), ascii_garbage))
    if draw(st.booleans()):
        segments.append(image)
        segments.append(draw(st.one_of(st.just("seo-name"), ascii_garbage)) + "." + fmt)
    else:
        segments.append(image + "." + fmt)
    path = "/" + "/".join(segments)
    if draw(st.integers(0, 6)) == 0:  # raw garbage spliced in anywhere
        at = draw(st.integers(0, len(path)))
        path = path[:at] + draw(garbage) + path[at:]
    return path


queries = st.one_of(
    st.just(""),
    st.builds(lambda v: "v=" + v, st.one_of(st.just('{"x":"2"}'), ascii_garbage)),
    st.builds(lambda s, o: f"sig={s}&sigopts={o}", ascii_garbage, st.one_of(st.just('{"until":"2000-01-01"}'),
                                                                            ascii_garbage)),
    ascii_garbage,
)


# --- render URLs ------------------------------------------------------------------------------

@fuzz_settings(400)
@given(data=st.data())
def test_render_url_grammar_parses_or_refuses(world, data):
    path = data.draw(render_path(world))
    query = data.draw(queries)
    tried("render url.parse")
    try:
        req = url.parse(path, query, data.draw(st.sampled_from([None, "image/avif", "image/webp,*/*"])))
    except BadRequest:
        return
    assert req.org and req.format and req.image


@fuzz_settings(120)
@given(data=st.data())
def test_render_answers_only_200_400_403_404(world, errors_logged, data):
    path = data.draw(st.one_of(valid_render_path(world), valid_render_path(world), render_path(world)))
    query = data.draw(queries)
    tried("render handle")
    errors_logged.clear()
    started = time.perf_counter()
    result = bootstrap.services().renderer.handle(path, query, {"accept": "image/webp,*/*"})
    assert result.status in (200, 400, 403, 404), (result.status, path, query, result.body[:300])
    assert not [r for r in errors_logged.records if r.levelno >= logging.ERROR], (path, query)
    add("fuzz render statuses", str(result.status))
    world.settle()  # renders fill the cache and count downloads
    assert time.perf_counter() - started < 10, (path, query)


# --- stack bodies -----------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                   st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4)), max_leaves=12)


@st.composite
def stack_body(draw):
    ops = draw(st.lists(st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(OPERATION_NAMES), json_scalars)},
        optional={"options": st.one_of(st.dictionaries(st.one_of(st.sampled_from(OPTION_NAMES), st.text(max_size=6)),
                                                       st.one_of(json_scalars, st.sampled_from(EXPRESSIONS)),
                                                       max_size=4), json_values),
                  "expressions": st.one_of(st.dictionaries(st.sampled_from(OPTION_NAMES), st.text(max_size=20),
                                                           max_size=2), json_values)}), max_size=4))
    body = draw(st.fixed_dictionaries({}, optional={
        "operations": st.one_of(st.just(ops), json_values),
        "options": st.one_of(st.dictionaries(st.sampled_from(STACK_OPTIONS), json_scalars, max_size=3), json_values),
        "expressions": st.one_of(st.lists(st.fixed_dictionaries({"expression": st.text(max_size=20),
                                                                 "overrides": json_values}), max_size=2),
                                 json_values),
        "variables": json_values, "description": json_values}))
    return draw(st.one_of(st.just(body), st.just(ops), json_values))


@fuzz_settings(150)
@given(body=stack_body(), name=st.one_of(st.just("fuzzed"), st.text(string.ascii_letters + "_-", max_size=8)),
       raw=st.one_of(st.none(), st.binary(max_size=40)))
def test_stack_bodies_never_5xx(world, errors_logged, body, name, raw):
    tried("stack bodies")
    errors_logged.clear()
    path = f"/stacks/{ORG}/{name or 'x'}?overwrite=true"
    r = world.call("PUT", path, raw=raw) if raw is not None else world.call("PUT", path, body)
    assert r.status_code in (200, 201, 400, 404), (r.status_code, body, raw, r.body[:300])
    assert not errors_logged.records
    strict_json(r.body)
    if r.status_code in (200, 201):  # a stored stack must be renderable or refused cleanly
        result = bootstrap.services().renderer.handle(f"/{ORG}/{name or 'x'}/{world.image['hash']}.png")
        assert result.status in (200, 400, 403, 404), (result.status, body, result.body[:300])
    world.settle()


# --- expressions ------------------------------------------------------------------------------

TOKENS = ["1", "0", "-1", "2.5", ".5", "1e3", "1e999", "99999999999999999999", "'a'", '"b"', "'", '"',
          "image", "image.width", "image.meta_user", "options", "request", "$width", "$nope", "$", "true",
          "false", "null", "and", "or", "not", "!", "in", "not in", "matches", "'(a+)+$'", "~", "..", "..",
          "+", "-", "*", "/", "%", "**", "==", "!=", "===", "<", ">", "<=", ">=", "?", ":", "??", "?:", "?.",
          "(", ")", "[", "]", "{", "}", ",", ".", "round", "floor", "ceil", "sqrt", "int", "float", "abs",
          "min", "max", "constant", "x", "\\", "#", "@", "`"]
expression_soup = st.one_of(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=25).flatmap(
    lambda toks: st.sampled_from([" ".join(toks), "".join(toks)])), garbage)
EXPRESSION_NAMES = {"image": {"width": 60, "height": 40, "meta_user": {"title": "t"}, "format": "png"},
                    "options": {"dpr": 2}, "request": {"headers": {}}}


@fuzz_settings(600)
@given(source=expression_soup)
def test_expressions_only_raise_expression_errors_and_stay_fast(source):
    tried("expressions")
    started = time.perf_counter()
    try:
        expressions.evaluate(source, EXPRESSION_NAMES, {"width": 100, "name": "x"})
    except expressions.ExpressionError:
        pass
    assert time.perf_counter() - started < 1.0, source


# --- multipart upload bodies ------------------------------------------------------------------

FIELD_NAMES = ["meta_user[0]", "meta_user[]", "meta_dynamic[0]", "meta_dynamic[0][version]",
               "meta_dynamic[0][subject_area]", "options[0]", "meta_user[1]", "url[0]", "other"]
FIELD_VALUES = st.one_of(st.sampled_from(['{"title": "x"}', '{"int:n": "x"}', '{"double:d": 1e999}',
                                          '{"version": {"text": "v"}}', '{"subject_area": {"x": 1, "y": 2}}',
                                          '{"protected": true}', '{"protected": "yes"}', '"{\\"a\\": 1}"', "[]",
                                          "[1]", "null", "http://127.0.0.1:1/x.png", "notaurl"]),
                         json_values.map(json.dumps), ascii_garbage)


@st.composite
def multipart_body(draw):
    files = [("filedata", draw(st.one_of(st.just("f.png"), ascii_garbage)),
              draw(st.sampled_from([image_bytes("PNG", size=(16, 12), seed=7), b"", b"not an image",
                                    image_bytes("PNG", size=(16, 12), seed=7)[:40]])))
             for _ in range(draw(st.integers(0, 2)))]
    fields = draw(st.dictionaries(st.sampled_from(FIELD_NAMES), FIELD_VALUES, max_size=3))
    body, ctype = multipart(files, fields)
    mutation = draw(st.integers(0, 5))
    if mutation == 1 and body:  # flip bytes
        data = bytearray(body)
        for _ in range(draw(st.integers(1, 5))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        body = bytes(data)
    elif mutation == 2:  # truncate
        body = body[:draw(st.integers(0, len(body)))]
    elif mutation == 3:  # splice garbage in
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=30)) + body[at:]
    elif mutation == 4:  # wrong or broken Content-Type
        ctype = draw(st.sampled_from(["multipart/form-data", "multipart/form-data; boundary=", "text/plain",
                                      "multipart/form-data; boundary=\"x\"", "application/x-www-form-urlencoded",
                                      ""]))
    elif mutation == 5:
        body = draw(st.binary(max_size=200))
    return body, ctype


@fuzz_settings(100)
@given(sample=multipart_body())
def test_multipart_uploads_answer_4xx_and_store_nothing_when_refused(world, errors_logged, sample):
    body, ctype = sample
    tried("multipart bodies")
    errors_logged.clear()
    r = world.call("POST", f"/sourceimages/{ORG}", headers={"Content-Type": ctype} if ctype else {}, raw=body)
    assert r.status_code in (200, 400, 404, 413, 415), (r.status_code, ctype, body[:300], r.body[:300])
    assert not errors_logged.records, (ctype, body[:300])
    strict_json(r.body)
    changes = world.settle()
    if r.status_code != 200:
        assert not changes, (r.status_code, r.body[:200], changes)


# --- search queries ---------------------------------------------------------------------------

SEARCH_KEYS = ["limit", "offset", "cursor", "sort", "deleted", "facets", "operator", "binaryHash", "hash",
               "short_hash", "name", "name_text", "size", "width", "height", "created", "format", "mimetype",
               "user:title", "user:int:views", "user:str:title", "user:double:x", "user:date:d", "user:latlon:l",
               "user:array:tags", "dynamic:str:version:text", "static:int:exif:x", "user:", "user:a:b:c"]
SEARCH_VALUES = st.one_of(numbers, st.sampled_from(["[1,]", "{,5}", "[a,b]", "[,]", "['2020-01-01T00:00:00Z',}",
                                                    "se*", "*", "true", "or", "created desc", "size asc,name",
                                                    "size sideways", "user:int:views", "eyJvIjogMX0", "eyJvIjogLTF9",
                                                    "¹²", "1" * 30, "1" * 5000]),
                          ascii_garbage, garbage)


@fuzz_settings(250)
@given(params=st.dictionaries(st.one_of(st.sampled_from(SEARCH_KEYS), ascii_garbage), SEARCH_VALUES, max_size=4))
def test_search_queries_never_5xx(world, errors_logged, params):
    from urllib.parse import urlencode
    tried("search queries")
    errors_logged.clear()
    world.settle()
    r = world.call("GET", f"/sourceimages/{ORG}?" + urlencode(params))
    assert r.status_code in (200, 400), (r.status_code, params, r.body[:300])
    assert not errors_logged.records, params
    strict_json(r.body)
    # The stack list takes limit and offset too.
    r = world.call("GET", f"/stacks/{ORG}?" + urlencode(params))
    assert r.status_code == 200, (r.status_code, params, r.body[:300])
    assert not errors_logged.records, params
    assert not world.baseline.changes()


# --- metadata values --------------------------------------------------------------------------

USER_KEYS = st.one_of(st.sampled_from(["title", "int:n", "double:d", "date:d", "latlon:l", "array:a", "text:t",
                                       "array_text:x", "str:s", "bogus:b", "Upper", "a" * 60, "", "int:"]),
                      ascii_garbage)
BIG = st.sampled_from([10 ** 400, -(10 ** 400), 2 ** 63, 1e308, "1e999", "9" * 5000, "NaN", "Infinity"])
USER_VALUES = st.one_of(json_values, BIG, st.sampled_from(["2020-01-01", "2020-13-45", "47.1,8.5", "91,0", "1,2,3"]))
TYPED_KEYS = st.sampled_from(["int:n", "double:d", "date:d", "latlon:l", "array:a", "str:s", "text:t"])
EDGE_VALUES = st.one_of(BIG, st.sampled_from(["1e999", "-1e999", "NaN", "inf", " 7 ", "0x10", "1_000", "١٢", "²",
                                              "-0", "1.5", True, None, [], {}]), st.integers(), st.floats())


def _json_body(value) -> bytes:
    return json.dumps(value).encode()  # Python writes NaN/Infinity, which the server must refuse or take


@fuzz_settings(250)
@given(data=st.one_of(st.dictionaries(USER_KEYS, USER_VALUES, max_size=4),
                     st.dictionaries(TYPED_KEYS, EDGE_VALUES, min_size=1, max_size=3), json_values))
def test_user_metadata_patch_answers_204_or_400(world, errors_logged, data):
    tried("user metadata")
    errors_logged.clear()
    r = world.call("PATCH", f"/sourceimages/{ORG}/{world.image['hash']}/meta/user", raw=_json_body(data))
    assert r.status_code in (204, 400), (r.status_code, data, r.body[:300])
    assert not errors_logged.records, data
    if r.status_code == 204:  # what was stored reads back as JSON, and is searchable or ignored
        got = world.call("GET", f"/sourceimages/{ORG}/{world.image['hash']}")
        assert got.status_code == 200
        strict_json(got.body)
        for key in data if isinstance(data, dict) else ():
            found = world.call("GET", f"/sourceimages/{ORG}?user:{key}=1")
            assert found.status_code in (200, 400), (key, found.body[:300])
    changes = world.settle()
    if r.status_code == 400:
        assert not changes, (data, changes)


AREA_NUMBER = st.one_of(st.integers(-5, 5000), BIG, st.sampled_from([10 ** 400, 1e308, 0, 0.5, -1]), st.floats(),
                        json_scalars)
AREA = st.one_of(st.fixed_dictionaries({"x": AREA_NUMBER, "y": AREA_NUMBER},
                                       optional={"width": AREA_NUMBER, "height": AREA_NUMBER,
                                                 "percentage": json_scalars, "z": json_scalars}),
                 st.dictionaries(st.sampled_from(["x", "y", "width", "height", "percentage", "z"]), AREA_NUMBER,
                                 max_size=5))


DYNAMIC_VALUES = {
    "subject_area": AREA, "crop_area": AREA, "detection_face": st.one_of(st.just({}), AREA),
    "version": st.dictionaries(st.sampled_from(["text", "a"]), json_values, max_size=2),
    "multi_areas": st.dictionaries(st.text(string.ascii_letters, max_size=5), st.dictionaries(
        st.sampled_from(["subject_area", "crop_area"]), AREA, max_size=2), max_size=2),
    "other": json_values,
}


@fuzz_settings(150)
@given(data=st.data())
def test_dynamic_metadata_answers_2xx_or_4xx(world, errors_logged, data):
    name = data.draw(st.sampled_from(sorted(DYNAMIC_VALUES)))
    value = data.draw(st.one_of(DYNAMIC_VALUES[name], DYNAMIC_VALUES[name], json_values))
    tried("dynamic metadata")
    errors_logged.clear()
    r = world.call("PUT", f"/sourceimages/{ORG}/{world.image['hash']}/meta/dynamic/{name}", raw=_json_body(value))
    assert r.status_code in (200, 201, 204, 400), (r.status_code, name, value, r.body[:300])
    assert not errors_logged.records, (name, value)
    strict_json(r.body)
    changes = world.settle()
    if r.status_code == 400:
        assert not changes, (name, value, changes)

