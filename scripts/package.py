#!/usr/bin/env python3
"""Build the deployable artefacts: ONE CloudFormation (SAM) template and the Lambda zip.

    .venv/bin/python scripts/package.py [--out dist]      # what `make package` runs

writes `dist/sam.json` and `dist/deployment.zip` (see docs/deploy.md for deploying them).

Runs on a machine with only Python 3.11, node and make; no AWS account or credentials:

1. vendor/: the Lambda's dependencies (requirements.txt) as manylinux wheels for CPython 3.13,
   fetched with `pip install --only-binary=:all: --platform ... --python-version 3.13`. Chalice
   itself would resolve them for the *host* interpreter and silently build Pillow from source
   against the host's libraries when no wheel fits (see reference/chalice-aws-notes.md §5).
   Cached per requirements.txt content under --cache-dir.
2. A staging copy of the project (app.py, chalicelib/, .chalice/config.json, an empty
   requirements.txt and vendor/), so Chalice packages exactly the vendored wheels.
3. infra/merge.yaml, with the CloudFront Function's code inlined from
   infra/cloudfront/viewer-request.js ('__RENDER_DOMAIN__' becomes ${RenderDomain}, a template
   parameter, through Fn::Sub), handed to `chalice package --merge-template`. Chalice runs in a
   subprocess with three small hooks (pinned chalice==1.34.0):
   - @app.on_s3_event handlers: chalice package refuses them ("CloudFormation does not support
     modifying the event notifications of existing buckets"); the hook records them instead,
     and merge.yaml wires the notification on SourceBucket itself. This script checks that
     every recorded handler is wired there, with the same events and key filter.
   - merge.yaml may override functions the app does not define (yet); those overrides, and
     everything that only refers to them, are left out (and listed).
4. Checks: every function runs python3.13; no leftover override without a Type; the DynamoDB
   tables are exactly chalicelib/storage/aws_schema.py's TABLES and AppPolicy covers them.
5. The zip's Python files are precompiled for CPython 3.13 (unchecked-hash .pyc, so the
   read-only /var/task never needs writing and imports skip compiling). A fresh machine has
   no 3.13 interpreter, so this uses Pyodide (CPython 3.13 compiled to WebAssembly, from npm,
   pinned in scripts/package.json) under node; .pyc files depend only on the CPython minor
   version (magic number), not on the platform. The zip is then rewritten deterministically.
6. cfn-lint over the template, and over its SAM transform (aws-sam-translator, offline): the
   plain CloudFormation that `aws cloudformation deploy` will create. Errors fail the build.
   Both tools are pinned in requirements-package.txt.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent

LAMBDA_RUNTIME = "python3.13"
LAMBDA_PYTHON = "3.13"
# Lambda python3.13 runs on Amazon Linux 2023 (glibc 2.34); Pillow 13 ships manylinux_2_28 wheels.
PIP_PLATFORM_ARGS = ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
                     "--platform", "manylinux2014_x86_64", "--python-version", LAMBDA_PYTHON,
                     "--implementation", "cp"]
VENDOR_LAYOUT_VERSION = "1"  # bump when the vendor step changes, to invalidate caches
TEMPLATE_NAME = "sam.json"
ZIP_NAME = "deployment.zip"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# What the sentinel on_s3_event bucket is called while packaging (see _RUNNER).
SOURCES_BUCKET_SENTINEL = "package-sentinel-sources-bucket"
SOURCES_BUCKET_RESOURCE = "SourceBucket"


class PackageError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[package] {msg}", file=sys.stderr, flush=True)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rokka-clone-package"


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


# --- 3. merge template -----------------------------------------------------------------------------

def load_merge_template(path: Path) -> dict:
    """infra/merge.yaml as Chalice reads it (short-form tags become Fn::* dicts)."""
    from chalice.package import YAMLTemplateSerializer
    return YAMLTemplateSerializer().load_template(path.read_text(), str(path))


def inline_function_code(template: dict, base_dir: Path) -> None:
    """Fill FunctionCode of resources whose Metadata.Package names a file to inline."""
    params = template.get("Parameters", {})
    for name, res in template.get("Resources", {}).items():
        spec = (res.get("Metadata") or {}).get("Package")
        if not spec:
            continue
        source = base_dir / spec["InlineCode"]
        if not source.is_file():
            raise PackageError(f"{name}: {source} is missing")
        code = source.read_text()
        code = code.replace("${", "${!")  # Fn::Sub writes "${!x}" as a literal "${x}"
        for placeholder, param in (spec.get("Substitute") or {}).items():
            if placeholder not in code:
                raise PackageError(f"{name}: placeholder {placeholder!r} not found in {source}")
            if param not in params:
                raise PackageError(f"{name}: substitution parameter {param!r} is not a template parameter")
            code = code.replace(placeholder, "${%s}" % param)
        if len(code.encode()) > 10240:
            raise PackageError(f"{name}: {source} is over CloudFront Functions' 10 KB code limit")
        res.setdefault("Properties", {})["FunctionCode"] = {"Fn::Sub": code}
        del res["Metadata"]["Package"]
        if not res["Metadata"]:
            del res["Metadata"]


_DROP = object()
_EMPTY = object()
_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}")


def _is_intrinsic(node) -> bool:
    if not isinstance(node, dict) or len(node) != 1:
        return False
    key = next(iter(node))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def references(node) -> set[str]:
    """Logical ids an (intrinsic-bearing) template fragment refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value.split(".", 1)[0] if isinstance(value, str) else value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                local = set() if isinstance(value, str) else set(value[1])
                found.update(v for v in _SUB_VAR.findall(text) if v not in local)
                if not isinstance(value, str):
                    found.update(references(value[1]))
            else:
                found.update(references(value))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item))
    return found


