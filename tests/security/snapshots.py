"""Whole-storage snapshots of the local adapter (SQLite tables + blob files), and a baseline that
can be restored in place between calls."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from chalicelib import bootstrap


def _conn() -> sqlite3.Connection:
    # The adapter's own connection (thread-local; the Chalice test client runs views in this thread).
    return bootstrap.services().storage.images.db.conn()


def _blob_files(data_dir: Path):
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("meta.sqlite3") and not path.name.startswith(".tmp-"):
            yield str(path.relative_to(data_dir)), path


def snapshot(data_dir: Path) -> dict:
    """Every row of every table, and a digest of every blob file."""
    conn = _conn()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    rows = {t: sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{t}"')) for t in tables}
    blobs = {rel: hashlib.sha1(path.read_bytes()).hexdigest() for rel, path in _blob_files(data_dir)}
    return {"tables": rows, "blobs": blobs}


def diff(before: dict, after: dict) -> list[str]:
    out = []
    for table in sorted(set(before["tables"]) | set(after["tables"])):
        a, b = set(before["tables"].get(table, [])), set(after["tables"].get(table, []))
        if a != b:
            out.append(f"table {table}: -{len(a - b)} +{len(b - a)} rows")
    for rel in sorted(set(before["blobs"]) | set(after["blobs"])):
        if before["blobs"].get(rel) != after["blobs"].get(rel):
            out.append(f"blob {rel}: {'changed' if rel in before['blobs'] and rel in after['blobs'] else 'added/removed'}")
    return out


class Baseline:
    """The storage as it is now; `restore()` puts it back (SQLite backup API + blob files)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.db = sqlite3.connect(":memory:")
        _conn().backup(self.db)
        self.blobs = {rel: path.read_bytes() for rel, path in _blob_files(self.data_dir)}
        self.snapshot = snapshot(self.data_dir)

    def restore(self) -> None:
        self.db.backup(_conn())
        for rel, path in list(_blob_files(self.data_dir)):
            if rel not in self.blobs:
                path.unlink()
        for rel, data in self.blobs.items():
            path = self.data_dir / rel
            if not path.is_file() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)

    def changes(self) -> list[str]:
        return diff(self.snapshot, snapshot(self.data_dir))
