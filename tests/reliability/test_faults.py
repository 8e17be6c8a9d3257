"""Faults of S3 and DynamoDB, injected into the AWS adapters' boto3 clients; moto's server stays
the real HTTP backend for everything that is not faulted.

Injection: a `before-send` handler on the client answers chosen requests itself (a throttling
or 5xx response, or a connection error), before they reach moto. It sits below botocore's
retry logic, so every retry is one more injected fault and attempts can be counted.

Required: throttling and 5xx are retried with backoff; exhausted retries are a 503 with rokka's
error JSON (never a 500); a record never exists without its original, an upload whose record
could not be written does not leave its original behind; a failing render-cache write does not
fail the render.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from chalicelib.services.sourceimages import original_key
from tests.conftest import image_bytes, json_of
from tests.reliability.measure import report_dir, write_report

MAX_ATTEMPTS = 4  # chalicelib.storage.aws.client(): botocore standard mode, 1 call + 3 retries
INJECTED: Counter = Counter()      # "service Operation kind" -> faults injected, whole module
BACKOFF_DELAYS: list[float] = []   # delays botocore computed (before the test scales them down)


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_kw):
        yield self.data


S3_ERRORS = {
    "SlowDown": (503, b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"),
    "InternalError": (500, b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"),
}
DDB_ERRORS = {
    "ProvisionedThroughputExceededException": (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
    "ThrottlingException": (400, "com.amazon.coral.availability#ThrottlingException"),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
}


class Faults:
    """Inject faults into chalicelib.storage.aws's clients; count attempts and injections."""

    def __init__(self):
        self.attempts: Counter = Counter()
        self.injected: Counter = Counter()
        self._handlers = []

    def inject(self, service: str, operation: str, error: str, times: int | None = None, match=None):
        """Answer `times` (None: every) matching `operation` request with `error`: an AWS error
        code from S3_ERRORS/DDB_ERRORS, or "connection" (connection closed / refused)."""
        from chalicelib.storage import aws

        state = {"left": times}

        def handler(request, **_kw):
            if match is not None and not match(request):
                return None
            self.attempts[operation] += 1
            if state["left"] is not None:
                if state["left"] <= 0:
                    return None
                state["left"] -= 1
            kind = f"{service} {operation} {error}"
            self.injected[kind] += 1
            INJECTED[kind] += 1
            if error == "connection":
                raise ConnectionClosedError(endpoint_url=request.url)
            if error == "refused":
                raise EndpointConnectionError(endpoint_url=request.url)
            if service == "s3":
                status, body = S3_ERRORS[error]
                return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Body(body))
            status, type_ = DDB_ERRORS[error]
            body = json.dumps({"__type": type_, "message": f"injected {error}"}).encode()
            return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))

        event = f"before-send.{service}.{operation}"
        aws.client(service).meta.events.register_first(event, handler)
        self._handlers.append((service, event, handler))

    def clear(self):
        from chalicelib.storage import aws

        for service, event, handler in self._handlers:
            aws.client(service).meta.events.unregister(event, handler)
        self._handlers.clear()


def table(name: str):
    """Match DynamoDB requests for one table (by its name in the JSON body)."""
    return lambda request: f'"TableName": "{name}"'.encode() in (request.body or b"")


def bucket(name: str):
    return lambda request: f"/{name}/" in request.url or f"//{name}." in request.url


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    """Keep botocore's backoff (recording each delay it computes) but sleep 1/100 of it."""
    from botocore.retries import standard

    original = standard.ExponentialBackoff.delay_amount

    def scaled(self, context):
        delay = original(self, context)
        BACKOFF_DELAYS.append(delay)
        return delay / 100

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", scaled)


@pytest.fixture
def faults(aws_app):
    """Fresh clients per test (botocore's retry quota is per client), faults removed afterwards."""
    from chalicelib.storage import aws

    aws.reset_clients()
    f = Faults()
    yield f
    f.clear()
    aws.reset_clients()