def _prune(node, dropped: set[str]):
    """Remove what refers to `dropped`: the nearest enclosing list item, else the whole node."""
    if isinstance(node, dict):
        if _is_intrinsic(node):
            return _DROP if references(node) & dropped else node
        out = {}
        for key, value in node.items():
            result = _prune(value, dropped)
            if result is _DROP:
                return _DROP
            if result is not _EMPTY:
                out[key] = result
        return out if out or not node else _EMPTY
    if isinstance(node, list):
        out = [r for r in (_prune(item, dropped) for item in node) if r is not _DROP and r is not _EMPTY]
        return out if out or not node else _EMPTY
    return node


def _prune_resource(res: dict, dropped: set[str]):
    res = dict(res)
    depends = res.get("DependsOn")
    if depends is not None:
        depends = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in dropped]
        if depends:
            res["DependsOn"] = depends if len(depends) > 1 else depends[0]
        else:
            del res["DependsOn"]
    return _prune(res, dropped)


def prune_missing_functions(merge: dict, base_resources: dict) -> tuple[dict, list[str]]:
    """Leave out merge-template overrides of resources Chalice did not generate, and whatever
    only makes sense with them. Returns the pruned template and what was left out."""
    resources = merge.get("Resources", {})
    missing = {name for name, res in resources.items() if "Type" not in res and name not in base_resources}
    dropped = set(missing)
    while True:  # dropping a resource can make others refer to nothing
        newly = {name for name, res in resources.items()
                 if name not in dropped and _prune_resource(res, dropped) is _DROP}
        if not newly:
            break
        dropped |= newly
    notes = [f"{name} (override of a function the app does not define)" for name in sorted(missing)]
    notes += [f"{name} (refers to {', '.join(sorted(references(resources[name]) & dropped))})"
              for name in sorted(dropped - missing)]
    kept = {}
    for name, res in resources.items():
        if name in dropped:
            continue
        kept[name] = _prune_resource(res, dropped)
        if kept[name] != res:
            notes.append(f"{name}: the parts referring to {', '.join(sorted(references(res) & dropped))}")
    out = dict(merge)
    out["Resources"] = kept
    if "Outputs" in merge:
        out["Outputs"] = {}
        for name, value in merge["Outputs"].items():
            if references(value) & dropped:
                notes.append(f"output {name}")
            else:
                out["Outputs"][name] = value
    return out, notes


# --- chalice package in a subprocess (own import of app.py; hooks) ---------------------------------

