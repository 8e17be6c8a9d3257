"""Schemathesis against the local server: every operation of GET /openapi.json, bounded.

The server (localserver.py, embedded storage) runs on a free port with an organization that has
an image, a stack and an alias. Each operation gets SCHEMA_EXAMPLES generated requests (times the
FUZZ_EXAMPLES multiplier), sent with the organization admin's API key and with the `org` path
parameter pinned to that organization (half of them also with the real image hash and stack /
alias names), so that requests get past authorization into the handlers. Checks: no 5xx (and no
dropped connection), the status code is one the document lists for the operation, the
Content-Type is one it lists, and a JSON answer says exactly `application/json`.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance, not_a_server_error, status_code_conformance)

from tests.conftest import image_bytes  # noqa: E402
from tests.security.figures import add, record  # noqa: E402
from tests.servers import start_local_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ORG = "schema-org"
MULTIPLIER = float(os.environ.get("FUZZ_EXAMPLES", "1"))
SCHEMA_EXAMPLES = max(1, int(20 * MULTIPLIER))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schemathesis")
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        proc, base, _ = start_local_server(tmp / "data", stdout=log)
    try:
        yield base, log_path
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def seeded(server):
    base, log_path = server
    key = requests.post(base + "/users", json={"email": "schema@example.com", "organization": ORG}).json()["api_key"]
    headers = {"Api-Key": key}
    item = requests.post(f"{base}/sourceimages/{ORG}", headers=headers,
                         files={"filedata": ("seed.png", image_bytes("PNG"))},
                         data={"meta_user[0]": json.dumps({"title": "seed"})}).json()["items"][0]
    assert requests.put(f"{base}/stacks/{ORG}/thumb", headers=headers,
                        json={"operations": [{"name": "resize", "options": {"width": 40}}]}).status_code == 201
    assert requests.put(f"{base}/sourceimages/{ORG}/alias/seed", headers=headers,
                        json={"hash": item["hash"]}).status_code == 201
    real = {"org": ORG, "hash": item["hash"], "name": "thumb", "field": "title"}
    return base, log_path, headers, real


def _json_content_type(response) -> list[str]:
    problems = []
    ctype = ", ".join(response.headers.get("content-type", []))
    path = response.request.path_url.split("?")[0]
    static = path.startswith("/dashboard") and response.status_code == 200  # the dashboard's files
    if response.content and not path.endswith("/download") and not static:
        if ctype != "application/json":
            problems.append(f"Content-Type {ctype!r} is not exactly application/json")
    return problems


def _strategy(operation, real: dict):
    names = {p.name for p in operation.path_parameters}
    pinned = {k: v for k, v in real.items() if k in names}
    if "name" in names and "/alias/" in operation.path:
        pinned["name"] = "seed"
    strategies = [operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"org": ORG} if "org" in names else None)]
    if len(pinned) > 1:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned))
    if "org" in names:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters={"org": ORG}))
    return st.one_of(strategies)


def test_every_operation_against_the_local_server(seeded):
    base, log_path, headers, real = seeded
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    session = requests.Session()
    failures: list[str] = []
    operations = 0
    started = time.perf_counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        seen: list[str] = []

        @settings(max_examples=SCHEMA_EXAMPLES, deadline=None, database=None, derandomize=False,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=_strategy(operation, real))
        def run(case):
            add("schemathesis", "examples")
            try:
                response = case.call(base_url=base, session=session, headers=headers, timeout=30)
            except requests.RequestException as exc:
                seen.append(f"{label}: the request failed ({type(exc).__name__}: {exc}): "
                            f"{case.as_curl_command(headers=headers)}")
                return
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as exc:  # noqa: BLE001 - schemathesis raises a FailureGroup
                seen.append(f"{label}: {str(exc)[:1500]}")
            seen.extend(f"{label}: {p}: {case.as_curl_command(headers=headers)}" for p in _json_content_type(response))

        op_started = time.perf_counter()
        run()
        if os.environ.get("SCHEMATHESIS_TIMINGS"):
            print(f"{time.perf_counter() - op_started:6.2f}s {label}")
        failures += seen[:3]
    record("schemathesis", "operations", operations)
    record("schemathesis", "max examples per operation", SCHEMA_EXAMPLES)
    record("schemathesis", "seconds", int(time.perf_counter() - started))
    tracebacks = log_path.read_text().count("Traceback")
    assert operations >= 55  # schemathesis skips the document's own GET /openapi.json
    assert not failures, "\n\n".join(failures)
    assert tracebacks == 0, log_path.read_text()[-5000:]


def test_the_document_describes_every_route_without_auth(client):
    """GET /openapi.json: no key needed, exactly application/json, every route and path parameter."""
    from app import app

    r = client.http.get("/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    doc = json.loads(r.body)
    assert doc["openapi"].startswith("3.0")
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert described == {(m, p) for p, ms in app.routes.items() for m in ms}
    for path, ops in doc["paths"].items():
        for op in ops.values():
            in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert in_path == set(re.findall(r"{(\w+)}", path)), path
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)
