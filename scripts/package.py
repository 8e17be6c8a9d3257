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

The steps live in scripts/rokka_build/ (stage.py: 1-3, merge.py: the merge template, checks.py: 4,
zipping.py: 5, lint.py: 6); this file runs them in order. scripts/deploy.py (`make deploy`) deploys
the result.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Re-exported: tests/infra and scripts/deploy.py use these through this module.
from rokka_build.checks import check_tables, check_template, load_table_schema  # noqa: E402,F401
from rokka_build.common import (ROOT, SOURCES_BUCKET_SENTINEL, TEMPLATE_NAME, ZIP_NAME,  # noqa: E402,F401
                                PackageError, default_cache_dir, log)
from rokka_build.lint import lint, sam_transform  # noqa: E402,F401
from rokka_build.merge import (inline_function_code, load_merge_template,  # noqa: E402,F401
                               prune_missing_functions, references)
from rokka_build.stage import run_chalice, stage_project, vendor_dir  # noqa: E402
from rokka_build.zipping import rewrite_zip  # noqa: E402


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

