"""`make package`: the CloudFormation template and the Lambda zip (scripts/package.py).

Packages the real app once per session into a temporary directory (vendored wheels are cached
under ~/.cache/rokka-clone-package, or PACKAGE_CACHE_DIR) and inspects the result: cfn-lint,
the resources DESIGN.md §2 asks for, least-privilege IAM, the tables against
chalicelib/storage/aws_schema.py, and the zip's Python bytecode and native libraries.
Build tools (cfn-lint, aws-sam-translator, pyelftools) come from requirements-package.txt and are installed on first
use; Pyodide (for the Python 3.13 bytecode) from scripts/package.json, by the packaging script.
"""
from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from chalicelib.storage.aws_schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "package.py"
VIEWER_JS = ROOT / "infra" / "cloudfront" / "viewer-request.js"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

# Shared libraries a zip for the Lambda python3.13 runtime (Amazon Linux 2023, glibc 2.34) may
# link to without shipping them. Sources:
#  - glibc 2.34's own sonames: AL2023 ships glibc 2.34 (AWS "AL2023 core toolchain" docs) and
#    the glibc package is in every Lambda AL2023 image (`rpm -qa` of public.ecr.aws/lambda/
#    python:3.12, amazonlinux/amazon-linux-2023#585);
#  - libgcc_s.so.1: glibc loads it itself for unwinding/thread cancellation (libgcc package);
#  - libz.so.1: the runtime's own CPython zlib module (botocore, gzip) links it.
# These are also all on the manylinux policy lists (PEP 599/600, auditwheel), i.e. what wheels
# are allowed to assume.
BASE_IMAGE_LIBS = {
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
    "libresolv.so.2", "ld-linux-x86-64.so.2", "libgcc_s.so.1", "libz.so.1",
    "libmvec.so.1",  # glibc's vector math library (x86_64), part of the glibc package
}
# Not verified to be in the python3.13 image, so not in the list above. Tolerated only for the
# libraries known to need it, each loaded only by one optional codec: Pillow's bundled libavif
# (PIL._avif) and pillow-heif's libheif/libde265/libx265 (imported lazily for HEIC), pillow-jxl-plugin
# (libjxl, imported for JPEG XL only) and PyAV's libvpx/libx265/libvpl (imported for video only;
# an ImportError there is a 415, formats_jxl/formats_video). At worst AVIF, HEIC, JPEG XL or
# video is unavailable; the rest of the service is unaffected. Anything else fails the test.
UNVERIFIED_LIBS = {"libstdc++.so.6": re.compile(
    r"^(pillow\.libs/libavif-[0-9a-f]+\.so[.0-9]*|pillow_heif\.libs/lib(heif|de265|x265)-[0-9a-f]+\.so[.0-9]*"
    r"|pillow_jxl/pillow_jxl\.cpython-313-x86_64-linux-gnu\.so"
    r"|av\.libs/lib(vpl|vpx|x265)-[0-9a-f]+\.so[.0-9]*)$")}
MAX_GLIBC = (2, 34)        # AL2023
MAX_GLIBCXX = (3, 4, 29)   # AL2023's GCC 11 libstdc++
PYTHON_313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"


@pytest.fixture(scope="session")
def template(packaged):
    return packaged["template"]


@pytest.fixture(scope="session")
def resources(template):
    return template["Resources"]


@pytest.fixture(scope="session")
def zip_names(packaged):
    with zipfile.ZipFile(packaged["zip"]) as zf:
        return zf.namelist()