@pytest.fixture(scope="module", autouse=True)
def summary(tmp_path_factory):
    yield
    write_report(report_dir(tmp_path_factory), "faults", {
        "faults_injected_by_kind": dict(INJECTED), "faults_injected_total": sum(INJECTED.values()),
        "retry_delays_computed": len(BACKOFF_DELAYS),
        "max_retry_delay_s": round(max(BACKOFF_DELAYS, default=0), 3),
    })


# --- helpers -------------------------------------------------------------------------------------

def records(app) -> list:
    live, _ = app.services.storage.images.list(app.org, 1000, 0)
    deleted, _ = app.services.storage.images.list(app.org, 1000, 0, deleted=True)
    return live + deleted


def originals(app) -> list[str]:
    return app.services.storage.originals.list(f"{app.org}/")


def assert_consistent(app) -> None:
    """Every record has its original, and every original belongs to a record."""
    recs = records(app)
    keys = set(originals(app))
    for r in recs:
        assert original_key(app.org, r.binary_hash) in keys, f"record {r.hash} has no original"
    used = {original_key(app.org, r.binary_hash) for r in recs}
    assert keys <= used, f"orphaned originals: {sorted(keys - used)}"


def assert_503(response) -> dict:
    status = getattr(response, "status_code", None) or response.status
    body = json.loads(response.body)
    assert status == 503, body
    assert body == {"error": {"code": 503, "message": body["error"]["message"]}}
    assert "try again" in body["error"]["message"] and "Traceback" not in body["error"]["message"]
    return body


def render(path: str):
    from chalicelib import bootstrap

    return bootstrap.services().renderer.handle(path, "", {})


def upload(app, data: bytes, fields: dict | None = None):
    return app.api.upload(app.org, [("filedata", "f.jpg", data)], fields)


# --- retries -------------------------------------------------------------------------------------

@pytest.mark.parametrize("error", ["SlowDown", "InternalError"])
def test_s3_put_throttled_or_5xx_is_retried_with_backoff(aws_app, faults, error):
    data = image_bytes(seed=11 if error == "SlowDown" else 12)
    faults.inject("s3", "PutObject", error, times=3, match=bucket(aws_app.sources))  # the last retry succeeds
    before = len(BACKOFF_DELAYS)
    r = upload(aws_app, data)
    assert r.status_code == 200, r.body
    assert faults.attempts["PutObject"] == 4  # three faults, then the real PutObject
    delays = BACKOFF_DELAYS[before:]
    assert len(delays) == 3
    if error == "SlowDown":  # throttling backs off in seconds (base 1 s), the caps double
        assert max(delays) > 0.05
    assert_consistent(aws_app)


@pytest.mark.parametrize("error", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                   "InternalServerError"])
def test_dynamodb_throttled_or_5xx_is_retried(aws_app, faults, error):
    faults.inject("dynamodb", "PutItem", error, times=2, match=table(aws_app.prefix + "images"))
    r = upload(aws_app, image_bytes(seed=20 + list(DDB_ERRORS).index(error)))
    assert r.status_code == 200, r.body
    assert faults.attempts["PutItem"] == 3
    assert_consistent(aws_app)


# --- exhausted retries: a clear 503 ----------------------------------------------------------------

def test_failed_s3_put_is_503_and_leaves_no_record(aws_app, faults):
    data = image_bytes(seed=31)
    before = len(records(aws_app))
    faults.inject("s3", "PutObject", "SlowDown", match=bucket(aws_app.sources))
    assert_503(upload(aws_app, data))
    assert faults.attempts["PutObject"] == MAX_ATTEMPTS
    faults.clear()
    assert len(records(aws_app)) == before
    assert not aws_app.services.storage.images.by_binary_hash(aws_app.org, hashlib.sha1(data).hexdigest())
    assert_consistent(aws_app)


def test_failed_record_write_removes_the_original_again(aws_app, faults):
    data = image_bytes(seed=32)
    key = original_key(aws_app.org, hashlib.sha1(data).hexdigest())
    faults.inject("dynamodb", "PutItem", "InternalServerError", match=table(aws_app.prefix + "images"))
    assert_503(upload(aws_app, data))
    assert faults.attempts["PutItem"] == MAX_ATTEMPTS
    faults.clear()
    assert not aws_app.services.storage.originals.exists(key), "the original was left behind"
    assert_consistent(aws_app)
    r = upload(aws_app, data)  # once DynamoDB is back, the same upload works
    assert r.status_code == 200 and aws_app.services.storage.originals.exists(key)


