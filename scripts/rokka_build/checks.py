"""Checks on the packaged template: runtimes, environment, log groups, S3 wiring, tables vs aws_schema."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from .common import LAMBDA_RUNTIME, SOURCES_BUCKET_RESOURCE, SOURCES_BUCKET_SENTINEL, PackageError


FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
# What chalicelib/config.py needs in a deployment; infra/merge.yaml sets it on every function.
FUNCTION_ENVIRONMENT = ("STORAGE", "SOURCES_BUCKET", "RENDERS_BUCKET", "TABLE_PREFIX", "KEY_PEPPER",
                        "ALLOW_SIGNUP", "RENDER_DOMAIN", "CLOUDFRONT_DISTRIBUTION_ID")


def check_template(template: dict, s3_events: list[dict]) -> None:
    resources = template["Resources"]
    policy = json.dumps(resources.get("AppPolicy", {}))
    log_groups = {json.dumps(res.get("Properties", {}).get("LogGroupName")): name
                  for name, res in resources.items() if res.get("Type") == "AWS::Logs::LogGroup"}
    problems = []
    for name, res in resources.items():
        if "Type" not in res:
            problems.append(f"{name} has no Type (an override of a resource nobody defines)")
        elif res["Type"] in FUNCTION_TYPES:
            fix = f"add an override of {name} to infra/merge.yaml like the other functions'"
            runtime = res.get("Properties", {}).get("Runtime")
            if runtime != LAMBDA_RUNTIME:
                problems.append(f"{name}: Runtime {runtime!r}, not {LAMBDA_RUNTIME}; {fix}")
            env = res.get("Properties", {}).get("Environment", {}).get("Variables", {})
            missing = [v for v in FUNCTION_ENVIRONMENT if v not in env]
            if missing:
                problems.append(f"{name}: no {', '.join(missing)} in its environment; {fix}")
            group = log_groups.get(json.dumps({"Fn::Sub": "/aws/lambda/${%s}" % name}))
            if group is None or json.dumps({"Fn::GetAtt": [group, "Arn"]}) not in policy:
                problems.append(f"{name}: no log group /aws/lambda/${{{name}}} granted in AppPolicy; "
                                "add one to infra/merge.yaml like the other functions'")
    bucket = resources.get(SOURCES_BUCKET_RESOURCE, {})
    configs = bucket.get("Properties", {}).get("NotificationConfiguration", {}).get("LambdaConfigurations", [])
    for ev in s3_events:
        where = f"@app.on_s3_event handler {ev['function']}"
        if ev["bucket"] != SOURCES_BUCKET_SENTINEL:
            problems.append(f"{where}: its bucket must be os.environ['SOURCES_BUCKET'] "
                            f"(got {ev['bucket']!r}); only {SOURCES_BUCKET_RESOURCE} is wired")
            continue
        wanted_rules = sorted([(n, v) for n, v in (("prefix", ev["prefix"]), ("suffix", ev["suffix"])) if v])
        mine = [c for c in configs if c.get("Function") == {"Fn::GetAtt": [ev["function"], "Arn"]}]
        got_events = sorted(c.get("Event") for c in mine)
        got_rules = {json.dumps(sorted((r["Name"], r["Value"]) for r in
                                       c.get("Filter", {}).get("S3Key", {}).get("Rules", [])))
                     for c in mine}
        if got_events != sorted(ev["events"]) or got_rules != {json.dumps(wanted_rules)}:
            problems.append(f"{where} (events {ev['events']}, filter {wanted_rules}) is not wired "
                            f"the same way on {SOURCES_BUCKET_RESOURCE}.NotificationConfiguration in "
                            f"infra/merge.yaml (found events {got_events}, filters {sorted(got_rules)})")
    if problems:
        raise PackageError("template checks failed:\n  " + "\n  ".join(problems))


def load_table_schema(project: Path) -> dict:
    """chalicelib/storage/aws_schema.py's TABLES (a plain data module)."""
    spec = importlib.util.spec_from_file_location("_rokka_aws_schema",
                                                  project / "chalicelib" / "storage" / "aws_schema.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TABLES


def check_tables(template: dict, tables: dict) -> None:
    """The template declares exactly aws_schema.TABLES, and the functions' policy covers them."""
    def keys(schema):
        kinds = {k["KeyType"]: k["AttributeName"] for k in schema}
        return (kinds.get("HASH"), kinds.get("RANGE"))

    resources = template["Resources"]
    policy = json.dumps(resources.get("AppPolicy", {}))
    declared, problems = {}, []
    for name, res in resources.items():
        if res.get("Type") != "AWS::DynamoDB::Table":
            continue
        table_name = res["Properties"].get("TableName", {})
        sub = table_name.get("Fn::Sub", "") if isinstance(table_name, dict) else ""
        if not sub.startswith("${AWS::StackName}-"):
            problems.append(f"{name}: TableName must be !Sub \"${{AWS::StackName}}-<logical name>\"")
            continue
        declared[sub[len("${AWS::StackName}-"):]] = (name, res["Properties"])
    for logical in sorted(set(tables) - set(declared)):
        problems.append(f"table {logical!r} of aws_schema.TABLES is missing from infra/merge.yaml")
    for logical in sorted(set(declared) - set(tables)):
        problems.append(f"table {logical!r} in infra/merge.yaml is not in aws_schema.TABLES")
    for logical in sorted(set(tables) & set(declared)):
        spec, (name, p) = tables[logical], declared[logical]
        if p.get("BillingMode") != "PAY_PER_REQUEST":
            problems.append(f"{name}: BillingMode must be PAY_PER_REQUEST")
        if keys(p.get("KeySchema", [])) != tuple(spec["keys"]):
            problems.append(f"{name}: keys {keys(p.get('KeySchema', []))}, aws_schema says {tuple(spec['keys'])}")
        attributes = {a["AttributeName"]: a["AttributeType"] for a in p.get("AttributeDefinitions", [])}
        if attributes != spec["attributes"]:
            problems.append(f"{name}: attributes {attributes}, aws_schema says {spec['attributes']}")
        indexes = {i["IndexName"]: keys(i["KeySchema"]) for i in p.get("GlobalSecondaryIndexes", [])}
        wanted = {index: tuple(k) for index, k in spec["indexes"].items()}
        if indexes != wanted:
            problems.append(f"{name}: indexes {indexes}, aws_schema says {wanted}")
        if json.dumps({"Fn::GetAtt": [name, "Arn"]}) not in policy:
            problems.append(f"AppPolicy does not grant access to {name}")
        for index in wanted:
            if "${%s.Arn}/index/%s" % (name, index) not in policy:
                problems.append(f"AppPolicy does not grant dynamodb:Query on {name}'s index {index}")
    if problems:
        raise PackageError("infra/merge.yaml and chalicelib/storage/aws_schema.py disagree:\n  "
                           + "\n  ".join(problems))