def load_package_module():
    spec = importlib.util.spec_from_file_location("rokka_package", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def of_type(resources, *types):
    return {name: res for name, res in resources.items() if res["Type"] in types}


def props(resources, name):
    return resources[name]["Properties"]


def as_list(value):
    return value if isinstance(value, list) else [value]


# --- the output ------------------------------------------------------------------------------------

def test_writes_one_template_and_the_zip(packaged):
    assert sorted(p.name for p in packaged["out"].iterdir()) == ["deployment.zip", "sam.json"]
    assert packaged["template"]["Transform"] == "AWS::Serverless-2016-10-31"


def test_cfn_lint_finds_no_errors(packaged, tmp_path):
    """On the SAM template, and on the plain CloudFormation its SAM transform gives (offline)."""
    package = load_package_module()
    transformed = tmp_path / "transformed.json"
    package.sam_transform(packaged["out"] / "sam.json", transformed)
    assert {"RestAPIapiStage", "APIHandler", "Render"} <= set(json.loads(transformed.read_text())["Resources"])
    for path in (packaged["out"] / "sam.json", transformed):
        proc = subprocess.run([sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                               str(path)], capture_output=True, text=True)
        # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational (1: could not run)
        assert proc.returncode & 0b11 == 0, proc.stdout + proc.stderr


def test_chalice_resources_the_merge_template_relies_on(resources):
    assert resources["DefaultRole"]["Type"] == "AWS::IAM::Role"
    assert resources["RestAPI"]["Type"] == "AWS::Serverless::Api"
    # infra/merge.yaml points APIHandler at app.handler (REST events to app.app, function-URL events adapted).
    assert props(resources, "APIHandler")["Handler"] == "app.handler"
    assert props(resources, "Render")["Handler"] == "app.render"


# --- Lambda functions ------------------------------------------------------------------------------

def test_every_function_runs_python313(resources):
    functions = of_type(resources, *FUNCTION_TYPES)
    assert {"APIHandler", "Render"} <= set(functions)
    for name, res in functions.items():
        assert res["Properties"].get("Runtime") == "python3.13", name
        assert res["Properties"].get("Architectures", ["x86_64"]) == ["x86_64"], name  # the wheels' platform


def test_render_memory_and_timeout(resources):
    render = props(resources, "Render")
    assert (render["MemorySize"], render["Timeout"]) == (3008, 60)


def test_every_function_gets_the_runtime_configuration(template, resources):
    params = template["Parameters"]
    assert params["KeyPepperSecret"]["Type"] == "String"  # a secret's name, not the secret
    assert params["AllowSignup"]["Default"] == "false"
    assert "RenderDomain" in params
    for name, res in of_type(resources, *FUNCTION_TYPES).items():
        env = res["Properties"]["Environment"]["Variables"]
        assert env["STORAGE"] == "aws", name
        assert env["TABLE_PREFIX"] == {"Fn::Sub": "${AWS::StackName}-"}, name
        # a dynamic reference: CloudFormation resolves it when it creates the function
        assert env["KEY_PEPPER"] == {"Fn::Sub": "{{resolve:secretsmanager:${KeyPepperSecret}:SecretString:key_pepper}}"}, name
        assert env["ALLOW_SIGNUP"] == {"Ref": "AllowSignup"}, name
        assert env["RENDERS_BUCKET"] == {"Ref": "RenderCacheBucket"}, name
        assert env["SOURCES_BUCKET"] == props(resources, "SourceBucket")["BucketName"], name
        assert env["RENDER_DOMAIN"] == {"Ref": "RenderDomain"}, name
        assert "CLOUDFRONT_DISTRIBUTION_ID" in env, name
    # The API purges the CDN; Render cannot know the distribution (it depends on Render's URL).
    assert props(resources, "APIHandler")["Environment"]["Variables"]["CLOUDFRONT_DISTRIBUTION_ID"] == \
        {"Ref": "RenderDistribution"}


def test_log_groups_for_every_function(resources):
    groups = {json.dumps(props(resources, n)["LogGroupName"]) for n in of_type(resources, "AWS::Logs::LogGroup")}
    for name in of_type(resources, *FUNCTION_TYPES):
        assert json.dumps({"Fn::Sub": "/aws/lambda/${%s}" % name}) in groups, name


# --- S3 --------------------------------------------------------------------------------------------

def test_buckets_block_public_access(resources):
    for name in ("SourceBucket", "RenderCacheBucket"):
        block = props(resources, name)["PublicAccessBlockConfiguration"]
        assert block == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                         "IgnorePublicAcls": True, "RestrictPublicBuckets": True}, name
    rules = props(resources, "RenderCacheBucket")["LifecycleConfiguration"]["Rules"]
    assert any(r.get("ExpirationInDays") for r in rules)
    assert resources["SourceBucket"]["DeletionPolicy"] == "Retain"


