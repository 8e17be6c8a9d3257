"""`make deploy` against moto's CloudFormation: the packaged stack is created, every resource appears,
and the API function's code answers GET /operations.

scripts/deploy.py runs as `make deploy` would (a subprocess with AWS_ENDPOINT_URL pointing at the
session's moto server, region eu-west-1 so nothing meets the storage tests' resources) on the
session's package (tests/infra/conftest.py). What moto 5.2.5 cannot model, and what is checked
instead, is listed in docs/deploy.md ("What the tests check without AWS").
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from chalicelib.storage.aws_schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "scripts" / "deploy.py"
REGION = "eu-west-1"
STAGE = "moto"
STACK = "rokka-clone-moto"
# Resource types moto's CloudFormation does not model: it records them (they appear in the stack's
# resources) but creates nothing. Each is checked another way (see docs/deploy.md).
NOT_MODELLED = {"AWS::CloudFront::Distribution", "AWS::CloudFront::Function", "AWS::CloudFront::CachePolicy",
                "AWS::CloudFront::OriginAccessControl", "AWS::Lambda::Url", "AWS::S3::BucketPolicy",
                "AWS::ApiGateway::Stage", "AWS::ApiGateway::DomainName", "AWS::ApiGateway::BasePathMapping"}


def teach_moto_rest_api_bodies():
    """moto 5.2.5 ignores AWS::ApiGateway::RestApi's Body (the swagger document SAM puts there), so the
    Deployment finds no methods. Give it the swagger's resources, methods and Lambda integrations."""
    from moto.apigateway import models

    original = models.RestAPI.create_from_cloudformation_json.__func__
    if getattr(models.RestAPI, "_rokka_body_support", False):
        return

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        api = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        body = cloudformation_json["Properties"].get("Body") or {}
        backend = models.apigateway_backends[account_id][region_name]
        by_path = {"/": api.default}
        for path in sorted(body.get("paths", {})):
            parent = api.default
            for depth, part in enumerate(p for p in path.split("/") if p):
                sub = "/" + "/".join(path.split("/")[1:depth + 2])
                if sub not in by_path:
                    by_path[sub] = backend.create_resource(api.id, parent.id, part)
                parent = by_path[sub]
            for method, spec in body["paths"][path].items():
                integration = spec.get("x-amazon-apigateway-integration", {})
                backend.put_method(api.id, by_path.get(path, api.default).id, method.upper(), "NONE")
                backend.put_integration(api.id, by_path.get(path, api.default).id, method.upper(),
                                        integration.get("type", "aws_proxy").upper(), str(integration.get("uri")),
                                        integration.get("httpMethod", "POST"))
        return api

    models.RestAPI.create_from_cloudformation_json = classmethod(create)
    models.RestAPI._rokka_body_support = True


def teach_moto_change_set_outputs():
    """moto 5.2.5 builds a stack's outputs when the stack is created, which for a change set is before
    its template is known, so the stack ends with no outputs. Rebuild them when the change set is
    applied, leaving out those that refer to resources moto does not model (RenderDistribution)."""
    from moto.cloudformation import models, parsing
    from moto.cloudformation.exceptions import ValidationError

    if getattr(models.ChangeSet, "_rokka_outputs", False):
        return
    apply, parse_output = models.ChangeSet.apply, parsing.parse_output

    def apply_and_refresh(self):
        apply(self)
        self.stack.template = self.template
        self.stack.template_dict = self.template_dict
        self.stack.output_map = self.stack._create_output_map()

    def tolerant_parse_output(logical_id, output_json, resources_map):
        try:
            output = parse_output(logical_id, output_json, resources_map)
        except (AttributeError, ValidationError):  # a GetAtt of a resource moto did not create
            return None
        return output if output is None or isinstance(output.value, str) else None  # same, inside Fn::If

    models.ChangeSet.apply = apply_and_refresh
    parsing.parse_output = tolerant_parse_output
    models.ChangeSet._rokka_outputs = True