_RUNNER = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("rokka_package", sys.argv[1])
pkg = importlib.util.module_from_spec(spec); spec.loader.exec_module(pkg)
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
    file_template, notes = pkg.prune_missing_functions(file_template, chalice_template["Resources"])
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
    })
    env.pop("PYTHONPATH", None)
    report_path = work / "chalice-report.json"
    cmd = [sys.executable, "-c", _RUNNER, str(Path(__file__).resolve()), str(report_path),
           str(stage), str(merge_path), str(out)]
    proc = subprocess.run(cmd, cwd=stage, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not report_path.exists():
        raise PackageError(f"chalice package failed (rc={proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(report_path.read_text())


# --- 4. checks on the template ---------------------------------------------------------------------

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


# --- 5. precompile for CPython 3.13 and rewrite the zip ---------------------------------------------

_COMPILER = r"""
const { loadPyodide } = require("pyodide");
(async () => {
  const py = await loadPyodide();
  py.FS.mkdirTree("/var/task");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: process.argv[1] }, "/var/task");
  const out = py.runPython(`
import importlib.util, json, os, py_compile, sys
done, failed = 0, []
for base, dirs, files in os.walk("/var/task"):
    dirs.sort()
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        path = os.path.join(base, name)
        try:
            py_compile.compile(path, cfile=importlib.util.cache_from_source(path), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            done += 1
        except py_compile.PyCompileError as err:
            failed.append(f"{path}: {err.msg.strip().splitlines()[-1]}")
json.dumps({"version": sys.version.split()[0], "cache_tag": sys.implementation.cache_tag,
            "magic": importlib.util.MAGIC_NUMBER.hex(), "compiled": done, "failed": failed})
`);
  process.stdout.write("\n@@RESULT@@" + out + "\n");
})().catch((err) => { console.error(err); process.exit(1); });
"""


def ensure_pyodide() -> None:
    """npm-install scripts/package.json's pinned Pyodide unless it is there already."""
    wanted = json.loads((SCRIPTS / "package.json").read_text())["dependencies"]["pyodide"]
    installed = SCRIPTS / "node_modules" / "pyodide" / "package.json"
    if installed.exists() and json.loads(installed.read_text()).get("version") == wanted:
        return
    npm = shutil.which("npm")
    if not npm or not shutil.which("node"):
        raise PackageError("node and npm are needed to precompile the zip for Python 3.13 "
                           "(or pass --no-precompile)")
    log(f"npm ci in {SCRIPTS} (pyodide {wanted})")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SCRIPTS, check=True,
                   stdout=sys.stderr)


def precompile(tree: Path) -> dict:
    ensure_pyodide()
    proc = subprocess.run(["node", "-e", _COMPILER, str(tree)], cwd=SCRIPTS, capture_output=True, text=True)
    marker = proc.stdout.rfind("@@RESULT@@")
    if proc.returncode != 0 or marker < 0:
        raise PackageError(f"precompiling with Pyodide failed:\n{proc.stdout}{proc.stderr}")
    result = json.loads(proc.stdout[marker + len("@@RESULT@@"):])
    if not result["version"].startswith(LAMBDA_PYTHON + ".") or result["cache_tag"] != "cpython-313":
        raise PackageError(f"Pyodide runs Python {result['version']}, not {LAMBDA_PYTHON}")
    if result["failed"]:
        raise PackageError("these files do not compile under Python 3.13:\n  " + "\n  ".join(result["failed"]))
    return result


def rewrite_zip(src: Path, dest: Path, compile_for_313: bool) -> dict:
    """Unpack Chalice's zip, optionally add cpython-313 .pyc, write it back deterministically."""
    with tempfile.TemporaryDirectory(prefix="zip-") as tmp:
        tree = Path(tmp) / "task"
        modes: dict[str, int] = {}
        with zipfile.ZipFile(src) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = info.filename
                if name.endswith((".pyc", ".pyo")):  # host bytecode would be dead weight
                    continue
                modes[name] = (info.external_attr >> 16) & 0o777 or 0o644
                zf.extract(info, tree)
        result = precompile(tree) if compile_for_313 else {"compiled": 0}
        files = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())
        tmp_zip = dest.with_suffix(".tmp")
        with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name in files:
                info = zipfile.ZipInfo(name, ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                mode = modes.get(name, 0o644)
                info.external_attr = (0o100000 | (mode | 0o444) & 0o755) << 16
                info.create_system = 3
                zf.writestr(info, (tree / name).read_bytes(), compresslevel=9)
        tmp_zip.replace(dest)
    result["files"] = len(files)
    return result


# --- 6. lint ---------------------------------------------------------------------------------------

_SAM_TRANSFORM = r"""
import json, sys
from samtranslator.translator.transform import transform

class NoManagedPolicies:  # the template names no managed policies; never ask IAM
    def load(self):
        return {}

template = json.load(open(sys.argv[1]))
for res in template["Resources"].values():  # what `aws cloudformation package` does to CodeUri
    if res["Type"] == "AWS::Serverless::Function":
        res["Properties"]["CodeUri"] = "s3://artifacts-bucket/deployment.zip"
json.dump(transform(template, {}, NoManagedPolicies()), open(sys.argv[2], "w"), indent=1)
"""


def sam_transform(template_path: Path, dest: Path) -> None:
    """Expand the SAM template into plain CloudFormation, offline, as CloudFormation will on deploy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    proc = subprocess.run([sys.executable, "-c", _SAM_TRANSFORM, str(template_path), str(dest)],
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


# --- main ------------------------------------------------------------------------------------------

def build(project: Path, out: Path, cache_dir: Path, precompile_zip: bool = True, run_lint: bool = True) -> dict:
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.monotonic()
        timings[name] = round(now - since, 2)
        return now

    t = time.monotonic()
    vendor = vendor_dir(project / "requirements.txt", cache_dir)
    t = lap("vendor", t)
    with tempfile.TemporaryDirectory(prefix="rokka-package-") as tmp:
        work = Path(tmp)
        stage = work / "stage"
        stage.mkdir()
        stage_project(project, vendor, stage)
        merge = load_merge_template(project / "infra" / "merge.yaml")
        inline_function_code(merge, project / "infra")
        merge_path = work / "merge.json"
        merge_path.write_text(json.dumps(merge, indent=2))
        t = lap("stage", t)
        chalice_out = work / "out"
        report = run_chalice(stage, merge_path, chalice_out, work)
        t = lap("chalice package", t)
        for note in report["pruned"]:
            log(f"left out of the template: {note}")
        template = json.loads((chalice_out / TEMPLATE_NAME).read_text())
        check_template(template, report["s3_events"])
        check_tables(template, load_table_schema(project))
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("sam.yaml", "sam.json", "chalice.tf.json", ZIP_NAME):
            (out / stale).unlink(missing_ok=True)
        zip_result = rewrite_zip(chalice_out / ZIP_NAME, out / ZIP_NAME, precompile_zip)
        t = lap("precompile + zip" if precompile_zip else "zip", t)
        shutil.copy2(chalice_out / TEMPLATE_NAME, out / TEMPLATE_NAME)
    if run_lint:
        with tempfile.TemporaryDirectory(prefix="rokka-lint-") as tmp:
            lint(out / TEMPLATE_NAME, Path(tmp))
        t = lap("SAM transform + cfn-lint", t)
    timings["total"] = round(time.monotonic() - started, 2)
    summary = {"template": str(out / TEMPLATE_NAME), "zip": str(out / ZIP_NAME),
               "zip_bytes": (out / ZIP_NAME).stat().st_size, "zip_files": zip_result["files"],
               "pyc_compiled": zip_result["compiled"], "python": zip_result.get("version"),
               "s3_events": report["s3_events"], "left_out": report["pruned"], "timings": timings}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output directory (default: dist/)")
    parser.add_argument("--project-dir", default=str(ROOT), help="project to package (default: this one)")
    parser.add_argument("--cache-dir", default=os.environ.get("PACKAGE_CACHE_DIR") or str(default_cache_dir()),
                        help="where vendored wheels are cached (env PACKAGE_CACHE_DIR)")
    parser.add_argument("--no-precompile", action="store_true", help="leave the zip without .pyc files")
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    args = parser.parse_args(argv)
    try:
        summary = build(Path(args.project_dir).resolve(), Path(args.out).resolve(), Path(args.cache_dir),
                        precompile_zip=not args.no_precompile, run_lint=not args.no_lint)
    except PackageError as err:
        log(f"error: {err}")
        return 1
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        log(f"wrote {summary['template']} and {summary['zip']} ({summary['zip_bytes'] / 1e6:.1f} MB, "
            f"{summary['zip_files']} files, {summary['pyc_compiled']} .pyc for Python {summary['python']})")
        log("timings (s): " + ", ".join(f"{k} {v}" for k, v in summary["timings"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
