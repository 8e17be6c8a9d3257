"""`make deploy` / `make destroy`: the packaged template and zip to a CloudFormation stack, with boto3.

What `aws cloudformation package` + `aws cloudformation deploy` do, without needing the AWS CLI:

1. an artifacts bucket (`rokka-clone-artifacts-<account>-<region>`, created once, private);
2. the zip uploaded under its content hash (a changed zip is a new key, so CloudFormation updates
   the functions; an unchanged one changes nothing);
3. the SAM template expanded offline into plain CloudFormation (aws-sam-translator, exactly what
   the tests create in moto), uploaded too (it is over the 51,200-byte limit of TemplateBody);
4. the key pepper: a Secrets Manager secret `rokka-clone/<stack>/key-pepper` created once with a
   random value (or the one named by --pepper-secret) and passed as the KeyPepperSecret parameter;
   the template hands it to the functions through a `{{resolve:secretsmanager:...}}` dynamic
   reference, so the value never appears in the template, the parameters or the stack events;
5. a change set (CREATE or UPDATE, CAPABILITY_IAM + CAPABILITY_AUTO_EXPAND), executed and waited
   for, as `aws cloudformation deploy` does; a failed update rolls back by itself; parameters not
   given keep their previous values;
6. the stack outputs, of which the API URL and the render host are printed.

Honours the standard AWS_PROFILE / AWS_REGION / AWS_ENDPOINT_URL (moto in the tests).
"""
from __future__ import annotations

import hashlib
import json
import secrets
import tempfile
import time
from pathlib import Path

from .common import TEMPLATE_NAME, ZIP_NAME, PackageError, log
from .lint import sam_transform

APP = "rokka-clone"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
PEPPER_KEY = "key_pepper"  # the JSON key inside the secret (see infra/merge.yaml KeyPepperSecret)


def stack_name(stage: str) -> str:
    return f"{APP}-{stage}"


def pepper_secret_name(stack: str) -> str:
    return f"{APP}/{stack}/key-pepper"


