"""Bulk upload for the CLI: parallel, resumable by binary hash (SHA-1 of the file)."""
from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from rokka_client.client import Client
from rokka_client.errors import RokkaError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".heic", ".heif", ".tif", ".tiff",
                  ".svg", ".bmp", ".pdf", ".psd", ".jp2", ".ico"}


@dataclass
class Outcome:
    path: Path
    size: int
    status: str  # uploaded | skipped | failed
    hash: str | None = None
    error: str | None = None


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def bytes(self, status: str) -> int:
        return sum(o.size for o in self.outcomes if o.status == status)


def collect(paths: list[str]) -> list[Path]:
    """The files named, and the image files under the directories named (sorted, no repeats)."""
    found: dict[Path, None] = {}
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                    found[f] = None
        elif p.is_file():
            found[p] = None
        else:
            raise RokkaError(f"{raw}: no such file or directory")
    return list(found)


def sha1_of(path: Path) -> str:
    h = hashlib.sha1()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def upload_all(make_client: Callable[[], Client], files: list[Path], jobs: int = 4,
               on_done: Callable[[Outcome], None] | None = None, meta_user: dict | None = None) -> Summary:
    """Uploads every file whose binary hash the organization does not hold yet."""
    local = threading.local()

    def client() -> Client:
        if not hasattr(local, "client"):
            local.client = make_client()  # one keep-alive session per thread
        return local.client

    def one(path: Path) -> Outcome:
        size = path.stat().st_size
        try:
            existing = client().find_by_binary_hash(sha1_of(path))
            if existing:
                return Outcome(path, size, "skipped", existing[0].get("hash"))
            record = client().upload_bytes(path.read_bytes(), path.name, meta_user=meta_user)
            return Outcome(path, size, "uploaded", record.get("hash"))
        except (RokkaError, OSError) as err:
            return Outcome(path, size, "failed", error=str(err))

    summary = Summary()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for future in as_completed([pool.submit(one, f) for f in files]):
            outcome = future.result()
            summary.outcomes.append(outcome)
            if on_done:
                on_done(outcome)
    return summary
