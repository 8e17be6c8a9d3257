"""Steps 1-3 of the build: cp313 wheels into vendor/, a staging copy of the project, `chalice package`."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import (PIP_PLATFORM_ARGS, SCRIPTS, SOURCES_BUCKET_SENTINEL, VENDOR_LAYOUT_VERSION, PackageError,
                     log)


# --- 1. vendor -------------------------------------------------------------------------------------

def vendor_dir(requirements: Path, cache_dir: Path) -> Path:
    """cp313 manylinux wheels of `requirements` installed into a cached directory."""
    key = hashlib.sha256()
    key.update(requirements.read_bytes())
    key.update(json.dumps([PIP_PLATFORM_ARGS, VENDOR_LAYOUT_VERSION]).encode())
    target = cache_dir / f"vendor-{key.hexdigest()[:16]}"
    if (target / ".complete").exists():
        log(f"vendor: cached {target}")
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="vendor-", dir=cache_dir))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile", "--target", str(tmp), *PIP_PLATFORM_ARGS, "-r", str(requirements)]
    log("vendor: " + " ".join(cmd[3:]))
    try:
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    except subprocess.CalledProcessError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError("pip could not fetch cp313 manylinux wheels for requirements.txt "
                           "(a dependency without such a wheel cannot go into the Lambda zip)")
    shutil.rmtree(tmp / "bin", ignore_errors=True)  # console scripts: useless in Lambda
    (tmp / ".complete").write_text("ok\n")
    if target.exists():  # a concurrent build won the race
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(target)
    return target


# --- 2. staging ------------------------------------------------------------------------------------

def stage_project(project: Path, vendor: Path, stage: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")
    shutil.copy2(project / "app.py", stage / "app.py")
    shutil.copytree(project / "chalicelib", stage / "chalicelib", ignore=ignore)
    (stage / ".chalice").mkdir()
    shutil.copy2(project / ".chalice" / "config.json", stage / ".chalice" / "config.json")
    # Empty: Chalice must not resolve anything for the host interpreter; vendor/ has it all.
    (stage / "requirements.txt").write_text("")
    shutil.copytree(vendor, stage / "vendor", ignore=shutil.ignore_patterns(".complete", "__pycache__"))



# --- chalice package in a subprocess (own import of app.py; hooks) ---------------------------------

_RUNNER = r"""
import json, sys
sys.path.append(sys.argv[1])  # scripts/, for rokka_build
from rokka_build.merge import prune_missing_functions
report_path, stage, merge_path, out = sys.argv[2:6]
from chalice import package as cp
from chalice.utils import to_cfn_resource_name
# The hooks below rely on chalice 1.34's internals (pinned in requirements-dev.txt).
assert hasattr(cp.SAMTemplateGenerator, "_generate_s3bucketnotification"), "chalice internals changed"
assert hasattr(cp.TemplateDeepMerger, "merge"), "chalice internals changed"
report = {"s3_events": [], "pruned": []}

def record_s3(self, resource, template):
    report["s3_events"].append({
        "function": to_cfn_resource_name(resource.lambda_function.resource_name),
        "bucket": resource.bucket, "events": list(resource.events),
        "prefix": resource.prefix, "suffix": resource.suffix})
cp.SAMTemplateGenerator._generate_s3bucketnotification = record_s3

original_merge = cp.TemplateDeepMerger.merge
def merge(self, file_template, chalice_template):
    file_template, notes = prune_missing_functions(file_template, chalice_template["Resources"])
    report["pruned"].extend(notes)
    return original_merge(self, file_template, chalice_template)
cp.TemplateDeepMerger.merge = merge

from chalice.cli import main
sys.argv = ["chalice", "--project-dir", stage, "package", "--merge-template", merge_path, out]
try:
    rc = main()  # click exits by itself
finally:
    with open(report_path, "w") as f:
        json.dump(report, f)
sys.exit(rc or 0)
"""


def run_chalice(stage: Path, merge_path: Path, out: Path, work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        # chalice package makes no AWS calls, but botocore wants a region; keep real
        # credentials and config out of the build.
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "packaging",
        "AWS_SECRET_ACCESS_KEY": "packaging", "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PYTHONDONTWRITEBYTECODE": "1",  # no host (3.11) .pyc in the staged sources
        "SOURCES_BUCKET": SOURCES_BUCKET_SENTINEL,
        "ROKKA_PACKAGER": "1",  # app.py refuses a bare `chalice package` / `chalice deploy`
    })
    env.pop("PYTHONPATH", None)
    report_path = work / "chalice-report.json"
    cmd = [sys.executable, "-c", _RUNNER, str(SCRIPTS), str(report_path),
           str(stage), str(merge_path), str(out)]
    proc = subprocess.run(cmd, cwd=stage, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not report_path.exists():
        raise PackageError(f"chalice package failed (rc={proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(report_path.read_text())

