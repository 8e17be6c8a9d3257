"""scripts/package.py's template logic on its own (no chalice run, no packaging): pruning of
overrides, the template checks, the tables against aws_schema."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from chalicelib.storage.aws_schema import TABLES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "package.py"


def load_package_module():
    spec = importlib.util.spec_from_file_location("rokka_package", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merge_template(package):
    merge = package.load_merge_template(ROOT / "infra" / "merge.yaml")
    package.inline_function_code(merge, ROOT / "infra")
    return merge


CHALICE_RESOURCES = {"DefaultRole": {}, "APIHandler": {}, "Render": {}, "RestAPI": {},
                     "APIHandlerInvokePermission": {}, "PurgeDeleted": {}}


def test_prune_leaves_out_the_upload_wiring_when_the_app_has_no_s3_handler(build_tools):
    package = load_package_module()
    pruned, notes = package.prune_missing_functions(merge_template(package), CHALICE_RESOURCES)
    resources = pruned["Resources"]
    for gone in ("RegisterUpload", "RegisterUploadPermission", "RegisterUploadLogGroup"):
        assert gone not in resources
    assert "RegisterUpload" not in json.dumps(pruned)
    source = resources["SourceBucket"]
    assert "DependsOn" not in source and "NotificationConfiguration" not in source["Properties"]
    logs = [s for s in resources["AppPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "Logs"]
    assert [len(s["Resource"]) for s in logs] == [3]  # APIHandler, Render, PurgeDeleted
    assert any("RegisterUploadPermission" in n for n in notes)
    # and nothing else was touched
    assert set(resources) == set(merge_template(package)["Resources"]) - {
        "RegisterUpload", "RegisterUploadPermission", "RegisterUploadLogGroup"}


def test_prune_keeps_everything_when_the_app_defines_all_functions(build_tools):
    package = load_package_module()
    merge = merge_template(package)
    pruned, notes = package.prune_missing_functions(merge, {**CHALICE_RESOURCES, "RegisterUpload": {}})
    assert pruned == merge and notes == []


def test_checks_refuse_unwired_s3_handlers_and_old_runtimes():
    package = load_package_module()
    template = {"Resources": {
        "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.11"}},
        "SourceBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
    }}
    event = {"function": "Fn", "bucket": package.SOURCES_BUCKET_SENTINEL, "events": ["s3:ObjectCreated:*"],
             "prefix": "_uploads/", "suffix": None}
    with pytest.raises(package.PackageError) as err:
        package.check_template(template, [event, {**event, "bucket": "some-other-bucket"}])
    message = str(err.value)
    assert "Runtime 'python3.11'" in message
    assert "no STORAGE, SOURCES_BUCKET" in message
    assert "no log group /aws/lambda/${Fn}" in message
    assert "is not wired the same way" in message
    assert "must be os.environ['SOURCES_BUCKET']" in message


def test_checks_refuse_tables_that_drift_from_aws_schema(build_tools):
    package = load_package_module()
    merge = merge_template(package)
    package.check_tables(merge, TABLES)  # in sync: no error
    drifted = {name: spec for name, spec in TABLES.items() if name != "stacks"}
    drifted["images"] = {**TABLES["images"], "indexes": {**TABLES["images"]["indexes"], "by-name": ("org_name", "hash")}}
    drifted["newtable"] = {"keys": ("id", None), "attributes": {"id": "S"}, "indexes": {}}
    with pytest.raises(package.PackageError) as err:
        package.check_tables(merge, drifted)
    message = str(err.value)
    assert "'newtable' of aws_schema.TABLES is missing" in message
    assert "'stacks' in infra/merge.yaml is not in aws_schema.TABLES" in message
    assert "ImagesTable: indexes" in message
    assert "by-name" in message
