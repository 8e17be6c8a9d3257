"""Step 5: precompile the zip for CPython 3.13 (Pyodide under node) and rewrite it deterministically."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .common import LAMBDA_PYTHON, SCRIPTS, ZIP_DATE, PackageError, log


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

