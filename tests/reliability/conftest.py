"""Fixtures of the reliability tests: the app on the AWS adapters (moto server), and the local
server process on a free port."""
from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib import bootstrap
from tests.conftest import Api, signup
from tests.servers import start_local_server

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AwsApp:
    api: Api          # chalice.test.Client helper, admin of `org`
    org: str
    prefix: str
    sources: str      # bucket names
    renders: str

    @property
    def services(self):
        return bootstrap.services()


@pytest.fixture(scope="module")
def aws_app(moto_endpoint):
    """The app with STORAGE=aws on fresh tables and buckets in the session's moto server."""
    from chalice.test import Client

    from app import app
    from chalicelib.storage import aws

    run = uuid.uuid4().hex[:8]
    prefix, sources, renders = f"r{run}-", f"r{run}-sources", f"r{run}-renders"
    aws.ensure_resources(prefix, [sources, renders])
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"STORAGE": "aws", "ALLOW_SIGNUP": "true", "TABLE_PREFIX": prefix,
                     "SOURCES_BUCKET": sources, "RENDERS_BUCKET": renders,
                     "DATA_DIR": str(ROOT / ".data-unused")}.items():
            mp.setenv(k, v)
        for k in ("MAX_SOURCE_PIXELS", "RENDER_TIMEOUT_SECONDS", "CLOUDFRONT_DISTRIBUTION_ID"):
            mp.delenv(k, raising=False)
        bootstrap.reset()
        with Client(app) as c:
            api = Api(c)
            api.key = signup(api, "acme")["api_key"]
            yield AwsApp(api=api, org="acme", prefix=prefix, sources=sources, renders=renders)
        bootstrap.reset()


@dataclass
class LocalServer:
    base: str
    data_dir: Path
    proc: subprocess.Popen


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    """localserver.py in its own process (threaded HTTP server, SQLite + files) on a free port."""
    data_dir = tmp_path_factory.mktemp("localserver") / "data"
    log = open(tmp_path_factory.getbasetemp() / f"localserver-{data_dir.parent.name}.log", "w")
    unset = dict.fromkeys(("ALLOW_SIGNUP", "AWS_ENDPOINT_URL", "MAX_SOURCE_PIXELS", "RENDER_TIMEOUT_SECONDS"))
    proc, base, _ = start_local_server(data_dir, {**unset, "STORAGE": "local"}, stdout=log)
    yield LocalServer(base=base, data_dir=data_dir, proc=proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
