"""moto in server mode on a free port: the AWS adapters are exercised over real HTTP."""
from __future__ import annotations

import os
import socket

import pytest

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "eu-central-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server for the whole test session; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = {k: os.environ.get(k) for k in [*AWS_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(AWS_ENV)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    from chalicelib.storage import aws
    aws.reset_clients()
    yield f"http://127.0.0.1:{port}"
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    aws.reset_clients()


@pytest.fixture(scope="session")
def aws_resources(moto_endpoint):
    """One set of tables and buckets for the session; tests isolate themselves by unique names."""
    from chalicelib.storage import aws
    prefix, buckets = "test-", ["test-sources", "test-renders"]
    aws.ensure_resources(prefix, buckets)
    return {"TABLE_PREFIX": prefix, "SOURCES_BUCKET": buckets[0], "RENDERS_BUCKET": buckets[1]}
