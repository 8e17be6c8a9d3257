"""Step 6: the offline SAM transform (aws-sam-translator) and cfn-lint over both templates."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from .common import PackageError, log


_SAM_TRANSFORM = r"""
import json, sys
from samtranslator.translator.transform import transform

class NoManagedPolicies:  # the template names no managed policies; never ask IAM
    def load(self):
        return {}

template = json.load(open(sys.argv[1]))
for res in template["Resources"].values():  # what `aws cloudformation package` does to CodeUri
    if res["Type"] == "AWS::Serverless::Function":
        res["Properties"]["CodeUri"] = sys.argv[3]
json.dump(transform(template, {}, NoManagedPolicies()), open(sys.argv[2], "w"), indent=1)
"""


PLACEHOLDER_CODE_URI = "s3://artifacts-bucket/deployment.zip"


def sam_transform(template_path: Path, dest: Path, code_uri: str = PLACEHOLDER_CODE_URI) -> None:
    """Expand the SAM template into plain CloudFormation, offline, as CloudFormation would on deploy.

    `code_uri` (s3://bucket/key of the uploaded zip) becomes every function's code location."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    proc = subprocess.run([sys.executable, "-c", _SAM_TRANSFORM, str(template_path), str(dest), code_uri],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackageError(f"the SAM transform rejects the template:\n{proc.stderr[-4000:]}")


def cfn_lint(*paths: Path) -> str:
    """cfn-lint's findings; raises on errors (exit code bit 2) or when it cannot run (bit 1)."""
    proc = subprocess.run([sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
                           *map(str, paths)], capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode & 0b11 or (proc.returncode and not output):
        names = ", ".join(p.name for p in paths)
        raise PackageError(f"cfn-lint found errors in {names} (rc={proc.returncode}):\n{output}")
    return output


def lint(template_path: Path, work: Path) -> None:
    """cfn-lint over the SAM template and over its offline SAM transform (plain CloudFormation)."""
    for module, what in (("cfnlint", "cfn-lint"), ("samtranslator", "aws-sam-translator")):
        if importlib.util.find_spec(module) is None:
            raise PackageError(f"{what} is not installed: pip install -r requirements-package.txt "
                               "(or pass --no-lint)")
    transformed = work / "transformed.json"
    sam_transform(template_path, transformed)
    output = cfn_lint(template_path, transformed)
    if output:
        log(f"cfn-lint (no errors):\n{output}")

