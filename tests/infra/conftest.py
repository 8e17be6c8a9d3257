"""Shared by the infra tests: `make package` runs once per test session (it takes about a minute)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "package.py"


@pytest.fixture(scope="session")
def build_tools():
    """cfn-lint, aws-sam-translator and pyelftools from requirements-package.txt (installed on first use)."""
    if not all(importlib.util.find_spec(m) for m in ("cfnlint", "samtranslator", "elftools")):
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(ROOT / "requirements-package.txt")], check=True)
        importlib.invalidate_caches()


@pytest.fixture(scope="session")
def packaged(tmp_path_factory, build_tools):
    """scripts/package.py's output. PACKAGE_TEST_DIST=<dir of an earlier run's --json summary.json
    and files> reuses one instead (for iterating on these tests; `make test` always builds)."""
    reuse = os.environ.get("PACKAGE_TEST_DIST")
    if reuse:
        out = Path(reuse)
        return {"out": out, "summary": json.loads((out.parent / (out.name + ".json")).read_text()), "log": "",
                "template": json.loads((out / "sam.json").read_text()), "zip": out / "deployment.zip"}
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"scripts/package.py failed:\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads(proc.stdout)
    return {"out": out, "summary": summary, "log": proc.stderr,
            "template": json.loads((out / "sam.json").read_text()),
            "zip": out / "deployment.zip"}


