"""Administration commands that work without signup (e.g. with ALLOW_SIGNUP=false).

    python manage.py create-org acme --email admin@acme.example
"""
from __future__ import annotations

import json
import sys

import click

from chalicelib.bootstrap import services
from chalicelib.errors import RokkaError
from chalicelib.services.accounts import validate_org_name


@click.group()
def cli():
    """rokka clone administration (uses STORAGE / DATA_DIR like the server)."""


@cli.command("create-org")
@click.argument("organization")
@click.option("--email", required=True, help="Email of the organization's first admin user.")
def create_org(organization: str, email: str):
    """Create ORGANIZATION and an admin user; prints the user's API key once."""
    try:
        validate_org_name(organization)
        result = services().accounts.create_user(email, organization)
    except RokkaError as err:
        raise click.ClickException(err.message) from None
    click.echo(json.dumps({"organization": organization, **result}, indent=2))


@cli.command("purge")
def purge():
    """Purge images deleted more than 30 days ago (the deployed stack runs this daily)."""
    click.echo(f"purged {services().retention.purge()} image(s)")


if __name__ == "__main__":
    sys.exit(cli())
