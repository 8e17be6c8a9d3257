"""BlobStore on the local filesystem: one file per key under a root directory."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from chalicelib.errors import BadRequest


class FileBlobStore:
    def __init__(self, root: str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise BadRequest(f"Invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str | None = None,
            cache_control: str | None = None) -> None:
        path = str(self._path(key))
        directory = os.path.dirname(path)
        # Write to a temp file and rename: readers never see a half-written file. The directory
        # is made only when the temp file cannot be created (the common case needs no mkdir).
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass

    def presigned_post(self, key: str, max_bytes: int, expires: int) -> dict:
        raise BadRequest("Direct uploads need STORAGE=aws; locally a multipart upload has no size limit.")

    def list(self, prefix: str) -> list[str]:
        out = []
        start = self.root.joinpath(*[p for p in prefix.split("/")[:-1] if p not in ("", ".", "..")])
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                key = os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                if key.startswith(prefix):
                    out.append(key)
        return sorted(out)
