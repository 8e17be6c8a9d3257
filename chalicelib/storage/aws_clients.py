"""boto3 clients for the AWS adapters: created lazily and reused (one per service per process),
with the retry policy and the mapping of throttling / unavailability to ServiceUnavailable; and
the dev switch that creates missing tables and buckets.
"""
from __future__ import annotations

import os
import threading

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, \
    ReadTimeoutError

from chalicelib.errors import ServiceUnavailable
from chalicelib.storage import aws_schema

_clients: dict[str, object] = {}
_lock = threading.Lock()


def client(service: str):
    """One boto3 client per service; AWS_ENDPOINT_URL (moto, LocalStack) is honoured by boto3.

    Retries: botocore's standard mode, 4 attempts (3 retries) with jittered exponential backoff
    (base 1 s for throttling, 25-50 ms for 5xx; botocore's retry quota applies), for throttling,
    5xx and connection errors. At most ~7 s of throttling backoff per call, so a request still
    answers within the API Lambda's 29 s after a few throttled calls. Writes stay correct under
    a retry (creates are conditional, transactions carry an idempotency token, PutObject
    rewrites the same bytes); a counter update (stats) may count twice after an ambiguous 5xx.
    ("adaptive" mode would also rate-limit the client itself for a while after a throttle:
    seconds of sleep inside later API requests.) What still fails after the retries becomes a
    ServiceUnavailable (503 with rokka's error JSON), here, for every call of every adapter.
    """
    with _lock:
        if service not in _clients:
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            config = BotoConfig(retries={"total_max_attempts": 4, "mode": "standard"}, max_pool_connections=32)
            c = boto3.session.Session().client(service, region_name=region, config=config)
            c.meta.events.register("after-call", _unavailable_after_call)
            c.meta.events.register("after-call-error", _unavailable_after_error)
            _clients[service] = c
        return _clients[service]


# Error codes AWS uses for throttling (after botocore's retries these mean "busy, try later").
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "RequestThrottled",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "SlowDown", "PriorRequestNotComplete",
})
_CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)


def _unavailable_after_call(http_response, parsed, model, **_kwargs) -> None:
    """botocore's after-call event: the final answer after retries. Throttling and 5xx become a
    ServiceUnavailable instead of a ClientError (which the API would answer with a 500)."""
    status = getattr(http_response, "status_code", 200)
    code = (parsed or {}).get("Error", {}).get("Code", "")
    if status >= 500 or code in THROTTLING_CODES:
        raise ServiceUnavailable(f"The storage service is busy or unavailable ({model.service_model.service_id} "
                                 f"{model.name}: {code or status}); try again later.")


def _unavailable_after_error(exception, **_kwargs) -> None:
    """botocore's after-call-error event: no answer at all (connection refused/reset, timeouts)."""
    if isinstance(exception, _CONNECTION_ERRORS):
        raise ServiceUnavailable("The storage service cannot be reached; try again later.") from exception


def reset_clients() -> None:
    with _lock:
        _clients.clear()


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def ensure_resources(prefix: str, buckets: list[str]) -> None:
    """Create missing tables and buckets (dev switch AWS_CREATE_RESOURCES; never in deployed stages)."""
    ddb = client("dynamodb")
    existing = set()
    for page in ddb.get_paginator("list_tables").paginate():
        existing.update(page["TableNames"])
    for name in aws_schema.TABLES:
        if prefix + name not in existing:
            try:
                ddb.create_table(**aws_schema.create_table_kwargs(name, prefix + name))
                ddb.get_waiter("table_exists").wait(TableName=prefix + name)
            except ClientError as err:
                if _code(err) != "ResourceInUseException":
                    raise
    s3 = client("s3")
    have = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    region = s3.meta.region_name
    for bucket in buckets:
        if bucket not in have:
            kwargs = {"Bucket": bucket}
            if region and region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            try:
                s3.create_bucket(**kwargs)
            except ClientError as err:
                if _code(err) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
