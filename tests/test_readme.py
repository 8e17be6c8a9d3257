"""The README's curl walkthrough works as written, against a real local server."""
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.test_commands import server  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Walkthrough"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_readme_walkthrough(server, tmp_path):  # noqa: F811
    _, _, port = server
    script = walkthrough().replace(":8000", f":{port}").replace(".venv/bin/python", sys.executable)
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '"short_hash"' in run.stdout and '"resize"' in run.stdout and '"jpg.quality"' in run.stdout
    expected = {"thumb.jpg": ("JPEG", (200, 133)), "thumb.webp": ("WEBP", (200, 133)),
                "small.png": ("PNG", (67, 100)), "retina.jpg": ("JPEG", (400, 267))}
    for name, (fmt, size) in expected.items():
        im = Image.open(tmp_path / name)
        assert (im.format, im.size) == (fmt, size), name