class Deployer:
    def __init__(self, session, stack: str, wait_delay: float = 10.0):
        self.session = session
        self.stack = stack
        self.region = session.region_name
        if not self.region:
            raise PackageError("no AWS region: set AWS_REGION (or a profile's region)")
        self.cfn = session.client("cloudformation")
        self.s3 = session.client("s3")
        self.secrets = session.client("secretsmanager")
        self.wait_delay = wait_delay

    # --- artifacts -------------------------------------------------------------------------------

    def artifacts_bucket(self, name: str | None) -> str:
        if not name:
            account = self.session.client("sts").get_caller_identity()["Account"]
            name = f"{APP}-artifacts-{account}-{self.region}"
        try:
            self.s3.head_bucket(Bucket=name)
            return name
        except self.s3.exceptions.ClientError as err:
            if err.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
                raise
        log(f"creating the artifacts bucket {name}")
        kwargs = {} if self.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": self.region}}
        self.s3.create_bucket(Bucket=name, **kwargs)
        self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        return name

    def upload(self, bucket: str, path: Path, suffix: str) -> str:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
        key = f"{self.stack}/{digest}{suffix}"
        try:
            self.s3.head_object(Bucket=bucket, Key=key)  # content-addressed: already there
        except self.s3.exceptions.ClientError:
            self.s3.upload_file(str(path), bucket, key)
        return key

    def template_url(self, bucket: str, key: str) -> str:
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}"

    # --- the key pepper --------------------------------------------------------------------------

    def ensure_pepper_secret(self, name: str | None) -> str:
        """The secret's name; created with a random pepper when it does not exist yet."""
        name = name or pepper_secret_name(self.stack)
        try:
            value = json.loads(self.secrets.get_secret_value(SecretId=name)["SecretString"])
        except self.secrets.exceptions.ResourceNotFoundException:
            log(f"creating the secret {name} (a random key pepper; keep it: API keys depend on it)")
            self.secrets.create_secret(
                Name=name, Description=f"KEY_PEPPER of {self.stack}: never change it, API keys depend on it",
                SecretString=json.dumps({PEPPER_KEY: secrets.token_urlsafe(48)}))
            return name
        except ValueError:
            raise PackageError(f"secret {name} is not JSON; it must be {{\"{PEPPER_KEY}\": \"...\"}}") from None
        if len(str(value.get(PEPPER_KEY, ""))) < 32:
            raise PackageError(f"secret {name} needs a \"{PEPPER_KEY}\" of at least 32 characters")
        return name

    # --- the stack -------------------------------------------------------------------------------

    def describe(self) -> dict | None:
        try:
            [stack] = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
        except self.cfn.exceptions.ClientError as err:
            if "does not exist" in str(err):
                return None
            raise
        return None if stack["StackStatus"] == "DELETE_COMPLETE" else stack

    def outputs(self) -> dict:
        stack = self.describe()
        if stack is None:
            raise PackageError(f"stack {self.stack} does not exist in {self.region}")
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def deploy(self, dist: Path, parameters: dict, bucket: str | None = None,
               pepper_secret: str | None = None) -> dict:
        for name in (TEMPLATE_NAME, ZIP_NAME):
            if not (dist / name).is_file():
                raise PackageError(f"{dist / name} is missing: run `make package` first")
        existing = self.describe()
        if existing and existing["StackStatus"] == "ROLLBACK_COMPLETE":
            raise PackageError(f"stack {self.stack} failed its first creation (ROLLBACK_COMPLETE); "
                               "delete it with `make destroy` and deploy again")
        bucket = self.artifacts_bucket(bucket)
        code_key = self.upload(bucket, dist / ZIP_NAME, ".zip")
        log(f"code: s3://{bucket}/{code_key}")
        with tempfile.TemporaryDirectory(prefix="rokka-deploy-") as tmp:
            transformed = Path(tmp) / "template.json"
            sam_transform(dist / TEMPLATE_NAME, transformed, f"s3://{bucket}/{code_key}")
            declared = json.loads(transformed.read_text()).get("Parameters", {})
            template_key = self.upload(bucket, transformed, ".template.json")
        params = dict(parameters)
        params.setdefault("KeyPepperSecret", self.ensure_pepper_secret(pepper_secret))
        unknown = sorted(set(params) - set(declared))
        if unknown:
            raise PackageError(f"the template has no parameter {', '.join(unknown)} "
                               f"(it has {', '.join(sorted(declared))})")
        previous = {p["ParameterKey"] for p in (existing or {}).get("Parameters", [])}
        cfn_params = [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(params.items())]
        cfn_params += [{"ParameterKey": k, "UsePreviousValue": True}
                       for k in sorted(previous & set(declared) - set(params))]
        change_set = f"deploy-{int(time.time())}"
        kind = "UPDATE" if existing else "CREATE"
        log(f"{kind.lower()} {self.stack} in {self.region} (change set {change_set})")
        self.cfn.create_change_set(
            StackName=self.stack, ChangeSetName=change_set, ChangeSetType=kind, Capabilities=CAPABILITIES,
            TemplateURL=self.template_url(bucket, template_key), Parameters=cfn_params,
            Tags=[{"Key": "app", "Value": APP}])
        if not self._wait_change_set(change_set):
            log("no changes")
            return self.outputs()
        self.cfn.execute_change_set(StackName=self.stack, ChangeSetName=change_set)
        self._wait("stack_create_complete" if kind == "CREATE" else "stack_update_complete")
        return self.outputs()

    def _wait_change_set(self, name: str) -> bool:
        """True when the change set is ready to execute, False when it has nothing to change."""
        while True:
            cs = self.cfn.describe_change_set(StackName=self.stack, ChangeSetName=name)
            if cs["Status"] == "CREATE_COMPLETE":
                return True
            if cs["Status"] == "FAILED":
                reason = cs.get("StatusReason", "")
                if "didn't contain changes" in reason or "No updates" in reason:
                    self.cfn.delete_change_set(StackName=self.stack, ChangeSetName=name)
                    return False
                raise PackageError(f"change set {name} failed: {reason}")
            time.sleep(self.wait_delay)

    def _wait(self, waiter_name: str) -> None:
        try:
            self.cfn.get_waiter(waiter_name).wait(
                StackName=self.stack, WaiterConfig={"Delay": max(1, int(self.wait_delay)), "MaxAttempts": 360})
        except Exception as err:  # botocore WaiterError: show the failing resources
            failed = [f"{e['LogicalResourceId']} ({e['ResourceType']}): {e.get('ResourceStatusReason', '')}"
                      for e in self.cfn.describe_stack_events(StackName=self.stack)["StackEvents"][:50]
                      if e["ResourceStatus"].endswith("_FAILED")]
            raise PackageError(f"{self.stack}: {err}\n  " + "\n  ".join(failed)) from None

    def destroy(self, delete_data: bool = False) -> list[str]:
        """Delete the stack. Sources bucket, data tables and the pepper secret stay unless delete_data."""
        stack = self.describe()
        if stack is None:
            raise PackageError(f"stack {self.stack} does not exist in {self.region}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        renders = outputs.get("RendersBucketName")
        if renders:  # CloudFormation cannot delete a bucket that still holds objects
            self.empty_bucket(renders)
        body = self.cfn.get_template(StackName=self.stack)["TemplateBody"]
        body = body if isinstance(body, dict) else json.loads(body)
        kept_by_policy = {name for name, r in body.get("Resources", {}).items() if r.get("DeletionPolicy") == "Retain"}
        retained = [r for r in self.cfn.list_stack_resources(StackName=self.stack)["StackResourceSummaries"]
                    if r["LogicalResourceId"] in kept_by_policy]
        log(f"deleting {self.stack}")
        self.cfn.delete_stack(StackName=self.stack)
        self._wait("stack_delete_complete")
        kept = []
        for res in retained:
            if res["ResourceType"] not in ("AWS::S3::Bucket", "AWS::DynamoDB::Table"):
                continue
            what = f"{res['ResourceType']} {res['PhysicalResourceId']}"
            if delete_data:
                self.delete_retained(res)
                log(f"deleted {what}")
            else:
                kept.append(what)
        secret = next((p["ParameterValue"] for p in stack.get("Parameters", [])
                       if p["ParameterKey"] == "KeyPepperSecret"), None)
        if secret and delete_data:
            self.secrets.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
            log(f"scheduled the secret {secret} for deletion (7 days)")
        elif secret:
            kept.append(f"secret {secret}")
        return kept

    def delete_retained(self, res: dict) -> None:
        name = res["PhysicalResourceId"]
        if res["ResourceType"] == "AWS::S3::Bucket":
            self.empty_bucket(name)
            self.s3.delete_bucket(Bucket=name)
        else:
            self.session.client("dynamodb").delete_table(TableName=name)

    def empty_bucket(self, bucket: str) -> None:
        try:
            pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for page in pages:
                objects = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                           for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if objects:
                    self.s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        except self.s3.exceptions.NoSuchBucket:
            pass
