#!/usr/bin/env python3
"""Deploy the packaged app to AWS, print its outputs, or remove it (what `make deploy` / `make destroy` run).

    .venv/bin/python scripts/deploy.py deploy  --stage prod [--region eu-central-1] [--param RenderDomain=...]
    .venv/bin/python scripts/deploy.py outputs --stage prod
    .venv/bin/python scripts/deploy.py destroy --stage prod [--delete-data]

`deploy` builds dist/ first (scripts/package.py) unless --no-build. The stack is `rokka-clone-<stage>`
(--stack-name to change it). See scripts/rokka_build/aws_deploy.py for the steps and docs/deploy.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rokka_build.aws_deploy import Deployer, stack_name  # noqa: E402
from rokka_build.common import ROOT, PackageError, default_cache_dir, log  # noqa: E402


def parse_params(items: list[str]) -> dict:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PackageError(f"--param {item!r}: expected Name=value")
        params[key] = value
    return params


def summary(outputs: dict) -> list[str]:
    """What `make deploy` prints: the API URL and the render host first, then every output."""
    lines = [f"API:    {outputs.get('EndpointURL', '?')}",
             f"render: {outputs.get('RenderHost', '?')}/{{stack}}/{{hash}}.{{format}}"]
    return lines + [f"  {key} = {outputs[key]}" for key in sorted(outputs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["deploy", "outputs", "destroy"])
    parser.add_argument("--stage", default=os.environ.get("STAGE") or "dev")
    parser.add_argument("--stack-name", help="default: rokka-clone-<stage>")
    parser.add_argument("--region", help="default: AWS_REGION / the profile's region")
    parser.add_argument("--profile", help="default: AWS_PROFILE")
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="where the package is (default: dist/)")
    parser.add_argument("--no-build", action="store_true", help="deploy dist/ as it is")
    parser.add_argument("--artifacts-bucket", help="default: rokka-clone-artifacts-<account>-<region>")
    parser.add_argument("--pepper-secret", help="an existing Secrets Manager secret {\"key_pepper\": ...}")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a template parameter (RenderDomain, RenderCertificateArn, AllowSignup, ...)")
    parser.add_argument("--delete-data", action="store_true",
                        help="destroy: also delete the sources bucket, the data tables and the pepper secret")
    parser.add_argument("--wait-delay", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the outputs as JSON")
    args = parser.parse_args(argv)
    import boto3

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        deployer = Deployer(session, args.stack_name or stack_name(args.stage), wait_delay=args.wait_delay)
        params = parse_params(args.param)
        if args.command == "destroy":
            kept = deployer.destroy(delete_data=args.delete_data)
            for what in kept:
                log(f"kept {what} (make destroy DELETE_DATA=1 deletes it)")
            return 0
        if args.command == "deploy":
            if not args.no_build:
                import package  # scripts/package.py
                package.build(ROOT, Path(args.dist).resolve(), Path(os.environ.get("PACKAGE_CACHE_DIR")
                                                                    or default_cache_dir()))
            outputs = deployer.deploy(Path(args.dist), params, args.artifacts_bucket, args.pepper_secret)
        else:
            outputs = deployer.outputs()
    except PackageError as err:
        log(f"error: {err}")
        return 1
    if args.json:
        print(json.dumps(outputs, indent=2, sort_keys=True))
    else:
        print("\n".join(summary(outputs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
