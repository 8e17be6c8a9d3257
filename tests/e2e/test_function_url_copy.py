"""rokka.js `sourceimages.copy()` through the AWS code path: the HTTP COPY request becomes a Lambda
function-URL event (tests/e2e/function_url_server.py) and is answered by the deployed entry point
`app.handler` on the AWS storage adapters (moto server), exactly as ApiFunctionUrl serves it on AWS."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
import requests
from PIL import Image

from tests.e2e.test_rokkajs import E2E, ROOT, free_port, require_node, tail, wait_until_up


@pytest.fixture(scope="module")
def function_url(moto_endpoint, tmp_path_factory):
    work = tmp_path_factory.mktemp("fn-url")
    run = work.name.lower().replace("_", "-")[-12:]
    port = free_port()
    env = {**os.environ, "STORAGE": "aws", "AWS_CREATE_RESOURCES": "true", "ALLOW_SIGNUP": "true",
           "TABLE_PREFIX": f"fu-{run}-", "SOURCES_BUCKET": f"fu-{run}-sources", "RENDERS_BUCKET": f"fu-{run}-renders",
           "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    log_path = work / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(E2E / "function_url_server.py")], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, url, log_path, "function_url_server.py")
        yield url, work, log_path
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def summary(function_url):
    url, work, log_path = function_url
    buf = io.BytesIO()
    Image.new("RGB", (24, 16), (10, 200, 30)).save(buf, "PNG")
    (work / "a.png").write_bytes(buf.getvalue())
    done = subprocess.run([require_node(), str(E2E / "flow_copy.mjs"), url, str(work / "a.png")], cwd=E2E,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        pytest.fail(f"flow_copy.mjs failed:\n{done.stderr}\n--- server log ---\n{tail(log_path)}", pytrace=False)
    return json.loads(done.stdout), log_path


def test_rokkajs_copy_goes_through_the_function_url_adapter(summary):
    s, log_path = summary
    assert s["upload"]["status"] == 200, s["upload"]
    assert s["copiedBefore"]["error"]["statusCode"] == 404
    assert s["copy"]["status"] == 201, s["copy"]
    assert s["copyAgain"]["status"] == 204, s["copyAgain"]
    assert s["copyNoOverwrite"]["error"]["statusCode"] == 412, s["copyNoOverwrite"]
    copied = s["copiedGet"]["body"]
    assert copied["hash"] == s["hash"] and copied["organization"] == s["org2"]
    assert s["copyUnknown"]["error"]["statusCode"] == 404
    # The client really sent COPY (not a POST fallback) to the function-URL stand-in.
    assert f"COPY /sourceimages/{s['org']}/{s['hash']}" in log_path.read_text()


def test_unknown_paths_and_methods_answer_rokka_errors(function_url):
    url = function_url[0]
    r = requests.get(f"{url}/no/such/route", timeout=5)
    assert r.status_code == 404 and r.json() == {"error": {"code": 404, "message": "Not found"}}
    r = requests.request("COPY", f"{url}/sourceimages/someorg/{'a' * 40}", headers={"Destination": "x"}, timeout=5)
    assert r.status_code == 403 and r.json()["code"] == 403  # auth runs: the COPY reached the copy route
