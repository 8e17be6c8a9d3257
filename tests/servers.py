"""Starting localserver.py for tests: a free port, its own data directory, wait until it answers."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local_server(data_dir, env: dict | None = None, stdout=None,
                       timeout: float = 20.0) -> tuple[subprocess.Popen, str, int]:
    """localserver.py on a free port; returns (process, base URL, port) once /operations answers.

    Its output (stdout and stderr) goes to `stdout` (an open file or DEVNULL), by default to the
    file `{data_dir}.log`, whose path is `process.log_path`. Never to a pipe: a pipe that no one
    reads fills up after 64 KiB, and then the server blocks on its next write."""
    if stdout is subprocess.PIPE:
        raise ValueError("start_local_server: pass a file or DEVNULL, not a pipe nobody may read")
    log_path = None
    if stdout is None:
        log_path = Path(f"{data_dir}.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {**os.environ, "DATA_DIR": str(data_dir), "PORT": str(port), "HOST": "127.0.0.1", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}  # None removes a variable
    # The child keeps its own descriptor of the log file.
    with log_path.open("wb") if log_path else contextlib.nullcontext(stdout) as out:
        proc = subprocess.Popen([sys.executable, "localserver.py"], cwd=ROOT, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT)
    proc.log_path = log_path
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(base + "/operations", timeout=1)
            return proc, base, port
        except requests.ConnectionError:
            if proc.poll() is not None:
                raise RuntimeError(f"localserver.py exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"localserver.py did not answer on {base} within {timeout}s") from None
            time.sleep(0.05)


def serve_quietly(data_dir):
    """For module or package fixtures: yields the base URL of a server whose log is discarded."""
    proc, base, _port = start_local_server(data_dir, stdout=subprocess.DEVNULL)
    try:
        yield base
    finally:
        proc.kill()
        proc.wait()