def aws_env(endpoint: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint,
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return env


def run_deploy(endpoint, *args):
    proc = subprocess.run([sys.executable, str(DEPLOY), *args, "--stage", STAGE, "--wait-delay", "0.1"],
                          env=aws_env(endpoint), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"scripts/deploy.py {args[0]} failed:\n{proc.stdout}\n{proc.stderr[-6000:]}"
    return proc


def client(name, endpoint):
    return boto3.client(name, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def deployed(packaged, moto_endpoint):
    teach_moto_rest_api_bodies()
    teach_moto_change_set_outputs()
    first = run_deploy(moto_endpoint, "deploy", "--no-build", "--dist", str(packaged["out"]))
    cfn = client("cloudformation", moto_endpoint)
    first_params = {p["ParameterKey"]: p["ParameterValue"]
                    for p in cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Parameters"]}
    # `make deploy` again, as after an upgrade: an update of the same stack
    proc = run_deploy(moto_endpoint, "deploy", "--no-build", "--dist", str(packaged["out"]),
                      "--param", "AllowSignup=true")
    template = cfn.get_template(StackName=STACK)["TemplateBody"]
    listed = cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    yield {"stdout": proc.stdout, "log": proc.stderr, "first_log": first.stderr, "first": first_params,
            "endpoint": moto_endpoint,
            "template": template if isinstance(template, dict) else json.loads(template),
            "stack": cfn.describe_stacks(StackName=STACK)["Stacks"][0],
            "resources": {r["LogicalResourceId"]: r for r in listed if r["LogicalResourceId"]},
            "unnamed": [r for r in listed if not r["LogicalResourceId"]]}
    # `make destroy`: the stack goes, the sources bucket, the data tables and the secret stay
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed}
    proc = run_deploy(moto_endpoint, "destroy")
    assert f"kept AWS::S3::Bucket {physical['SourceBucket']}" in proc.stderr
    assert f"kept secret rokka-clone/{STACK}/key-pepper" in proc.stderr
    assert "renderindex" not in proc.stderr  # rebuildable, not retained
    buckets = {b["Name"] for b in client("s3", moto_endpoint).list_buckets()["Buckets"]}
    assert physical["SourceBucket"] in buckets and physical["RenderCacheBucket"] not in buckets
    tables = set(client("dynamodb", moto_endpoint).list_tables()["TableNames"])
    assert f"{STACK}-images" in tables and f"{STACK}-renderindex" not in tables
    assert not [s for s in cfn.list_stacks()["StackSummaries"]
                if s["StackName"] == STACK and s["StackStatus"] != "DELETE_COMPLETE"]


def outputs_of(stack):
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def test_the_stack_is_created_from_the_sam_transformed_template(deployed):
    assert "create rokka-clone-moto" in deployed["first_log"] and "update rokka-clone-moto" in deployed["log"]
    template = deployed["template"]
    assert "Transform" not in template  # deploy.py expands SAM offline: moto gets plain CloudFormation
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::CloudFront::Distribution"} <= types
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    code = {json.dumps(r["Properties"]["Code"]) for r in template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function"}
    assert len(code) == 1 and "rokka-clone-artifacts-" in code.pop()  # every function runs the uploaded zip


def test_every_resource_appears(deployed):
    """Every resource of the template is in the stack. moto lists the ones it does not model (NOT_MODELLED)
    without their logical id or type (even those whose condition is false), so those are counted; the
    rest must match one to one."""
    template = deployed["template"]
    conditions_off = {"HasApiDomain", "HasRenderCertificate"}  # no custom domains in this deploy
    wanted = {name: r["Type"] for name, r in template["Resources"].items() if r.get("Condition") not in conditions_off}
    modelled = {name: kind for name, kind in wanted.items() if kind not in NOT_MODELLED}
    listed = deployed["resources"]
    assert {name: r["ResourceType"] for name, r in listed.items() if name} == modelled
    not_modelled = [name for name, r in template["Resources"].items() if r["Type"] in NOT_MODELLED]
    assert len(deployed["unnamed"]) == len(not_modelled) >= 8
    assert len(modelled) >= 30
    for res in [*listed.values(), *deployed["unnamed"]]:
        assert res["ResourceStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), res


def test_modelled_resources_exist_in_their_services(deployed, packaged):
    endpoint, resources = deployed["endpoint"], deployed["resources"]
    physical = {name: r["PhysicalResourceId"] for name, r in resources.items()}
    buckets = {b["Name"] for b in client("s3", endpoint).list_buckets()["Buckets"]}
    assert {physical["SourceBucket"], physical["RenderCacheBucket"]} <= buckets
    assert re.fullmatch(r"rokka-sources-[0-9a-f-]{36}", physical["SourceBucket"])

    dynamodb = client("dynamodb", endpoint)
    for logical, spec in TABLES.items():
        table = dynamodb.describe_table(TableName=f"{STACK}-{logical}")["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert (keys["HASH"], keys.get("RANGE")) == tuple(spec["keys"]), logical
        assert {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} == set(spec["indexes"]), logical

    lam = client("lambda", endpoint)
    zip_sha = base64.b64encode(hashlib.sha256(packaged["zip"].read_bytes()).digest()).decode()
    for name in ("APIHandler", "Render", "RegisterUpload", "PurgeDeleted"):
        config = lam.get_function_configuration(FunctionName=physical[name])
        assert config["Runtime"] == "python3.13", name
        assert config["CodeSha256"] == zip_sha, name  # the packaged zip, as uploaded
        assert config["Environment"]["Variables"]["STORAGE"] == "aws", name
    assert lam.get_function_configuration(FunctionName=physical["Render"])["MemorySize"] == 3008

    role = client("iam", endpoint).get_role(RoleName=physical["DefaultRole"])["Role"]
    policy = client("iam", endpoint).get_role_policy(RoleName=role["RoleName"], PolicyName="rokka-clone-app")
    assert "dynamodb:Query" in json.dumps(policy["PolicyDocument"])
    groups = {g["logGroupName"] for g in client("logs", endpoint).describe_log_groups()["logGroups"]}
    assert f"/aws/lambda/{physical['APIHandler']}" in groups
    rules = client("events", endpoint).list_rules()["Rules"]
    assert any(r.get("ScheduleExpression") == "rate(1 day)" for r in rules)

    apigw = client("apigateway", endpoint)
    api_paths = {r["path"]: r for r in apigw.get_resources(restApiId=physical["RestAPI"])["items"]}
    assert "GET" in api_paths["/operations"]["resourceMethods"]
    assert {"/sourceimages/{org}", "/stacks/{org}", "/organizations/{org}"} <= set(api_paths)
    assert apigw.get_rest_api(restApiId=physical["RestAPI"])["name"] == STACK


def test_deploy_prints_the_api_url_and_the_render_host(deployed):
    outputs = outputs_of(deployed["stack"])
    assert re.fullmatch(rf"https://{deployed['resources']['RestAPI']['PhysicalResourceId']}"
                        rf"\.execute-api\.{REGION}\.amazonaws\.com/api/", outputs["EndpointURL"])
    assert outputs["SourcesBucketName"] == deployed["resources"]["SourceBucket"]["PhysicalResourceId"]
    assert outputs["TablePrefix"] == f"{STACK}-"
    assert deployed["stdout"].splitlines()[0] == f"API:    {outputs['EndpointURL']}"
    # RenderHost needs the distribution's domain, which moto cannot give: the printing on its own.
    sys.path.insert(0, str(DEPLOY.parent))
    import deploy

    lines = deploy.summary({"EndpointURL": "https://x/api/", "RenderHost": "https://{org}.images.example.com"})
    assert lines[:2] == ["API:    https://x/api/", "render: https://{org}.images.example.com/{stack}/{hash}.{format}"]


def test_the_pepper_is_a_secret_passed_by_reference(deployed):
    endpoint = deployed["endpoint"]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in deployed["stack"]["Parameters"]}
    assert params["KeyPepperSecret"] == f"rokka-clone/{STACK}/key-pepper"
    secret = json.loads(client("secretsmanager", endpoint).get_secret_value(
        SecretId=params["KeyPepperSecret"])["SecretString"])
    assert len(secret["key_pepper"]) >= 32
    assert "creating the secret" in deployed["first_log"]
    assert secret["key_pepper"] not in (json.dumps(deployed["template"]) + json.dumps(params) + deployed["log"]
                                        + deployed["first_log"])


def test_a_second_deploy_updates_the_stack_and_keeps_the_secret(deployed):
    """The fixture deployed twice: the second run (AllowSignup=true) updated the stack in place and
    kept the other parameters (KeyPepperSecret) as they were."""
    first, stack = deployed["first"], deployed["stack"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert params["AllowSignup"] == "true"
    assert params["KeyPepperSecret"] == first["KeyPepperSecret"]
    assert first["AllowSignup"] == "false"
    assert function_environment(deployed)["ALLOW_SIGNUP"] == "true"
    assert "creating the secret" not in deployed["log"]


# --- the API function's code, from the zip, under the test interpreter ----------------------------

def api_gateway_event(path: str) -> dict:
    """What API Gateway's REST proxy integration sends APIHandler for GET `path` (stage api)."""
    return {"resource": path, "path": path, "httpMethod": "GET",
            "headers": {"Accept": "application/json", "Host": "abc.execute-api.eu-west-1.amazonaws.com"},
            "multiValueHeaders": {"Accept": ["application/json"]}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "path": f"/api{path}", "stage": "api",
                               "requestId": "test", "identity": {"sourceIp": "203.0.113.9"}},
            "body": None, "isBase64Encoded": False}


_INVOKE = r"""
import json, sys, types
import app
event = json.loads(sys.argv[1])
context = types.SimpleNamespace(aws_request_id="test", function_name="api", memory_limit_in_mb=1024,
                                get_remaining_time_in_millis=lambda: 29000)
response = app.app(event, context)
import chalice, PIL
print(json.dumps({"response": response, "app": app.__file__, "chalice": chalice.__file__, "PIL": PIL.__file__}))
"""


@pytest.fixture(scope="module")
def unzipped(packaged, tmp_path_factory):
    """The zip's code with its native packages left out: they are cp313 builds, which a 3.11 interpreter
    cannot load, so the test venv's own builds of the same pinned versions stand in for them."""
    root = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(packaged["zip"]) as zf:
        zf.extractall(root)
    native = sorted({Path(n).parts[0] for n in zipfile.ZipFile(packaged["zip"]).namelist()
                     if re.search(r"\.so(\.[0-9.]+)?$", n)})
    for top in native:
        target = root / top
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    assert "PIL" in native and "chalicelib" not in native and "chalice" not in native
    return root, native


def function_environment(deployed, name="APIHandler") -> dict:
    physical = deployed["resources"][name]["PhysicalResourceId"]
    return client("lambda", deployed["endpoint"]).get_function_configuration(
        FunctionName=physical)["Environment"]["Variables"]


def resolve_secret_references(env: dict, endpoint: str) -> dict:
    """What CloudFormation does with `{{resolve:secretsmanager:NAME:SecretString:KEY}}` (moto keeps it)."""
    secrets = client("secretsmanager", endpoint)
    out = {}
    for key, value in env.items():
        m = re.fullmatch(r"\{\{resolve:secretsmanager:([^:]+):SecretString:([^:}]+)\}\}", value)
        out[key] = json.loads(secrets.get_secret_value(SecretId=m[1])["SecretString"])[m[2]] if m else value
    return out


def invoke(root: Path, env: dict, endpoint: str, path="/operations"):
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    run_env.update(env)
    run_env.update({"AWS_LAMBDA_FUNCTION_NAME": "rokka-clone-moto-APIHandler", "AWS_REGION": REGION,
                    "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_ENDPOINT_URL": endpoint, "PYTHONDONTWRITEBYTECODE": "1"})
    return subprocess.run([sys.executable, "-c", _INVOKE, json.dumps(api_gateway_event(path))], cwd=root,
                          env=run_env, capture_output=True, text=True, timeout=120)


def test_the_api_function_code_answers_get_operations(deployed, unzipped):
    root, native = unzipped
    env = resolve_secret_references(function_environment(deployed), deployed["endpoint"])
    proc = invoke(root, env, deployed["endpoint"])
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["app"]).parent == root and Path(result["chalice"]).is_relative_to(root)  # the zip's code
    assert not Path(result["PIL"]).is_relative_to(root)  # the venv's native build of the same Pillow
    response = result["response"]
    assert response["statusCode"] == 200, response
    assert response["headers"]["Content-Type"] == "application/json"
    operations = json.loads(response["body"])
    assert {"resize", "crop", "rotate", "composition"} <= set(operations)


def test_a_deployed_function_refuses_development_or_unresolved_secrets(deployed, unzipped):
    root, _ = unzipped
    raw = function_environment(deployed)
    assert raw["KEY_PEPPER"].startswith("{{resolve:secretsmanager:")
    for pepper, says in ((raw["KEY_PEPPER"], "unresolved dynamic reference"),
                         ("local-development-pepper", "development pepper")):
        proc = invoke(root, {**raw, "KEY_PEPPER": pepper}, deployed["endpoint"])
        assert proc.returncode != 0
        assert "ConfigurationError: refusing to start rokka-clone-moto-APIHandler" in proc.stderr
        assert says in proc.stderr and "make deploy" in proc.stderr
