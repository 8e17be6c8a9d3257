"""`chalice deploy` with the project's .chalice/config.json stops before creating anything and names
`make deploy` (chalicelib/cli_guard.py). The real chalice CLI runs against the session's moto server
(AWS_ENDPOINT_URL), in a region of its own; what exists in moto before and after must be the same.
A control run deploys a one-function Chalice app the same way and must create things, so the
comparison is known to see a deployment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICE = Path(sys.executable).with_name("chalice")
REGION = "eu-north-1"


def env_for(endpoint: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROKKA_"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION, "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return env


def snapshot(endpoint: str) -> dict:
    def c(name):
        return boto3.client(name, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    return {
        "roles": sorted(r["RoleName"] for r in c("iam").list_roles()["Roles"]),
        "functions": sorted(f["FunctionName"] for f in c("lambda").list_functions()["Functions"]),
        "apis": sorted(a["name"] for a in c("apigateway").get_rest_apis()["items"]),
        "buckets": sorted(b["Name"] for b in c("s3").list_buckets()["Buckets"]),
        "rules": sorted(r["Name"] for r in c("events").list_rules()["Rules"]),
        "tables": sorted(c("dynamodb").list_tables()["TableNames"]),
    }


def chalice(project: Path, endpoint: str, *args: str):
    return subprocess.run([str(CHALICE), "--project-dir", str(project), *args], env=env_for(endpoint),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def endpoint(moto_endpoint):
    if not CHALICE.exists():
        pytest.skip("the chalice CLI is not installed next to this interpreter")
    return moto_endpoint


def test_chalice_deploy_refuses_before_creating_anything(endpoint):
    before = snapshot(endpoint)
    proc = chalice(ROOT, endpoint, "deploy", "--stage", "dev")
    assert proc.returncode != 0
    assert "Error: `chalice deploy` cannot deploy this app" in proc.stderr
    assert "`make deploy STAGE=<stage>`" in proc.stderr and "Nothing was created" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert snapshot(endpoint) == before
    assert not (ROOT / ".chalice" / "deployed").exists()


def test_bare_chalice_package_refuses_and_names_make_package(endpoint, tmp_path):
    proc = chalice(ROOT, endpoint, "package", str(tmp_path / "out"))
    assert proc.returncode != 0
    assert "Run `make package`" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_control_a_plain_chalice_app_does_get_deployed(endpoint, tmp_path):
    """Without the guard the same command against the same moto creates a role and a function."""
    project = tmp_path / "plain"
    (project / ".chalice").mkdir(parents=True)
    (project / "app.py").write_text("from chalice import Chalice\napp = Chalice(app_name='plain-control')\n\n"
                                    "@app.lambda_function()\ndef hello(event, context):\n    return {}\n")
    (project / "requirements.txt").write_text("")
    (project / ".chalice" / "config.json").write_text('{"version": "2.0", "app_name": "plain-control", '
                                                      '"stages": {"dev": {}}}')
    before = snapshot(endpoint)
    proc = chalice(project, endpoint, "deploy", "--stage", "dev")
    after = snapshot(endpoint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(after["functions"]) - set(before["functions"]) == {"plain-control-dev-hello"}
    assert set(after["roles"]) - set(before["roles"]) == {"plain-control-dev"}