def test_render_cache_readable_by_the_distribution_only(resources):
    policy = props(resources, "RenderCacheBucketPolicy")
    assert policy["Bucket"] == {"Ref": "RenderCacheBucket"}
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert "RenderDistribution" in json.dumps(statement["Condition"]["StringEquals"]["AWS:SourceArn"])
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
    assert actions == {"s3:GetObject", "s3:ListBucket"}  # ListBucket: a missing key is a 404


def test_large_uploads_notify_register_upload(resources):
    if "RegisterUpload" not in resources:
        pytest.skip("app.py defines no register_upload S3 handler (see test_prune_* for that case)")
    from chalicelib.services.uploads import UPLOAD_PREFIX

    assert props(resources, "RegisterUpload")["Handler"] == "app.register_upload"
    bucket = resources["SourceBucket"]
    [config] = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert config["Function"] == {"Fn::GetAtt": ["RegisterUpload", "Arn"]}
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": UPLOAD_PREFIX}]
    assert bucket["DependsOn"] == "RegisterUploadPermission"
    permission = props(resources, "RegisterUploadPermission")
    assert (permission["Action"], permission["Principal"]) == ("lambda:InvokeFunction", "s3.amazonaws.com")
    assert permission["SourceArn"]["Fn::Sub"][1]["Bucket"] == bucket["Properties"]["BucketName"]


# --- DynamoDB --------------------------------------------------------------------------------------