def test_failed_record_write_keeps_an_original_other_records_use(aws_app, faults):
    data = image_bytes(seed=33)
    first = json_of(upload(aws_app, data))["items"][0]
    faults.inject("dynamodb", "PutItem", "ProvisionedThroughputExceededException",
                  match=table(aws_app.prefix + "images"))
    # The same bytes with dynamic metadata: a new record for the same original.
    fields = {"meta_dynamic[0][subject_area]": json.dumps({"x": 1, "y": 1, "width": 5, "height": 5})}
    assert_503(upload(aws_app, data, fields))
    faults.clear()
    assert aws_app.services.storage.originals.exists(original_key(aws_app.org, first["binary_hash"]))
    assert render(f"/{aws_app.org}/dynamic/resize-width-20/{first['hash']}.png").status == 200
    assert_consistent(aws_app)


def test_throttled_reads_are_503_on_the_api_and_the_render_edge(aws_app, faults):
    item = json_of(upload(aws_app, image_bytes(seed=34)))["items"][0]
    faults.inject("dynamodb", "Query", "ThrottlingException")
    r = aws_app.api.call("GET", f"/sourceimages/{aws_app.org}")
    assert_503(r)
    assert r.headers["Content-Type"] == "application/json"
    assert faults.attempts["Query"] == MAX_ATTEMPTS
    faults.clear()
    faults.inject("s3", "GetObject", "SlowDown", match=bucket(aws_app.sources))
    res = render(f"/{aws_app.org}/dynamic/resize-width-30/{item['hash']}.png")
    assert_503(res)
    assert res.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("error", ["connection", "refused"])
def test_unreachable_dynamodb_is_503(aws_app, faults, error):
    faults.inject("dynamodb", "GetItem", error)
    r = aws_app.api.call("GET", f"/stacks/{aws_app.org}/nothing")
    assert_503(r)
    assert faults.attempts["GetItem"] == MAX_ATTEMPTS


def test_throttled_transaction_is_503_not_a_conflict(aws_app, faults):
    from chalicelib.storage import aws

    def cancelled(request, **_kw):
        INJECTED["dynamodb TransactWriteItems TransactionCanceled(ThrottlingError)"] += 1
        body = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "message": "Transaction cancelled", "CancellationReasons": [
                    {"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"},
                    {"Code": "None"}]}
        return AWSResponse(request.url, 400, {}, _Body(json.dumps(body).encode()))

    event = "before-send.dynamodb.TransactWriteItems"
    aws.client("dynamodb").meta.events.register_first(event, cancelled)
    try:
        r = aws_app.api.call("POST", "/users", {"email": "throttled@example.com", "organization": "other"}, key=None)
    finally:
        aws.client("dynamodb").meta.events.unregister(event, cancelled)
    assert_503(r)


# --- the render cache is best effort ---------------------------------------------------------------

@pytest.mark.parametrize("where", ["s3", "dynamodb"])
def test_render_cache_write_failure_does_not_fail_the_render(aws_app, faults, where):
    item = json_of(upload(aws_app, image_bytes(seed=35)))["items"][0]
    if where == "s3":
        faults.inject("s3", "PutObject", "SlowDown", match=bucket(aws_app.renders))
    else:
        faults.inject("dynamodb", "PutItem", "InternalServerError", match=table(aws_app.prefix + "renderindex"))
    cached_before = set(aws_app.services.storage.renders.list(f"{aws_app.org}/"))
    res = render(f"/{aws_app.org}/dynamic/resize-width-{40 if where == 's3' else 41}/{item['hash']}.png")
    assert res.status == 200 and res.body.startswith(b"\x89PNG")
    assert faults.attempts["PutObject" if where == "s3" else "PutItem"] == MAX_ATTEMPTS
    faults.clear()
    assert set(aws_app.services.storage.renders.list(f"{aws_app.org}/")) == cached_before, "nothing was cached"
