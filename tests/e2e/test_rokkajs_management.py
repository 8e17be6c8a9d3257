"""End to end: rokka.js metadata, search, dynamic metadata, alias, copy, protect/lock and URL import
calls against the local server (both storages), through tests/e2e/flow_management.mjs."""
from __future__ import annotations

import io
import json
import subprocess

import pytest
from PIL import Image

from tests.e2e.test_rokkajs import E2E, require_node, server, tail  # noqa: F401 - server fixture


def png(color, size=(30, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def summary(server, tmp_path_factory):  # noqa: F811
    node = require_node()
    url, log_path = server
    work = tmp_path_factory.mktemp("rokka-e2e-mgmt")
    (work / "a.png").write_bytes(png((200, 0, 0)))
    (work / "b.png").write_bytes(png((0, 0, 200), (40, 30)))
    done = subprocess.run([node, str(E2E / "flow_management.mjs"), url, str(work)], cwd=E2E, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        pytest.fail(f"flow_management.mjs failed:\n{done.stderr}\n--- server log ---\n{tail(log_path)}", pytrace=False)
    return json.loads(done.stdout)


def ok(summary, name, status=None):
    entry = summary[name]
    assert "error" not in entry, (name, entry)
    if status is not None:
        assert entry["status"] == status, (name, entry)
    return entry.get("body")


def rejected(summary, name, status):
    entry = summary[name]
    assert entry.get("error", {}).get("statusCode") == status, (name, entry)


def test_user_metadata_calls(summary):
    ok(summary, "metaSet", 204)
    ok(summary, "metaDeleteField", 204)
    assert ok(summary, "metaGet", 200) == {"author": "Jane Doe", "int:views": 5, "array:tags": ["red", "square"]}
    ok(summary, "metaReplace", 204)


def test_search_calls(summary):
    views = ok(summary, "searchViews", 200)
    assert [i["hash"] for i in views["items"]] == [summary["hashB"]] and views["total"] == 1
    sorted_ = ok(summary, "searchSorted", 200)
    assert [i["hash"] for i in sorted_["items"]][:2] == [summary["hashB"], summary["hashA"]]
    # b.png lost its tags when its metadata was replaced.
    assert {f["value"] for f in sorted_["facets"]["user:array:tags"]} == {"red", "square"}
    assert [i["name"] for i in ok(summary, "searchName", 200)["items"]] == ["a.png"]


def test_dynamic_metadata_calls(summary):
    area = ok(summary, "setSubjectArea", 201)
    assert area["hash"] != summary["hashA"]
    assert area["dynamic_metadata"]["subject_area"] == {"x": 2, "y": 3, "width": 10, "height": 10}
    assert ok(summary, "removeSubjectArea", 201)["hash"] == summary["hashA"]
    rejected(summary, "getAfterRemove", 404)  # deletePrevious removed the subject-area image
    assert ok(summary, "addVersion", 201)["dynamic_metadata"]["version"] == {"text": "v2"}
    assert ok(summary, "deleteVersion", 201)["hash"] == summary["hashA"]
    rejected(summary, "getVersionGone", 404)  # deletePrevious from the JSON body


def test_alias_calls(summary):
    created = ok(summary, "aliasCreate", 201)
    assert created["hash"] == summary["hashB"] and created["alias"] == "hero"
    assert ok(summary, "aliasGet", 200)["hash"] == summary["hashB"]
    assert summary["aliasRender"]["status"] == 200 and summary["aliasRender"]["contentType"] == "image/png"
    ok(summary, "aliasOverwrite", 200)
    ok(summary, "aliasDelete", 204)
    assert summary["aliasRenderGone"]["status"] == 404


def test_copy_calls(summary):
    ok(summary, "copy", 201)
    rejected(summary, "copyNoOverwrite", 412)
    assert ok(summary, "copyAll", 200) == {"created": [summary["hashB"]], "existing": [summary["hashA"]],
                                           "notfound": []}
    assert ok(summary, "copiedGet", 200)["organization"] == summary["org2"]


def test_name_protect_lock_calls(summary):
    ok(summary, "putName", 204)
    assert ok(summary, "nameAfter", 200)["name"] == "renamed.png"
    protected = ok(summary, "setProtected", 201)
    assert protected["protected"] is True and protected["hash"] != summary["hashB"]
    assert ok(summary, "setLocked", 200)["locked"] is True
    rejected(summary, "deleteLocked", 403)


def test_create_by_url(summary):
    item = ok(summary, "createByUrl", 200)["items"][0]
    assert (item["width"], item["height"]) == (7, 5) and item["user_metadata"] == {"from": "url"}
