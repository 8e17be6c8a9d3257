"""One local server for the SDK and CLI tests, and an organization with an admin key."""
from __future__ import annotations

import uuid

import pytest

from rokka_client import Client
from tests.servers import serve_quietly


@pytest.fixture(scope="package")
def server(tmp_path_factory):
    yield from serve_quietly(tmp_path_factory.mktemp("client-data"))


@pytest.fixture
def account(server):
    """A fresh organization and its admin's API key."""
    org = "c" + uuid.uuid4().hex[:10]
    user = Client(server).create_user(f"{org}@example.com", organization=org)
    return server, org, user["api_key"]


@pytest.fixture
def client(account) -> Client:
    base, org, key = account
    return Client(base, key, org, backoff=0.01)
