"""`rokka`: the command line on the SDK (click + rich). See README "Command line"."""
from __future__ import annotations

import difflib
import json
import os
import sys
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                           TransferSpeedColumn)
from rich.table import Table

from rokka_client import bulk
from rokka_client.client import Client
from rokka_client.errors import RokkaApiError, RokkaError

console = Console()


def config_path() -> Path:
    return Path(os.environ.get("ROKKA_CONFIG") or Path.home() / ".config" / "rokka" / "config.json")


def load_config() -> dict:
    try:
        return json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}


class Ctx:
    def __init__(self, org: str | None):
        cfg = load_config()
        self.host = os.environ.get("ROKKA_API_URL") or cfg.get("host")
        self.key = os.environ.get("ROKKA_API_KEY") or cfg.get("api_key")
        self.org = org or os.environ.get("ROKKA_ORG") or cfg.get("org")
        self.render_base = cfg.get("render_base")
        if not (self.host and self.key and self.org):
            raise click.UsageError("not logged in: run `rokka login` first (or set ROKKA_API_URL/KEY/ORG)")

    def client(self) -> Client:
        return Client(self.host, self.key, self.org, render_base=self.render_base)


def emit(data) -> None:
    console.print_json(json.dumps(data))


class Group(click.Group):
    """Prints API errors as one line (status and rokka's message) and exits 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RokkaApiError as err:
            console.print(f"[red]error {err.status}[/]: {err.message}")
            ctx.exit(2)
        except RokkaError as err:
            console.print(f"[red]error[/]: {err}")
            ctx.exit(2)


@click.group(cls=Group)
@click.option("--org", help="Organization (default: the one from `rokka login`).")
@click.pass_context
def main(ctx, org):
    """Command line for a rokka-compatible image service."""
    ctx.obj = org


def context(ctx) -> Ctx:
    return Ctx(ctx.obj)


@main.command()
@click.option("--host", required=True, help="API base URL, e.g. http://127.0.0.1:8000")
@click.option("--key", "api_key", required=True, prompt=True, hide_input=True, help="API key")
@click.option("--org", "org", required=True, help="Default organization")
@click.option("--render-base", default=None, help='Render URL base, "{org}" is replaced (default HOST/render/{org})')
def login(host, api_key, org, render_base):
    """Checks the key and stores host, key and organization in the config file."""
    client = Client(host, api_key, org, render_base=render_base)
    client.get_organization()
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps({"host": host, "api_key": api_key, "org": org, "render_base": render_base}, indent=2))
    console.print(f"Logged in to [bold]{host}[/] as organization [bold]{org}[/] (config: {path})")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--jobs", "-j", default=4, show_default=True, help="Parallel uploads")
@click.option("--meta", multiple=True, help="User metadata for every image, key=value")
@click.pass_context
def upload(ctx, paths, jobs, meta):
    """Uploads files and directories; files whose binary hash is already there are skipped."""
    c = context(ctx)
    files = bulk.collect(list(paths))
    meta_user = dict(m.split("=", 1) for m in meta) or None
    total = sum(f.stat().st_size for f in files)
    columns = [TextColumn("[bold]Uploading"), BarColumn(), TextColumn("{task.completed:,.0f} B"), DownloadColumn(),
               TransferSpeedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("{task.fields[done]}/{task.fields[count]} files")]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("upload", total=total, done=0, count=len(files))

        def advance(outcome: bulk.Outcome) -> None:
            progress.update(task, advance=outcome.size, done=progress.tasks[0].fields["done"] + 1)
            if outcome.status == "failed":
                progress.console.print(f"[red]failed[/] {outcome.path}: {outcome.error}")

        summary = bulk.upload_all(c.client, files, jobs, advance, meta_user)
    table = Table(title="Upload summary")
    for col in ("", "files", "bytes"):
        table.add_column(col, justify="right" if col else "left")
    for status in ("uploaded", "skipped", "failed"):
        table.add_row(status, str(summary.count(status)), f"{summary.bytes(status):,}")
    console.print(table)
    if summary.count("failed"):
        sys.exit(1)


@main.group()
def images():
    """List, search, get, delete and restore source images."""


def _filters(pairs) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair}: filters are field=value")
        k, v = pair.split("=", 1)
        out[k] = v
    return out


def _image_table(items) -> Table:
    table = Table()
    for col in ("hash", "name", "format", "size", "width×height", "created"):
        table.add_column(col)
    for i in items:
        table.add_row(i.get("short_hash") or i["hash"][:6], str(i.get("name", "")), str(i.get("format", "")),
                      f"{i.get('size', 0):,}", f"{i.get('width')}×{i.get('height')}", str(i.get("created", "")))
    return table


@images.command("list")
@click.option("--limit", default=20, show_default=True)
@click.option("--offset", default=None, help="Offset or cursor")
@click.option("--sort", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def images_list(ctx, limit, offset, sort, as_json):
    """One page of images (newest first)."""
    params = {"limit": limit, **({"offset": offset} if offset else {}), **({"sort": sort} if sort else {})}
    page = context(ctx.parent).client().list_images(params)
    if as_json:
        return emit(page)
    console.print(_image_table(page.get("items") or []))
    console.print(f"{page.get('total', 0)} image(s)" + (f", next cursor {page['cursor']}" if page.get("cursor") else ""))


@images.command("search")
@click.argument("filters", nargs=-1)
@click.option("--sort", default=None)
@click.option("--max", "max_items", default=0, help="Stop after this many (0: all)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def images_search(ctx, filters, sort, max_items, as_json):
    """Every image matching FILTERS (field=value, e.g. user:str:album=x name=plan*), all pages."""
    params = {**_filters(filters), **({"sort": sort} if sort else {})}
    items = []
    for item in context(ctx.parent).client().search(params):
        items.append(item)
        if max_items and len(items) >= max_items:
            break
    if as_json:
        return emit(items)
    console.print(_image_table(items))
    console.print(f"{len(items)} image(s)")


@images.command("get")
@click.argument("hash")
@click.option("--deleted", is_flag=True)
@click.pass_context
def images_get(ctx, hash, deleted):
    """One image as JSON."""
    emit(context(ctx.parent).client().get_image(hash, deleted=deleted))


@images.command("delete")
@click.argument("hashes", nargs=-1, required=True)
@click.pass_context
def images_delete(ctx, hashes):
    client = context(ctx.parent).client()
    for h in hashes:
        client.delete_image(h)
        console.print(f"deleted {h}")


@images.command("restore")
@click.argument("hashes", nargs=-1, required=True)
@click.pass_context
def images_restore(ctx, hashes):
    client = context(ctx.parent).client()
    for h in hashes:
        client.restore_image(h)
        console.print(f"restored {h}")


@main.group()
def stacks():
    """Stacks, declaratively from YAML."""


def _normalised(stack: dict, prefix: str = "") -> dict:
    """operations/options/expressions of a YAML entry (prefix "") or of the API's stack ("stack_")."""
    return {"operations": [{"name": op["name"], "options": op.get("options") or {}}
                           for op in stack.get(prefix + "operations") or []],
            "options": stack.get(prefix + "options") or {}, "expressions": stack.get(prefix + "expressions") or []}


