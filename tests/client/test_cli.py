"""The `rokka` command line (client/rokka_client/cli.py) against the real app on a local server."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from click.testing import CliRunner

from rokka_client import Client
from rokka_client.cli import main

BULK = 200


ENV = {"COLUMNS": "160", "TERM": "dumb", "ROKKA_API_URL": None, "ROKKA_API_KEY": None, "ROKKA_ORG": None}


def rokka(config: Path, *args, input: str | None = None, check: bool = True):
    """The CLI in this process (click's runner): fast, and the same code as the entry point."""
    result = CliRunner().invoke(main, list(args), input=input, env={**ENV, "ROKKA_CONFIG": str(config)})
    result.returncode = result.exit_code
    if check:
        assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def rokka_process(config: Path, *args) -> subprocess.CompletedProcess:
    """The installed `rokka` entry point in a process of its own."""
    env = {**os.environ, "ROKKA_CONFIG": str(config), "COLUMNS": "160", "TERM": "dumb"}
    for name in ("ROKKA_API_URL", "ROKKA_API_KEY", "ROKKA_ORG"):
        env.pop(name, None)
    exe = Path(sys.executable).with_name("rokka")
    proc = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def cli(account, tmp_path):
    base, org, key = account
    config = tmp_path / "config.json"
    out = rokka(config, "login", "--host", base, "--key", key, "--org", org).stdout
    assert "Logged in" in out and json.loads(config.read_text())["api_key"] == key
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    return config, Client(base, key, org)


def test_login_refuses_a_wrong_key(account, tmp_path):
    base, org, _ = account
    proc = rokka(tmp_path / "c.json", "login", "--host", base, "--key", "wrong", "--org", org, check=False)
    assert proc.returncode == 2 and "error 403" in proc.stdout and "credentials" in proc.stdout and not (tmp_path / "c.json").exists()


def write_images(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8), (i % 256, i // 256, 7)).save(buf, "PNG")
        (folder / f"img{i:03d}.png").write_bytes(buf.getvalue())
    (folder / "notes.txt").write_text("not an image")


def test_bulk_upload_shows_progress_and_resumes(cli, tmp_path):
    config, client = cli
    folder = tmp_path / "photos"
    write_images(folder, BULK)
    out = rokka_process(config, "upload", str(folder), "--jobs", "8").stdout
    assert "Uploading" in out and "━" in out and f"{BULK}/{BULK} files" in out and "ETA" in out
    assert "kB" in out or " B" in out
    assert _row(out, "uploaded") == str(BULK) and _row(out, "skipped") == "0"
    assert client.list_images({"limit": 0})["total"] == BULK
    again = rokka(config, "upload", str(folder)).stdout
    assert _row(again, "uploaded") == "0" and _row(again, "skipped") == str(BULK)
    assert client.list_images({"limit": 0})["total"] == BULK


def _row(out: str, label: str) -> str:
    """The files column of a summary table row."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
        if cells and cells[0] == label:
            return cells[1]
    raise AssertionError(f"no {label} row in:\n{out}")


def test_images_commands(cli, tmp_path):
    config, client = cli
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(buf, "PNG")
    img = client.upload_bytes(buf.getvalue(), "blue.png", meta_user={"album": "sea"})
    client.upload_bytes(_other(), "green.png")
    listed = json.loads(rokka(config, "images", "list", "--json").stdout)
    assert listed["total"] == 2
    found = json.loads(rokka(config, "images", "search", "user:str:album=sea", "--json").stdout)
    assert [i["hash"] for i in found] == [img["hash"]]
    assert json.loads(rokka(config, "images", "get", img["short_hash"]).stdout)["name"] == "blue.png"
    assert "deleted" in rokka(config, "images", "delete", img["hash"]).stdout
    assert client.list_images({"limit": 0})["total"] == 1
    rokka(config, "images", "restore", img["hash"])
    assert client.list_images({"limit": 0})["total"] == 2
    table = rokka(config, "images", "list").stdout
    assert img["short_hash"] in table and "2 image(s)" in table
    missing = rokka(config, "images", "get", "0" * 40, check=False)
    assert missing.returncode == 2 and "error 404" in missing.stdout


def _other() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), "green").save(buf, "PNG")
    return buf.getvalue()


def test_stacks_apply_shows_a_diff_then_applies(cli, tmp_path):
    config, client = cli
    spec = tmp_path / "stacks.yaml"
    spec.write_text("stacks:\n  thumb:\n    operations:\n      - name: resize\n        options: {width: 100}\n"
                    "    options: {jpg.quality: 80}\n")
    refused = rokka(config, "stacks", "apply", str(spec), input="n\n", check=False)
    assert "+ create thumb" in refused.stdout and "+  - name: resize" not in refused.stdout
    assert "width: 100" in refused.stdout and refused.returncode != 0
    assert client.list_stacks() == []
    rokka(config, "stacks", "apply", str(spec), "--yes")
    assert client.get_stack("thumb")["stack_operations"] == [{"name": "resize", "options": {"width": 100}}]
    assert "unchanged" in rokka(config, "stacks", "apply", str(spec), "--yes").stdout
    spec.write_text(spec.read_text().replace("100", "200"))
    out = rokka(config, "stacks", "apply", str(spec), "--yes").stdout
    assert "~ update thumb" in out and "-    width: 100" in out and "+    width: 200" in out
    assert client.get_stack("thumb")["stack_operations"][0]["options"]["width"] == 200
    bad = tmp_path / "bad.yaml"
    bad.write_text("stacks:\n  broken:\n    operations: [{name: resize, options: {width: wide}}]\n")
    proc = rokka(config, "stacks", "apply", str(bad), "--yes", check=False)
    assert proc.returncode == 2 and "error 400" in proc.stdout


def test_render_and_stats(cli):
    config, client = cli
    url = rokka(config, "render", "abcdef", "--op", "resize:width=200,height=100", "--format", "png").stdout.strip()
    assert url == client.render_url([{"name": "resize", "options": {"width": 200, "height": 100}}], "abcdef", "png")
    key = client.get_organization()["signing_keys"][0]["key"]
    signed = rokka(config, "render", "abcdef", "--stack", "thumb", "--sign-key", key).stdout.strip()
    assert signed == client.sign_url_remote(client.render_url("thumb", "abcdef"))
    assert rokka(config, "render", "abcdef", "--stack", "thumb", "--sign").stdout.strip() == signed
    stats = rokka(config, "stats").stdout
    assert "Statistics" in stats and "number_of_files" in stats
