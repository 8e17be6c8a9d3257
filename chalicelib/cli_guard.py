"""`chalice deploy` (and a bare `chalice package`) would make a stack without the buckets, tables,
CloudFront and secrets the app needs: refuse them, before Chalice creates anything, and name the
command that works.

Chalice sets AWS_CHALICE_CLI_MODE=true for every CLI command (documented for exactly this: telling
app.py it is imported by the CLI, not by Lambda) and imports app.py inside the click command, before
its deployer makes any AWS call. The click context then names the command. scripts/package.py runs
`chalice package` itself with ROKKA_PACKAGER=1. `chalice local` and imports outside the CLI (Lambda,
tests, localserver.py) are untouched; click is only imported under the CLI.
"""
from __future__ import annotations

import os

REFUSED = {
    "deploy": ("`chalice deploy` cannot deploy this app: it needs S3 buckets, DynamoDB tables, CloudFront "
               "and a Secrets Manager secret that Chalice's deployer does not create. Nothing was created. "
               "Deploy with `make deploy STAGE=<stage>` (see docs/deploy.md)."),
    "package": ("a bare `chalice package` gives an incomplete template and a zip with Pillow built for this "
                "machine. Run `make package` (or `make deploy STAGE=<stage>` to deploy; see docs/deploy.md)."),
    "delete": ("this app is not deployed by `chalice deploy`; remove a stage with `make destroy STAGE=<stage>` "
               "(see docs/deploy.md)."),
}


def refuse_unsupported_chalice_commands() -> None:
    if os.environ.get("AWS_CHALICE_CLI_MODE") != "true" or os.environ.get("ROKKA_PACKAGER") == "1":
        return
    import click  # a Chalice CLI dependency; never imported on Lambda

    ctx = click.get_current_context(silent=True)
    command = ctx.info_name if ctx is not None else None
    if command in REFUSED:
        raise click.ClickException(REFUSED[command])