@stacks.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Apply without asking")
@click.pass_context
def stacks_apply(ctx, file, yes):
    """Creates or updates the stacks in FILE (`stacks: {name: {operations, options}}`); shows a diff first."""
    spec = yaml.safe_load(Path(file).read_text()) or {}
    wanted = spec.get("stacks") if isinstance(spec, dict) else None
    if not isinstance(wanted, dict):
        raise click.UsageError(f"{file}: expected a mapping `stacks: {{name: {{operations: [...]}}}}`")
    client = context(ctx.parent).client()
    changes = []
    for name, body in wanted.items():
        desired = _normalised(body or {})
        try:
            current = _normalised(client.get_stack(name), "stack_")
        except RokkaApiError as err:
            if err.status != 404:
                raise
            current = None
        if current == desired:
            console.print(f"[dim]= {name} (unchanged)[/]")
            continue
        before = yaml.safe_dump(current, sort_keys=True).splitlines() if current else []
        after = yaml.safe_dump(desired, sort_keys=True).splitlines()
        console.print(f"[bold]{'~ update' if current else '+ create'} {name}[/]")
        for line in difflib.unified_diff(before, after, f"{name} (server)", f"{name} ({file})", lineterm=""):
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(line, style=style, markup=False, highlight=False)
        changes.append((name, desired))
    if not changes:
        console.print("Nothing to change.")
        return
    if not yes and not click.confirm(f"Apply {len(changes)} change(s)?", default=False):
        raise click.Abort()
    for name, desired in changes:
        client.create_stack(name, desired["operations"], desired["options"], desired["expressions"], overwrite=True)
        console.print(f"applied {name}")


@stacks.command("list")
@click.pass_context
def stacks_list(ctx):
    for stack in context(ctx.parent).client().list_stacks():
        ops = " → ".join(op["name"] for op in stack.get("stack_operations") or [])
        console.print(f"[bold]{stack['name']}[/]: {ops}")


@main.command()
@click.argument("hash")
@click.option("--stack", default=None, help="A stack name (default: a dynamic stack from --op)")
@click.option("--op", "ops", multiple=True, help="Dynamic operation, e.g. resize:width=200,height=100")
@click.option("--format", "fmt", default="jpg", show_default=True)
@click.option("--filename", default=None, help="SEO file name")
@click.option("--sign-key", default=None, help="Sign with this signing key")
@click.option("--sign", "remote_sign", is_flag=True, help="Let the server sign it")
@click.pass_context
def render(ctx, hash, stack, ops, fmt, filename, sign_key, remote_sign):
    """Builds (and optionally signs) a render URL."""
    client = context(ctx).client()
    operations = []
    for op in ops:
        name, _, opts = op.partition(":")
        operations.append({"name": name, "options": dict(kv.split("=", 1) for kv in opts.split(",") if kv)})
    target = stack or operations or [{"name": "noop"}]
    url = client.render_url(target, hash, fmt, filename=filename, signing_key=sign_key)
    if remote_sign:
        url = client.sign_url_remote(url)
    click.echo(url)


@main.command()
@click.option("--from", "from_date", default=None, help="YYYY-MM-DD")
@click.option("--to", "to_date", default=None, help="YYYY-MM-DD")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx, from_date, to_date, as_json):
    """Daily space, file and download counters."""
    data = context(ctx).client().stats(from_date, to_date)
    if as_json:
        return emit(data)
    table = Table(title="Statistics")
    table.add_column("day")
    series = [k for k in data if isinstance(data[k], list)]
    for k in series:
        table.add_column(k, justify="right")
    days = sorted({p["timestamp"][:10] for k in series for p in data[k]}, reverse=True)
    for day in days:
        row = [day]
        for k in series:
            row.append(next((f"{p['value']:,}" for p in data[k] if p["timestamp"][:10] == day), ""))
        table.add_row(*row)
    console.print(table)


def run() -> None:
    main()