def test_tables_match_aws_schema(resources):
    tables = {}
    for name, res in of_type(resources, "AWS::DynamoDB::Table").items():
        p = res["Properties"]
        sub = p["TableName"]["Fn::Sub"]
        assert sub.startswith("${AWS::StackName}-"), name
        tables[sub[len("${AWS::StackName}-"):]] = p
    assert set(tables) == set(TABLES)

    def keys(schema):
        by_type = {k["KeyType"]: k["AttributeName"] for k in schema}
        assert set(by_type) <= {"HASH", "RANGE"} and len(by_type) == len(schema)
        return by_type["HASH"], by_type.get("RANGE")

    for logical, spec in TABLES.items():
        p = tables[logical]
        assert p["BillingMode"] == "PAY_PER_REQUEST", logical
        assert keys(p["KeySchema"]) == tuple(spec["keys"]), logical
        assert {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]} == spec["attributes"], logical
        assert len(p["AttributeDefinitions"]) == len(spec["attributes"]), logical
        indexes = {i["IndexName"]: i for i in p.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == set(spec["indexes"]), logical
        for index, index_keys in spec["indexes"].items():
            assert keys(indexes[index]["KeySchema"]) == tuple(index_keys), (logical, index)
            assert indexes[index]["Projection"] == {"ProjectionType": "ALL"}, (logical, index)


# --- IAM -------------------------------------------------------------------------------------------

def policy_documents(resources):
    """(where, document) for every IAM policy document in the template."""
    for name, res in resources.items():
        p = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for policy in as_list(p.get("Policies", [])):
                if isinstance(policy, dict) and "PolicyDocument" in policy:
                    yield f"{name}.{policy.get('PolicyName')}", policy["PolicyDocument"]
            yield f"{name}.AssumeRolePolicyDocument", p["AssumeRolePolicyDocument"]
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"):
            yield name, p["PolicyDocument"]
        elif res["Type"] in FUNCTION_TYPES:
            for policy in as_list(p.get("Policies", [])):
                yield f"{name}.Policies", policy


def test_no_wildcard_actions_anywhere(resources):
    documents = list(policy_documents(resources))
    assert documents
    for where, document in documents:
        assert isinstance(document, dict) and "Statement" in document, where
        for statement in as_list(document["Statement"]):
            assert "NotAction" not in statement, where
            for action in as_list(statement["Action"]):
                assert "*" not in action, (where, action)


def test_functions_role_is_least_privilege(resources):
    role = props(resources, "DefaultRole")
    assert role.get("Policies") in (None, {"Ref": "AWS::NoValue"}, [])  # Chalice's logs-on-arn:*:* policy is gone
    role_refs = [{"Ref": "DefaultRole"}]
    attached = {n: r for n, r in of_type(resources, "AWS::IAM::Policy").items()
                if r["Properties"]["Roles"] == role_refs}
    assert list(attached) == ["AppPolicy"]
    statements = props(resources, "AppPolicy")["PolicyDocument"]["Statement"]
    allowed = {
        "logs:CreateLogStream", "logs:PutLogEvents",
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
        "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem",
        "cloudfront:CreateInvalidation",
        "rekognition:DetectFaces",
    }
    # Actions without resource-level permissions, the only ones that may name Resource "*".
    no_resource_level = {"rekognition:DetectFaces"}
    granted = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert action in allowed, action
            granted.setdefault(action, []).extend(json.dumps(r) for r in as_list(statement["Resource"]))
    for action, resources_of_action in granted.items():
        if action in no_resource_level:
            assert resources_of_action == ['"*"'], action
        else:
            assert '"*"' not in resources_of_action, action  # every resource is one of this stack's
    table_ids = {name for name in of_type(resources, "AWS::DynamoDB::Table")}
    table_arns = {json.dumps({"Fn::GetAtt": [t, "Arn"]}) for t in table_ids}
    assert set(granted["dynamodb:GetItem"]) == table_arns
    index_arns = set()
    for name, res in of_type(resources, "AWS::DynamoDB::Table").items():
        for index in res["Properties"].get("GlobalSecondaryIndexes", []):
            index_arns.add(json.dumps({"Fn::Sub": "${%s.Arn}/index/%s" % (name, index["IndexName"])}))
    assert index_arns and index_arns <= set(granted["dynamodb:Query"])
    assert set(granted["dynamodb:Query"]) == table_arns | index_arns
    assert granted["cloudfront:CreateInvalidation"] == [json.dumps(
        {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${RenderDistribution}"})]
    log_groups = {json.dumps({"Fn::GetAtt": [n, "Arn"]}) for n in of_type(resources, "AWS::Logs::LogGroup")}
    assert set(granted["logs:PutLogEvents"]) == log_groups


# --- render path: function URL, OACs, CloudFront ---------------------------------------------------

def test_render_function_url_only_for_cloudfront(resources):
    [url] = [u for u in of_type(resources, "AWS::Lambda::Url").values()
             if u["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": ["Render", "Arn"]}]
    assert url["Properties"]["AuthType"] == "AWS_IAM"
    perms = {p["Properties"]["Action"]: p["Properties"] for p in of_type(resources, "AWS::Lambda::Permission").values()
             if p["Properties"]["FunctionName"] == {"Fn::GetAtt": ["Render", "Arn"]}}
    assert set(perms) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert perms["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "AWS_IAM"
    for perm in perms.values():
        assert perm["Principal"] == "cloudfront.amazonaws.com"
        assert "${RenderDistribution}" in perm["SourceArn"]["Fn::Sub"]


def test_api_function_url_takes_every_method_for_the_api_handler(template, resources):
    """rokka's COPY cannot go through RestAPI: APIHandler also has a public function URL, and its
    handler is app.handler (the payload 2.0 adapter in front of Chalice)."""
    [url] = [u for u in of_type(resources, "AWS::Lambda::Url").values()
             if u["Properties"]["TargetFunctionArn"] == {"Fn::GetAtt": ["APIHandler", "Arn"]}]
    assert url["Properties"]["AuthType"] == "NONE"  # the API checks Api-Key / JWT itself
    assert "Cors" not in url["Properties"]  # a CORS config would restrict AllowMethods
    perms = {p["Properties"]["Action"]: p["Properties"] for p in of_type(resources, "AWS::Lambda::Permission").values()
             if p["Properties"]["FunctionName"] == {"Fn::GetAtt": ["APIHandler", "Arn"]}}
    assert perms["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert perms["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True  # not a general public invoke
    assert all(p["Principal"] == "*" for name, p in perms.items() if name.startswith("lambda:Invoke"))
    assert props(resources, "APIHandler")["Handler"] == "app.handler"
    assert template["Outputs"]["ApiFunctionUrl"]["Value"] == {"Fn::GetAtt": ["ApiFunctionUrl", "FunctionUrl"]}


def test_origin_access_controls(resources):
    oacs = {r["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"]: name
            for name, r in of_type(resources, "AWS::CloudFront::OriginAccessControl").items()}
    assert set(oacs) == {"s3", "lambda"}
    for name in oacs.values():
        config = props(resources, name)["OriginAccessControlConfig"]
        assert (config["SigningBehavior"], config["SigningProtocol"]) == ("always", "sigv4")
    origins = {o["Id"]: o for o in props(resources, "RenderDistribution")["DistributionConfig"]["Origins"]}
    assert origins["render-cache"]["OriginAccessControlId"] == {"Fn::GetAtt": [oacs["s3"], "Id"]}
    assert origins["render-function"]["OriginAccessControlId"] == {"Fn::GetAtt": [oacs["lambda"], "Id"]}


def test_distribution_tries_the_cache_then_the_render_function(resources):
    config = props(resources, "RenderDistribution")["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["render-cache"]["DomainName"] == {"Fn::GetAtt": ["RenderCacheBucket", "RegionalDomainName"]}
    assert "RenderUrl" in json.dumps(origins["render-function"]["DomainName"])
    assert origins["render-function"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    [group] = config["OriginGroups"]["Items"]
    assert config["OriginGroups"]["Quantity"] == 1
    assert [m["OriginId"] for m in group["Members"]["Items"]] == ["render-cache", "render-function"]
    assert sorted(group["FailoverCriteria"]["StatusCodes"]["Items"]) == [403, 404]
    assert group["FailoverCriteria"]["StatusCodes"]["Quantity"] == 2
    behavior = config["DefaultCacheBehavior"]
    assert behavior["TargetOriginId"] == group["Id"]
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    [association] = behavior["FunctionAssociations"]
    assert association == {"EventType": "viewer-request",
                           "FunctionARN": {"Fn::GetAtt": ["ViewerRequestFunction", "FunctionMetadata.FunctionARN"]}}


def test_viewer_request_function_is_inlined_with_the_render_domain(resources):
    function = props(resources, "ViewerRequestFunction")
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    assert function["AutoPublish"] is True
    code = function["FunctionCode"]["Fn::Sub"]
    assert isinstance(code, str)
    expected = VIEWER_JS.read_text().replace("${", "${!").replace("__RENDER_DOMAIN__", "${RenderDomain}")
    assert code == expected
    assert set(re.findall(r"\$\{([^!}][^}]*)\}", code)) == {"RenderDomain"}
    assert "Metadata" not in resources["ViewerRequestFunction"]  # the packaging instructions are gone


def test_custom_domain_is_optional(template, resources):
    config = props(resources, "RenderDistribution")["DistributionConfig"]
    assert config["Aliases"]["Fn::If"][0] == "HasRenderCertificate"
    assert config["Aliases"]["Fn::If"][1] == [{"Ref": "RenderDomain"}, {"Fn::Sub": "*.${RenderDomain}"}]
    assert config["ViewerCertificate"]["Fn::If"][1]["AcmCertificateArn"] == {"Ref": "RenderCertificateArn"}
    assert "RenderCertificateArn" in template["Parameters"]


def test_outputs(template):
    outputs = template["Outputs"]
    assert "execute-api" in json.dumps(outputs["EndpointURL"]["Value"])  # Chalice's: the API URL
    assert outputs["RenderDistributionDomain"]["Value"] == {"Fn::GetAtt": ["RenderDistribution", "DomainName"]}
    for name in ("RenderDistributionId", "SourcesBucketName", "RendersBucketName", "TablePrefix"):
        assert name in outputs


# --- the zip ---------------------------------------------------------------------------------------

def test_zip_holds_the_app_and_cp313_wheels(zip_names):
    names = set(zip_names)
    assert "app.py" in names
    assert "chalicelib/__init__.py" in names and "chalicelib/storage/aws_schema.py" in names
    assert "chalice/app.py" in names  # Chalice's runtime
    assert "PIL/Image.py" in names
    assert any(re.match(r"PIL/_imaging\.cpython-313-x86_64-linux-gnu\.so$", n) for n in names)
    assert any(re.match(r"pillow\.libs/lib\w+-[0-9a-f]+\.so", n) for n in names)
    assert not any(n.startswith(("vendor/", ".chalice/", "tests/")) for n in names)
    for name in names:  # no extension module built for another interpreter
        if re.search(r"\.cpython-\d+", name) and name.endswith(".so"):
            assert ".cpython-313-x86_64-linux-gnu." in name, name


def test_zip_fits_the_lambda_unzipped_limit(packaged):
    """Lambda: 250 MB (262 144 000 bytes) unzipped for the function code and its layers."""
    with zipfile.ZipFile(packaged["zip"]) as zf:
        unzipped = sum(i.file_size for i in zf.infolist())
    assert unzipped < 262_144_000, f"{unzipped / 1e6:.1f} MB unzipped"


def test_zip_is_written_deterministically(packaged):
    with zipfile.ZipFile(packaged["zip"]) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_python_files_are_precompiled_for_313(packaged, zip_names):
    sources = [n for n in zip_names if n.endswith(".py")]
    pycs = {n for n in zip_names if n.endswith(".pyc")}
    assert all(".cpython-313.pyc" in n for n in pycs), "only CPython 3.13 bytecode belongs in the zip"
    assert packaged["summary"]["python"].startswith("3.13.")
    with zipfile.ZipFile(packaged["zip"]) as zf:
        for source in sources:
            path = PurePosixPath(source)
            pyc = str(path.parent / "__pycache__" / f"{path.stem}.cpython-313.pyc").removeprefix("./")
            assert pyc in pycs, source
            header = zf.read(pyc)[:16]
            assert header[:4] == PYTHON_313_MAGIC, source
            # flags: bit 0 hash-based, bit 1 check_source -> 0b01 is "unchecked hash"
            assert int.from_bytes(header[4:8], "little") == 0b01, source
    assert "app.py" in sources and "__pycache__/app.cpython-313.pyc" in pycs


def test_native_libraries_resolve_on_lambda(packaged, build_tools):
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    def version(text):
        return tuple(int(x) for x in text.split("."))

    shipped, needs, glibc, glibcxx = set(), {}, set(), set()
    with zipfile.ZipFile(packaged["zip"]) as zf:
        libraries = [n for n in zf.namelist() if re.search(r"\.so(\.[0-9.]+)?$", n)]
        assert libraries
        for name in libraries:
            shipped.add(PurePosixPath(name).name)
            with zf.open(name) as raw:
                elf = ELFFile(io.BytesIO(raw.read()))
            assert elf.get_machine_arch() == "x64", name
            needs[name] = {tag.needed for section in elf.iter_sections() if isinstance(section, DynamicSection)
                           for tag in section.iter_tags() if tag.entry.d_tag == "DT_NEEDED"}
            for section in elf.iter_sections():
                if isinstance(section, GNUVerNeedSection):
                    for _, auxiliaries in section.iter_versions():
                        for aux in auxiliaries:
                            if aux.name.startswith("GLIBC_") and aux.name[6:7].isdigit():
                                glibc.add(version(aux.name[6:]))
                            elif aux.name.startswith("GLIBCXX_"):
                                glibcxx.add(version(aux.name[8:]))
    unresolved, tolerated = [], []
    for name, needed in needs.items():
        for lib in sorted(needed - shipped - BASE_IMAGE_LIBS):
            if lib in UNVERIFIED_LIBS and UNVERIFIED_LIBS[lib].match(name):
                tolerated.append(f"{name} -> {lib}")
            else:
                unresolved.append(f"{name} -> {lib}")
    assert not unresolved, "libraries neither in the zip nor in the Lambda base image:\n" + "\n".join(unresolved)
    assert max(glibc) <= MAX_GLIBC, f"needs glibc {max(glibc)}, AL2023 has {MAX_GLIBC}"
    assert not glibcxx or max(glibcxx) <= MAX_GLIBCXX, f"needs GLIBCXX {max(glibcxx)}"
    if tolerated:
        warnings.warn("assumed present in the python3.13 image but unverified: " + "; ".join(tolerated))
